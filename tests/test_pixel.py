"""pixel_ops (the per-sample PixelOp codes) against the float64 reference, on every backend.

Every code alone and all of them mixed per sample in one batch, every dtype and
out_dtype, NCHW / channels-last / rows with gaps, 1..4 channels, odd shapes
(sharpness at H or W <= 2, constant images for autocontrast / equalize),
poisoned outputs, no input mutation, the launch count (3, whatever the mix), the
Triton statistics / tiling paths with lowered block sizes, thread-count
independence on the CPU. (Functionals, errors, opcheck and torchvision parity:
test_pixel_ops.py.)
"""
import pytest
import torch
import triton

from datagen_gpu import reference as R
from datagen_gpu._checks import is_channels_last
from datagen_gpu.functional import PixelOp
from datagen_gpu.kernels import _common
from datagen_gpu.testing import assert_close_to_reference, poison_outputs, random_images

from _backends import DTYPES, interpreted, run_op, skip_unsupported

CODES = list(PixelOp)
FACTOR_CODES = {PixelOp.BRIGHTNESS, PixelOp.SATURATION, PixelOp.CONTRAST, PixelOp.SHARPNESS}
# uint8 results equal to the reference's levels exactly (no truncation to differ by)
EXACT_U8 = {PixelOp.IDENTITY, PixelOp.POSTERIZE, PixelOp.SOLARIZE, PixelOp.EQUALIZE,
            PixelOp.INVERT, PixelOp.SOLARIZE_ADD}


def magnitudes(codes, x, gen):
    """Valid magnitudes of each sample's code over its whole range, with identities,
    extremes and ties mixed in (``x``: the images, for solarize's thresholds)."""
    top = 255.0 if x.dtype == torch.uint8 else 1.0
    m = torch.zeros(len(codes))
    for i, code in enumerate(int(c) for c in codes):
        u = float(torch.rand(1, generator=gen))
        if code in FACTOR_CODES:
            m[i] = (0.0, 1.0, 2.5 * u, 0.3 + u)[i % 4]
        elif code == PixelOp.POSTERIZE:
            m[i] = (i * 5 + int(u * 9)) % 9
        elif code == PixelOp.SOLARIZE:
            tie = float(R.to_unit(x[i % x.shape[0], 0, 0, 0]).item()) * top
            m[i] = (tie, u * top, 0.0, top, (int(u * 255) + 0.5) / 255 * top)[i % 5]
        elif code == PixelOp.SOLARIZE_ADD:
            m[i] = float(round(u * 110)) if top == 255.0 else u * 0.45
        else:
            m[i] = u * 3.0 - 1.0  # ignored
    return m


def reference(x, op, m):
    return R.pixel_ops(R.to_unit(x), op, m, x.dtype)


def check(out, x, op, m, backend, out_dtype=None, msg=""):
    """Output layout and dtype, closeness to the reference, exactness where due."""
    out_dtype = out_dtype or x.dtype
    assert out.dtype == out_dtype and out.shape == x.shape
    assert is_channels_last(out) == is_channels_last(x)
    ref = reference(x, op, m)
    assert_close_to_reference(out, ref, msg=msg, backend=backend)
    if out_dtype == torch.uint8 and x.dtype == torch.uint8:
        exact = torch.tensor([int(c) in EXACT_U8 for c in op])
        assert torch.equal(out[exact], torch.round(ref[exact] * 255.0).to(torch.uint8)), msg
    if out_dtype == torch.float32:  # equalize returns levels / 255 exactly (up to float32)
        eq = op == PixelOp.EQUALIZE
        torch.testing.assert_close(out[eq].double(), ref[eq], atol=1e-6, rtol=0)
    return ref


def run(backend, x, op, m, out_dtype=None):
    x_before = x.clone()
    with poison_outputs():
        out = run_op(backend, "pixel_ops", x, op, m, out_dtype or x.dtype)
    assert torch.equal(x, x_before)
    return out


def layouts(shape, dtype, layout, gen):
    """NCHW, channels-last, or rows with a gap (strided: the kernels' non-FLAT path)."""
    if layout == "strided":
        b, c, h, w = shape
        return random_images((b, c, h, w + 3), dtype, generator=gen)[..., :w]
    return random_images(shape, dtype, channels_last=layout == "channels_last", generator=gen)


