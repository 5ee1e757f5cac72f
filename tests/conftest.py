"""Shared fixtures. The helpers live in tests/_backends.py (imported first: it
sets TRITON_INTERPRET=1 on machines without a GPU before triton is imported);
test modules import them from there, not from ``conftest``, which is
ambiguous when benchmarks/conftest.py is collected in the same run."""
import pytest
import torch

from _backends import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def gen():
    """A fresh, seeded generator per test (fresh random inputs, reproducible failures)."""
    return torch.Generator().manual_seed(torch.seed() % (2**31))
