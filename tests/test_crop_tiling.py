"""Every tiling path of the resampling kernels -- resized_crop (kernels/geometry.py)
and fused_augment (kernels/fused.py) -- on inputs small enough for the interpreter.

The launchers read their tile (``geometry.BLOCK_H`` x ``geometry.BLOCK_W``), the
contrast mean's block (``color.MEAN_BLOCK``) and the grid limit
(``_common.GRID_X_LIMIT``) at every launch. The ``small`` fixture lowers them so
that these shapes take, each at least twice:
- several output tiles along both axes, with partial tiles at the edges;
- bands of input rows longer than a tile (downscaling, > BLOCK_H rows) and shorter
  (upscaling), columns with several taps and with one; boxes partly or wholly
  outside the image (empty bands, columns without taps); flips;
- RGB programs (C == 3, channels together) and per-channel ones (C != 3);
- fused_augment's contrast path: the PRE pass (partial sums, float32 tiles into
  the output itself or into a float32 buffer), a mean that loops over its
  partials, the finishing pass, samples whose contrast factor is 1 (finished by
  the PRE pass); without a crop; with a blur;
- a grid folded past ``GRID_X_LIMIT`` onto axis 1, with padding programs (which
  must not apply the in-place finishing pass twice).
Outputs are checked against reference.py with the per-dtype tolerance, and
resampled outputs against the default tiling bit for bit (every tap's weight is
computed the same way in every tile, and the sums run in the same order).

The last test records the launches of 512 x 3 x 16384 x 16384 batches (meta
tensors, nothing runs): every grid within CUDA's limits.
"""
import pytest
import torch

from datagen_gpu.kernels import _common, color, geometry
from datagen_gpu.testing import assert_close_to_reference, poison_outputs, random_images

from _backends import DTYPES, run_op, skip_unsupported
from test_fused import assert_fused_close, op_args as fused_args, reference as fused_reference
from test_fused import stage_params
from test_resized_crop import op_args, reference

GRID_LIMIT = 7  # programs on grid axis 0 before folding onto axis 1
TILE = (4, 8)  # BLOCK_H, BLOCK_W
DEFAULTS = (geometry.BLOCK_H, geometry.BLOCK_W, _common.GRID_X_LIMIT)


@pytest.fixture
def small(monkeypatch):
    """Small tiles, a small mean block and a low grid limit; returns the program
    counts of the launches made through ``flat_grid`` (kernel name, n, grid)."""
    skip_unsupported("triton")
    monkeypatch.setattr(geometry, "BLOCK_H", TILE[0])
    monkeypatch.setattr(geometry, "BLOCK_W", TILE[1])
    monkeypatch.setattr(color, "MEAN_BLOCK", 2)
    monkeypatch.setattr(_common, "GRID_X_LIMIT", GRID_LIMIT)
    return monkeypatch


def default_tiles(fn):
    """fn() with the default tile and grid settings (the ``small`` fixture undone)."""
    saved = geometry.BLOCK_H, geometry.BLOCK_W, _common.GRID_X_LIMIT
    geometry.BLOCK_H, geometry.BLOCK_W, _common.GRID_X_LIMIT = DEFAULTS
    try:
        return fn()
    finally:
        geometry.BLOCK_H, geometry.BLOCK_W, _common.GRID_X_LIMIT = saved


def boxes_for(H, W):
    """Per sample: a fractional downscaling box (rows: bands of ~2.6 x BLOCK_H input
    rows), an upscaling box leaving the image top-left, one below the image (no
    rows: zeros), one right of it (no columns: zeros)."""
    return torch.tensor([[1.3, 0.6, H - 2.1, W - 1.4],
                         [-2.0, -3.5, 0.45 * H, 0.4 * W],
                         [H + 1.0, 1.0, 3.0, 4.0],
                         [0.5, W + 0.25, 4.0, 3.0]], dtype=torch.float32)


SIZE = (9, 19)  # 3 x 3 tiles of 4 x 8, partial at the bottom and right edges


@pytest.mark.parametrize("dtype, channels", [(d, 3) for d in DTYPES] +
                         [(torch.float32, 1), (torch.uint8, 2)])
