"""Triton geometry kernels: hflip and resized_crop.

resized_crop (and fused_augment, kernels/fused.py) resamples separably, as the
C++ kernels do (csrc/crop.cpp: horizontal pass, then vertical, float32), inside
one kernel and without an intermediate in memory: a program owns a BLOCK_H x
BLOCK_W output tile; for each input row of the band its tile reads (the union
of its rows' taps: about (BLOCK_H + 1) * scale_y rows when downscaling) it
resamples that row horizontally once (nx gathers per output column) and adds it
to every output row of the tile with the row's tent weight (BLOCK_H
multiply-adds per column, in registers). Gathers per output pixel and channel:

    2-D taps (the previous kernel):  max ny * max nx over a tile       ~ 4 sx sy
    band-separable (this kernel):    band rows / BLOCK_H * max nx      ~ 2 sx sy (1 + 1 / BLOCK_H)
    two kernels via memory:          box rows / out_h * nx + ny        ~ 2 sx sy + 2 sy

(sx, sy: the downscale factors; an antialiased tap range is 2 s wide). The
two-kernel scheme would also write and read a float32 intermediate of the box's
rows x out_w per channel (8 MB per 4000 x 3000 photo at 224, 4 GB at B = 512),
whose size depends on the boxes and, for ragged batches, on image sizes the
host of a CUDA batch does not know without a synchronization. For
example, with the default 8 x 32 tiles, to 224 x 224: a 1024 x 1024 image,
100 -> 51 gathers; a 4000 x 3000 photo, 972 -> 540 (plus 41 and 120
register multiply-adds); 256 x 256, 9 -> 3.8. The bound is the input itself:
each input pixel is gathered about twice (the tents of two neighbouring output
columns overlap), once per channel; the vertical pass reads no memory.
Without a GPU these counts, the PTX and the registers are what was measured:
the inner loop is 27 instructions per gathered column tap for the three
channels (the 2-D kernel: 45 per tap for four values of one channel), no spills.
"""
import torch
import triton
import triton.language as tl

from .._checks import IMAGE_DTYPES, check_images, check_out_dtype, check_param, check_range
from ._common import (empty_output, flat_grid, flat_program_id, i64, load_f32, row_launch,
                      row_program, store_f32, strides)

# Output tile of one resized_crop / fused_augment program: BLOCK_H rows x BLOCK_W
# columns. Read at every launch; not API (tests lower them so that small outputs
# run several tiles per axis on the interpreter). BLOCK_W = 32 * num_warps keeps
# every column of the tile in one thread (see ``_resample_tile``).
BLOCK_H = 8
BLOCK_W = 32


@triton.jit
def _hflip_kernel(src, dst, apply, C, H, W,
                  s_b, s_c, s_h, s_w, d_b, d_c, d_h, d_w,
                  BLOCK_W: tl.constexpr):
    """out[b, c, h, w] = in[b, c, h, W - 1 - w] if apply[b] else in[b, c, h, w].

    One program per (image row, block of columns); 64-bit offsets.
    """
    b, c, h, w, mask = row_program(C, H, W, BLOCK_W)
    flip = tl.load(apply + b)
    src_w = tl.where(flip, W - 1 - w, w)
    x = load_f32(src + b * s_b + c * s_c + h * s_h, src_w * s_w, mask)
    store_f32(dst + b * d_b + c * d_c + h * d_h, w * d_w, x, mask)


def hflip(images: torch.Tensor, apply: torch.Tensor, out_dtype: torch.dtype) -> torch.Tensor:
    check_images(images)
    check_param(apply, images, "apply", torch.bool)
    check_out_dtype(out_dtype)
    B, C, H, W = images.shape
    out, grid, block = row_launch(images, out_dtype)
    if grid is None:
        return out
    _hflip_kernel[grid](images, out, apply, C, H, W, *strides(images), *strides(out),
                        BLOCK_W=block)
    return out


