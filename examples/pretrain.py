"""MoCo v2 + MoCHi pretraining with DDP and datagen_gpu's DeviceLoader, from JPEG files or tar shards.

    python examples/pretrain.py                                   # one process
    torchrun --nproc_per_node 2 examples/pretrain.py              # DDP: gloo on CPUs, NCCL on GPUs
    python examples/pretrain.py --resume out/pretrain/last.pt     # continue a stopped run exactly

Data: ``--data DIR`` (an ImageFolder: DIR/<class>/<file>) or ``--shards DIR``
(tar shards written by ``datagen_gpu.data.write_shards``); by default a folder
of JPEG crops of the built-in sample photos is made in ``out/pretrain_photos``
(one class per source photo, so the kNN probe at the end has something to
find). Every 5th image is held out for the kNN probe.

Per rank and step: its share of the global batch (``DistributedSampler``,
or the shards split by rank), decoded in threads (crop-aware) and augmented
into two MoCo v2 views on the device by ``DeviceLoader``; the query encoder
is DDP, the key encoder its momentum copy; ``MoCoQueue`` gathers the keys of
every rank (identical queue everywhere); ``MoCHi`` mixes hard negatives from
it, keyed by global sample ids, so what a sample sees does not depend on the
world size. A checkpoint (model, optimizer, queue, MoCHi, the loader's
position) is written every ``--ckpt-every`` steps and at the end; ``--resume``
continues from it with the same augmentations and queue as an uninterrupted
run. Logs img/s per rank; prints the kNN top-1 of the held-out images at the
end (k = 20, cosine, votes weighted by exp(sim / 0.07)).
"""
import argparse
import copy
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as nnf
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import datagen_gpu.functional as F  # noqa: E402
from datagen_gpu.data import DeviceLoader, ImageFiles, ImageFolder, ThreadLoader, collate  # noqa: E402
from datagen_gpu.data.photo_folder import make_photo_folder  # noqa: E402
from datagen_gpu.presets import IMAGENET_MEAN, IMAGENET_STD, TwoViews, moco_v2_view  # noqa: E402
from datagen_gpu.transforms import MoCHi, MoCoQueue  # noqa: E402


def setup():
    """(rank, world, device) under torchrun (RANK / WORLD_SIZE set), else one process."""
    if "RANK" not in os.environ:
        return 0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    return dist.get_rank(), dist.get_world_size(), torch.device("cuda") if cuda else torch.device("cpu")


class Encoder(nn.Module):
    """A small ResNet-style CNN backbone and MoCo v2's 2-layer MLP head."""

    def __init__(self, dim=128, width=32):
        super().__init__()

        def block(cin, cout, stride):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        self.backbone = nn.Sequential(block(3, width, 2), block(width, width, 1), block(width, 2 * width, 2),
                                      block(2 * width, 4 * width, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(4 * width, 4 * width), nn.ReLU(), nn.Linear(4 * width, dim))

    def forward(self, x):
        return nnf.normalize(self.head(self.backbone(x)), dim=1)


def split(dataset):
    """Every 5th image held out for the kNN probe."""
    train = [i for i in range(len(dataset)) if i % 5]
    test = [i for i in range(len(dataset)) if not i % 5]
    pick = lambda idx: ([dataset.paths[i] for i in idx], [dataset.labels[i] for i in idx])  # noqa: E731
    return pick(train), pick(test)


def make_loader(args, rank, world, device, transform):
    """(DeviceLoader, the training files for the kNN probe, the held-out files)."""
    if args.shards:
        from datagen_gpu.data import TarShards
        shards = TarShards(args.shards, shuffle=True, seed=args.seed)
        source = DataLoader(shards, batch_size=args.batch, num_workers=args.workers, collate_fn=collate,
                            drop_last=True)
        folder = None
    else:
        folder = args.data or make_photo_folder(os.path.join("out", "pretrain_photos"), args.images,
                                                classes=args.classes, size=(96, 256))
        (train_paths, train_labels), _ = split(ImageFolder(folder))
        train = ImageFiles(train_paths, train_labels)
        # drop_last: every rank takes the same number of equal batches (MoCoQueue gathers them)
        sampler = DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True, seed=args.seed,
                                     drop_last=True)
        source = ThreadLoader(train, args.batch, sampler=sampler, num_threads=args.workers, drop_last=True)
    return DeviceLoader(source, transform, device=device), folder


@torch.no_grad()
def embed(backbone, paths, size, device, batch=64):
    """Backbone features of whole images resized to ``size`` (no augmentation)."""
    from datagen_gpu.data import decode
    feats = []
    for i in range(0, len(paths), batch):
        images = [decode(open(p, "rb").read()) for p in paths[i:i + batch]]
        boxes = torch.tensor([[0.0, 0.0, float(t.shape[1]), float(t.shape[2])] for t in images])
        x = F.resized_crop(images, boxes, size, out_dtype=torch.float32)
        x = F.normalize(x, IMAGENET_MEAN, IMAGENET_STD).to(device)
        feats.append(nnf.normalize(backbone(x), dim=1).cpu())
    return torch.cat(feats)


