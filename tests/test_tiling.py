"""Every tiling, reduction and folded-grid path of the color, filter, audio and
mixing Triton kernels, on inputs small enough for the interpreter.

The launchers read their block sizes and grid limit at every launch from
module settings (kernels/_common.py ``GRID_X_LIMIT``, ``ROW_BLOCK``;
``color.BLOCK``, ``color.MEAN_BLOCK``; ``filters.TILE``, ``filters.TILE_W``;
``audio.BLOCK_T``, ``audio.MAX_SPLIT``). The ``small`` fixture lowers them so
that these shapes take, at least twice each:
- color: several pixel tiles per sample (T > 1), contrast partial sums over
  them and a mean that loops over its partials; MONO planes; strided rows;
- filters: several 2-D tiles along H and along W in both blur passes;
- audio: several time blocks per row, mean partial sums that loop over rows
  and over time blocks, an empty split;
- mixing (and geometry's row_program): several column blocks per row;
- every launch: a grid folded past ``GRID_X_LIMIT`` onto axis 1, with the
  padding programs of its last row repeating the last program.
Every output is checked against reference.py with the per-dtype tolerance.
On a CUDA machine the same tests run the compiled kernels on CUDA tensors.
"""
import pytest
import torch
import triton

from datagen_gpu import reference as R
from datagen_gpu.kernels import _common, audio, color, filters
from datagen_gpu.testing import assert_close_to_reference, poison_outputs, random_images

from _backends import DTYPES, run_op, skip_unsupported

GRID_LIMIT = 7  # programs on grid axis 0 before folding onto axis 1
FLOAT_DTYPES = [torch.float32, torch.float16, torch.bfloat16]


@pytest.fixture
def grids(monkeypatch):
    """Small blocks everywhere; returns {module name: [grids of its flat launches]}."""
    skip_unsupported("triton")
    monkeypatch.setattr(_common, "GRID_X_LIMIT", GRID_LIMIT)
    monkeypatch.setattr(_common, "ROW_BLOCK", 16)
    monkeypatch.setattr(color, "BLOCK", 16)
    monkeypatch.setattr(color, "MEAN_BLOCK", 2)
    monkeypatch.setattr(filters, "TILE", 64)
    monkeypatch.setattr(filters, "TILE_W", 16)
    monkeypatch.setattr(audio, "BLOCK_T", 16)
    monkeypatch.setattr(audio, "MAX_SPLIT", 4)
    seen, real = {}, _common.flat_grid
    # mixing's grid comes from _common.row_launch(padded=True)
    for module, name in ((color, "color"), (filters, "filters"), (audio, "audio"),
                         (_common, "mixing")):
        def record(n, _name=name):
            grid = real(n)
            seen.setdefault(_name, []).append((n, grid))
            return grid
        monkeypatch.setattr(module, "flat_grid", record)
    return seen


def assert_folded(launches, count=None):
    """Every launch of n > GRID_LIMIT programs was folded onto axis 1, with padding
    when n is not a multiple of the limit; ``count``: the number of launches."""
    assert launches and (count is None or len(launches) == count), launches
    for n, grid in launches:
        if n > GRID_LIMIT:
            assert grid == (GRID_LIMIT, triton.cdiv(n, GRID_LIMIT)), (n, grid)
        else:
            assert grid == (n,)
    assert any(n > GRID_LIMIT and n % GRID_LIMIT for n, _ in launches), launches


def layouts(shape, dtype, layout, gen):
    """NCHW, channels-last, or rows with a gap (strided: the kernels' non-FLAT path)."""
    if layout == "strided":
        b, c, h, w = shape
        return random_images((b, c, h, w + 3), dtype, generator=gen)[..., :w]
    return random_images(shape, dtype, channels_last=layout == "channels_last", generator=gen)