@triton.jit
def _axis_taps(pos, length, o, in_size, out_size, ANTIALIAS: tl.constexpr):
    """Taps of output indices ``o`` along one axis (float64 positions; csrc/resample.h).

    Returns (first in-image tap, tap count, offset of the first tap from the
    filter center, 1 / support, normalization), the last three as float32.
    """
    scale = length / out_size
    lo = tl.floor(pos)
    hi = tl.ceil(pos + length)
    pix = o.to(tl.float64) + 0.5
    if ANTIALIAS:
        support = tl.maximum(scale, 1.0)
        center = pos + scale * pix
        first = tl.maximum(tl.floor(center - support + 0.5), lo)
        last = tl.minimum(tl.floor(center + support + 0.5), hi)
        # closed-form sum of the tent weights over [first, last)
        n = tl.maximum(last - first, 0.0)
        e = first + 0.5 - center
        neg = tl.minimum(tl.maximum(tl.ceil(-e), 0.0), n)
        inv = 1.0 / support  # one division per sample (as tent_sum, csrc/resample.h)
        total = n - inv * ((n - 2.0 * neg) * e + 0.5 * n * (n - 1.0) - neg * (neg - 1.0))
        norm = tl.where(total > 0.0, 1.0 / tl.where(total > 0.0, total, 1.0), 0.0).to(tl.float32)
        inv = inv.to(tl.float32)
    else:  # support 1, unnormalized: constants (no registers)
        src = tl.minimum(tl.maximum(pos + scale * pix - 0.5, lo), hi - 1.0)
        center = src + 0.5
        first = tl.floor(src)
        last = tl.minimum(first + 2.0, hi)
        norm = tl.full(o.shape, 1.0, tl.float32)
        inv = 1.0
    size = in_size.to(tl.float64)
    a = tl.minimum(tl.maximum(first, 0.0), size)
    b = tl.minimum(tl.maximum(last, 0.0), size)
    count = tl.maximum(b - a, 0.0).to(tl.int32)
    offset = (a + 0.5 - center).to(tl.float32)
    return a.to(tl.int64), count, offset, inv, norm


@triton.jit
def _box_coord(boxes, i, IS_LENGTH: tl.constexpr):
    """boxes[i] as float64, made finite and clamped to +-2^40 (lengths > 0) for index safety."""
    v = tl.load(boxes + i).to(tl.float64)
    if IS_LENGTH:
        v = tl.where(v > 0.0, v, 1e-30)  # also maps NaN
    else:
        v = tl.where(v == v, v, 0.0)
    return tl.minimum(tl.maximum(v, -1099511627776.0), 1099511627776.0)


@triton.jit
def _crop_taps(meta, boxes, flip, b, oy, ox, out_h, out_w, ANTIALIAS: tl.constexpr):
    """Sample b's source and the taps of output rows ``oy`` and columns ``ox``.

    Returns (element offset of the image, its strides C, H, W, its size H, W,
    then the row taps and the column taps as ``_axis_taps`` gives them, the
    columns mirrored where ``flip[b]``). Tap counts are 0 outside the output.
    """
    row = meta + b * 6
    H = tl.load(row + 1)
    W = tl.load(row + 2)
    top = _box_coord(boxes, b * 4, False)
    left = _box_coord(boxes, b * 4 + 1, False)
    height = _box_coord(boxes, b * 4 + 2, True)
    width = _box_coord(boxes, b * 4 + 3, True)
    ox_src = tl.where(tl.load(flip + b), out_w - 1 - ox, ox)
    y0, ny, ey, inv_y, norm_y = _axis_taps(top, height, oy, H, out_h, ANTIALIAS)
    x0, nx, ex, inv_x, norm_x = _axis_taps(left, width, ox_src, W, out_w, ANTIALIAS)
    ny = tl.where(oy < out_h, ny, 0)
    nx = tl.where(ox < out_w, nx, 0)
    return (tl.load(row), tl.load(row + 3), tl.load(row + 4), tl.load(row + 5), H, W,
            y0, ny, ey, inv_y, norm_y, x0, nx, ex, inv_x, norm_x)


