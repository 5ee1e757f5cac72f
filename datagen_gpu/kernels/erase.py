"""Triton erase kernel: erase / erase_, the per-sample torchvision v2 ``erase``
behind RandomErasing (Zhong et al., "Random Erasing Data Augmentation", AAAI 2020).

Formula (csrc/erase.cpp is the CPU kernel; datagen_gpu.functional.erase the API)::

    out[i, c, y, x] = fill_i(c, y - y0, x - x0)    (y, x) in box_i
                    = images[i, c, y, x]            elsewhere

box_i = (top, left, height, width) clipped to the image, [y0, y1) x [x0, x1),
h = y1 - y0, w = x1 - x0. fill_i is ``value[i, c]`` (uint8 outputs: the level
``floor(clamp(v, 0, 255) + 0.5)``) or, where ``random[i]``, a standard normal
per pixel from the counter-based generator (params/counter.py), words 2d and
2d + 1 of sample i with d = (c * h + dy) * w + dx (mod 2^32)::

    u1 = ((word[2d] >> 8) + 1) * 2^-24,  u2 = (word[2d + 1] >> 8) * 2^-24
    z  = sqrt(-2 ln u1) * cos(2 pi u2)

One launch for the batch: a program per (sample, channel, image row, block of
columns) on a flat grid (``_common.flat_grid``), decoded in 32 bits below 2^31
programs (``split_program``). Pixels inside the box are not read; the noise is
computed only by programs whose row crosses a random sample's box. ``erase_``
(in place) writes the boxes' pixels only.
"""
import torch
import triton
import triton.language as tl

from .._checks.erase import check_erase_args, check_inplace
from ._common import (empty_output, flat_grid, flat_program_index, i64, load_f32, row_block,
                      split_program, store_f32, strides)
from .mixing import _clip_range
from .random import _hash32

ROW_BLOCK = 1024  # largest block of columns per program (tests lower it: several blocks per row)


@triton.jit
def _normal(s, d):
    """Box-Muller standard normal of words 2d, 2d + 1 of the sample whose hash is s (uint32)."""
    j = d * 2
    a = _hash32(s ^ _hash32(j ^ 0x9E3779B9))
    b = _hash32(s ^ _hash32((j + 1) ^ 0x9E3779B9))
    u1 = ((a >> 8) + 1).to(tl.float32) * 5.9604644775390625e-08  # 2^-24: (0, 1]
    u2 = (b >> 8).to(tl.float32) * 5.9604644775390625e-08  # [0, 1)
    return tl.sqrt(-2.0 * tl.log(u1)) * tl.cos(6.283185307179586 * u2)


# key: a hash, so specializing on its value (== 1, divisible by 16) would only compile
# extra variants for arbitrary keys
@triton.jit(do_not_specialize=["key"])
def _erase_kernel(src, dst, boxes, value, random, ids, key, C, H, W, NB, n,
                  s_b, s_c, s_h, s_w, d_b, d_c, d_h, d_w,
                  INPLACE: tl.constexpr, BLOCK_W: tl.constexpr):
    """out = fill inside box_b (value[b, c] or the noise), the input elsewhere; see the
    module docstring. n = B * C * H * NB programs, ((b * C + c) * H + y) * NB + k for
    column block k of row y; INPLACE: dst is src and only the box is written."""
    pid = flat_program_index(n)
    b, c, y, k = split_program(pid, C, H, NB)
    b = i64(b)
    y0, y1 = _clip_range(tl.load(boxes + 4 * b), tl.load(boxes + 4 * b + 2), H)
    x0, x1 = _clip_range(tl.load(boxes + 4 * b + 1), tl.load(boxes + 4 * b + 3), W)
    x = k * BLOCK_W + tl.arange(0, BLOCK_W)
    mask = x < W
    row_hit = (y >= y0) & (y < y1) & (x1 > x0)
    # the row's columns in the box, [c0, c1) (empty off the box's rows); no scalar & lane
    # booleans (the interpreter widens them to ints)
    c0 = tl.where(row_hit, x0, 0)
    c1 = tl.where(row_hit, x1, 0)
    in_box = (x >= c0) & (x < c1)
    v = tl.load(value + b * C + c)
    if dst.dtype.element_ty == tl.uint8:  # a level, exact through store_f32's rounding
        v = tl.floor(tl.minimum(tl.maximum(v, 0.0), 255.0) + 0.5) * (1.0 / 255.0)
    fill = tl.zeros([BLOCK_W], dtype=tl.float32) + v
    if row_hit & tl.load(random + b):  # only rows that cross a noise box pay for the noise
        sid = tl.load(ids + b)
        s = _hash32(_hash32((sid & 0xFFFFFFFF).to(tl.uint32) ^ tl.cast(key, tl.uint32))
                    ^ ((sid >> 32) & 0xFFFFFFFF).to(tl.uint32))
        w = x1 - x0
        d0 = ((i64(c) * (y1 - y0) + (y - y0)) * w - x0) & 0xFFFFFFFF  # d = d0 + x (mod 2^32)
        d = (d0 + tl.where(in_box, x, x0)).to(tl.uint32)
        fill = tl.where(in_box, _normal(s, d), fill)
    dst_row = dst + b * d_b + i64(c) * d_c + i64(y) * d_h
    if INPLACE:
        store_f32(dst_row, i64(x) * d_w, fill, in_box)
    else:
        src_row = src + b * s_b + i64(c) * s_c + i64(y) * s_h
        outside = mask & ((x < c0) | (x >= c1))
        old = load_f32(src_row, i64(x) * s_w, outside)
        store_f32(dst_row, i64(x) * d_w, tl.where(in_box, fill, old), mask)


def _launch(images, out, boxes, value, random, sample_ids, key, inplace):
    B, C, H, W = images.shape
    block = row_block(W, ROW_BLOCK)
    NB = triton.cdiv(W, block)
    n = B * C * H * NB
    _erase_kernel[flat_grid(n)](images, out, boxes, value, random, sample_ids, key, C, H, W, NB, n,
                                *strides(images), *strides(out), INPLACE=inplace, BLOCK_W=block)


def erase(images: torch.Tensor, boxes: torch.Tensor, value: torch.Tensor, random: torch.Tensor,
          sample_ids: torch.Tensor, key: int, out_dtype: torch.dtype) -> torch.Tensor:
    check_erase_args(images, boxes, value, random, sample_ids, key, out_dtype)
    from .._checks import is_channels_last

    out = empty_output(images.shape, out_dtype, images.device, is_channels_last(images))
    if out.numel():
        _launch(images, out, boxes, value, random, sample_ids, key, False)
    return out


def erase_(images: torch.Tensor, boxes: torch.Tensor, value: torch.Tensor, random: torch.Tensor,
           sample_ids: torch.Tensor, key: int) -> None:
    check_erase_args(images, boxes, value, random, sample_ids, key, images.dtype)
    check_inplace(images)
    if images.numel():
        _launch(images, images, boxes, value, random, sample_ids, key, True)