def knn_top1(backbone, folder, size, device, k=20, t=0.07):
    (train_paths, train_labels), (test_paths, test_labels) = split(ImageFolder(folder))
    backbone.eval()
    f_train, f_test = embed(backbone, train_paths, size, device), embed(backbone, test_paths, size, device)
    y_train, y_test = torch.tensor(train_labels), torch.tensor(test_labels)
    sim, idx = (f_test @ f_train.T).topk(min(k, len(train_paths)), dim=1)
    votes = torch.zeros(len(test_paths), int(y_train.max()) + 1).scatter_add_(1, y_train[idx], torch.exp(sim / t))
    return float((votes.argmax(1) == y_test).float().mean())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="an ImageFolder root (default: make a folder of sample-photo crops)")
    p.add_argument("--shards", help="a directory / glob / index of tar shards (datagen_gpu.data.write_shards)")
    p.add_argument("--images", type=int, default=600, help="size of the default folder")
    p.add_argument("--classes", type=int, default=6, help="classes of the default folder")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch", type=int, default=32, help="per rank")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--queue", type=int, default=1024)
    p.add_argument("--workers", type=int, default=2, help="decode threads (tar shards: DataLoader workers)")
    p.add_argument("--lr", type=float, default=0.03)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("out", "pretrain"))
    p.add_argument("--ckpt-every", type=int, default=50)
    p.add_argument("--resume", help="a checkpoint written by this script")
    p.add_argument("--max-steps", type=int, default=None, help="stop (with a checkpoint) after this many steps")
    args = p.parse_args(argv)
    rank, world, device = setup()
    torch.manual_seed(args.seed)  # the same initial weights on every rank
    query = Encoder().to(device)
    key = copy.deepcopy(query)
    for param in key.parameters():
        param.requires_grad_(False)
    model = nn.parallel.DistributedDataParallel(query) if world > 1 else query
    opt = torch.optim.SGD(query.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
    queue = MoCoQueue(128, args.queue, seed=args.seed).to(device)
    loader, folder = make_loader(args, rank, world, device, TwoViews(moco_v2_view(args.size, blur_kernel=7)))
    mochi = MoCHi(n_hard=128, n_mix=64, n_mix_query=32, temperature=0.2, warmup_steps=len(loader), seed=args.seed)
    # (warmup: MoCHi mixes from the second epoch on, as the paper starts after a few epochs)
    step, start_epoch = 0, 0
    if args.resume:
        state = torch.load(args.resume, map_location=device)
        query.load_state_dict(state["query"])
        key.load_state_dict(state["key"])
        opt.load_state_dict(state["opt"])
        queue.load_state_dict(state["queue"])
        mochi.load_state_dict(state["mochi"])
        loader.load_state_dict(state["loader"])
        step, start_epoch = state["step"], state["loader"]["epoch"]
    os.makedirs(args.out, exist_ok=True)

    def checkpoint():
        if rank == 0:  # every rank holds the same state
            torch.save({"query": query.state_dict(), "key": key.state_dict(), "opt": opt.state_dict(),
                        "queue": queue.state_dict(), "mochi": mochi.state_dict(), "loader": loader.state_dict(),
                        "step": step}, os.path.join(args.out, "last.pt"))
        if world > 1:
            dist.barrier()

    steps_per_epoch = len(loader)
    if world > 1:  # ranks may hold different numbers of shards: every rank takes the fewest steps
        n = torch.tensor([steps_per_epoch], device=device)
        dist.all_reduce(n, op=dist.ReduceOp.MIN)
        steps_per_epoch = int(n)
    if rank == 0:
        print(f"world {world} on {device}, {steps_per_epoch} steps per epoch, per-rank batch {args.batch}, "
              f"crop-aware decoding {loader.crop_aware}", flush=True)
    if rank == 0 and folder is not None and not args.resume and args.max_steps is None:
        print(f"kNN top-1 of the random encoder: {100 * knn_top1(query.backbone, folder, args.size, device):.1f}%",
              flush=True)
    done = False
    for epoch in range(start_epoch, args.epochs):
        loader.set_epoch(epoch)
        query.train()
        t0, seen, total = time.perf_counter(), 0, 0.0
        steps = loader.state_dict()["batches_done"]  # > 0 in a resumed epoch
        first = steps
        for (view_q, view_k), _, ids in loader:
            q = model(view_q)
            with torch.no_grad():
                for pk, pq in zip(key.parameters(), query.parameters()):
                    pk.mul_(0.99).add_(pq.detach(), alpha=0.01)
                k = key(view_k)
            logits, labels = mochi(q, k, queue, sample_ids=ids)
            loss = nnf.cross_entropy(logits, labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            queue.enqueue(k)  # gathers every rank's keys
            seen += len(ids)
            total += loss.item()
            step += 1
            steps += 1
            if step % args.ckpt_every == 0:
                checkpoint()
            if args.max_steps is not None and step >= args.max_steps:
                done = True
                break
            if steps == steps_per_epoch:
                break
        rate = seen / (time.perf_counter() - t0)
        print(f"rank {rank}: epoch {epoch + 1}/{args.epochs}, step {step}, loss {total / max(1, steps - first):.3f}, "
              f"{rate:.0f} img/s", flush=True)
        if done:
            break
    checkpoint()
    if rank == 0 and folder is not None and not done:
        acc = knn_top1(query.backbone, folder, args.size, device)
        print(f"kNN top-1 on the held-out images: {100 * acc:.1f}%", flush=True)
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
