"""Run the comparison: every pipeline with datagen_gpu and every peer that can express it.

:func:`run_pipeline` builds each library's version of one pipeline on the
same inputs, checks that they produce the same kind of output, times them
together (:func:`.timing.interleaved`) and returns one :class:`Row` per
library plus the skipped ones with their reasons; :func:`run` does that for
every pipeline (and every sweep point) and returns a :class:`Report`.
"""
import dataclasses
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch

from . import peers as P
from .cases import Pipeline, Settings, Unavailable, call
from .inputs import Inputs, shapes, tensor_bytes
from .timing import Progress, Stream, Timed, copy_bandwidth, describe, interleaved, torch_threads

OURS = "datagen_gpu"
SWEEPS = {
    "batch": (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
    "size": (64, 96, 128, 160, 192, 224, 288, 384, 512),
    "threads": None,  # 1, 2, 4, ... up to the core count
}
SWEEP_PASSES = 3


@dataclass
class Row:
    """One library's measurement of one pipeline at one setting.

    ``ratio`` is the fastest peer's time over this row's (ours: its speed-up;
    a peer: <= 1); ``bandwidth`` the compulsory bytes (inputs read once,
    outputs written once) per second over the device's measured copy
    bandwidth (None when the library reads files).
    """
    pipeline: str
    library: str
    device: str
    batch: int
    size: int
    threads: int
    times_ms: List[float]
    median_ms: float
    spread_ms: tuple
    img_per_s: float
    ratio: Optional[float] = None
    bytes: Optional[int] = None
    bandwidth: Optional[float] = None
    note: str = ""


@dataclass
class Skip:
    """A library that did not run a pipeline, and why."""
    pipeline: str
    library: str
    reason: str


@dataclass
class Report:
    """Everything one ``datagen-gpu bench`` run measured (see ``report.py`` for its JSON form)."""
    settings: Settings
    seconds: float
    rows: List[Row] = field(default_factory=list)
    skips: List[Skip] = field(default_factory=list)
    copy_gbs: Dict[str, float] = field(default_factory=dict)
    sweep: Optional[str] = None
    passes: int = 1
    started: float = field(default_factory=time.time)


def _ours(pipeline: Pipeline, inputs: Inputs, s: Settings):
    """datagen_gpu's side: a callable on the inputs, or a DeviceLoader stream over the folder."""
    transform = pipeline.ours(s)
    if inputs.folder and pipeline.reads_files:
        return _loader_stream(transform, inputs.folder, s), "DeviceLoader(ThreadLoader(ImageFolder))"
    return (lambda: call(transform, inputs)), ""


def _loader_stream(transform, folder: str, s: Settings) -> Stream:
    from torch.utils.data import RandomSampler

    from ..data import DeviceLoader, ImageFolder, ThreadLoader

    dataset = ImageFolder(folder)
    batches, warmup = 8, 2

    def open_():
        sampler = RandomSampler(dataset, replacement=True, num_samples=(batches + warmup + 4) * s.batch,
                                generator=torch.Generator().manual_seed(s.seed))
        source = ThreadLoader(dataset, s.batch, sampler=sampler, num_threads=s.threads)
        return iter(DeviceLoader(source, transform, device=s.device, cpu_threads=s.threads))
    return Stream(open_, batches=batches, warmup=warmup)


def build_all(pipeline: Pipeline, inputs: Inputs, s: Settings, peers, log: Callable[[str], None]):
    """name -> P.Built for ours and every peer that builds; the skipped ones as :class:`Skip`."""
    built, skips = {}, []
    try:
        run, note = _ours(pipeline, inputs, s)
        built[OURS] = P.Built(run, s.device, note)
    except Unavailable as e:
        skips.append(Skip(pipeline.name, OURS, str(e)))
    for peer in (p for p in peers if P.applies(p, pipeline)):
        try:
            built[peer] = P.build(peer, pipeline, inputs, s)
        except Unavailable as e:
            skips.append(Skip(pipeline.name, peer, str(e)))
    for skip in skips:
        log(f"  skipped {skip.library} for {pipeline.name}: {skip.reason}")
    return built, skips


def _check_outputs(pipeline: Pipeline, built: Dict[str, P.Built], skips: List[Skip], log) -> Optional[int]:
    """Run each callable once; drop (as a Skip) any whose output differs in kind from the first one's.

    Returns the output bytes of one batch (None when only streams ran).
    """
    want, out_bytes = None, None
    for name in list(built):
        b = built[name]
        if isinstance(b.run, Stream):
            continue
        try:
            out = b.run()
        except Exception as e:  # noqa: BLE001  (a peer's failure is reported, not fatal)
            _drop(pipeline, name, built, skips, log, f"failed: {describe(e)}")
            continue
        got, nbytes = shapes(out), tensor_bytes(out)
        del out  # (a batch of big outputs need not outlive its check)
        if want is None:
            want, out_bytes = (name, got), nbytes
        elif got != want[1]:
            _drop(pipeline, name, built, skips, log, f"produced {got}, expected {want[1]} (as {want[0]})")
    return out_bytes


def _drop(pipeline: Pipeline, name: str, built, skips: List[Skip], log, reason: str) -> None:
    skips.append(Skip(pipeline.name, name, reason))
    log(f"  skipped {name} for {pipeline.name}: {reason}")
    _close(built.pop(name))


def _close(b: P.Built) -> None:
    close = getattr(b.run, "close", None)
    if close is not None:
        close()


def run_pipeline(pipeline: Pipeline, s: Settings, peers, seconds: float, copy_gbs: Dict[str, float],
                 log: Callable[[str], None] = print, progress: Optional[Progress] = None, min_rounds: int = 3):
    """Measure one pipeline at one setting: (rows, skips). See the module docstring."""
    inputs = pipeline.make_inputs(s)
    built, skips = build_all(pipeline, inputs, s, peers, log)
    try:
        out_bytes = _check_outputs(pipeline, built, skips, log)
        if not built:
            return [], skips
        cases = {n: b.run for n, b in built.items()}
        devices = {n: b.device for n, b in built.items()}
        # every callable ran once in _check_outputs: that was its warm-up
        timed = interleaved(cases, devices, seconds=seconds, min_rounds=min_rounds, warmup=0, progress=progress)
    finally:
        for b in built.values():
            _close(b)
    in_bytes = tensor_bytes(inputs.tensor) + tensor_bytes(inputs.labels)
    rows = []
    for name, t in timed.items():
        b = built[name]
        if t.error is not None:
            reason = f"failed while timed{f' (after {len(t.times_ms)} rounds)' if t.times_ms else ''}: {t.error}"
            skips.append(Skip(pipeline.name, name, reason))
            log(f"  dropped {name} for {pipeline.name}: {reason}")
            continue
        moved = None if isinstance(b.run, Stream) or out_bytes is None else in_bytes + out_bytes
        rows.append(_row(Row(pipeline.name, name, b.device, s.batch, s.size, s.threads, [], 0.0, (), 0.0,
                             bytes=moved, note=b.note), t.times_ms, copy_gbs))
    return _set_ratios(rows), skips


def _row(r: Row, times_ms: List[float], copy_gbs: Dict[str, float]) -> Row:
    """``r`` with the statistics of ``times_ms`` (median, spread, img/s, share of the copy bandwidth)."""
    t = Timed(list(times_ms))
    dev = torch.device(r.device).type
    if r.bytes is not None and dev not in copy_gbs:
        copy_gbs[dev] = copy_bandwidth(dev)
    bw = None if r.bytes is None else r.bytes / (t.median * 1e-3) / 1e9 / copy_gbs[dev]
    return dataclasses.replace(r, times_ms=[round(v, 4) for v in t.times_ms], median_ms=t.median, spread_ms=t.spread,
                               img_per_s=r.batch / (t.median * 1e-3), bandwidth=bw)


def _set_ratios(rows: List[Row]) -> List[Row]:
    """Each row's ratio: the fastest peer's median over its own, among rows of the same setting."""
    for r in rows:
        peer_ms = [o.median_ms for o in rows if o.library != OURS and (o.pipeline, o.batch, o.size, o.threads)
                   == (r.pipeline, r.batch, r.size, r.threads)]
        r.ratio = min(peer_ms) / r.median_ms if peer_ms else None
    return rows


def pool(rows: List[Row], copy_gbs: Dict[str, float]) -> List[Row]:
    """Rows of the same pipeline, library and setting (several sweep passes) merged into one."""
    groups = {}
    for r in rows:
        groups.setdefault((r.pipeline, r.library, r.batch, r.size, r.threads), []).append(r)
    return _set_ratios([_row(g[0], [v for r in g for v in r.times_ms], copy_gbs) for g in groups.values()])


def sweep_values(kind: str, values=None):
    """The sweep's points: ``values`` when given, else the defaults (threads: 1, 2, 4, ... cores)."""
    if values:
        return list(values)
    if kind == "threads":
        cores = os.cpu_count() or 1
        out = [1]
        while out[-1] * 2 < cores:
            out.append(out[-1] * 2)
        return out + ([cores] if cores > 1 else [])
    return list(SWEEPS[kind])


def run(pipelines: List[Pipeline], settings: Settings, peers, seconds: float, *, sweep: Optional[str] = None,
        sweep_points=None, log: Callable[[str], None] = print) -> Report:
    """Every pipeline (at every sweep point) with ours and ``peers``; see :class:`Report`."""
    report = Report(settings, seconds, sweep=sweep)
    points = [None] if sweep is None else sweep_values(sweep, sweep_points)
    # A sweep visits its points in SWEEP_PASSES passes (up, down, up...), a third of the time
    # each, and pools them: a minute of load from other processes then spreads over the
    # points instead of bending the curve at the points it happened to hit.
    passes = report.passes = 1 if sweep is None else SWEEP_PASSES
    order = [(k, v) for k in range(passes) for v in (points if k % 2 == 0 else points[::-1])]
    share = seconds / passes
    jobs = [(p, k, v) for k, v in order for p in pipelines]
    skipped = {}  # (pipeline, library, reason) -> the sweep points it happened at
    said = set()

    def log_once(message):  # a sweep repeats the same skip at every point: say it once
        if message not in said:
            said.add(message)
            log(message)
    bar = Progress(total=share * len(jobs), desc="bench")
    rows = []
    try:
        for pipeline, k, value in jobs:
            s = settings if value is None else dataclasses.replace(settings, **{sweep: value})
            where = "" if value is None else f" at {sweep}={value} (pass {k + 1}/{passes})"
            if sweep == "size" and pipeline.kind == "spectrogram":
                skipped.setdefault((pipeline.name, "all", "--size does not apply to spectrograms"), set()).add(value)
                bar.update(share)
                continue
            bar.set_description(f"{pipeline.name}{where}")
            log(f"{pipeline.name}{where}: {pipeline.title}")
            job = _Share(bar, share)
            with torch_threads(s.threads):
                got, skips = run_pipeline(pipeline, s, peers, share, report.copy_gbs, log_once, job,
                                          min_rounds=1 if passes > 1 else 3)
            job.finish()
            rows += got
            for k in skips:
                skipped.setdefault((k.pipeline, k.library, k.reason), set()).add(value)
    finally:
        bar.close()
    report.rows = rows if passes == 1 else pool(rows, report.copy_gbs)
    for (pipeline, library, reason), at in skipped.items():
        if sweep is not None and len(at) < len(points):
            reason += f" (at {sweep} = {', '.join(str(v) for v in sorted(at))})"
        report.skips.append(Skip(pipeline, library, reason))
    return report


class _Share:
    """One job's share of the progress bar: at most ``total`` of it, all of it once finished."""

    def __init__(self, bar: Progress, total: float):
        self.bar, self.left = bar, total

    def update(self, amount: float) -> None:
        amount = min(amount, self.left)
        self.left -= amount
        self.bar.update(amount)

    def finish(self) -> None:
        self.update(self.left)
