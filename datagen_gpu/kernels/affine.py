"""Triton affine warp: ``_affine_warp_kernel`` and its launcher ``affine_warp``.

Output pixel (row i, column j) of sample b reads its source at

    x = m0 j + m1 i + m2 (column),  y = m3 j + m4 i + m5 (row),   m = matrix[b]

(pixel-index space, source pixel (r, c) centred at y = r, x = c; the map and
its torchvision semantics are documented in datagen_gpu/functional/affine.py):

- nearest: the pixel at (round(y), round(x)), rounded half to even (grid_sample's
  ``nearbyint``); outside the image: the fill f (0 where f is NaN: no fill).
- bilinear: ``S = wy0 (wx0 v00 + wx1 v01) + wy1 (wx0 v10 + wx1 v11)`` with
  (wx0, wx1) = (1 - fx, fx), a neighbour outside the image weighted 0;
  ``m = (wx0 + wx1) (wy0 + wy1)`` and ``out = S m + f (1 - m)`` (torchvision's
  mask blend, exactly S where every neighbour is inside: the identity map
  copies), or S where f is NaN.

One program warps a tile of BLOCK output pixels of one sample, all channels:
the source coordinates, taps and weights are computed once per pixel (float32)
and every channel gathers through them. n = B * T programs (T tiles per
sample) on ``flat_grid``, decoded in n's type; the pixel index of a tile is
divided in the type of H * W (int32 below 2^31 pixels); every address product
is int64. Source coordinates are clamped to [-2, size + 1] (NaN: -2) before any
index is made from them, so any matrix stays memory-safe. The C++ kernel
(csrc/affine.cpp) computes the same, with float64 coordinates.
"""
import torch
import triton
import triton.language as tl

from .._checks import check_images, check_out_dtype, check_tensor, is_channels_last
from ._common import empty_output, flat_grid, flat_program_index, i64, index_like, load_f32, store_f32, strides

# Output pixels per program, read at every launch (tests lower it to reach several tiles).
BLOCK = 256


@triton.jit
def _clamp_coord(v, size):
    """v clamped to [-2, size + 1]; NaN -> -2 (outside the image either way)."""
    v = tl.where(v > -2.0, v, -2.0)
    return tl.where(v < size + 1.0, v, size + 1.0)


@triton.jit
def _round_half_even(v):
    """v rounded to the nearest integer, ties to even (as float32)."""
    r = tl.floor(v)
    d = v - r  # exact
    odd = (r - 2.0 * tl.floor(r * 0.5)) != 0.0
    return tl.where((d > 0.5) | ((d == 0.5) & odd), r + 1.0, r)


