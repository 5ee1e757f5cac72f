"""pytest-benchmark benchmarks of every op on the CPU (cases: benchmarks/cases.py).

Run (a few minutes on 2 cores)::

    python -m pytest benchmarks/bench_ops.py --benchmark-enable

with one torch thread (as in a DataLoader worker; DATAGEN_BENCH_THREADS=N
changes it, see benchmarks/conftest.py). Benchmarks are grouped by op.

Every op is one benchmark group with up to three members:

- ``ours``: the C++ kernel via datagen_gpu.functional, B=64 uint8 3x256x256;
- ``torchvision_loop``: torchvision.transforms.v2.functional per sample in a
  Python loop plus the collate stack (skipped without torchvision);
- ``reference_b4``: the float64 reference on the first 4 samples only (it is
  slow); multiply by 16 for the full batch.

Without ``--benchmark-enable`` (the project's default addopts disable
benchmarking) each case runs once, as a smoke test. For one table with
ratios measured in the same run, use benchmarks/compare.py.
"""
import pytest

from cases import OPS, make_cases

_CASES = {}


def _case(op):
    if not _CASES:
        _CASES.update((c.op, c) for c in make_cases())
    return _CASES[op]


@pytest.mark.parametrize("op", OPS)
def test_ours(benchmark, op):
    benchmark.group = op
    benchmark.extra_info["images"] = _case(op).batch
    benchmark.pedantic(_case(op).ours, rounds=10, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("op", OPS)
def test_torchvision_loop(benchmark, op):
    case = _case(op)
    if case.torchvision is None:
        pytest.skip("torchvision is not installed")
    benchmark.group = op
    benchmark.extra_info["images"] = case.batch
    benchmark.pedantic(case.torchvision, rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("op", OPS)
def test_reference_b4(benchmark, op):
    case = _case(op)
    benchmark.group = op
    benchmark.extra_info["images"] = case.ref_batch
    benchmark.pedantic(case.reference, rounds=2, iterations=1)
