"""Color ops against the float64 reference, on every backend.

adjust_brightness / adjust_contrast / adjust_saturation / adjust_hue /
color_jitter / rgb_to_grayscale / solarize: fresh random inputs at odd shapes,
every dtype and out_dtype, both layouts, poisoned outputs, no input mutation.
(Errors, B = 0, defaults and opcheck: test_color_api.py.)
"""
import itertools

import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu.testing import assert_close_to_reference, poison_outputs, random_images

from _backends import DTYPES, SHAPES, interpreted, run_op, shape_for, skip_unsupported

FACTOR_OPS = ["adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue"]


def random_factors(op, batch, gen):
    """Factors over the op's whole valid range, with the identity and the extremes mixed in."""
    if op == "adjust_hue":
        f = torch.rand(batch, generator=gen) - 0.5
        special = [0.0, 0.5, -0.5]
    else:
        f = torch.rand(batch, generator=gen) * 2.5
        special = [1.0, 0.0]
    for i, v in enumerate(special[: max(0, batch - 1)]):
        f[(i + 1) % batch] = v
    return f


def reference_factor_op(op, x, factor):
    """Reference for a factor op on the kernel's input ``x`` (uint8 floors the grayscale)."""
    unit = R.to_unit(x)
    quantized = x.dtype == torch.uint8
    if op == "adjust_brightness":
        return R.adjust_brightness(unit, factor)
    if op == "adjust_contrast":
        return R.adjust_contrast(unit, factor, quantized)
    if op == "adjust_saturation":
        return R.adjust_saturation(unit, factor, quantized)
    return R.adjust_hue(unit, factor)


def check_layout(out, x, out_dtype):
    assert out.dtype == out_dtype and out.shape == x.shape
    if x.shape[1] > 1:
        assert out.is_contiguous(memory_format=torch.channels_last) == (
            not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last))


# ------------------------------------------------------------------ single adjustments


