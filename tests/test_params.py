"""The counter-based generator and the vectorized samplers."""
import math
import random

import pytest
import torch

from datagen_gpu.params import coins, permutations, random_bits, resized_crop_boxes, uniform
from datagen_gpu.params.counter import hash32
from datagen_gpu.params.samplers import CROP_DRAWS, jitter_range


def test_draws_are_pure_functions_of_the_key():
    ids = torch.arange(1000, 1100)
    a = uniform(7, ids, 3, 5)
    # any subset, order or batch split gives the same rows
    perm = torch.randperm(100)
    assert torch.equal(uniform(7, ids[perm], 3, 5), a[perm])
    assert torch.equal(torch.cat([uniform(7, ids[:37], 3, 5), uniform(7, ids[37:], 3, 5)]), a)
    # a prefix of the draws does not depend on how many are drawn
    assert torch.equal(uniform(7, ids, 3, 2), a[:, :2])
    # every key word matters
    for other in (uniform(8, ids, 3, 5), uniform(7, ids + 1, 3, 5), uniform(7, ids, 4, 5)):
        assert (other != a).float().mean() > 0.99


def test_draws_are_exact_integers_and_floats():
    ids = torch.tensor([0, 1, 2**40 + 5, -3, 2**62])
    bits = random_bits(123, ids, 2**33 + 1, 4)
    assert bits.dtype == torch.int64 and bool((bits >= 0).all()) and bool((bits < 2**32).all())
    u32 = uniform(123, ids, 1, 4)
    assert u32.dtype == torch.float32 and bool((u32 >= 0).all()) and bool((u32 < 1).all())
    assert torch.equal(u32 * 2**24, torch.floor(u32 * 2**24))  # 24-bit exact
    u64 = uniform(123, ids, 1, 4, torch.float64)
    assert u64.dtype == torch.float64 and bool((u64 < 1).all())


def test_hash_matches_a_python_integer_implementation():
    def ref(x):  # the same rounds with Python's unbounded ints
        x ^= x >> 16
        x = (x * 0x7FEB352D) & 0xFFFFFFFF
        x ^= x >> 15
        x = (x * 0x846CA68B) & 0xFFFFFFFF
        x ^= x >> 16
        return x
    xs = [0, 1, 2, 12345, 2**31, 2**32 - 1] + [random.getrandbits(32) for _ in range(200)]
    got = hash32(torch.tensor(xs, dtype=torch.int64)).tolist()
    assert got == [ref(x) for x in xs]


def test_uniformity_and_independence():
    u = uniform(0, torch.arange(200_000), 11, 4, torch.float64)
    scipy_stats = pytest.importorskip("scipy.stats")
    for k in range(4):
        assert scipy_stats.kstest(u[:, k].numpy(), "uniform").pvalue > 1e-4
    c = torch.corrcoef(torch.stack([u[:-1, 0], u[1:, 0], u[:-1, 1], u[:-1, 2]]))
    assert (c - torch.eye(4, dtype=c.dtype)).abs().max() < 0.02


