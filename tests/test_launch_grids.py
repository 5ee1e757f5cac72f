"""Launch grids of huge inputs stay within CUDA's limits (x <= 2^31 - 1, y and z <= 65535).

The launchers run on meta tensors (no memory) with ``record_launches(execute=False)``
(datagen_gpu/kernels/_record.py): 2 x 3 x 16384 x 16384 images, NCHW and
channels-last, for every image op, and 2 rows of 100M samples for audio_mixup and
the spectrogram ops (a (2, 1, 100M) spectrogram). Nothing is allocated or run.
"""
import os
import sys

import _backends  # noqa: F401  (TRITON_INTERPRET before triton is imported)
import pytest

pytest.importorskip("triton")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import compile_check as cc  # noqa: E402

from datagen_gpu.kernels._record import CUDA_GRID_LIMITS  # noqa: E402


@pytest.mark.parametrize("op", cc.HUGE_IMAGE_OPS)
def test_image_grid_16384(op):
    launches = cc.huge_launches(op)
    assert launches, f"{op} launched nothing"
    bad = [(l.short_name, l.grid, l.grid_violations()) for l in launches if l.grid_violations()]
    assert not bad, f"{op} on 16384 x 16384 images: {bad}"


@pytest.mark.parametrize("op", cc.HUGE_AUDIO_OPS)
def test_audio_grid_100m_samples(op):
    launches = cc.huge_launches(op)
    assert launches, f"{op} launched nothing"
    bad = [(l.short_name, l.grid, l.grid_violations()) for l in launches if l.grid_violations()]
    assert not bad, f"{op} on 100M-sample rows: {bad}"


def test_grid_limits_are_cudas():
    assert CUDA_GRID_LIMITS == (2**31 - 1, 65535, 65535)


def test_launch_grids_lists_every_op():
    grids = cc.launch_grids()
    assert set(grids) == set(cc.HUGE_IMAGE_OPS + cc.HUGE_AUDIO_OPS)
    assert all(len(g) == 3 for launches in grids.values() for _, g in launches)