# ------------------------------------------------------------------ color


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
def test_color_jitter_tiles(grids, dtype, layout, gen):
    shape = (2, 3, 9, 13)  # 117 pixels: 8 tiles of 16; the mean adds 8 partials 2 at a time
    assert triton.cdiv(9 * 13, color.BLOCK) > 2 * color.MEAN_BLOCK
    x = layouts(shape, dtype, layout, gen)
    b = 0.5 + torch.rand(2, generator=gen)
    c = 0.5 + torch.rand(2, generator=gen)
    s = 0.5 + torch.rand(2, generator=gen)
    h = torch.rand(2, generator=gen) - 0.5
    order = torch.stack([torch.randperm(4, generator=gen) for _ in range(2)])
    with poison_outputs():
        out = run_op("triton", "color_jitter", x, b, c, s, h, order, dtype)
    ref = R.color_jitter(R.to_unit(x), b, c, s, h, order, quantized=dtype == torch.uint8)
    assert_close_to_reference(out, ref, msg="color_jitter", backend="triton")
    assert_folded(grids["color"], count=3)  # partial sums, means, jitter


@pytest.mark.parametrize("dtype", [torch.uint8, torch.bfloat16])
@pytest.mark.parametrize("channels", [1, 3])
def test_contrast_tiles_mono_and_rgb(grids, dtype, channels, gen):
    x = random_images((3, channels, 11, 13), dtype, generator=gen)
    f = torch.tensor([0.3, 1.7, 2.5])
    with poison_outputs():
        out = run_op("triton", "adjust_contrast", x, f, dtype)
    ref = R.adjust_contrast(R.to_unit(x), f, dtype == torch.uint8)
    assert_close_to_reference(out, ref, msg="adjust_contrast", backend="triton")
    assert_folded(grids["color"], count=3)