def _torchvision_crop(height, width, scale, ratio, rng):
    """torchvision's RandomResizedCrop.get_params, transcribed with Python's RNG."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return rng.randint(0, height - h), rng.randint(0, width - w), h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


@pytest.mark.parametrize("hw,scale,ratio", [((256, 320), (0.08, 1.0), (3 / 4, 4 / 3)),
                                            ((64, 200), (0.5, 1.0), (0.9, 1.1))])
def test_resized_crop_boxes_match_torchvision_distribution(hw, scale, ratio):
    scipy_stats = pytest.importorskip("scipy.stats")
    n = 100_000
    H, W = hw
    u = uniform(5, torch.arange(n), 1, CROP_DRAWS, torch.float64)
    boxes = resized_crop_boxes(u, torch.full((n,), H), torch.full((n,), W), scale, ratio)
    top, left, h, w = boxes.unbind(1)
    assert bool((top >= 0).all() and (left >= 0).all() and (top + h <= H).all() and (left + w <= W).all())
    assert torch.equal(boxes, boxes.round())
    rng = random.Random(0)
    ref = torch.tensor([_torchvision_crop(H, W, scale, ratio, rng) for _ in range(n)], dtype=torch.float64)
    for ours, theirs in ((h * w / (H * W), ref[:, 2] * ref[:, 3] / (H * W)),
                         (w / h, ref[:, 3] / ref[:, 2]),
                         (top, ref[:, 0]), (left, ref[:, 1])):
        assert scipy_stats.ks_2samp(ours.numpy(), theirs.numpy()).pvalue > 1e-3


def test_resized_crop_fallback_is_torchvision_central_crop():
    # an impossible scale forces the fallback: every try is rejected
    u = uniform(0, torch.arange(8), 1, CROP_DRAWS, torch.float64)
    for (H, W) in ((100, 400), (400, 100), (100, 110)):
        boxes = resized_crop_boxes(u, torch.full((8,), H), torch.full((8,), W), (2.0, 3.0), (3 / 4, 4 / 3))
        expected = _torchvision_crop(H, W, (2.0, 3.0), (3 / 4, 4 / 3), random.Random(0))
        assert boxes.tolist() == [list(map(float, expected))] * 8


def test_coins_and_permutations():
    u = uniform(1, torch.arange(100_000), 2, 5)
    c = coins(u[:, 0], 0.3)
    assert abs(c.float().mean().item() - 0.3) < 0.01
    assert not coins(u[:, 0], 0.0).any() and coins(u[:, 0], 1.0).all()
    perms = permutations(u[:, 1:5])
    assert torch.equal(perms.sort(1).values, torch.arange(4).expand(100_000, 4))
    codes = (perms * torch.tensor([64, 16, 4, 1])).sum(1)
    counts = torch.bincount(codes, minlength=256)[torch.unique(codes)]
    assert len(counts) == 24 and counts.min() > 100_000 / 24 * 0.9


def test_jitter_range_parsing():
    assert jitter_range(0.4, "brightness") == (0.6, 1.4)
    assert jitter_range(2.0, "contrast") == (0.0, 3.0)
    assert jitter_range(0, "saturation") is None and jitter_range(None, "saturation") is None
    assert jitter_range(0.1, "hue", center=0.0, bound=(-0.5, 0.5), clip_first_to_zero=False) == (-0.1, 0.1)
    with pytest.raises(ValueError, match="hue"):
        jitter_range(0.6, "hue", center=0.0, bound=(-0.5, 0.5), clip_first_to_zero=False)
    with pytest.raises(ValueError, match="brightness"):
        jitter_range(-1, "brightness")
    with pytest.raises(TypeError, match="contrast"):
        jitter_range("x", "contrast")


_IDS = torch.tensor([0, 1, 5, 2**40 + 3, -7, 123456789012, -2**63, 2**63 - 1, 99], dtype=torch.int64)


@pytest.mark.parametrize("backend", ["cpu", "triton"])
def test_random_bits_op_equals_the_torch_definition(backend):
    """The one-pass op (C++ / Triton) is bit-identical to the plain-torch arithmetic."""
    from datagen_gpu.params.counter import _key, random_bits_torch

    from _backends import run_op, skip_unsupported

    skip_unsupported(backend)
    for seed in (0, 7, 2**33 + 5, -1):
        for op_id in (0, 0x12345678, 2**45 + 99):
            for n in (0, 1, 9):
                got = run_op(backend, "random_bits", _IDS, _key(seed, op_id), n)
                assert got.dtype == torch.int64 and got.shape == (len(_IDS), n)
                assert torch.equal(got, random_bits_torch(seed, _IDS, op_id, n))
    assert run_op(backend, "random_bits", _IDS[:0], 5, 3).shape == (0, 3)


def test_random_bits_op_checks_and_opcheck():
    op = torch.ops.datagen_gpu.random_bits
    with pytest.raises(ValueError, match="sample_ids"):
        op(torch.zeros(2, 2, dtype=torch.int64), 1, 3)
    with pytest.raises(TypeError, match="sample_ids"):
        op(torch.zeros(2, dtype=torch.int32), 1, 3)
    with pytest.raises(ValueError, match="n_draws"):
        op(_IDS, 1, -1)
    with pytest.raises(ValueError, match="key"):
        op(_IDS, 2**32, 1)
    torch.library.opcheck(op.default, (_IDS, 12345, 4))
    small = torch.tensor([0, 1, 5, -7, 2**31 - 1])
    assert torch.equal(random_bits(3, small.to(torch.int32), 9, 2), random_bits(3, small, 9, 2))
