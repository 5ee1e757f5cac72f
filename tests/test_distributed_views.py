"""World-size invariance: with a DistributedSampler the views of sample i are the same at any world size."""
import os

import torch
from torch.utils.data import DataLoader, DistributedSampler

from _data_files import make_folder
from _dist import run_ranks
from datagen_gpu.data import DeviceLoader, ImageFolder, ThreadLoader, collate
from datagen_gpu.presets import TwoViews, simclr_view


def views(loader):
    out = {}
    for (a, b), _, ids in loader:
        for k, i in enumerate(ids.tolist()):
            out[i] = (a[k].clone(), b[k].clone())
    return out


def _rank_views(rank, world, root, out_dir, batch, use_threads):
    ds = ImageFolder(root)
    sampler = DistributedSampler(ds, shuffle=True, seed=5)  # rank / world from torch.distributed
    source = ThreadLoader(ds, batch, sampler=sampler, num_threads=2) if use_threads else \
        DataLoader(ds, batch_size=batch, sampler=sampler, num_workers=1, collate_fn=collate)
    loader = DeviceLoader(source, TwoViews(simclr_view(32, blur_kernel=5)))
    got = {}
    for epoch in (0, 1):
        loader.set_epoch(epoch)
        got.update(views(loader))
    torch.save(got, os.path.join(out_dir, f"rank{rank}.pt"))


def test_union_of_ranks_equals_one_process(tmp_path):
    root = str(tmp_path / "photos")
    sizes = [(40 + 9 * (k % 5), 50 + 7 * (k % 4)) for k in range(21)]
    make_folder(root, {"a": sizes[:11], "b": sizes[11:]}, seed=3)
    ds = ImageFolder(root)
    single = DeviceLoader(ThreadLoader(ds, 16, shuffle=True, num_threads=2), TwoViews(simclr_view(32, blur_kernel=5)))
    ref = {}
    for epoch in (0, 1):
        single.set_epoch(epoch)
        ref.update(views(single))
    assert sorted(ref) == list(range(2 * len(ds)))
    for world, batch, threads in ((2, 4, True), (3, 5, False)):
        out = tmp_path / f"w{world}"
        out.mkdir()
        run_ranks(world, _rank_views, root, str(out), batch, threads)
        union = {}
        for r in range(world):
            part = torch.load(out / f"rank{r}.pt")
            for i, v in part.items():  # DistributedSampler pads with repeats: the same views again
                if i in union:
                    assert torch.equal(union[i][0], v[0]) and torch.equal(union[i][1], v[1])
                union[i] = v
        assert sorted(union) == sorted(ref), world
        for i, (a, b) in ref.items():
            assert torch.equal(union[i][0], a) and torch.equal(union[i][1], b), (world, i)