@pytest.mark.parametrize("antialias", [True, False])
def test_resized_crop_tiles(small, dtype, channels, antialias, gen):
    skip_unsupported("triton", dtype, bfloat16=True)
    x = random_images((4, channels, 25, 23), dtype, channels_last=channels == 3 and antialias,
                      generator=gen)
    boxes = boxes_for(25, 23)
    flip = torch.tensor([True, False, True, True])
    args = op_args(x, boxes, SIZE, flip, antialias)
    with poison_outputs():
        out = run_op("triton", "resized_crop", *args)
    assert_close_to_reference(out, reference(x, boxes, SIZE, flip, antialias), backend="triton",
                              msg=f"C={channels}")
    assert torch.equal(out[2:], torch.zeros_like(out[2:]))
    assert torch.equal(out, default_tiles(lambda: run_op("triton", "resized_crop", *args)))


@pytest.mark.parametrize("hwc", [False, True])
def test_resized_crop_ragged_tiles(small, hwc, gen):
    sizes = [(23, 31), (6, 40), (30, 5)]
    images = [random_images((1, 3) + s, torch.uint8, channels_last=hwc, generator=gen)[0]
              for s in sizes]
    boxes = torch.tensor([[0.7, 1.2, 21.5, 28.0], [-1.0, 3.0, 8.0, 30.0], [2.0, -0.5, 25.0, 6.0]])
    flip = torch.tensor([False, True, True])
    args = op_args(images, boxes, SIZE, flip, True, torch.float32)
    with poison_outputs():
        out = run_op("triton", "resized_crop", *args)
    assert_close_to_reference(out, reference(images, boxes, SIZE, flip, True))
    assert torch.equal(out, default_tiles(lambda: run_op("triton", "resized_crop", *args)))


def contrast_params(n, channels, gen, stages=("jitter", "gray", "solarize", "normalize")):
    """stage_params with a contrast factor of exactly 1 for sample 1 (finished by the
    PRE pass) and != 1 for the others."""
    p = stage_params(n, channels, gen, stages)
    p["contrast"] = torch.linspace(0.4, 1.6, n)
    p["contrast"][1] = 1.0
    p["contrast"][-1] = 1.3
    return p