@triton.jit
def _load_raw(ptr, offsets, mask):
    """The stored value as float32 (uint8: the level 0..255, see ``_unit``)."""
    return tl.load(ptr + offsets, mask=mask, other=0).to(tl.float32)


@triton.jit
def _unit(ptr):
    """The factor from ``_load_raw`` values to [0, 1] units (1 / 255 for uint8)."""
    if ptr.dtype.element_ty == tl.uint8:
        return 1.0 / 255.0
    else:
        return 1.0


@triton.jit
def _resample_tile(base, s_c, s_h, s_w, H, W, y0, ny, ey, inv_y, norm_y, x0, nx, ex, inv_x, norm_x,
                   RGB: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr):
    """sum_y wy[oy, y] * (sum_x wx[ox, x] * in[c, y, x]) for a (BLOCK_H, BLOCK_W) tile,
    as two 1-D passes, in csrc/crop.cpp's order: horizontal, then vertical.

    The tile's output rows read the band of input rows [y_lo, y_hi) (the union of
    their taps). Each band row is resampled horizontally once, to the tile's
    BLOCK_W columns (a 1-D vector: nx gathers per column), and added to every
    output row of the tile with that row's weight: its tent at that row's tap k
    (``ey + k``, the float32 value of _axis_taps), 0 where k is not one of its
    taps (a dense (BLOCK_H, BLOCK_W) multiply-add in registers, no loads). Every
    weight is computed as in any other tiling and every sum runs in ascending
    input order, zero terms included, so the result does not depend on the tile
    sizes. Column normalizations (and uint8's 1 / 255) multiply the horizontal
    sums once.

    ``base`` points at channel 0 (RGB: channels 0, 1, 2 at ``base + c * s_c``,
    sharing the weights; else only channel 0). Taps are those of ``_crop_taps``
    (inside the image; counts 0 outside the output): every load is in bounds or
    masked, so any box is memory-safe. Returns three tiles (the last two are zeros
    unless RGB); rows and columns without taps are 0.
    """
    acc0 = tl.zeros([BLOCK_H, BLOCK_W], dtype=tl.float32)
    acc1 = tl.zeros([BLOCK_H, BLOCK_W], dtype=tl.float32)
    acc2 = tl.zeros([BLOCK_H, BLOCK_W], dtype=tl.float32)
    rows = ny > 0
    y_lo = tl.min(tl.where(rows, y0, H), axis=0)  # the band [y_lo, y_hi); empty: H >= 0
    y_hi = tl.max(tl.where(rows, y0 + ny, 0), axis=0)
    # per output row (every column holds the same values): its first tap relative to
    # y_lo and its tap count (integers < 2^24, exact in float32), the offset of the
    # first tap from the filter centre (tap k's tent argument is ey + k), and its
    # normalization in the weight: norm * max(0, 1 - |d| inv) as max(0, norm - |d|
    # (norm inv)) (computed before the loop, so that the row taps' float64 work is
    # not kept alive across it)
    first = tl.broadcast_to((y0 - y_lo).to(tl.float32)[:, None], [BLOCK_H, BLOCK_W])
    count = tl.broadcast_to(ny.to(tl.float32)[:, None], [BLOCK_H, BLOCK_W])
    ey = tl.broadcast_to(ey[:, None], [BLOCK_H, BLOCK_W])
    top = tl.broadcast_to(norm_y[:, None], [BLOCK_H, BLOCK_W])
    slope = top * inv_y
    col = x0 * s_w  # int64 offsets of the first column taps
    n_x = tl.max(nx, axis=0)
    for y in range(y_lo, y_hi):
        row = base + y * s_h
        h0 = tl.zeros([BLOCK_W], dtype=tl.float32)
        h1 = tl.zeros([BLOCK_W], dtype=tl.float32)
        h2 = tl.zeros([BLOCK_W], dtype=tl.float32)
        for kx in range(0, n_x):
            wx = tl.maximum(1.0 - tl.abs(ex + kx) * inv_x, 0.0)
            take = kx < nx
            off = col + kx * s_w
            h0 += wx * _load_raw(row, off, take)
            if RGB:
                h1 += wx * _load_raw(row + s_c, off, take)
                h2 += wx * _load_raw(row + 2 * s_c, off, take)
        k = (y - y_lo).to(tl.float32) - first  # tap index of row y in each output row
        wy = tl.maximum(top - tl.abs(k + ey) * slope, 0.0)
        wy = tl.where((k >= 0.0) & (k < count), wy, 0.0)
        acc0 += wy * h0[None, :]
        if RGB:
            acc1 += wy * h1[None, :]
            acc2 += wy * h2[None, :]
    norm = (norm_x * _unit(base))[None, :]
    return acc0 * norm, acc1 * norm, acc2 * norm


