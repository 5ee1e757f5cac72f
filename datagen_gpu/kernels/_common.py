"""Triton helpers shared by the kernel families: dtype-aware load and store.

Values are float32 in [0, 1] inside every kernel: uint8 loads are scaled by
1/255; uint8 stores compute floor(clamp(255 * x, 0, 255) + 0.5), exactly as
the C++ kernels (csrc/common.cpp) do.
"""
import torch
import triton
import triton.language as tl

from .._debug import empty_output  # noqa: F401  (re-exported for the launchers)


@triton.jit
def load_f32(ptr, offsets, mask):
    x = tl.load(ptr + offsets, mask=mask, other=0)
    if ptr.dtype.element_ty == tl.uint8:
        return x.to(tl.float32) * (1.0 / 255.0)
    else:
        return x.to(tl.float32)


@triton.jit
def store_f32(ptr, offsets, value, mask):
    if ptr.dtype.element_ty == tl.uint8:
        v = tl.minimum(tl.maximum(value * 255.0, 0.0), 255.0)
        tl.store(ptr + offsets, (v + 0.5).to(tl.uint8), mask=mask)
    else:
        tl.store(ptr + offsets, value.to(ptr.dtype.element_ty), mask=mask)


@triton.jit
def row_program(C, H, W, BLOCK_W: tl.constexpr):
    """(b, c, h, w, mask) of a program over (image row, block of columns) of a
    (B, C, H, W) batch: grid axis 0 numbers the B * C * H rows, axis 1 the column
    blocks; 64-bit indices."""
    row = tl.program_id(0).to(tl.int64)
    w = tl.program_id(1).to(tl.int64) * BLOCK_W + tl.arange(0, BLOCK_W)
    return row // (C * H), (row // H) % C, row % H, w, w < W


def strides(t: torch.Tensor):
    """The four element strides of a (B, C, H, W) tensor."""
    return tuple(int(s) for s in t.stride())


def row_launch(images: torch.Tensor, out_dtype: torch.dtype):
    """(output like images, grid, BLOCK_W) of a row_program kernel; grid None when empty."""
    from .._checks import is_channels_last

    B, C, H, W = images.shape
    out = empty_output(images.shape, out_dtype, images.device, is_channels_last(images))
    block = row_block(W)
    grid = (B * C * H, triton.cdiv(W, block)) if out.numel() else None
    return out, grid, block


def row_block(width: int, max_block: int = 1024) -> int:
    """Power-of-two block covering one image row (at least 16, at most max_block)."""
    return max(16, min(max_block, triton.next_power_of_2(max(int(width), 1))))
