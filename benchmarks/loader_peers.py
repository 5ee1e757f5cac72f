"""bench_loader.py's torchvision variant (c), runnable on its own.

torchvision's wheels need their own torch build, so the variant can run under
another Python (``bench_loader.py --peer-python /path/to/venv/bin/python``);
this file imports neither datagen_gpu nor anything built against our torch::

    python benchmarks/loader_peers.py ROOT [--batch 64] [--size 224] [--workers 2] [--batches 15] [--warmup 2]

prints ``{"c": img/s}`` as JSON (or ``{"skipped": reason}``).
"""
import argparse
import json
import os
import sys
import time

import torch
from torch.utils.data import DataLoader, RandomSampler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pipeline_cases as pc  # noqa: E402  (imports torch only)


class TwoViewsTV:
    """torchvision users' two-view wrapper (as in SimCLR / MoCo codebases)."""

    def __init__(self, t):
        self.t = t

    def __call__(self, img):
        return self.t(img), self.t(img)


def timed(batches, count, warmup, batch):
    it = iter(batches)
    for _ in range(warmup):
        next(it)
    t0 = time.perf_counter()
    for _ in range(count):
        next(it)
    return count * batch / (time.perf_counter() - t0)


def run_torchvision(root, batch, size, workers, batches, warmup):
    """img/s of torchvision's ImageFolder (PIL decode) + v2 SimCLR views in ``workers`` processes."""
    from torchvision import datasets
    from torchvision.transforms import v2
    t = v2.Compose([v2.ToImage(), pc._torchvision_pipeline(size, pc.BLUR_KERNEL)])
    ds = datasets.ImageFolder(root, transform=TwoViewsTV(t))
    total = (batches + warmup + 4 * max(workers, 1)) * batch
    sampler = RandomSampler(ds, replacement=True, num_samples=total, generator=torch.Generator().manual_seed(0))
    dl = DataLoader(ds, batch_size=batch, sampler=sampler, num_workers=workers,
                    prefetch_factor=4 if workers else None)
    return timed(dl, batches, warmup, batch)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batches", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args(argv)
    try:
        import torchvision
        out = {"c": run_torchvision(a.root, a.batch, a.size, a.workers, a.batches, a.warmup),
               "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__}}
    except ImportError as e:
        out = {"skipped": f"torchvision not installed: {e}"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
