"""Benchmark session setup: the torch thread count (see compare.py for why 1).

DATAGEN_BENCH_THREADS=N sets it (default 1, as in a DataLoader worker).
"""
import os

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _bench_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("DATAGEN_BENCH_THREADS", "1")))
    yield
    torch.set_num_threads(before)
