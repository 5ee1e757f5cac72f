"""Triton mixing kernel: mix, the one kernel behind Mixup and CutMix."""
import torch
import triton
import triton.language as tl

from .._checks import check_images, check_out_dtype, check_param
from .._checks.mixing import check_boxes
from ._common import flat_program_id, load_f32, row_launch, row_tile, store_f32, strides

_BIG = tl.constexpr(1 << 40)  # keeps start + length of a box far from int64 overflow


@triton.jit
def _clip_range(start, length, size):
    """[start, start + length) intersected with [0, size); empty when length <= 0."""
    start = tl.minimum(tl.maximum(start, -_BIG), _BIG)
    length = tl.minimum(tl.maximum(length, 0), _BIG)
    lo = tl.minimum(tl.maximum(start, 0), size)
    hi = tl.minimum(tl.maximum(start + length, lo), size)
    return lo, hi


@triton.jit
def _mix_kernel(src, dst, lam, boxes, perm, B, C, H, W, n,
                s_b, s_c, s_h, s_w, d_b, d_c, d_h, d_w,
                BLOCK_W: tl.constexpr):
    """Mixup (Zhang et al., 2018) and CutMix (Yun et al., 2019) in one pass:

        out[i, c, y, x] = x[perm[i], c, y, x]                                  inside box_i
                        = lam[i] * x[i, c, y, x] + (1 - lam[i]) * x[perm[i], c, y, x]   elsewhere

    box_i = (top, left, height, width), clipped to the image; no mask tensor.
    A sample whose partner is itself is copied unchanged (exact for floats too).
    One program per (image row, block of columns), n = B * C * H * ceil(W / BLOCK_W)
    of them on a flat grid (``_common.flat_grid``); 64-bit offsets.
    """
    b, c, h, w, mask = row_tile(flat_program_id(n), C, H, W, BLOCK_W)
    p = tl.minimum(tl.maximum(tl.load(perm + b), 0), B - 1)
    weight = tl.where(p == b, 1.0, tl.load(lam + b))  # a sample mixed with itself stays exact
    y0, y1 = _clip_range(tl.load(boxes + 4 * b), tl.load(boxes + 4 * b + 2), H)
    x0, x1 = _clip_range(tl.load(boxes + 4 * b + 1), tl.load(boxes + 4 * b + 3), W)
    in_box = (h >= y0) & (h < y1) & (w >= x0) & (w < x1)
    mine = load_f32(src + b * s_b + c * s_c + h * s_h, w * s_w, mask)
    other = load_f32(src + p * s_b + c * s_c + h * s_h, w * s_w, mask)
    out = tl.where(in_box, other, weight * mine + (1.0 - weight) * other)
    store_f32(dst + b * d_b + c * d_c + h * d_h, w * d_w, out, mask)


def mix(images: torch.Tensor, lam: torch.Tensor, boxes: torch.Tensor, perm: torch.Tensor,
        out_dtype: torch.dtype) -> torch.Tensor:
    check_images(images)
    check_param(lam, images, "lam", torch.float32)
    check_boxes(boxes, images)
    check_param(perm, images, "perm", torch.int64)
    check_out_dtype(out_dtype)
    B, C, H, W = images.shape
    out, grid, block = row_launch(images, out_dtype, padded=True)
    if grid is None:
        return out
    n = B * C * H * triton.cdiv(W, block)
    _mix_kernel[grid](images, out, lam, boxes, perm, B, C, H, W, n, *strides(images),
                      *strides(out), BLOCK_W=block)
    return out
