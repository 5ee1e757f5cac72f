"""pytest-benchmark benchmarks of every op on the CPU (cases: ``compare.make_cases``).

Run (a few minutes on 2 cores)::

    python -m pytest benchmarks/bench_ops.py --benchmark-enable

with one torch thread (as in a DataLoader worker; DATAGEN_BENCH_THREADS=N
changes it, see benchmarks/conftest.py). Every op is one benchmark group
with up to three members: ``ours`` (the C++ kernel via datagen_gpu.functional,
B=64 uint8 3x256x256), ``torchvision`` (v2.functional per sample plus the
collate stack; skipped without torchvision) and ``reference`` (float64, on
the first 4 samples only: multiply by 16 for the batch). Without
``--benchmark-enable`` (the project's default addopts) each runs once on a
2-image batch, as a smoke test. For one table with ratios from the same run:
``python benchmarks/compare.py``.
"""
import pytest

from compare import make_cases
from datagen_gpu.bench.ops import OPS

_CASES = {}


def _case(op, member, full):
    if full not in _CASES:
        _CASES[full] = make_cases(batch=64 if full else 2)
    case = _CASES[full][op]
    if member not in case:
        pytest.skip(f"{member} is not installed")
    return case[member]


@pytest.mark.parametrize("member", ["ours", "torchvision", "reference"])
@pytest.mark.parametrize("op", OPS)
def test_op(benchmark, op, member):
    full = not benchmark.disabled
    fn = _case(op, member, full)
    benchmark.group = op
    rounds = {"ours": 10, "torchvision": 3, "reference": 2}[member] if full else 1
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1 if full else 0)