@pytest.mark.parametrize("channels", [2, 4])
def test_brightness_tiles_mono_planes(grids, channels, gen):
    x = random_images((2, channels, 9, 13), torch.float32, channels_last=True, generator=gen)
    f = torch.tensor([0.4, 1.6])
    out = run_op("triton", "adjust_brightness", x, f, torch.float32)
    assert_close_to_reference(out, R.adjust_brightness(R.to_unit(x), f), backend="triton")
    assert_folded(grids["color"], count=1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_solarize_tiles(grids, dtype, layout, gen):
    x = layouts((2, 3, 7, 11), dtype, layout, gen)
    t = torch.tensor([128.4, 30.0]) if dtype == torch.uint8 else torch.tensor([0.5013, 0.3])
    apply = torch.tensor([True, True])
    with poison_outputs():
        out = run_op("triton", "solarize", x, t, apply, dtype)
    assert_close_to_reference(out, R.solarize(R.to_unit(x), t, apply, dtype), backend="triton")
    assert_folded(grids["color"], count=1)


# ------------------------------------------------------------------ filters


@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_blur_tiles(grids, dtype, gen):
    x = random_images((2, 2, 11, 37), dtype, generator=gen)  # tiles of 4 x 16: 3 x 3 per plane
    sigma = torch.tensor([0.8, 2.0])
    with poison_outputs():
        out = run_op("triton", "gaussian_blur", x, 5, sigma, None, None, None, dtype)
    assert_close_to_reference(out, R.gaussian_blur(R.to_unit(x), 5, sigma), backend="triton")
    assert_folded(grids["filters"], count=1)  # one grid, both passes


def test_gaussian_blur_tiles_apply_normalize(grids, gen):
    x = random_images((2, 3, 9, 37), torch.uint8, channels_last=True, generator=gen)
    sigma, apply = torch.tensor([1.5, 0.7]), torch.tensor([False, True])
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    with poison_outputs():
        out = run_op("triton", "gaussian_blur", x, 5, sigma, apply, torch.tensor(mean),
                     torch.tensor(std), torch.bfloat16)
    ref = R.gaussian_blur(R.to_unit(x), 5, sigma, apply, mean, std)
    assert_close_to_reference(out, ref, backend="triton")
    assert_folded(grids["filters"], count=1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_normalize_tiles(grids, dtype, gen):
    x = layouts((2, 3, 9, 37), dtype, "strided", gen)
    mean, std = torch.tensor([0.4, 0.5, 0.6]), torch.tensor([0.2, 0.3, 0.25])
    out_dtype = torch.float32 if dtype == torch.uint8 else dtype
    with poison_outputs():
        out = run_op("triton", "normalize", x, mean, std, out_dtype)
    assert_close_to_reference(out, R.normalize(R.to_unit(x), mean, std), backend="triton")
    assert_folded(grids["filters"], count=1)


# ------------------------------------------------------------------ audio


def specs(shape, dtype, gen):
    return (torch.randn(shape, generator=gen) * 2).to(dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("fill", ["mean", "value"])
def test_spec_mask_tiles(grids, dtype, fill, gen):
    # 9 rows of 37: time blocks of 16 (3 per row); 4 mean splits of 3 rows, the last empty
    x = specs((2, 3, 3, 37), dtype, gen)
    fs, fw = torch.tensor([[1], [2]]), torch.tensor([[1], [0]])
    ts, tw = torch.tensor([[3, 30], [14, 0]]), torch.tensor([[5, 20], [4, 0]])
    value = None if fill == "mean" else torch.tensor([0.5, -2.0])
    with poison_outputs():
        out = run_op("triton", "spec_mask", x, fs, fw, ts, tw, value, dtype)
    ref = R.spec_mask(x.double(), fs, fw, ts, tw, value)
    assert_close_to_reference(out, ref, backend="triton")
    assert_folded(grids["audio"], count=2 if fill == "mean" else 1)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_freq_shift_tiles(grids, dtype, gen):
    x = specs((2, 2, 5, 37), dtype, gen)
    shift, fill = torch.tensor([2, -3]), torch.tensor([0.25, -1.0])
    with poison_outputs():
        out = run_op("triton", "freq_shift", x, shift, fill, dtype)
    assert_close_to_reference(out, R.freq_shift(x.double(), shift, fill), backend="triton")
    assert_folded(grids["audio"], count=1)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(3, 77), (2, 2, 3, 37)])
def test_audio_mixup_tiles(grids, dtype, shape, gen):
    x = specs(shape, dtype, gen)
    B = shape[0]
    lam, perm = torch.rand(B, generator=gen), torch.roll(torch.arange(B), 1)
    with poison_outputs():
        out = run_op("triton", "audio_mixup", x, lam, perm, dtype)
    assert_close_to_reference(out, R.audio_mixup(x.double(), lam, perm), backend="triton")
    assert_folded(grids["audio"], count=1)


# ------------------------------------------------------------------ mixing, row_program


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_mix_tiles(grids, dtype, channels_last, gen):
    x = random_images((3, 3, 5, 37), dtype, channels_last=channels_last, generator=gen)
    lam = torch.tensor([0.3, 1.0, 0.6])
    boxes = torch.tensor([[1, 10, 3, 20], [0, 0, 0, 0], [-2, 30, 9, 9]])
    perm = torch.tensor([2, 0, 1])
    with poison_outputs():
        out = run_op("triton", "mix", x, lam, boxes, perm, dtype)
    assert_close_to_reference(out, R.mix(R.to_unit(x), lam, boxes, perm), backend="triton")
    assert_folded(grids["mixing"], count=1)


def test_row_program_column_blocks(grids, gen):
    """geometry's hflip on the shared (unpadded) row_program: 3 column blocks per row."""
    x = random_images((2, 3, 4, 37), torch.float32, generator=gen)
    apply = torch.tensor([True, False])
    with poison_outputs():
        out = run_op("triton", "hflip", x, apply, torch.float32)
    assert torch.equal(out, R.hflip(x.double(), apply).float())


# ------------------------------------------------------------------ grid limits


def test_flat_grid_limits(monkeypatch):
    """Any program count fits CUDA's grid: axis 0 up to 2^31 - 1, then axis 1."""
    assert _common.flat_grid(1) == (1,)
    assert _common.flat_grid(2**31 - 1) == (2**31 - 1,)
    assert _common.flat_grid(2**31) == (2**31 - 1, 2)
    assert _common.flat_grid(2**40) == (2**31 - 1, triton.cdiv(2**40, 2**31 - 1))
    with pytest.raises(OverflowError):
        _common.flat_grid((2**31 - 1) * 65535 + 1)
    monkeypatch.setattr(_common, "GRID_X_LIMIT", 4)
    assert _common.flat_grid(4) == (4,) and _common.flat_grid(9) == (4, 3)