@pytest.mark.parametrize("op", FACTOR_OPS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_factor_op_matches_reference(backend, op, shape, dtype, channels_last, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    shape = shape_for(backend, shape)
    x = random_images(shape, dtype, channels_last=channels_last, generator=gen)
    factor = random_factors(op, shape[0], gen)
    x_before = x.clone()
    with poison_outputs():
        out = run_op(backend, op, x, factor, dtype)
    check_layout(out, x, dtype)
    assert_close_to_reference(out, reference_factor_op(op, x, factor), msg=op, backend=backend)
    assert torch.equal(x, x_before)


@pytest.mark.parametrize("op", FACTOR_OPS)
@pytest.mark.parametrize("in_dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("out_dtype", DTYPES)
def test_factor_op_out_dtype(backend, op, in_dtype, out_dtype, gen):
    skip_unsupported(backend, out_dtype, bfloat16=True)
    x = random_images((3, 3, 9, 11), in_dtype, generator=gen)
    factor = random_factors(op, 3, gen)
    with poison_outputs():
        out = run_op(backend, op, x, factor, out_dtype)
    check_layout(out, x, out_dtype)
    assert_close_to_reference(out, reference_factor_op(op, x, factor), msg=op, backend=backend)


@pytest.mark.parametrize("op,channels", [("adjust_brightness", 1), ("adjust_brightness", 2),
                                         ("adjust_brightness", 4), ("adjust_contrast", 1)])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("channels_last", [False, True])
def test_non_rgb_channels(backend, op, channels, dtype, channels_last, gen):
    shape = shape_for(backend, (3, channels, 13, 21))
    x = random_images(shape, dtype, channels_last=channels_last, generator=gen)
    factor = random_factors(op, shape[0], gen)
    with poison_outputs():
        out = run_op(backend, op, x, factor, dtype)
    check_layout(out, x, dtype)
    assert_close_to_reference(out, reference_factor_op(op, x, factor), msg=op, backend=backend)


def _hue_test_pixels():
    """Grays (max == min), primaries and secondaries (sextant boundaries), ties
    between the max channels, and black / white, as a (1, 3, 4, 16) image."""
    vals = [0.0, 0.2, 0.6, 1.0]
    px = [(v, v, v) for v in vals]
    px += [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1), (1, 0, 1)]
    px += [(0.8, 0.8, 0.2), (0.8, 0.2, 0.8), (0.2, 0.8, 0.8), (0.5, 0.25, 0.25)]
    px += [(0.9, 0.5, 0.1), (0.1, 0.5, 0.9)]
    px = (px * 4)[:64]
    return torch.tensor(px, dtype=torch.float32).T.reshape(1, 3, 4, 16)


@pytest.mark.parametrize("factor", [-0.5, -0.25, -1e-7, 0.0, 1e-7, 1.0 / 6.0, 0.3, 0.5])
def test_hue_special_pixels_and_extreme_factors(backend, factor):
    x = _hue_test_pixels()
    f = torch.tensor([factor])
    with poison_outputs():
        out = run_op(backend, "adjust_hue", x, f, torch.float32)
    assert_close_to_reference(out, R.adjust_hue(R.to_unit(x), f), msg="hue", backend=backend)
    xu = (x * 255).round().to(torch.uint8)
    out = run_op(backend, "adjust_hue", xu, f, torch.uint8)
    assert_close_to_reference(out, R.adjust_hue(R.to_unit(xu), f), msg="hue uint8",
                              backend=backend)


def test_hue_half_turn_both_signs_agree(backend, gen):
    x = random_images(shape_for(backend, (2, 3, 9, 13)), torch.float32, generator=gen)
    plus = run_op(backend, "adjust_hue", x, torch.full((2,), 0.5), torch.float32)
    minus = run_op(backend, "adjust_hue", x, torch.full((2,), -0.5), torch.float32)
    torch.testing.assert_close(plus, minus, atol=1e-5, rtol=0)


def test_uint8_grayscale_floor_is_exact(gen):
    """Every (r, g, b) whose decimal-weighted luma is an exact integer level or one
    1e-4 below it: the floor must be exact (kernel vs integer arithmetic)."""
    r, g, b = torch.meshgrid(torch.arange(0, 256, 3), torch.arange(0, 256, 5),
                             torch.arange(0, 256), indexing="ij")
    s = 2989 * r + 5870 * g + 1140 * b
    keep = (s % 10000 == 0) | (s % 10000 == 9999) | (s % 10000 == 1)
    rgb = torch.stack([r[keep], g[keep], b[keep]]).to(torch.uint8)
    assert rgb.shape[1] > 100
    x = rgb.reshape(1, 3, 1, -1)
    out = torch.ops.datagen_gpu.rgb_to_grayscale(x, torch.tensor([True]), torch.uint8)
    expected = torch.div(s[keep], 10000, rounding_mode="floor").to(torch.uint8)
    assert torch.equal(out[0, 0, 0], expected)
    assert torch.equal(out[0, 1], out[0, 0]) and torch.equal(out[0, 2], out[0, 0])


# ------------------------------------------------------------------ color_jitter


def jitter_params(batch, gen, identity_every=0):
    b = torch.rand(batch, generator=gen) * 2.0
    c = torch.rand(batch, generator=gen) * 2.0
    s = torch.rand(batch, generator=gen) * 2.0
    h = torch.rand(batch, generator=gen) - 0.5
    if identity_every:
        b[::identity_every] = 1.0
        c[1::identity_every] = 1.0
        s[2::identity_every] = 1.0
        h[::identity_every] = 0.0
    return b, c, s, h


def all_orders(batch, gen):
    perms = torch.tensor(list(itertools.permutations(range(4))), dtype=torch.int64)
    idx = torch.randperm(24, generator=gen)
    return perms[idx.repeat(batch // 24 + 1)[:batch]].contiguous()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_color_jitter_all_orders_match_reference(backend, dtype, channels_last, gen):
    """All 24 orders over one batch, some identity factors, every dtype."""
    skip_unsupported(backend, dtype, bfloat16=True)
    batch = 24
    h, w = (5, 7) if interpreted(backend) else (11, 29)
    x = random_images((batch, 3, h, w), dtype, channels_last=channels_last, generator=gen)
    params = jitter_params(batch, gen, identity_every=5)
    order = all_orders(batch, gen)
    x_before = x.clone()
    with poison_outputs():
        out = run_op(backend, "color_jitter", x, *params, order, dtype)
    check_layout(out, x, dtype)
    ref = R.color_jitter(R.to_unit(x), *params, order, quantized=dtype == torch.uint8)
    assert_close_to_reference(out, ref, msg="color_jitter", backend=backend)
    assert torch.equal(x, x_before)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("out_dtype", DTYPES)
def test_color_jitter_shapes_and_out_dtype(backend, shape, out_dtype, gen):
    skip_unsupported(backend, out_dtype, bfloat16=True)
    shape = shape_for(backend, shape)
    x = random_images(shape, torch.uint8, generator=gen)
    params = jitter_params(shape[0], gen)
    order = torch.stack([torch.randperm(4, generator=gen) for _ in range(shape[0])])
    with poison_outputs():
        out = run_op(backend, "color_jitter", x, *params, order, out_dtype)
    check_layout(out, x, out_dtype)
    assert_close_to_reference(out, R.color_jitter(R.to_unit(x), *params, order, quantized=True),
                              backend=backend)


def test_color_jitter_equals_single_ops_in_order(backend, gen):
    """Fused == the four single ops applied one after another (float32)."""
    shape = shape_for(backend, (6, 3, 17, 23))
    batch = shape[0]
    x = random_images(shape, torch.float32, generator=gen)
    b, c, s, h = jitter_params(batch, gen, identity_every=4)
    order = all_orders(batch, gen)
    fused = run_op(backend, "color_jitter", x, b, c, s, h, order, torch.float32)
    names = ["adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue"]
    factors = [b, c, s, h]
    for i in range(batch):
        y = x[i:i + 1]
        for op in order[i].tolist():
            y = run_op(backend, names[op], y, factors[op][i:i + 1], torch.float32)
        torch.testing.assert_close(fused[i:i + 1], y, atol=1e-6, rtol=0)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_color_jitter_identity_is_exact_copy(backend, dtype, gen):
    x = random_images(shape_for(backend, (3, 3, 9, 14)), dtype, channels_last=True, generator=gen)
    batch = x.shape[0]
    ones, zeros = torch.ones(batch), torch.zeros(batch)
    order = all_orders(batch, gen)
    with poison_outputs():
        out = run_op(backend, "color_jitter", x, ones, ones, ones, zeros, order, dtype)
    assert torch.equal(out, x)


def test_color_jitter_contrast_sees_earlier_steps(gen):
    """Brightness 0 before contrast makes the mean 0: contrast then only scales."""
    x = random_images((2, 3, 8, 8), torch.float32, generator=gen)
    b, c = torch.tensor([0.5, 0.5]), torch.tensor([1.5, 1.5])
    one, zero = torch.ones(2), torch.zeros(2)
    order = torch.tensor([[0, 1, 2, 3], [1, 0, 2, 3]])
    out = F.color_jitter(x, b, c, one, zero, order)
    first_b = F.adjust_contrast(F.adjust_brightness(x[:1], 0.5), 1.5)
    first_c = F.adjust_brightness(F.adjust_contrast(x[1:], 1.5), 0.5)
    torch.testing.assert_close(out[:1], first_b, atol=1e-6, rtol=0)
    torch.testing.assert_close(out[1:], first_c, atol=1e-6, rtol=0)


def test_color_jitter_deterministic_across_thread_counts(gen):
    x = random_images((4, 3, 150, 97), torch.float32, generator=gen)
    params = jitter_params(4, gen)
    order = all_orders(4, gen)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = F.color_jitter(x, *params, order)
        torch.set_num_threads(max(2, threads))
        many = F.color_jitter(x, *params, order)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, many)


# ------------------------------------------------------------------ grayscale and solarize


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_rgb_to_grayscale_matches_reference(backend, dtype, channels_last, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    shape = shape_for(backend, (5, 3, 19, 23))
    x = random_images(shape, dtype, channels_last=channels_last, generator=gen)
    apply = torch.tensor([True, False, True, True, False])[: shape[0]]
    x_before = x.clone()
    with poison_outputs():
        out = run_op(backend, "rgb_to_grayscale", x, apply, dtype)
    check_layout(out, x, dtype)
    ref = R.rgb_to_grayscale(R.to_unit(x), apply, quantized=dtype == torch.uint8)
    assert_close_to_reference(out, ref, msg="rgb_to_grayscale", backend=backend)
    assert torch.equal(out[~apply], x[~apply])  # untouched samples are exact copies
    assert torch.equal(x, x_before)
    if dtype == torch.uint8:  # floor of the luma, exactly torchvision's truncation
        assert torch.equal(out[apply].double() / 255.0, ref[apply])


@pytest.mark.parametrize("out_dtype", DTYPES)
def test_rgb_to_grayscale_out_dtype(backend, out_dtype, gen):
    skip_unsupported(backend, out_dtype, bfloat16=True)
    x = random_images((2, 3, 7, 9), torch.uint8, generator=gen)
    apply = torch.tensor([True, False])
    with poison_outputs():
        out = run_op(backend, "rgb_to_grayscale", x, apply, out_dtype)
    assert_close_to_reference(out, R.rgb_to_grayscale(R.to_unit(x), apply, quantized=True),
                              backend=backend)


def solarize_thresholds(x, gen):
    """Per-sample thresholds in the dtype's range, some equal to values in the image."""
    batch = x.shape[0]
    if x.dtype == torch.uint8:
        t = torch.rand(batch, generator=gen) * 255.0
        t[0] = float(x[0, 0, 0, 0])  # ties: x >= t inverts
        if batch > 1:
            t[1] = t[1].floor() + 0.5
    else:
        t = torch.rand(batch, generator=gen)
        t[0] = float(x[0, 0, 0, 0])
    return t


@pytest.mark.parametrize("shape", SHAPES + [(3, 1, 9, 10), (2, 4, 6, 33)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_solarize_matches_reference(backend, shape, dtype, channels_last, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    shape = shape_for(backend, shape)
    x = random_images(shape, dtype, channels_last=channels_last, generator=gen)
    t = solarize_thresholds(x, gen)
    apply = torch.rand(shape[0], generator=gen) < 0.7
    apply[0] = True
    x_before = x.clone()
    with poison_outputs():
        out = run_op(backend, "solarize", x, t, apply, dtype)
    check_layout(out, x, dtype)
    ref = R.solarize(R.to_unit(x), t, apply, x.dtype)
    assert_close_to_reference(out, ref, msg="solarize", backend=backend)
    assert torch.equal(out[~apply], x[~apply])
    if dtype == torch.uint8:  # 255 - x is exact
        assert torch.equal(out, torch.round(ref * 255.0).to(torch.uint8))
    assert torch.equal(x, x_before)


@pytest.mark.parametrize("out_dtype", DTYPES)
def test_solarize_out_dtype(backend, out_dtype, gen):
    skip_unsupported(backend, out_dtype, bfloat16=True)
    x = random_images((3, 3, 5, 8), torch.float16, generator=gen)
    t = torch.tensor([0.2999, 0.5, 0.0])  # 0.2999 rounds to a float16 value in x's grid
    x[0, 0, 0, 0] = 0.2999
    apply = torch.tensor([True, True, False])
    with poison_outputs():
        out = run_op(backend, "solarize", x, t, apply, out_dtype)
    ref = R.solarize(R.to_unit(x), t, apply, x.dtype)
    assert_close_to_reference(out, ref, backend=backend)
    assert ref[0, 0, 0, 0] != R.to_unit(x)[0, 0, 0, 0]  # compared in float16, as torchvision
