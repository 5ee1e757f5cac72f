"""Triton filter kernels: gaussian_blur and normalize."""
import torch
import triton
import triton.language as tl

from .._checks import (check_channel_param, check_images, check_kernel_size, check_out_dtype,
                       check_param, check_range, is_channels_last)
from ._common import (empty_output, flat_grid, flat_program_index, i64, load_f32, row_block, split_program,
                      store_f32, strides)

FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)

# Tile shape, read at every launch (tests lower them to reach every path on small images).
TILE = 4096  # elements per program (2-D tile)
TILE_W = 256  # widest tile


@triton.jit
def _tile_program(n, C, NH, NW, BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr):
    """(b, c, h0, w0) of this program of a ``_tiles`` launch (n = B * C * NH * NW
    programs on a flat grid): program (plane * NH + i) * NW + j takes the tile of
    plane b * C + c whose first row and column are h0 = i * BLOCK_H, w0 = j * BLOCK_W.
    The program index is decoded in n's type (``flat_program_index``: int32 below
    2^31 programs, so no 64-bit division); the indices returned are int64."""
    b, c, i, j = split_program(flat_program_index(n), C, NH, NW)
    return i64(b), i64(c), i64(i) * BLOCK_H, i64(j) * BLOCK_W


@triton.jit
def _tile_offsets(s_h, s_w, BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr):
    """64-bit offsets dh * s_h + dw * s_w of a tile's elements from its first one.

    The tile's origin goes into the base pointer (one scalar product per program),
    so the offsets of a thread's rows are small multiples of s_h, not 64-bit
    products of absolute rows (which cost channels-last variants up to 1.5x the
    registers, and one normalize variant spills on sm_90a)."""
    dh = i64(tl.arange(0, BLOCK_H))
    dw = i64(tl.arange(0, BLOCK_W))
    return dh[:, None] * s_h + dw[None, :] * s_w


