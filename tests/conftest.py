"""Shared fixtures. The helpers live in tests/_backends.py (imported first: it
sets TRITON_INTERPRET=1 on machines without a GPU before triton is imported);
test modules import them from there, not from ``conftest``, which is
ambiguous when benchmarks/conftest.py is collected in the same run.

Random inputs. The ``gen`` fixture gives each test a fresh generator seeded
from ``torch.seed()``, so every run draws new inputs. The seed is recorded on
the test (``item.user_properties``, so it also lands in a JUnit XML report)
and printed under the traceback of a failing test (any --tb but line / no)::

    ----- datagen seed -----
    seed=1234567 (replay: DATAGEN_TEST_SEED=1234567 pytest 'tests/test_x.py::test_y[...]')

To replay a failure, set DATAGEN_TEST_SEED to that seed: every ``gen`` then
starts from it (a test draws the same inputs whatever ran before it).
"""
import os

import pytest
import torch

from _backends import BACKENDS

SEED_ENV = "DATAGEN_TEST_SEED"


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def gen(request):
    """A fresh, seeded generator per test (fresh random inputs, reproducible failures)."""
    fixed = os.environ.get(SEED_ENV, "").strip()
    seed = int(fixed) if fixed else torch.seed() % (2**31)
    request.node.user_properties.append(("seed", seed))
    return torch.Generator().manual_seed(seed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    seeds = [value for name, value in item.user_properties if name == "seed"]
    if not seeds:
        return
    text = f"seed={seeds[-1]} (replay: {SEED_ENV}={seeds[-1]} pytest '{item.nodeid}')"
    if hasattr(report.longrepr, "addsection"):  # printed under the traceback, any --show-capture
        report.longrepr.addsection("datagen seed", text)
    else:
        report.sections.append(("datagen seed", text))
