"""ThreadLoader: a DataLoader-like source that decodes in threads of this process.

A ``DataLoader``'s worker processes hand every decoded image to the main
process through a fresh shared-memory segment: a copy into pages the OS must
zero and map on first touch. Measured on the development VM, moving a batch
of 64 decoded photos (95 MB) into shared memory takes 60-80 ms, about as long
as decoding it on one core (benchmarks/RESULTS.md, "Data loading"). The
decoders release the GIL while they decode (libjpeg through
``datagen_gpu._jpeg``, simplejpeg, Pillow), so threads decode in parallel
without any copy between processes, and the decoded buffers are reused by
the allocator: what DALI does with its thread pool. Per-item Python work
(header probe, crop plan, tensor wrapping) holds the GIL for ~0.1 ms next to
~1 ms of decoding.

Use it in place of a DataLoader (same ``batch_size`` / ``shuffle`` /
``sampler`` / ``drop_last`` arguments; ``num_threads`` in place of
``num_workers``)::

    loader = DeviceLoader(ThreadLoader(ImageFolder(root), batch_size=64, shuffle=True, num_threads=4),
                          TwoViews(simclr_view()))

A DataLoader with worker processes remains the right choice for datasets whose
``__getitem__`` is Python-heavy (it would hold the GIL).
"""
import concurrent.futures
import threading
from collections import deque
from typing import Callable, Optional

import torch
from torch.utils.data import BatchSampler, Sampler, SequentialSampler

from .batch import collate


class EpochShuffle(Sampler):
    """A random order of ``range(n)`` that is a pure function of (seed, epoch): resumable.

    ``RandomSampler`` draws from a generator whose state moves on with every epoch;
    this one is re-seeded from (seed, epoch) by ``set_epoch``, so a resumed run
    visits the samples in the order the uninterrupted run did.
    """

    def __init__(self, n: int, seed: int = 0):
        self.n, self.seed, self.epoch = int(n), int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) % (2**63))
        return iter(torch.randperm(self.n, generator=g).tolist())


class ThreadLoader:
    """Batches of a map-style dataset, its items fetched by ``num_threads`` threads.

    Args:
        dataset: a map-style dataset (``ImageFolder``, ``ImageFiles``, ...).
        batch_size: items per batch.
        shuffle: a new random order every epoch, a function of (``seed``, epoch)
            (``EpochShuffle``); ignored with ``sampler``.
        sampler: a sampler of indices (e.g. ``DistributedSampler``); its ``set_epoch`` is called
            by ``DeviceLoader.set_epoch``.
        num_threads: decoding threads (>= 1).
        drop_last: drop the last incomplete batch.
        collate_fn: builds a batch from items (default: ``datagen_gpu.data.collate``).
        prefetch: batches in flight ahead of the consumer (>= 1).
        seed: the shuffle's seed.

    ``set_epoch(e)`` sets the epoch of the shuffle (and the sampler's, e.g. a
    ``DistributedSampler``'s); ``skip_next(k)`` makes the next iteration start at
    its batch k without fetching the ones before (``DeviceLoader`` resumes with it).
    """

    def __init__(self, dataset, batch_size: int = 1, *, shuffle: bool = False, sampler: Optional[Sampler] = None,
                 num_threads: int = 2, drop_last: bool = False, collate_fn: Callable = collate, prefetch: int = 2,
                 seed: int = 0):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}")
        if not isinstance(num_threads, int) or isinstance(num_threads, bool) or num_threads < 1:
            raise ValueError(f"num_threads: expected an int >= 1, got {num_threads!r}")
        if not isinstance(prefetch, int) or isinstance(prefetch, bool) or prefetch < 1:
            raise ValueError(f"prefetch: expected an int >= 1, got {prefetch!r}")
        self.dataset = dataset
        if sampler is None:
            sampler = EpochShuffle(len(dataset), seed) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler
        self.batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.num_threads, self.prefetch = batch_size, num_threads, prefetch
        self.collate_fn = collate_fn
        self._pool = None
        self._lock = threading.Lock()
        self._skip = 0

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def skip_next(self, batches: int) -> None:
        """The next iteration starts at its batch ``batches`` (the ones before are not fetched)."""
        if not isinstance(batches, int) or batches < 0:
            raise ValueError(f"batches: expected an int >= 0, got {batches!r}")
        self._skip = batches

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(self.num_threads,
                                                                   thread_name_prefix="datagen_gpu.decode")
            return self._pool

    def __iter__(self):
        pool = self._executor()
        fetch = self.dataset.__getitem__
        pending = deque()
        batches = iter(self.batch_sampler)
        skip, self._skip = self._skip, 0
        for _ in range(skip):
            if next(batches, None) is None:
                break
        try:
            while True:
                while len(pending) < self.prefetch + 1:
                    indices = next(batches, None)
                    if indices is None:
                        break
                    pending.append([pool.submit(fetch, i) for i in indices])
                if not pending:
                    return
                futures = pending.popleft()
                yield self.collate_fn([f.result() for f in futures])
        finally:
            for futures in pending:
                for f in futures:
                    f.cancel()

    def close(self) -> None:
        """Stops the threads (they start again on the next iteration)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