@triton.jit
def _affine_warp_kernel(src, dst, matrix, fill, C, H, W, npix, T, n,
                        s_b, s_c, s_h, s_w, d_b, d_c, d_h, d_w,
                        BILINEAR: tl.constexpr, BLOCK: tl.constexpr):
    """out[b, :, i, j] = the warp of sample b at (m0 j + m1 i + m2, m3 j + m4 i + m5) (module
    docstring). Program b * T + t warps output pixels t * BLOCK + [0, BLOCK) of sample b."""
    pid = flat_program_index(n)
    sample = pid // T
    tile = pid - sample * T
    sample = i64(sample)
    p0 = i64(tile) * BLOCK
    q = tl.arange(0, BLOCK)
    valid = q < npix - p0
    # pixel index in npix's type; lanes past the image repeat its last pixel (masked)
    p = index_like(p0, npix) + tl.minimum(q, index_like(npix - 1 - p0, npix))
    i = p // W
    j = p - i * W
    # the inverse map, evaluated in float32
    mat = matrix + sample * 6
    jf = j.to(tl.float32)
    yf = i.to(tl.float32)
    x = tl.load(mat) * jf + tl.load(mat + 1) * yf + tl.load(mat + 2)
    y = tl.load(mat + 3) * jf + tl.load(mat + 4) * yf + tl.load(mat + 5)
    wmax = tl.cast(W, tl.float32) - 1.0  # tl.cast: W and H may be constants (1)
    hmax = tl.cast(H, tl.float32) - 1.0
    x = _clamp_coord(x, wmax + 1.0)
    y = _clamp_coord(y, hmax + 1.0)
    src_base = src + sample * s_b
    dst_base = dst + sample * d_b
    d_off = i64(i) * d_h + i64(j) * d_w
    fills = fill + sample * C
    if BILINEAR:
        x0 = tl.floor(x)
        y0 = tl.floor(y)
        fx = x - x0
        fy = y - y0
        in_x0 = (x0 >= 0.0) & (x0 <= wmax)
        in_x1 = (x0 >= -1.0) & (x0 + 1.0 <= wmax)
        in_y0 = (y0 >= 0.0) & (y0 <= hmax)
        in_y1 = (y0 >= -1.0) & (y0 + 1.0 <= hmax)
        wx0 = tl.where(in_x0, 1.0 - fx, 0.0)
        wx1 = tl.where(in_x1, fx, 0.0)
        wy0 = tl.where(in_y0, 1.0 - fy, 0.0)
        wy1 = tl.where(in_y1, fy, 0.0)
        mask = (wx0 + wx1) * (wy0 + wy1)  # exactly 1 where all four neighbours are inside
        ox0 = i64(x0.to(tl.int32)) * s_w
        oy0 = i64(y0.to(tl.int32)) * s_h
        o00 = oy0 + ox0
        k00 = valid & in_y0 & in_x0
        k01 = valid & in_y0 & in_x1
        k10 = valid & in_y1 & in_x0
        k11 = valid & in_y1 & in_x1
        for c in range(C):
            plane = src_base + i64(c) * s_c
            v00 = load_f32(plane, o00, k00)
            v01 = load_f32(plane + s_w, o00, k01)
            v10 = load_f32(plane + s_h, o00, k10)
            v11 = load_f32(plane + s_h + s_w, o00, k11)
            s = wy0 * (wx0 * v00 + wx1 * v01) + wy1 * (wx0 * v10 + wx1 * v11)
            f = tl.load(fills + c)
            out = tl.where(f == f, s * mask + f * (1.0 - mask), s)
            store_f32(dst_base + i64(c) * d_c, d_off, out, valid)
    else:
        rx = _round_half_even(x)
        ry = _round_half_even(y)
        inside = valid & (rx >= 0.0) & (rx <= wmax) & (ry >= 0.0) & (ry <= hmax)
        s_off = i64(ry.to(tl.int32)) * s_h + i64(rx.to(tl.int32)) * s_w
        for c in range(C):
            v = load_f32(src_base + i64(c) * s_c, s_off, inside)
            f = tl.load(fills + c)
            f = tl.where(f == f, f, 0.0)  # no fill: zero padding, the same for nearest
            store_f32(dst_base + i64(c) * d_c, d_off, tl.where(inside, v, f), valid)


def affine_warp(images, matrix, fill, interpolation, out_dtype):
    """The op ``datagen_gpu::affine_warp`` (same arguments): one launch for the batch."""
    check_images(images)
    B, C, H, W = images.shape
    check_tensor(matrix, "matrix", (B, 6), torch.float32, images.device,
                 shape_note=", one inverse map per sample")
    check_tensor(fill, "fill", (B, C), torch.float32, images.device,
                 shape_note=", one value per sample and channel")
    if isinstance(interpolation, bool) or interpolation not in (0, 1):
        raise ValueError(f"interpolation: expected 0 (nearest) or 1 (bilinear), got {interpolation!r}")
    check_out_dtype(out_dtype)
    out = empty_output(images.shape, out_dtype, images.device, is_channels_last(images))
    if out.numel() == 0:
        return out
    T = triton.cdiv(H * W, BLOCK)
    n = B * T
    _affine_warp_kernel[flat_grid(n)](images, out, matrix, fill, C, H, W, H * W, T, n,
                                      *strides(images), *strides(out),
                                      BILINEAR=interpolation == 1, BLOCK=BLOCK)
    return out