@triton.jit
def _gaussian_blur_kernel(src, dst, sigma, C, H, W, n, NH, NW,
                          s_b, s_c, s_h, s_w, d_b, d_c, d_h, d_w,
                          apply, orig, o_b, o_c, o_h, o_w, mean, std,
                          KSIZE: tl.constexpr, KPOW2: tl.constexpr, VERTICAL: tl.constexpr,
                          HAS_APPLY: tl.constexpr, HAS_NORM: tl.constexpr,
                          BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr):
    """One separable pass of torchvision's Gaussian blur (``gaussian_blur_image``).

    For sample b, with r = KSIZE // 2 and s = sigma[b], the 1-D kernel is

        w[t] = exp(-0.5 * ((t - r) / s)^2) / sum_u exp(-0.5 * ((u - r) / s)^2)

    (torchvision's ``_get_gaussian_kernel1d``: softmax of -(x / s)^2 over
    x = linspace(-(k-1)/(2 sqrt 2), (k-1)/(2 sqrt 2), k), the same values),
    computed in registers per program. The horizontal pass (VERTICAL=False) is

        out[b, c, h, w] = sum_t w[t] * in[b, c, h, reflect(w + t - r, W)]

    and the vertical pass the same along h; torch "reflect" padding maps -1 to
    1 and n to n - 2 (edge not repeated). The launcher runs the horizontal
    pass into a float32 temporary, then the vertical pass into the output:
    the 2-D kernel is the outer product w ⊗ w, so this equals torchvision's
    conv2d up to float32 rounding. One program per (plane, BLOCK_H x BLOCK_W
    tile), n of them on a flat grid (``_tile_program``); 64-bit offsets (the
    tile's origin in the base pointer, ``_tile_offsets``).
    Masked lanes past the image may compute out-of-range reflect indices; they
    are never loaded.

    HAS_APPLY: samples with apply[b] false are not blurred: the horizontal
    pass loads and stores nothing for them (all lanes masked) and the
    vertical pass copies ``orig`` (the input images) instead of reading the
    temporary. HAS_NORM: the vertical pass stores (x - mean[c]) / std[c].
    """
    b, c, h0, w0 = _tile_program(n, C, NH, NW, BLOCK_H, BLOCK_W)
    h = h0 + tl.arange(0, BLOCK_H)
    w = w0 + tl.arange(0, BLOCK_W)
    mask = (h < H)[:, None] & (w < W)[None, :]
    blur = mask
    copy = mask
    if HAS_APPLY:  # as row limits: masks stay plain comparisons
        a = tl.load(apply + b).to(tl.int32)
        blur = (h < H * a)[:, None] & (w < W)[None, :]
        copy = (h < H * (1 - a))[:, None] & (w < W)[None, :]
    s = tl.load(sigma + b).to(tl.float32)
    r = KSIZE // 2
    taps = tl.arange(0, KPOW2)
    d = (taps - r).to(tl.float32) / s
    inv_norm = 1.0 / tl.sum(tl.where(taps < KSIZE, tl.exp(-0.5 * d * d), 0.0), axis=0)
    # the tile's rows (horizontal pass) or columns (vertical pass) in the base pointer
    if VERTICAL:
        base = src + b * s_b + c * s_c + w0 * s_w
        fixed = i64(tl.arange(0, BLOCK_W))[None, :] * s_w
    else:
        base = src + b * s_b + c * s_c + h0 * s_h
        fixed = i64(tl.arange(0, BLOCK_H))[:, None] * s_h
    acc = tl.zeros((BLOCK_H, BLOCK_W), dtype=tl.float32)
    for t in range(KSIZE):
        dt = (t - r) * 1.0 / s
        wt = tl.exp(-0.5 * dt * dt) * inv_norm
        if VERTICAL:
            y = h + (t - r)
            y = tl.where(y < 0, -y, y)
            y = tl.where(y > H - 1, 2 * (i64(H) - 1) - y, y)
            offs = y[:, None] * s_h + fixed
        else:
            x = w + (t - r)
            x = tl.where(x < 0, -x, x)
            x = tl.where(x > W - 1, 2 * (i64(W) - 1) - x, x)
            offs = fixed + x[None, :] * s_w
        acc += wt * load_f32(base, offs, blur)
    d_base = dst + b * d_b + c * d_c + h0 * d_h + w0 * d_w
    if VERTICAL:
        if HAS_APPLY:  # not blurred: the input itself
            kept = load_f32(orig + b * o_b + c * o_c + h0 * o_h + w0 * o_w,
                            _tile_offsets(o_h, o_w, BLOCK_H, BLOCK_W), copy)
            acc = tl.where(copy, kept, acc)
        if HAS_NORM:
            acc = (acc - tl.load(mean + c)) * (1.0 / tl.load(std + c))
        store_f32(d_base, _tile_offsets(d_h, d_w, BLOCK_H, BLOCK_W), acc, mask)
    else:
        store_f32(d_base, _tile_offsets(d_h, d_w, BLOCK_H, BLOCK_W), acc, blur)


@triton.jit
def _normalize_kernel(src, dst, mean, std, C, H, W, n, NH, NW,
                      s_b, s_c, s_h, s_w, d_b, d_c, d_h, d_w,
                      BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr):
    """out[b, c, h, w] = (x - mean[c]) * (1 / std[c]), x = in[b, c, h, w] in [0, 1].

    torchvision's ``normalize`` after ``to_dtype(..., scale=True)`` (uint8 / 255);
    one fused load-scale-shift-store pass, one program per (plane, 2-D tile)
    (``_tile_program``).
    """
    b, c, h0, w0 = _tile_program(n, C, NH, NW, BLOCK_H, BLOCK_W)
    mask = (h0 + tl.arange(0, BLOCK_H) < H)[:, None] & (w0 + tl.arange(0, BLOCK_W) < W)[None, :]
    m = tl.load(mean + c).to(tl.float32)
    inv = 1.0 / tl.load(std + c).to(tl.float32)
    x = load_f32(src + b * s_b + c * s_c + h0 * s_h + w0 * s_w,
                 _tile_offsets(s_h, s_w, BLOCK_H, BLOCK_W), mask)
    store_f32(dst + b * d_b + c * d_c + h0 * d_h + w0 * d_w,
              _tile_offsets(d_h, d_w, BLOCK_H, BLOCK_W), (x - m) * inv, mask)