# ------------------------------------------------------------------ one code at a time


@pytest.mark.parametrize("code", CODES, ids=[c.name for c in CODES])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_each_code_matches_reference(backend, code, dtype, channels_last, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    x = random_images((4, 3, 13, 17), dtype, channels_last=channels_last, generator=gen)
    op = torch.full((4,), int(code), dtype=torch.int64)
    m = magnitudes(op, x, gen)
    out = run(backend, x, op, m)
    check(out, x, op, m, backend, msg=code.name)


# ------------------------------------------------------------------ mixed batches


def mixed_codes(batch, gen):
    """Every code at least once (batch >= 11), in a random order."""
    codes = torch.arange(batch) % len(CODES)
    return codes[torch.randperm(batch, generator=gen)].contiguous()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
def test_mixed_batch_matches_reference(backend, dtype, layout, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    x = layouts((22, 3, 9, 14), dtype, layout, gen)
    op = mixed_codes(22, gen)
    m = magnitudes(op, x, gen)
    out = run(backend, x, op, m)
    check(out, x, op, m, backend, msg=f"mixed {layout}")


@pytest.mark.parametrize("in_dtype", DTYPES)
@pytest.mark.parametrize("out_dtype", DTYPES)
def test_mixed_batch_out_dtype(backend, in_dtype, out_dtype, gen):
    skip_unsupported(backend, in_dtype, out_dtype, bfloat16=True)
    x = random_images((11, 3, 7, 10), in_dtype, generator=gen)
    op = mixed_codes(11, gen)
    m = magnitudes(op, x, gen)
    out = run(backend, x, op, m, out_dtype)
    check(out, x, op, m, backend, out_dtype, msg=f"{in_dtype} -> {out_dtype}")


@pytest.mark.parametrize("channels", [1, 2, 4])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("channels_last", [False, True])
def test_channel_counts(backend, channels, dtype, channels_last, gen):
    """Per-channel ops for any C; SATURATION of one channel is the identity and CONTRAST
    of one channel uses it as its gray (C = 2, 4: neither, as torchvision)."""
    codes = [c for c in CODES if channels == 1 or c not in (PixelOp.SATURATION, PixelOp.CONTRAST)]
    x = random_images((len(codes), channels, 11, 9), dtype, channels_last=channels_last,
                      generator=gen)
    op = torch.tensor([int(c) for c in codes])
    m = magnitudes(op, x, gen)
    out = run(backend, x, op, m)
    check(out, x, op, m, backend, msg=f"C={channels}")
    if channels == 1:
        sat = op == PixelOp.SATURATION
        assert torch.equal(out[sat], x[sat])


def test_launch_count_is_fixed(gen):
    """3 launches (statistics, their reduction, the ops) for any mix of codes."""
    skip_unsupported("triton")
    if not interpreted():
        pytest.skip("counted on the interpreter")
    from datagen_gpu.kernels._record import record_launches

    x = random_images((11, 3, 6, 7), torch.uint8, generator=gen)
    names = []
    for op in (mixed_codes(11, gen), torch.zeros(11, dtype=torch.int64),
               torch.full((11,), int(PixelOp.EQUALIZE))):
        with record_launches(execute=True) as launches:
            run_op("triton", "pixel_ops", x, op, magnitudes(op, x, gen), torch.uint8)
        names.append([launch.short_name for launch in launches])
    assert names[0] == ["_pixel_stats_kernel", "_pixel_finish_kernel", "_pixel_ops_kernel"]
    assert names[1] == names[0] and names[2] == names[0]


# ------------------------------------------------------------------ edge cases


@pytest.mark.parametrize("hw", [(1, 1), (1, 7), (2, 2), (2, 9), (9, 2), (3, 3), (3, 8), (5, 3)])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float16, torch.float32])
def test_sharpness_small_images(backend, hw, dtype, gen):
    """torchvision keeps every image with H or W <= 2 and the border of larger ones."""
    x = random_images((3, 3) + hw, dtype, generator=gen)
    op = torch.full((3,), int(PixelOp.SHARPNESS))
    m = torch.tensor([0.0, 0.6, 2.0])
    out = run(backend, x, op, m)
    check(out, x, op, m, backend, msg=f"sharpness {hw}")
    if min(hw) <= 2:
        assert torch.equal(out, x)
    else:
        assert torch.equal(out[..., 0, :], x[..., 0, :]) and torch.equal(out[..., -1], x[..., -1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_constant_and_two_level_images(backend, dtype, gen):
    """AUTOCONTRAST keeps a constant channel; EQUALIZE keeps the levels of images too
    flat for PIL's step (step = 0), and spreads two levels apart otherwise."""
    skip_unsupported(backend, dtype, bfloat16=True)
    x = random_images((6, 3, 8, 11), dtype, generator=gen)
    x[0:2] = x[0:2, :, :1, :1]  # constant per channel
    x[2:4, :, :4] = x[2:4, :, :1, :1]  # two values per channel
    x[2:4, :, 4:] = x[2:4, :, 1:2, 1:2]
    x[4, :, :, :] = x[4, :, :1, :1]
    x[4, :, 0, 0] = x[5, :, 0, 0]  # one odd pixel: n - count(brightest) < 255 -> step 0
    op = torch.tensor([int(PixelOp.AUTOCONTRAST), int(PixelOp.EQUALIZE)] * 3)
    m = torch.zeros(6)
    out = run(backend, x, op, m)
    check(out, x, op, m, backend, msg="flat images")
    assert torch.equal(out[0], x[0])  # autocontrast of a constant image is exact
    if dtype == torch.uint8:
        assert torch.equal(out[1], x[1])  # step 0: the levels are kept


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.bfloat16])
def test_posterize_every_bit_count(backend, dtype, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    x = random_images((9, 2, 5, 13), dtype, generator=gen)
    x[:, 0, 0, :3] = torch.tensor([0, 255, 128]).to(dtype) if dtype == torch.uint8 else \
        torch.tensor([0.0, 1.0, 0.5]).to(dtype)
    op = torch.full((9,), int(PixelOp.POSTERIZE))
    m = torch.arange(9, dtype=torch.float32)
    out = run(backend, x, op, m)
    check(out, x, op, m, backend, msg="posterize")
    if dtype == torch.uint8:
        assert torch.equal(out[8], x[8]) and not out[0].any()


def test_equalize_float_levels_match_to_dtype(backend, gen):
    """Float EQUALIZE bins as to_dtype does: x * 255.999 truncated, in the input dtype
    (float16 / bfloat16 products round), values right at the level edges included."""
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        skip_unsupported(backend, dtype, bfloat16=True)
        levels = torch.arange(256, dtype=torch.float64)
        edges = torch.cat([levels / 255.999, (levels + 1) / 255.999 - 1e-4, levels / 255.0])
        x = edges.clamp(0, 1).to(dtype).reshape(1, 1, 24, 32).expand(2, 3, 24, 32).contiguous()
        op = torch.tensor([int(PixelOp.EQUALIZE), int(PixelOp.EQUALIZE)])
        out = run(backend, x, op, torch.zeros(2), torch.float32)
        check(out, x, op, torch.zeros(2), backend, torch.float32, msg=f"equalize {dtype}")


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_empty_inputs(backend, dtype):
    for shape in ((0, 3, 5, 6), (2, 3, 0, 6), (2, 3, 5, 0), (2, 0, 5, 6)):
        x = random_images(shape, dtype)
        op = torch.full((shape[0],), int(PixelOp.EQUALIZE))
        out = run_op(backend, "pixel_ops", x, op, torch.zeros(shape[0]), torch.float16)
        assert out.shape == shape and out.dtype == torch.float16


def test_cpu_results_independent_of_thread_count(gen):
    """Several row blocks per sample (statistics partials combined in a fixed order)."""
    x = random_images((11, 3, 300, 64), torch.float32, generator=gen)
    op = mixed_codes(11, gen)
    m = magnitudes(op, x, gen)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = torch.ops.datagen_gpu.pixel_ops(x, op, m, torch.float32)
        torch.set_num_threads(max(2, threads))
        many = torch.ops.datagen_gpu.pixel_ops(x, op, m, torch.float32)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, many)
    check(one, x, op, m, "cpu", msg="row blocks")


