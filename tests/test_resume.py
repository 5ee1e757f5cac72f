"""Exact resume: stopped at step n and restored from a checkpoint, a run continues as if uninterrupted."""
import io

import pytest
import torch
import torch.nn.functional as nnf
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from _data_files import make_folder
from datagen_gpu import transforms as T
from datagen_gpu.data import DeviceLoader, ImageFolder, ThreadLoader, collate
from datagen_gpu.presets import TwoViews, simclr_view

EPOCHS, BATCH = 3, 4


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = str(tmp_path_factory.mktemp("resume"))
    make_folder(r, {"a": [(40 + 3 * k, 44 + 5 * k) for k in range(7)], "b": [(52, 61)] * 6}, seed=11)
    return r


def build(root, source_kind):
    torch.manual_seed(0)
    ds = ImageFolder(root)
    if source_kind == "threads":
        source = ThreadLoader(ds, BATCH, shuffle=True, num_threads=2, seed=4)
    else:  # a DataLoader whose order is a function of the epoch
        sampler = DistributedSampler(ds, num_replicas=1, rank=0, shuffle=True, seed=4)
        source = DataLoader(ds, batch_size=BATCH, sampler=sampler, num_workers=2, collate_fn=collate)
    loader = DeviceLoader(source, TwoViews(simclr_view(24, blur_kernel=3)))
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 24 * 24, 16))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    queue = T.MoCoQueue(16, 20, seed=2)
    mochi = T.MoCHi(n_hard=8, n_mix=4, n_mix_query=2, warmup_steps=3)
    flip = T.RandomHorizontalFlip()  # uses its running counter: no sample ids given
    return loader, model, opt, queue, mochi, flip


def train(root, source_kind, stop_at=None, checkpoint=None):
    """Records per step; with ``stop_at`` returns a checkpoint (bytes) taken after that step."""
    loader, model, opt, queue, mochi, flip = build(root, source_kind)
    step, start_epoch = 0, 0
    if checkpoint is not None:
        state = torch.load(io.BytesIO(checkpoint))
        for obj, key in ((model, "model"), (opt, "opt"), (queue, "queue"), (mochi, "mochi"), (flip, "flip"),
                         (loader, "loader")):
            obj.load_state_dict(state[key])
        step, start_epoch = state["step"], state["loader"]["epoch"]
    records = []
    for epoch in range(start_epoch, EPOCHS):
        loader.set_epoch(epoch)
        for (a, b), _, ids in loader:
            q = nnf.normalize(model(flip(a)), dim=1)
            with torch.no_grad():
                k = nnf.normalize(model(b), dim=1)
            logits, labels = mochi(q, k, queue, sample_ids=ids)
            loss = nnf.cross_entropy(logits, labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            queue.enqueue(k)
            records.append((step, ids.tolist(), a.sum().item(), b.sum().item(), loss.item()))
            step += 1
            if step == stop_at:
                buf = io.BytesIO()
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "queue": queue.state_dict(),
                            "mochi": mochi.state_dict(), "flip": flip.state_dict(), "loader": loader.state_dict(),
                            "step": step}, buf)
                return records, buf.getvalue()
    return records, (queue.queue.clone(), [p.detach().clone() for p in model.parameters()])


@pytest.mark.parametrize("source_kind", ["threads", "dataloader"])
@pytest.mark.parametrize("stop_at", [2, 4, 8])  # mid-epoch, at an epoch's end, across epochs
def test_resume_equals_uninterrupted(root, source_kind, stop_at):
    torch.set_num_threads(1)
    full, (queue, params) = train(root, source_kind)
    assert len(full) == EPOCHS * 4
    first, ckpt = train(root, source_kind, stop_at=stop_at)
    rest, (queue2, params2) = train(root, source_kind, checkpoint=ckpt)
    assert first + rest == full
    assert torch.equal(queue, queue2)
    assert all(torch.equal(p, p2) for p, p2 in zip(params, params2))


def test_loader_state_roundtrip(root):
    loader = build(root, "threads")[0]
    assert loader.state_dict() == {"epoch": 0, "batches_done": 0}
    it = iter(loader)
    next(it)
    next(it)
    assert loader.state_dict() == {"epoch": 0, "batches_done": 2}
    it.close()
    loader.load_state_dict({"epoch": 2, "batches_done": 3})
    assert loader.state_dict() == {"epoch": 2, "batches_done": 3}
    assert len(list(loader)) == 1  # the last batch of epoch 2
    assert loader.state_dict() == {"epoch": 2, "batches_done": 4}
    loader.set_epoch(3)
    assert loader.state_dict() == {"epoch": 3, "batches_done": 0}
    with pytest.raises(ValueError, match="state"):
        loader.load_state_dict({"epoch": 1})