def _tiles(B, C, H, W):
    """(grid, grid arguments (n, NH, NW), BLOCK_H, BLOCK_W): 2-D tiles of up to TILE
    elements, at most TILE_W wide; n = B * C * NH * NW programs on a flat grid.

    Large tiles also keep the Triton interpreter (one program at a time) fast.
    """
    block_w = row_block(W, TILE_W)
    block_h = max(1, min(triton.next_power_of_2(H), TILE // block_w))
    nh, nw = triton.cdiv(H, block_h), triton.cdiv(W, block_w)
    n = B * C * nh * nw
    return flat_grid(n), (n, nh, nw), block_h, block_w


def gaussian_blur(images: torch.Tensor, kernel_size: int, sigma: torch.Tensor, apply, mean, std,
                  out_dtype: torch.dtype) -> torch.Tensor:
    check_images(images)
    check_kernel_size(kernel_size, images)
    check_param(sigma, images, "sigma", torch.float32)
    check_range(sigma, "sigma", low=0.0, low_inclusive=False)
    check_out_dtype(out_dtype)
    if apply is not None:
        check_param(apply, images, "apply", torch.bool)
    if (mean is None) != (std is None):
        raise ValueError("mean, std: give both (normalize) or neither")
    if mean is not None:
        check_channel_param(mean, images.shape[1], images.device, "mean")
        check_channel_param(std, images.shape[1], images.device, "std")
        check_std_nonzero(std)
        _check_float_out(out_dtype)
    B, C, H, W = images.shape
    channels_last = is_channels_last(images)
    out = empty_output(images.shape, out_dtype, images.device, channels_last)
    if out.numel() == 0:
        return out
    tmp = torch.empty(images.shape, dtype=torch.float32, device=images.device,
                      memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    grid, tiles, block_h, block_w = _tiles(B, C, H, W)
    meta = dict(KSIZE=kernel_size, KPOW2=triton.next_power_of_2(kernel_size),
                HAS_APPLY=apply is not None, HAS_NORM=mean is not None,
                BLOCK_H=block_h, BLOCK_W=block_w)
    extra = (sigma if apply is None else apply, images, *strides(images),
             sigma if mean is None else mean, sigma if std is None else std)
    _gaussian_blur_kernel[grid](images, tmp, sigma, C, H, W, *tiles, *strides(images),
                                *strides(tmp), *extra, VERTICAL=False, **meta)
    _gaussian_blur_kernel[grid](tmp, out, sigma, C, H, W, *tiles, *strides(tmp), *strides(out),
                                *extra, VERTICAL=True, **meta)
    return out


def _check_float_out(out_dtype):
    if out_dtype not in FLOAT_DTYPES:
        raise TypeError(f"out_dtype: expected a floating dtype (float32, float16 or bfloat16), "
                        f"got {out_dtype}")


def check_std_nonzero(std: torch.Tensor):
    """std must be non-zero; checked on CPU tensors only (no host sync on CUDA)."""
    if std.device.type == "cpu" and bool((std == 0).any()):
        raise ValueError(f"std: expected non-zero values, got {std.tolist()}")


def normalize(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
              out_dtype: torch.dtype) -> torch.Tensor:
    check_images(images)
    check_channel_param(mean, images.shape[1], images.device, "mean")
    check_channel_param(std, images.shape[1], images.device, "std")
    check_std_nonzero(std)
    _check_float_out(out_dtype)
    B, C, H, W = images.shape
    out = empty_output(images.shape, out_dtype, images.device, is_channels_last(images))
    if out.numel() == 0:
        return out
    grid, tiles, block_h, block_w = _tiles(B, C, H, W)
    _normalize_kernel[grid](images, out, mean, std, C, H, W, *tiles, *strides(images),
                            *strides(out), BLOCK_H=block_h, BLOCK_W=block_w)
    return out