# ------------------------------------------------------------------ C++ uint8 paths


def same_data(x, layout):
    """x's values in another layout: channels-last, or rows with a gap (strided)."""
    if layout == "channels_last":
        return x.contiguous(memory_format=torch.channels_last)
    b, c, h, w = x.shape
    y = torch.zeros((b, c, h, w + 3), dtype=x.dtype)[..., :w]
    y.copy_(x)
    return y


def cpu_op(x, op, m, out_dtype):
    with poison_outputs():
        return torch.ops.datagen_gpu.pixel_ops(x, op, m, out_dtype)


def as_stored_levels(y):
    """float32 values in [0, 1] stored as uint8 the way the kernels store them."""
    return (y * 255.0 + 0.5).clamp(0, 255).to(torch.uint8)


def test_cpu_sharpness_blurred_level_formulas():
    """The C++ uint8 SHARPNESS rounds the blur to round(S / 13), S the 3x3 sum of levels
    with the centre weighted 5, as floor(S * (1 / 13) + 0.5) in float32 or, on AVX2, as
    ((2 S + 13) * 40330) >> 20 in 16-bit lanes (csrc/isa_kernels.h): every S agrees."""
    s = torch.arange(13 * 255 + 1)
    exact = (2 * s + 13) // 26
    assert torch.equal(torch.round(s.double() / 13).long(), exact)  # never a tie
    assert torch.equal(torch.floor(s.float() * (1.0 / 13.0) + 0.5).long(), exact)
    assert int((2 * s + 13).max()) < 2**16
    assert torch.equal(((2 * s + 13) * 40330) >> 20, exact)


