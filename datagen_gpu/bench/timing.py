"""Timing: interleaved rounds, CUDA events, medians and spread, copy bandwidth, a progress bar.

Every library of a comparison is timed in the same process, in rounds: a
round runs each one once, in an order that rotates from round to round, so a
burst of load from other processes (or a clock change) hits all of them
rather than one. Each library is warmed up first. On CUDA a call is timed
with events around it and a synchronization after it; on the CPU with
``time.perf_counter``. A *case* is either a callable (one call = one batch)
or a :class:`Stream` (an iterator factory: a data loader, timed over a few
batches per round and closed after each round, so its background workers do
not run while another library is timed).
"""
import contextlib
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch


def synchronize(device) -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device="cpu") -> float:
    """Milliseconds of one ``fn()`` call: CUDA events around it on a CUDA device, else wall clock.

    Queued work is synchronized before the call (so it is not charged to it)
    and after it (so all of the call's work is).
    """
    device = torch.device(device)
    synchronize(device)
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


@dataclass
class Stream:
    """A case that produces batches from an iterator (e.g. a data loader).

    Args:
        open: returns a fresh iterator of batches (its background work starts here).
        batches: batches timed per round, after ``warmup`` untimed ones.
        warmup: batches discarded at the start of every round (workers starting, prefetch filling).
    """
    open: Callable[[], object]
    batches: int = 8
    warmup: int = 2

    def run_round(self, device) -> float:
        """Milliseconds per batch over one round (the iterator is closed afterwards)."""
        it = iter(self.open())
        try:
            for _ in range(self.warmup):
                next(it)
            synchronize(device)
            t0 = time.perf_counter()
            for _ in range(self.batches):
                next(it)
            synchronize(device)
            return (time.perf_counter() - t0) * 1e3 / self.batches
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()


@dataclass
class Timed:
    """The milliseconds per batch of one case, one entry per round; ``error``: why it stopped early."""
    times_ms: List[float] = field(default_factory=list)
    error: Optional[str] = None

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def spread(self):
        """(min, first quartile, third quartile, max) in milliseconds."""
        t = sorted(self.times_ms)
        if len(t) < 2:
            return (t[0], t[0], t[-1], t[-1])
        q = statistics.quantiles(t, n=4, method="inclusive")
        return (t[0], q[0], q[2], t[-1])


def best_ms(fn: Callable[[], object], rounds: int, device="cpu") -> float:
    """The fastest of ``rounds`` timed ``fn()`` calls (``time_call``), after one untimed call."""
    fn()
    return min(time_call(fn, device) for _ in range(max(1, rounds)))


def interleaved(cases: Dict[str, object], devices: Dict[str, str], *, seconds: float, min_rounds: int = 3,
                max_rounds: int = 10000, warmup: int = 1, progress: Optional["Progress"] = None
                ) -> Dict[str, Timed]:
    """Time every case in rotating rounds until ``seconds`` have passed (and ``min_rounds`` ran).

    Args:
        cases: name -> zero-argument callable (one batch per call) or :class:`Stream`.
        devices: name -> the device its work runs on (how it is timed).
        seconds: wall-clock budget of the timed rounds (warm-up not included).
        min_rounds, max_rounds: bounds on the number of rounds.
        warmup: untimed calls per callable case before the first round.
        progress: advanced by the elapsed seconds after every timed call.

    Returns:
        name -> :class:`Timed` (one sample per round). A case that raises is
        not called again: its ``error`` says what it raised (the others go on).
    """
    out = {name: Timed() for name in cases}

    def attempt(name, fn):
        try:
            return fn()
        except Exception as e:  # noqa: BLE001  (a peer's failure is reported, not fatal)
            out[name].error = describe(e)
            return None

    for name, case in cases.items():
        if not isinstance(case, Stream):
            for _ in range(warmup):
                attempt(name, lambda: time_call(case, devices[name]))
    names = [n for n in cases if out[n].error is None]
    t0 = time.perf_counter()
    last = t0
    for r in range(max_rounds):
        if not names or (r >= min_rounds and time.perf_counter() - t0 >= seconds):
            break
        k = r % len(names)
        for name in names[k:] + names[:k]:
            case, device = cases[name], devices[name]
            ms = attempt(name, lambda: case.run_round(device) if isinstance(case, Stream)
                         else time_call(case, device))
            if ms is not None:
                out[name].times_ms.append(ms)
            now = time.perf_counter()
            if progress is not None:
                progress.update(now - last)
            last = now
        names = [n for n in names if out[n].error is None]
    return out


def describe(e: BaseException) -> str:
    """``Type: last line of the message`` (at most 200 characters) of an exception."""
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[-1][:200]}" if lines else type(e).__name__


def copy_bandwidth(device="cpu", nbytes: Optional[int] = None, repeats: int = 5) -> float:
    """Measured device-memory copy bandwidth, bytes read + written per second, in GB/s.

    The best of ``repeats`` copies of a ``nbytes`` buffer (default 256 MiB on
    CUDA, 64 MiB on the CPU: past the caches) into another one.
    """
    device = torch.device(device)
    n = nbytes or ((1 << 28) if device.type == "cuda" else (1 << 26))
    src = torch.empty(n, dtype=torch.uint8, device=device).fill_(1)
    dst = torch.empty_like(src).fill_(0)
    dst.copy_(src)
    best = min(time_call(lambda: dst.copy_(src), device) for _ in range(repeats))
    return 2 * n / (best * 1e-3) / 1e9


# ---------------------------------------------------------------- progress


class Progress:
    """A progress bar (tqdm) that appears only for work longer than ``delay`` seconds.

    Falls back to nothing when tqdm is not installed or the output is not a
    terminal (tqdm's own rule with ``disable=None``).

    Args:
        total: the amount of work (e.g. seconds of timed rounds).
        desc: what is running.
        unit: tqdm's unit label.
    """

    def __init__(self, total: float, desc: str, unit: str = "s", delay: float = 2.0):
        self._bar = None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self._bar = tqdm(total=total, desc=desc, unit=unit, delay=delay, disable=None, file=sys.stderr,
                         leave=False, bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")

    def update(self, amount: float) -> None:
        if self._bar is not None:
            self._bar.update(min(amount, self._bar.total - self._bar.n))

    def set_description(self, desc: str) -> None:
        if self._bar is not None:
            self._bar.set_description(desc)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@contextlib.contextmanager
def progress(total: float, desc: str, unit: str = "s"):
    """``with progress(total, desc) as bar: ... bar.update(x)``; closed on exit."""
    bar = Progress(total, desc, unit)
    try:
        yield bar
    finally:
        bar.close()


@contextlib.contextmanager
def torch_threads(n: Optional[int]):
    """torch's intra-op thread count set to ``n`` inside the block (None: unchanged)."""
    saved = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(saved)
