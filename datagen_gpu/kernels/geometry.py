"""Triton geometry kernels: hflip (and resized_crop)."""
import torch
import triton
import triton.language as tl

from .._checks import check_images, check_out_dtype, check_param, is_channels_last
from ._common import empty_output, load_f32, row_block, store_f32, strides


@triton.jit
def _hflip_kernel(src, dst, apply, C, H, W,
                  s_b, s_c, s_h, s_w, d_b, d_c, d_h, d_w,
                  BLOCK_W: tl.constexpr):
    """out[b, c, h, w] = in[b, c, h, W - 1 - w] if apply[b] else in[b, c, h, w].

    One program per (image row, block of columns); 64-bit offsets.
    """
    row = tl.program_id(0).to(tl.int64)
    b = row // (C * H)
    c = (row // H) % C
    h = row % H
    w = tl.program_id(1).to(tl.int64) * BLOCK_W + tl.arange(0, BLOCK_W)
    mask = w < W
    flip = tl.load(apply + b)
    src_w = tl.where(flip, W - 1 - w, w)
    x = load_f32(src + b * s_b + c * s_c + h * s_h, src_w * s_w, mask)
    store_f32(dst + b * d_b + c * d_c + h * d_h, w * d_w, x, mask)


def hflip(images: torch.Tensor, apply: torch.Tensor, out_dtype: torch.dtype) -> torch.Tensor:
    check_images(images)
    check_param(apply, images, "apply", torch.bool)
    check_out_dtype(out_dtype)
    B, C, H, W = images.shape
    out = empty_output(images.shape, out_dtype, images.device, is_channels_last(images))
    if out.numel() == 0:
        return out
    block = row_block(W)
    grid = (B * C * H, triton.cdiv(W, block))
    _hflip_kernel[grid](images, out, apply, C, H, W, *strides(images), *strides(out),
                        BLOCK_W=block)
    return out