@pytest.mark.parametrize("w", [3, 4, 9, 17, 18, 19, 26, 34, 35, 50])
def test_cpu_sharpness_uint8_widths_and_layouts(w, gen):
    """Integer 3x3 sums on uint8 rows: 16-pixel (AVX2), 8- or 4-pixel and scalar steps
    across the interior columns; every output dtype; the uint8 output is the float32
    one stored; channels-last and strided inputs (rows gathered first) give the same."""
    x = random_images((4, 3, 6, w), torch.uint8, generator=gen)
    x[0, :, 2:4] = 255  # saturated sums
    x[1, :, 2:4] = 0
    op = torch.full((4,), int(PixelOp.SHARPNESS))
    m = torch.tensor([0.0, 0.5, 1.7, 1.0])
    for out_dtype in DTYPES:
        check(cpu_op(x, op, m, out_dtype), x, op, m, "cpu", out_dtype, msg=f"W={w} {out_dtype}")
    u8 = cpu_op(x, op, m, torch.uint8)
    assert torch.equal(u8, as_stored_levels(cpu_op(x, op, m, torch.float32)))
    assert torch.equal(u8[3], x[3])  # factor 1 keeps the image
    for layout in ("channels_last", "strided"):
        for out_dtype in (torch.uint8, torch.float32):
            assert torch.equal(cpu_op(same_data(x, layout), op, m, out_dtype),
                               cpu_op(x, op, m, out_dtype)), layout


@pytest.mark.parametrize("hw", [(1, 1), (2, 7), (4, 8), (3, 11), (5, 13), (7, 64), (40, 41)])
def test_cpu_uint8_level_tables(hw, gen):
    """uint8 samples of the per-channel ops map their levels through 256-entry tables
    (runs shorter than a 32-level block, exact blocks, an overlapping last block,
    maps that are the identity next to others): against the reference in every output
    dtype, uint8 equal to the float32 output stored, and the same in every layout."""
    x = random_images((33, 3) + hw, torch.uint8, generator=gen)
    op = torch.cat([mixed_codes(22, gen), torch.tensor([int(c) for c in CODES])])
    m = magnitudes(op, x, gen)
    m[22:] = torch.tensor([0.0, 1.0, 1.0, 1.0, 1.0, 8.0, 255.0, 0.0, 0.0, 0.0, 0.0])  # identities
    for out_dtype in DTYPES:
        check(cpu_op(x, op, m, out_dtype), x, op, m, "cpu", out_dtype, msg=f"{hw} {out_dtype}")
    u8 = cpu_op(x, op, m, torch.uint8)
    assert torch.equal(u8, as_stored_levels(cpu_op(x, op, m, torch.float32)))
    for k in (22, 23, 24, 25, 26, 27, 32):  # IDENTITY, factors 1, 8 bits, addend 0
        assert torch.equal(u8[k], x[k]), CODES[k - 22].name
    for layout in ("channels_last", "strided"):
        for out_dtype in (torch.uint8, torch.float16):
            assert torch.equal(cpu_op(same_data(x, layout), op, m, out_dtype),
                               cpu_op(x, op, m, out_dtype)), layout


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
def test_cpu_identity_copies_rows(dtype, layout, gen):
    """IDENTITY into the input's dtype copies (whole row blocks when contiguous)."""
    x = same_data(random_images((3, 3, 70, 300), dtype, generator=gen), layout) \
        if layout != "contiguous" else random_images((3, 3, 70, 300), dtype, generator=gen)
    op = torch.tensor([0, 9, 0])
    out = cpu_op(x, op, torch.zeros(3), dtype)
    assert torch.equal(out[0], x[0]) and torch.equal(out[2], x[2])
    assert is_channels_last(out) == is_channels_last(x)