@triton.jit
def _resized_crop_kernel(src, meta, boxes, flip, dst, C, out_h, out_w, tiles_w, tiles, n,
                         d_b, d_c, d_h, d_w,
                         ANTIALIAS: tl.constexpr, RGB: tl.constexpr,
                         BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr):
    """out[b, c, oy, ox] = sum_y wy[oy, y] * sum_x wx[ox', x] * in_b[c, y, x].

    ``ox' = out_w - 1 - ox`` where ``flip[b]``. The weights are those of
    torchvision's resize of the crop (ATen ``_upsample_bilinear2d_aa``'s triangle
    filter with support max(scale, 1) when ANTIALIAS, else bilinear with
    align_corners=False), pixels outside the image being zeros; the exact
    definition, extended to fractional boxes, is in functional.resized_crop.

    n programs on a flat grid (``flat_grid``): program item * tiles + tile takes
    output tile ``tile`` of item = sample (RGB: C == 3, the three channels
    together) or sample * C + channel. Sample b's image starts at element
    meta[b, 0] of ``src`` with size meta[b, 1:3] and strides meta[b, 3:6] (a
    ragged batch is one launch). Weights are computed in registers
    (``_crop_taps``), the resampling is separable (``_resample_tile``). 64-bit
    offsets.
    """
    pid = flat_program_id(n)
    item = pid // tiles
    tile = pid % tiles
    if RGB:
        b = item
        c = item * 0
    else:
        b = item // C
        c = item % C
    oy = (tile // tiles_w) * BLOCK_H + tl.arange(0, BLOCK_H)
    ox = (tile % tiles_w) * BLOCK_W + tl.arange(0, BLOCK_W)
    mask = (oy < out_h)[:, None] & (ox < out_w)[None, :]
    off, s_c, s_h, s_w, H, W, y0, ny, ey, inv_y, norm_y, x0, nx, ex, inv_x, norm_x = _crop_taps(
        meta, boxes, flip, b, oy, ox, out_h, out_w, ANTIALIAS)
    acc0, acc1, acc2 = _resample_tile(src + off + c * s_c, s_c, s_h, s_w, H, W, y0, ny, ey, inv_y,
                                      norm_y, x0, nx, ex, inv_x, norm_x, RGB, BLOCK_H, BLOCK_W)
    base = dst + b * d_b + c * d_c
    offs = oy[:, None] * d_h + ox[None, :] * d_w
    store_f32(base, offs, acc0, mask)
    if RGB:
        store_f32(base + d_c, offs, acc1, mask)
        store_f32(base + 2 * i64(d_c), offs, acc2, mask)


def _check_meta(src, src_meta, channels):
    if src_meta.dim() != 2 or src_meta.shape[1] != 6:
        raise ValueError(f"src_meta: expected shape (B, 6), got {tuple(src_meta.shape)}")
    if src_meta.dtype != torch.int64:
        raise TypeError(f"src_meta: expected int64, got {src_meta.dtype}")
    if src_meta.device != src.device or not src_meta.is_contiguous():
        raise ValueError("src_meta: expected a contiguous tensor on the images' device")
    if src.device.type != "cpu" or src_meta.shape[0] == 0 or channels == 0:
        return  # CUDA: trusted (built by functional.resized_crop); no host sync
    m = src_meta
    if bool(((m[:, 0] < 0) | (m[:, 1] < 1) | (m[:, 2] < 1) | (m[:, 3:] < 0).any(1)).any()):
        raise ValueError("src_meta: rows must have offset >= 0, H >= 1, W >= 1 and strides >= 0")
    last = m[:, 0] + (channels - 1) * m[:, 3] + (m[:, 1] - 1) * m[:, 4] + (m[:, 2] - 1) * m[:, 5]
    extent = src.untyped_storage().nbytes() // src.element_size() - src.storage_offset()
    if bool((last >= extent).any()):
        raise ValueError("src_meta: a row addresses elements outside src")


def check_op_boxes(boxes, src, batch):
    """(batch, 4) float32 contiguous boxes on src's device; finite, height and width > 0 (CPU)."""
    if boxes.dim() != 2 or tuple(boxes.shape) != (batch, 4):
        raise ValueError(f"boxes: expected shape ({batch}, 4), got {tuple(boxes.shape)}")
    if boxes.dtype != torch.float32:
        raise TypeError(f"boxes: expected float32, got {boxes.dtype}")
    if boxes.device != src.device or not boxes.is_contiguous():
        raise ValueError(f"boxes: expected a contiguous tensor on {src.device} (the images' device)")
    if boxes.device.type == "cpu" and batch > 0:
        if not bool(torch.isfinite(boxes).all()):
            raise ValueError("boxes: expected finite values")
        check_range(boxes[:, 2:], "boxes", low=0, low_inclusive=False, what="height and width")


def check_source(src, src_meta, channels, out_h, out_w, out_dtype):
    """The checks of the source arguments shared by resized_crop and fused_augment."""
    if src.dtype not in IMAGE_DTYPES:
        raise TypeError(f"images: expected uint8, float16, bfloat16 or float32, got {src.dtype}")
    if channels < 0:
        raise ValueError(f"channels: expected >= 0, got {channels}")
    if out_h < 1 or out_w < 1:
        raise ValueError(f"size: expected positive (h, w), got ({out_h}, {out_w})")
    check_out_dtype(out_dtype)
    _check_meta(src, src_meta, channels)


def resized_crop(src, src_meta, channels, boxes, flip, out_h, out_w, antialias, out_dtype,
                 channels_last):
    """Launcher of torch.ops.datagen_gpu.resized_crop (same arguments and checks as the C++ op)."""
    check_source(src, src_meta, channels, out_h, out_w, out_dtype)
    check_op_boxes(boxes, src, src_meta.shape[0])
    check_param(flip, src_meta, "flip", torch.bool)
    return _launch_resized_crop(src, src_meta, channels, boxes, flip, out_h, out_w, antialias,
                                out_dtype, channels_last)


def tile_config():
    """(BLOCK_H, BLOCK_W, num_warps) of the resampling kernels (resized_crop, fused_augment)."""
    return BLOCK_H, BLOCK_W, max(1, min(4, BLOCK_W // 32))


def _launch_resized_crop(src, src_meta, channels, boxes, flip, out_h, out_w, antialias, out_dtype,
                         channels_last):
    """The launch without argument checks (tests use it to feed non-finite boxes)."""
    batch = src_meta.shape[0]
    out = empty_output((batch, channels, out_h, out_w), out_dtype, src.device, channels_last)
    if out.numel() == 0:
        return out
    block_h, block_w, warps = tile_config()
    rgb = channels == 3
    tiles_w = triton.cdiv(out_w, block_w)
    tiles = triton.cdiv(out_h, block_h) * tiles_w
    n = batch * (1 if rgb else channels) * tiles
    _resized_crop_kernel[flat_grid(n)](
        src, src_meta, boxes, flip, out, channels, out_h, out_w, tiles_w, tiles, n, *strides(out),
        ANTIALIAS=bool(antialias), RGB=rgb, BLOCK_H=block_h, BLOCK_W=block_w, num_warps=warps)
    return out
