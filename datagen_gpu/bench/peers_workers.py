"""Per-image peers in worker processes: how torchvision / timm pipelines run in training.

A ``DataLoader(num_workers=N)`` runs a per-image transform in N forked
processes, one torch thread each, and hands the collated batch to the
training process through shared memory. :class:`WorkerPool` does the same on
a fixed list of in-memory images (the sampler and the file reading left out,
so the augmentation alone is compared); :func:`folder_stream` runs the real
``torchvision.datasets.ImageFolder`` + ``DataLoader`` on a folder.
"""
import multiprocessing
import weakref
from typing import Callable, Sequence

import torch

from .timing import Stream

_STATE = {}


def _init(make_transform, items):
    torch.set_num_threads(1)  # a DataLoader worker's setting
    _STATE["transform"] = make_transform()
    _STATE["items"] = items


def _collate(outputs):
    """Per-image outputs (tensors, or tuples of them: views) -> a stacked batch (or tuple)."""
    if isinstance(outputs[0], (tuple, list)):
        return tuple(torch.stack(list(parts)) for parts in zip(*outputs))
    return torch.stack(outputs)


def _chunk(bounds):
    lo, hi = bounds
    t = _STATE["transform"]
    return _collate([t(item) for item in _STATE["items"][lo:hi]])


def _concat(parts):
    if isinstance(parts[0], tuple):
        return tuple(torch.cat(list(p)) for p in zip(*parts))
    return torch.cat(parts)


class WorkerPool:
    """``make_transform()``'s per-image transform over ``items`` in ``workers`` forked processes.

    Calling the pool transforms every item once (each worker a contiguous
    chunk, collated there) and returns the batch, as a DataLoader's workers
    deliver it. The transform is built in each worker (after the fork), so
    it needs no pickling; results come back through shared memory.

    Args:
        make_transform: builds the per-image transform (runs in each worker).
        items: the images (CPU tensors or PIL images).
        workers: number of processes (>= 1).
    """

    def __init__(self, make_transform: Callable[[], Callable], items: Sequence, workers: int):
        import torch.multiprocessing  # noqa: F401  (tensors cross processes through shared memory)

        workers = max(1, min(int(workers), len(items) or 1))
        self.pool = multiprocessing.get_context("fork").Pool(workers, _init, (make_transform, list(items)))
        n = len(items)
        self.chunks = [(n * k // workers, n * (k + 1) // workers) for k in range(workers)]
        self.chunks = [c for c in self.chunks if c[1] > c[0]]
        self._finalizer = weakref.finalize(self, self.pool.terminate)

    def __call__(self):
        return _concat(self.pool.map(_chunk, self.chunks))

    def close(self) -> None:
        self._finalizer()


def folder_stream(root: str, transform: Callable, batch: int, workers: int, batches: int = 8,
                  warmup: int = 2) -> Stream:
    """``torchvision.datasets.ImageFolder(root, transform)`` + ``DataLoader`` as a timed stream.

    Images are drawn at random with replacement (any folder size works);
    ``workers`` processes decode (PIL) and transform; each round starts a
    fresh iterator (its workers start during the warm-up batches).
    """
    from torch.utils.data import DataLoader, RandomSampler
    from torchvision import datasets

    dataset = datasets.ImageFolder(root, transform=transform)
    total = (batches + warmup + 4 * max(workers, 1)) * batch

    def open_():
        sampler = RandomSampler(dataset, replacement=True, num_samples=total,
                                generator=torch.Generator().manual_seed(0))
        return iter(DataLoader(dataset, batch_size=batch, sampler=sampler, num_workers=workers,
                               prefetch_factor=2 if workers else None, worker_init_fn=_one_thread))
    return Stream(open_, batches=batches, warmup=warmup)


def _one_thread(_):
    torch.set_num_threads(1)