@pytest.mark.parametrize("channels_last", [False, True])
def test_cpu_uint8_results_independent_of_thread_count(channels_last, gen):
    """uint8 statistics (histogram / extreme levels per row block), tables and the
    integer sharpness with several row blocks per sample, on 1 and on 2+ threads."""
    x = random_images((11, 3, 300, 64), torch.uint8, channels_last=channels_last, generator=gen)
    op = mixed_codes(11, gen)
    m = magnitudes(op, x, gen)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = [torch.ops.datagen_gpu.pixel_ops(x, op, m, d) for d in (torch.uint8, torch.float32)]
        torch.set_num_threads(max(2, threads))
        many = [torch.ops.datagen_gpu.pixel_ops(x, op, m, d) for d in (torch.uint8, torch.float32)]
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(u, v) for u, v in zip(one, many))
    check(one[0], x, op, m, "cpu", msg="uint8 row blocks")


# ------------------------------------------------------------------ Triton tiling


GRID_LIMIT = 7


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 16 pixels (sharpness in 2 sub-tiles of 8), statistics chunks of 2
    blocks, finish steps of 2 partials, grids folded past 7 programs; returns the
    recorded (n, grid) of every launch."""
    skip_unsupported("triton")
    from datagen_gpu.kernels import pixel

    monkeypatch.setattr(_common, "GRID_X_LIMIT", GRID_LIMIT)
    monkeypatch.setattr(pixel, "BLOCK", 16)
    monkeypatch.setattr(pixel, "SHARP_BLOCK", 8)
    monkeypatch.setattr(pixel, "STATS_BLOCK", 16)
    monkeypatch.setattr(pixel, "STATS_STEPS", 2)
    monkeypatch.setattr(pixel, "FINISH_BLOCK", 2)
    seen, real = [], _common.flat_grid

    def record(n):
        grid = real(n)
        seen.append((n, grid))
        return grid

    monkeypatch.setattr(pixel, "flat_grid", record)
    return seen


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
def test_tiles_and_statistics_chunks(small_blocks, dtype, layout, gen):
    """143 pixels: 9 blocks of 16 per plane, 5 statistics chunks (the last of one
    block) reduced 2 at a time, apply tiles past the folded grid limit."""
    x = layouts((11, 3, 11, 13), dtype, layout, gen)
    assert triton.cdiv(11 * 13, 16) == 9
    op = mixed_codes(11, gen)
    m = magnitudes(op, x, gen)
    out = run("triton", x, op, m)
    check(out, x, op, m, "triton", msg=f"tiles {layout}")
    assert [n for n, _ in small_blocks] == [11 * 5, 11 * 3, 11 * 9]
    for n, grid in small_blocks:
        assert grid == ((n,) if n <= GRID_LIMIT else (GRID_LIMIT, triton.cdiv(n, GRID_LIMIT)))


@pytest.mark.parametrize("channels", [1, 3])
def test_tiles_one_chunk_and_one_channel(small_blocks, channels, gen):
    """A plane of a single statistics chunk (S = 1) and of exactly one block."""
    for shape in ((4, channels, 4, 8), (4, channels, 2, 8)):
        x = random_images(shape, torch.uint8, generator=gen)
        op = torch.tensor([int(PixelOp.EQUALIZE), int(PixelOp.AUTOCONTRAST), int(PixelOp.CONTRAST),
                           int(PixelOp.SHARPNESS)])
        m = torch.tensor([0.0, 0.0, 0.4, 1.7])
        out = run("triton", x, op, m)
        check(out, x, op, m, "triton", msg=f"one chunk {shape}")
