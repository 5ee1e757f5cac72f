"""The cache of large CPU outputs (csrc/output_cache.h, datagen_gpu.memory)."""
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

import datagen_gpu
import datagen_gpu.functional as F

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


@pytest.fixture
def cache():
    """A clean cache with the default limit, restored after the test."""
    limit = datagen_gpu.cpu_cache_info()["limit_bytes"]
    datagen_gpu.empty_cpu_cache()
    yield
    datagen_gpu.set_cpu_cache_limit(limit)
    datagen_gpu.empty_cpu_cache()


def _images(b=8, size=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(b, 3, size, size, generator=g) * 255).to(torch.uint8)


def test_freed_output_is_reused(cache):
    x = _images()  # 8 x 3 x 256 x 256 float32 = 6 MiB: cached
    out = F.normalize(x, MEAN, STD)
    ptr, nbytes = out.data_ptr(), out.numel() * out.element_size()
    del out
    assert datagen_gpu.cpu_cache_info()["idle_bytes"] >= nbytes
    again = F.normalize(x, MEAN, STD)
    assert again.data_ptr() == ptr
    assert datagen_gpu.cpu_cache_info()["idle_bytes"] == 0


def test_reused_buffer_is_fully_rewritten(cache):
    """Stale contents of a reused buffer never show through."""
    x = _images(seed=1)
    boxes = torch.tensor([[10.0, 20.0, 200.0, 180.0]] * 8)
    want = F.fused_augment(x, boxes, 224, mean=MEAN, std=STD, out_dtype=torch.float32).clone()
    for _ in range(3):
        out = F.fused_augment(x, boxes, 224, mean=MEAN, std=STD, out_dtype=torch.float32)
        assert torch.equal(out, want)
        out.fill_(float("nan"))  # garbage for the next call to overwrite
        del out


def test_small_outputs_bypass_the_cache(cache):
    out = F.normalize(_images(b=1, size=64), MEAN, STD)  # 48 KiB
    del out
    assert datagen_gpu.cpu_cache_info()["idle_bytes"] == 0


def test_limit_zero_disables_and_empty_frees(cache):
    x = _images()
    out = F.normalize(x, MEAN, STD)
    del out
    assert datagen_gpu.cpu_cache_info()["idle_bytes"] > 0
    info = datagen_gpu.empty_cpu_cache()
    assert info["idle_bytes"] == 0
    assert datagen_gpu.set_cpu_cache_limit(0) == {"idle_bytes": 0, "limit_bytes": 0}
    out = F.normalize(x, MEAN, STD)
    del out
    assert datagen_gpu.cpu_cache_info()["idle_bytes"] == 0


def test_limit_caps_idle_bytes(cache):
    x = _images()
    outs = [F.normalize(x, MEAN, STD) for _ in range(3)]
    one = outs[0].numel() * 4
    datagen_gpu.set_cpu_cache_limit(2 * one + (2 << 20))  # room for two (rounded) buffers
    del outs
    info = datagen_gpu.cpu_cache_info()
    assert 0 < info["idle_bytes"] <= info["limit_bytes"]


def test_outputs_are_ordinary_resizable_tensors(cache):
    out = F.normalize(_images(), MEAN, STD)
    out.resize_(4, 4)
    assert out.shape == (4, 4)
    out.resize_(16, 3, 256, 256)  # grows past the cached buffer
    out.fill_(1.0)
    assert float(out.sum()) == out.numel()


def test_concurrent_calls(cache):
    x = _images(b=4)
    want = F.normalize(x, MEAN, STD)

    def run(_):
        return all(torch.equal(F.normalize(x, MEAN, STD), want) for _ in range(5))

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(run, range(8)))


def test_bad_limits():
    with pytest.raises(TypeError, match="limit_bytes"):
        datagen_gpu.set_cpu_cache_limit(1.5)
    with pytest.raises(TypeError, match="limit_bytes"):
        datagen_gpu.set_cpu_cache_limit(True)
    with pytest.raises(ValueError, match="limit_bytes"):
        datagen_gpu.set_cpu_cache_limit(-1)


@pytest.mark.parametrize("out_dtype", [torch.uint8, torch.float32])
def test_cached_outputs_keep_layout_and_values(cache, out_dtype):
    """Outputs large enough for the cache (>= 1 MiB), NCHW and channels-last."""
    x = _images(b=6, seed=2)
    boxes = torch.tensor([[5.0, 7.0, 200.0, 230.0]] * 6)
    flip = torch.tensor([True, False] * 3)
    small = F.resized_crop(x[:1], boxes[:1], 64, flip=flip[:1], out_dtype=out_dtype)  # uncached
    for layout in (torch.contiguous_format, torch.channels_last):
        xi = x.contiguous(memory_format=layout)
        out = F.resized_crop(xi, boxes, 256, flip=flip, out_dtype=out_dtype)
        assert out.numel() * out.element_size() >= 1 << 20
        assert out.is_contiguous(memory_format=layout)
        ref = F.resized_crop(x, boxes, 256, flip=flip, out_dtype=out_dtype)
        assert torch.equal(out, ref)
        assert torch.equal(F.resized_crop(xi[:1], boxes[:1], 64, flip=flip[:1], out_dtype=out_dtype),
                           small)


def test_cached_buffers_are_poisoned_when_asked(cache):
    """Poisoning (datagen_gpu.testing) also covers buffers served by the cache."""
    from datagen_gpu.testing import poison_outputs

    x = _images()
    want = F.normalize(x, MEAN, STD)
    ptr = want.data_ptr()
    del want
    with poison_outputs():
        got = F.normalize(x, MEAN, STD)
    assert got.data_ptr() == ptr  # the reused buffer, NaN-filled, then fully written
    assert not torch.isnan(got).any()
    assert torch.equal(got, F.normalize(x, MEAN, STD))


@pytest.mark.parametrize("value, limit", [("0", 0), ("64", 64 << 20), ("lots", 256 << 20)])
def test_limit_from_the_environment(value, limit):
    """DATAGEN_GPU_CPU_CACHE_MB sets the limit; a bad value warns (naming the
    variable) and keeps the default."""
    import os
    import subprocess
    import sys

    code = "import datagen_gpu; print(datagen_gpu.cpu_cache_info()['limit_bytes'])"
    env = {**os.environ, "DATAGEN_GPU_CPU_CACHE_MB": value}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert int(run.stdout) == limit
    assert ("DATAGEN_GPU_CPU_CACHE_MB" in run.stderr) == (value == "lots")
