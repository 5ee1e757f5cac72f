"""pytest-benchmark: every ``datagen-gpu bench`` pipeline per library (one group per pipeline).

The cases are ``datagen_gpu.bench``'s: ours and every installed peer that can
express the pipeline (a missing or unable one is skipped with the reason).
With benchmarking enabled the batch is B=64 at 224x224; with
``--benchmark-disable`` (the project's default addopts, what CI runs) each
case runs once on a 2-image 32x32 batch, as a smoke test. One torch thread
(benchmarks/conftest.py; DATAGEN_BENCH_THREADS=N), and as many DALI threads
and worker processes::

    python -m pytest benchmarks/bench_pipeline.py --benchmark-enable --benchmark-group-by=group

For one side-by-side table with ratios: ``datagen-gpu bench``.
"""
import pytest
import torch

from datagen_gpu.bench import cases, peers
from datagen_gpu.bench.run import OURS, build_all

CASES = [(name, lib) for name, p in cases.PIPELINES.items() for lib in (OURS, *peers.PEERS)
         if lib == OURS or peers.applies(lib, p)]


@pytest.mark.parametrize("name,library", CASES)
def test_pipeline(benchmark, name, library):
    pipeline = cases.PIPELINES[name]
    full = not benchmark.disabled
    s = cases.Settings(batch=64 if full else 2, size=224 if full else 32, threads=torch.get_num_threads())
    others = [] if library == OURS else [library]
    skipped = []
    built, skips = build_all(pipeline, pipeline.make_inputs(s), s, others, skipped.append)
    try:
        if library not in built:
            pytest.skip(next(k.reason for k in skips if k.library == library))
        benchmark.group = name
        benchmark.extra_info["batch"] = f"{s.batch} -> {s.size}x{s.size}"
        benchmark.pedantic(built[library].run, rounds=5 if full else 1, iterations=1,
                           warmup_rounds=1 if full else 0)
    finally:
        for b in built.values():
            getattr(b.run, "close", lambda: None)()