@pytest.mark.parametrize("out_dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_fused_contrast_tiles(small, out_dtype, channels_last, gen):
    """float32 out: the PRE pass stores into the output and the finishing pass works in
    place; other dtypes: a float32 buffer. The grid is folded (padding programs)."""
    skip_unsupported("triton", out_dtype, bfloat16=True)
    x = random_images((4, 3, 25, 23), torch.uint8, channels_last=channels_last, generator=gen)
    boxes = boxes_for(25, 23)
    # the last program (which a folded grid's padding programs repeat) has pixels
    boxes[3] = torch.tensor([3.0, 2.0, 11.0, 9.0])
    flip = torch.tensor([True, False, False, True])
    p = contrast_params(4, 3, gen, ("jitter", "gray", "solarize") +
                        (("normalize",) if out_dtype != torch.uint8 else ()))
    with poison_outputs():
        out = run_op("triton", "fused_augment", *fused_args(x, boxes, SIZE, flip, p, out_dtype))
    assert out.is_contiguous(memory_format=torch.channels_last if channels_last else
                             torch.contiguous_format)
    assert_fused_close(out, *fused_reference(x, boxes, SIZE, flip, p), p, backend="triton")


@pytest.mark.parametrize("channels", [1, 4])
def test_fused_mono_tiles(small, channels, gen):
    """Per-channel programs (C != 3), with contrast for C = 1."""
    x = random_images((3, channels, 25, 23), torch.float16, generator=gen)
    boxes = boxes_for(25, 23)[:3]
    flip = torch.tensor([False, True, True])
    p = contrast_params(3, channels, gen)
    if channels != 1:
        p.pop("contrast")
    with poison_outputs():
        out = run_op("triton", "fused_augment", *fused_args(x, boxes, SIZE, flip, p, torch.float32))
    assert_fused_close(out, *fused_reference(x, boxes, SIZE, flip, p), p, backend="triton")


def test_fused_tiles_equal_resized_crop(small, gen):
    """Identity stages: the fused kernel's resampling is resized_crop's, on any tiling."""
    x = random_images((4, 3, 25, 23), torch.uint8, generator=gen)
    boxes = boxes_for(25, 23)
    flip = torch.tensor([True, False, True, False])
    crop = run_op("triton", "resized_crop", *op_args(x, boxes, SIZE, flip, True, torch.float32))
    fused = run_op("triton", "fused_augment", *fused_args(x, boxes, SIZE, flip, {}, torch.float32))
    assert torch.equal(crop, fused)
    assert torch.equal(crop, default_tiles(
        lambda: run_op("triton", "fused_augment",
                       *fused_args(x, boxes, SIZE, flip, {}, torch.float32))))


def test_fused_contrast_without_crop_tiles(small, gen):
    x = random_images((3, 3, 9, 19), torch.float32, channels_last=True, generator=gen)
    flip = torch.tensor([True, False, True])
    p = contrast_params(3, 3, gen)
    with poison_outputs():
        out = run_op("triton", "fused_augment", *fused_args(x, None, SIZE, flip, p))
    assert_fused_close(out, *fused_reference(x, None, SIZE, flip, p), p, backend="triton")


def test_fused_contrast_blur_tiles(small, gen):
    """Contrast in place on the blur's float32 input, then the blur."""
    x = random_images((3, 3, 25, 23), torch.uint8, generator=gen)
    boxes = boxes_for(25, 23)[:3]
    boxes[2] = torch.tensor([3.0, 2.0, 11.0, 9.0])
    flip = torch.tensor([False, True, False])
    p = contrast_params(3, 3, gen, ("jitter", "gray", "blur", "normalize"))
    p["blur_kernel"] = 3
    with poison_outputs():
        out = run_op("triton", "fused_augment", *fused_args(x, boxes, SIZE, flip, p, torch.float32))
    assert_fused_close(out, *fused_reference(x, boxes, SIZE, flip, p), p, backend="triton")


def test_fused_two_views_ragged_tiles(small, gen):
    sizes = [(23, 31), (6, 40)]
    images = [random_images((1, 3) + s, torch.float32, generator=gen)[0] for s in sizes]
    boxes = torch.tensor([[0.7, 1.2, 21.5, 28.0], [-1.0, 3.0, 8.0, 30.0],
                          [2.0, 2.0, 12.0, 12.0], [0.0, 0.0, 6.0, 40.0]])
    flip = torch.tensor([False, True, True, False])
    p = contrast_params(4, 3, gen)
    args = fused_args(images, boxes, SIZE, flip, p, views=2)
    with poison_outputs():
        out = run_op("triton", "fused_augment", *args)
    assert_fused_close(out, *fused_reference(images, boxes, SIZE, flip, p, views=2), p,
                       backend="triton")


# ------------------------------------------------------------------ grid limits


@pytest.mark.parametrize("channels_last", [False, True])
def test_grids_of_huge_batches(channels_last):
    """512 x C x 16384 x 16384 batches (C = 3; C = 4: per-channel programs), resized to
    16384 x 16384 and to 224 (fused: with contrast and a blur): every grid axis within
    CUDA's limits, the program counts as 64-bit kernel arguments where they pass 2^31."""
    import datagen_gpu.functional as F
    from datagen_gpu.kernels._record import meta_like, ops_to_launchers, record_launches

    skip_unsupported("triton")
    B, side = 512, 16384
    p = lambda *shape, dtype=torch.float32: torch.empty((B,) + shape, dtype=dtype,  # noqa: E731
                                                        device="meta")
    launches = []
    for C in (3, 4):
        x = meta_like((B, C, side, side), torch.uint8, channels_last=channels_last)
        with ops_to_launchers(), record_launches(execute=False) as got:
            for size in (side, 224):
                F.resized_crop(x, p(4), size, flip=p(dtype=torch.bool), out_dtype=torch.float32)
                kw = dict(brightness=p(), contrast=p() if C == 3 else None,
                          solarize_threshold=p(), mean=[0.5] * C, std=[0.25] * C)
                F.fused_augment(x, p(4), size, flip=p(dtype=torch.bool), **kw)
                F.fused_augment(x, p(4), size, blur_kernel=23, blur_sigma=p(), **kw)
        launches += got
    names = {"_resized_crop_kernel", "_fused_kernel", "_fused_finish_kernel",
             "_contrast_mean_kernel"}
    mine = [l for l in launches if l.short_name in names]
    assert {l.short_name for l in mine} == names
    bad = [(l.short_name, l.grid, l.grid_violations()) for l in launches if l.grid_violations()]
    assert not bad, bad
    # 512 x 4 planes x 2048 x 512 tiles of 8 x 32 = 2^31 programs: folded onto axis 1
    assert any(l.grid[1] > 1 for l in mine)
    for l in mine:
        if "n" in l.signature and l.grid[0] * l.grid[1] >= 2**31:
            assert l.signature["n"] == "i64", (l.short_name, l.signature)
