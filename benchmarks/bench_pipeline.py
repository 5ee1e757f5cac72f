"""pytest-benchmark: the SimCLR view pipeline per library (group "simclr_pipeline").

Cases are in ``pipeline_cases.py`` (ours, torchvision v2 per image, kornia
batched, DALI CPU); a case whose library is missing is skipped with the
reason. With benchmarking enabled the batch is the issue's B=64 uint8
3x256x256 -> float32 224x224; with ``--benchmark-disable`` (the project's
default addopts, what CI runs) each case runs once on a 2-image batch, as a
smoke test. benchmarks/conftest.py sets one torch thread (DATAGEN_BENCH_THREADS=N
to change); DALI gets the same number of threads::

    python -m pytest benchmarks/bench_pipeline.py --benchmark-enable --benchmark-group-by=group

For one side-by-side table with ratios: ``python benchmarks/compare_pipeline.py``.
"""
import os
import sys

import pytest
import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.insert(0, os.path.dirname(_HERE))

import pipeline_cases as pc  # noqa: E402

SMOKE_BATCH = 2


@pytest.mark.parametrize("name", list(pc.BUILDERS))
def test_simclr_pipeline(benchmark, name):
    full = not benchmark.disabled  # --benchmark-disable (addopts), unless --benchmark-enable
    batch = pc.BATCH if full else SMOKE_BATCH
    images = pc.make_images(batch)
    try:
        # DALI gets as many threads as torch has (equal cores; torchvision_2w always uses 2 processes)
        fn = pc.build(name, images, dali_threads=torch.get_num_threads())
    except pc.Unavailable as e:
        pytest.skip(f"{name}: {e}")
    benchmark.group = "simclr_pipeline"
    benchmark.extra_info["batch"] = f"{batch}x3x{pc.IN_SIZE}x{pc.IN_SIZE} uint8 -> float32 {pc.OUT_SIZE}"
    benchmark.extra_info["threads"] = torch.get_num_threads()
    out = benchmark.pedantic(fn, rounds=5 if full else 1, iterations=1, warmup_rounds=1 if full else 0)
    assert out.shape == (batch, 3, pc.OUT_SIZE, pc.OUT_SIZE) and out.dtype == torch.float32
