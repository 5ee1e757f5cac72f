"""Triton kernels of the per-sample pixel ops (``pixel_ops``): each sample gets
its own operation, a ``PixelOp`` code read from memory, and its own magnitude,
so a batch mixing every operation runs in the same launches as a batch of one.

Launches: exactly 3 for any non-empty batch, whatever the op mix (0 when the
batch is empty), each on a flat grid (``_common.flat_grid``), 64-bit offsets:

1. ``_pixel_stats_kernel``, B * S programs (S chunks of STATS_BLOCK * STATS_STEPS
   pixels per sample): per (sample, chunk) and channel, the partial 256-bin
   histogram of the uint8 levels (EQUALIZE), the minimum and maximum
   (AUTOCONTRAST), or the sum of the grayscale (CONTRAST). The op code is one
   value per program, so the branch is uniform; a program whose sample needs no
   statistics does nothing.
2. ``_pixel_finish_kernel``, B * C programs: adds the partials of a (sample,
   channel) in a fixed order (no atomics: results do not depend on scheduling)
   into the equalization table, autocontrast's (min, 1 / (max - min)) or
   contrast's mean.
3. ``_pixel_ops_kernel``, B * T programs (T tiles of BLOCK pixels): one
   program per (sample, tile), every channel; loads the sample's code once.
   SHARPNESS runs its tile in sub-tiles of SHARP_BLOCK pixels (its ten loads per
   value of a whole tile would keep too many addresses live: register spills on
   channels-last inputs), and the kernel makes no float division (an IEEE
   division calls a slow-path subroutine, around which ptxas spills): posterize
   scales by exact powers of two, autocontrast by 1 / (max - min) from the
   finish kernel, the blur by 1 / 13.

Formulas (torchvision.transforms.v2.functional._color per sample; x float32 in
[0, 1], uint8 loaded as level / 255, stored rounded once; ``f`` the magnitude):

- IDENTITY      x
- BRIGHTNESS    ``clamp(f x, 0, 1)``
- SATURATION    ``clamp(f x + (1 - f) gray, 0, 1)`` (C = 3; C = 1: x)
- CONTRAST      ``clamp(f x + (1 - f) mean(gray), 0, 1)`` (C = 1: the channel is gray)
- SHARPNESS     interior pixels ``clamp(x + (1 - f) (blur - x), 0, 1)``, blur the
  3x3 sum weighted 1 around and 5 at the centre over 13 (uint8 inputs: rounded to a
  level, as torchvision rounds); the first / last row and column are kept (all of an
  image with H <= 2 or W <= 2)
- POSTERIZE     bits k = f: uint8 ``level & (0xFF << (8 - k))``; floats
  ``clamp(floor(x 2^k), 0, 2^k - 1) / 2^k``
- SOLARIZE      ``1 - x where x >= f`` (f compared as ``color.solarize`` compares it)
- AUTOCONTRAST  per channel ``clamp((x - lo) * (1 / (hi - lo)), 0, 1)``; kept when hi == lo
- EQUALIZE      per channel ``lut[level] / 255``, PIL's table from the histogram of
  the uint8 levels (floats: ``to_dtype``'s ``x * 255.999`` in the input dtype,
  truncated), see ``_pixel_finish_kernel``
- INVERT        ``1 - x``
- SOLARIZE_ADD  ``clamp(x + f, 0, 1) where x < 128 levels (0.5), else x`` (timm;
  f in the dtype's range: uint8 levels)

gray is ``0.2989 r + 0.587 g + 0.114 b``, floored to a level for uint8 inputs
(``color._gray``). The C++ kernel (csrc/pixel.cpp) computes the same formulas.
"""
import torch
import triton
import triton.language as tl

from .._checks import check_out_dtype, is_channels_last
from .._checks.pixel import PixelOp, check_pixel_args
from ._common import (empty_output, flat_grid, flat_program_index, i64, index_like, load_f32,
                      store_f32, strides)
from .color import _clamp01, _flat, _gray, _round_bf16, _solarize_threshold, _tile_pixels, _tile_ptr

# Block sizes, read at every launch (tests lower them to reach every path on small images).
BLOCK = 1024  # pixels per program of the apply kernel
SHARP_BLOCK = 256  # pixels per sub-tile of SHARPNESS (a power of two dividing BLOCK)
STATS_BLOCK = 1024  # pixels per step of a statistics program
STATS_STEPS = 32  # steps per statistics program (a chunk of STATS_BLOCK * STATS_STEPS pixels)
FINISH_BLOCK = 64  # partial minima / maxima / sums a finish program reads per step

_BRIGHTNESS = tl.constexpr(int(PixelOp.BRIGHTNESS))
_SATURATION = tl.constexpr(int(PixelOp.SATURATION))
_CONTRAST = tl.constexpr(int(PixelOp.CONTRAST))
_SHARPNESS = tl.constexpr(int(PixelOp.SHARPNESS))
_POSTERIZE = tl.constexpr(int(PixelOp.POSTERIZE))
_SOLARIZE = tl.constexpr(int(PixelOp.SOLARIZE))
_AUTOCONTRAST = tl.constexpr(int(PixelOp.AUTOCONTRAST))
_EQUALIZE = tl.constexpr(int(PixelOp.EQUALIZE))
_INVERT = tl.constexpr(int(PixelOp.INVERT))
_SOLARIZE_ADD = tl.constexpr(int(PixelOp.SOLARIZE_ADD))
_INF = tl.constexpr(float("inf"))


@triton.jit
def _level(x, src):
    """The uint8 level equalize bins x at (int32): a uint8 input's own level; a float
    input's ``to_dtype(x, uint8, scale=True)``: x * 255.999 in float32, rounded to the
    input dtype (torchvision multiplies in that dtype), truncated, at most 255."""
    if src.dtype.element_ty == tl.uint8:
        return (x * 255.0 + 0.5).to(tl.int32)
    else:
        v = x * 255.999
        if src.dtype.element_ty == tl.float16:
            v = v.to(tl.float16).to(tl.float32)
        elif src.dtype.element_ty == tl.bfloat16:
            v = _round_bf16(v)
        return tl.minimum(tl.maximum(tl.floor(v), 0.0), 255.0).to(tl.int32)


@triton.jit
def _pixel_stats_kernel(src, op, phist, pmin, pmax, psum, C, W, npix, n_tiles, steps, S, n,
                        s_b, s_c, s_h, s_w, FLAT: tl.constexpr, BLOCK: tl.constexpr):
    """Partial statistics of chunk k (tiles k * steps .. of BLOCK pixels) of sample b:
    n = B * S programs, program b * S + k. EQUALIZE: phist[b, c, k, :] the histogram of
    the levels of channel c; AUTOCONTRAST: pmin / pmax[b, c, k]; CONTRAST: psum[b, k]
    the grayscale's sum (C = 3; C = 1: the channel's). Other ops: nothing."""
    pid = flat_program_index(n)
    sample = pid // S
    chunk = pid - sample * S
    t0 = chunk * steps
    t1 = tl.minimum(t0 + steps, n_tiles)
    sample = i64(sample)
    code = tl.load(op + sample)
    base = src + sample * s_b
    if code == _EQUALIZE:
        bins = tl.arange(0, 256)
        for c in range(C):
            hist = tl.zeros([256], dtype=tl.int32)
            for t in range(t0, t1):
                mask, a, dh, w = _tile_pixels(t, npix, W, FLAT, BLOCK)
                ptr, off = _tile_ptr(base + i64(c) * s_c, a, dh, w, s_h, s_w, FLAT)
                hist += tl.histogram(_level(load_f32(ptr, off, mask), src), 256, mask=mask)
            tl.store(phist + ((sample * C + c) * S + chunk) * 256 + bins, hist)
    elif code == _AUTOCONTRAST:
        for c in range(C):
            lo = tl.full([BLOCK], _INF, tl.float32)
            hi = tl.full([BLOCK], -_INF, tl.float32)
            for t in range(t0, t1):
                mask, a, dh, w = _tile_pixels(t, npix, W, FLAT, BLOCK)
                ptr, off = _tile_ptr(base + i64(c) * s_c, a, dh, w, s_h, s_w, FLAT)
                x = load_f32(ptr, off, mask)
                lo = tl.minimum(lo, tl.where(mask, x, _INF))
                hi = tl.maximum(hi, tl.where(mask, x, -_INF))
            at = (sample * C + c) * S + chunk
            tl.store(pmin + at, tl.min(lo, axis=0))
            tl.store(pmax + at, tl.max(hi, axis=0))
    elif code == _CONTRAST:
        acc = tl.zeros([BLOCK], dtype=tl.float32)
        for t in range(t0, t1):
            mask, a, dh, w = _tile_pixels(t, npix, W, FLAT, BLOCK)
            ptr, off = _tile_ptr(base, a, dh, w, s_h, s_w, FLAT)
            gray = load_f32(ptr, off, mask)
            if C == 3:
                g = load_f32(ptr + s_c, off, mask)
                b = load_f32(ptr + 2 * i64(s_c), off, mask)
                gray = _gray(gray, g, b, src.dtype.element_ty == tl.uint8)
            acc += tl.where(mask, gray, 0.0)
        tl.store(psum + sample * S + chunk, tl.sum(acc, axis=0))


@triton.jit
def _pixel_finish_kernel(op, phist, pmin, pmax, psum, lut, lohi, mean, C, S, npix, n,
                         BLOCK_S: tl.constexpr):
    """Statistics of (sample b, channel c) from the S partials of ``_pixel_stats_kernel``,
    added in a fixed order. n = B * C programs, program b * C + c.

    EQUALIZE (PIL's ImageOps.equalize, as torchvision computes it): with h the
    histogram, cum its running sum and n_px = sum(h), step = (n_px - h[brightest level
    present]) // 255; lut[k] = min((cum[k - 1] + step // 2) // step, 255), lut[0] = 0;
    step == 0 keeps the levels (lut[k] = k). Counts are in npix's type (int32 below
    2^31 pixels per plane).
    AUTOCONTRAST: lohi[b, c] = (min, 1 / (max - min)), or (0, 1) when max == min (the
    apply kernel multiplies: no division there). CONTRAST (channel 0's program):
    mean[b] = sum of the partial sums / npix."""
    pid = flat_program_index(n)
    sample = pid // C
    chan = pid - sample * C
    sample = i64(sample)
    row = sample * C + chan
    code = tl.load(op + sample)
    if code == _EQUALIZE:
        bins = tl.arange(0, 256)
        hist = index_like(bins * 0, npix)
        for k in range(0, S):
            hist += index_like(tl.load(phist + (row * S + k) * 256 + bins), npix)
        cum = tl.cumsum(hist, 0)
        total = tl.sum(hist, axis=0)
        brightest = (cum == total) & (cum - hist < total)  # the last level present
        step = (total - tl.sum(tl.where(brightest, hist, 0), axis=0)) // 255
        table = tl.minimum((cum - hist + step // 2) // tl.maximum(step, 1), 255)
        table = tl.where(step == 0, bins, table)
        tl.store(lut + row * 256 + bins, table.to(tl.uint8))
    elif code == _AUTOCONTRAST:
        lo = tl.full([BLOCK_S], _INF, tl.float32)
        hi = tl.full([BLOCK_S], -_INF, tl.float32)
        for k0 in range(0, S, BLOCK_S):
            k = k0 + tl.arange(0, BLOCK_S)
            lo = tl.minimum(lo, tl.load(pmin + row * S + k, mask=k < S, other=_INF))
            hi = tl.maximum(hi, tl.load(pmax + row * S + k, mask=k < S, other=-_INF))
        lo_c = tl.min(lo, axis=0)
        hi_c = tl.max(hi, axis=0)
        flat = hi_c <= lo_c  # a constant channel is kept: offset 0, scale 1
        tl.store(lohi + row * 2, tl.where(flat, 0.0, lo_c))
        tl.store(lohi + row * 2 + 1, 1.0 / tl.where(flat, 1.0, hi_c - lo_c))
    elif code == _CONTRAST:
        if chan == 0:
            acc = tl.zeros([BLOCK_S], dtype=tl.float32)
            for k0 in range(0, S, BLOCK_S):
                k = k0 + tl.arange(0, BLOCK_S)
                acc += tl.load(psum + sample * S + k, mask=k < S, other=0.0)
            tl.store(mean + sample, tl.sum(acc, axis=0) / npix)


@triton.jit
def _channel_op(code, f, x, lut, lohi, mean, sample, row, C, t_sol, src):
    """The per-channel ops (all but SATURATION of RGB and SHARPNESS) on channel values
    x of (sample, channel) ``row``; unknown codes keep x."""
    y = x
    is_u8: tl.constexpr = src.dtype.element_ty == tl.uint8
    if code == _BRIGHTNESS:
        y = _clamp01(f * x)
    elif code == _CONTRAST:
        if (C == 1) | (C == 3):
            y = _clamp01(f * x + (1.0 - f) * tl.load(mean + sample))
    elif code == _POSTERIZE:
        bits = tl.minimum(tl.maximum(f, 0.0), 8.0).to(tl.int32)
        if is_u8:
            keep = 255 - ((1 << (8 - bits)) - 1)
            y = ((x * 255.0 + 0.5).to(tl.int32) & keep).to(tl.float32) * (1.0 / 255.0)
        else:  # 2^bits and 2^-bits built from their exponent bits (no division)
            levels = ((127 + bits) << 23).to(tl.float32, bitcast=True)
            inv = ((127 - bits) << 23).to(tl.float32, bitcast=True)
            y = tl.minimum(tl.maximum(tl.floor(x * levels), 0.0), levels - 1.0) * inv
    elif code == _SOLARIZE:
        y = tl.where(x >= t_sol, 1.0 - x, x)
    elif code == _AUTOCONTRAST:
        y = _clamp01((x - tl.load(lohi + row * 2)) * tl.load(lohi + row * 2 + 1))
    elif code == _EQUALIZE:
        y = tl.load(lut + row * 256 + _level(x, src)).to(tl.float32) * (1.0 / 255.0)
    elif code == _INVERT:
        y = 1.0 - x
    elif code == _SOLARIZE_ADD:
        add = f
        if is_u8:
            add = f * (1.0 / 255.0)
        y = tl.where(x < 0.5, _clamp01(x + add), x)  # uint8: below 128 levels is x < 0.5 too
    return y


@triton.jit
def _sharpen(src, dst, f, tile, C, H, W, npix, s_c, s_h, s_w, d_c, d_h, d_w,
             FLAT: tl.constexpr, BLOCK: tl.constexpr, SUB: tl.constexpr):
    """SHARPNESS of pixel tile ``tile`` (BLOCK pixels) of one sample (src, dst: its
    base pointers), every channel, in sub-tiles of SUB pixels: ten loads per value
    (the 3x3 neighbourhood) of SUB lanes keep fewer addresses live than of BLOCK.
    Interior pixels: x + (1 - f) (blur - x), clamped; the first / last row and column
    are copied (H <= 2 or W <= 2: all of them)."""
    is_u8: tl.constexpr = src.dtype.element_ty == tl.uint8
    for k in range(BLOCK // SUB):
        sub = i64(tile) * (BLOCK // SUB) + k
        mask, a, dh, w = _tile_pixels(sub, npix, W, FLAT, SUB)
        s_ptr, s_off = _tile_ptr(src, a, dh, w, s_h, s_w, FLAT)
        d_ptr, d_off = _tile_ptr(dst, a, dh, w, d_h, d_w, FLAT)
        p = tl.minimum(index_like(sub * SUB, npix) + tl.arange(0, SUB), npix - 1)
        h = p // W
        col = p - h * W
        inner = mask & (h >= 1) & (h < H - 1) & (col >= 1) & (col < W - 1)
        for c in range(C):
            ptr = s_ptr + i64(c) * s_c
            x = load_f32(ptr, s_off, mask)
            acc = 4.0 * x  # the centre's weight 5 = 4 + its term in the 3x3 sum
            for dy in tl.static_range(3):
                for dx in tl.static_range(3):
                    acc += load_f32(ptr + (dy - 1) * s_h + (dx - 1) * s_w, s_off, inner)
            if is_u8:
                blur = tl.floor(acc * (255.0 / 13.0) + 0.5) * (1.0 / 255.0)  # never a tie
            else:
                blur = acc * (1.0 / 13.0)
            y = tl.where(inner, _clamp01(x + (1.0 - f) * (blur - x)), x)
            store_f32(d_ptr + i64(c) * d_c, d_off, y, mask)


@triton.jit
def _pixel_ops_kernel(src, dst, op, magnitude, lut, lohi, mean, C, H, W, npix, T, n,
                      s_b, s_c, s_h, s_w, d_b, d_c, d_h, d_w,
                      FLAT: tl.constexpr, BLOCK: tl.constexpr, SHARP_BLOCK: tl.constexpr):
    """One program per (sample, tile of BLOCK pixels), every channel: n = B * T programs,
    program b * T + t. Loads the sample's code and magnitude once and takes that op's
    branch (uniform over the program)."""
    pid = flat_program_index(n)
    sample = pid // T
    tile = pid - sample * T
    sample = i64(sample)
    code = tl.load(op + sample)
    f = tl.load(magnitude + sample)
    is_u8: tl.constexpr = src.dtype.element_ty == tl.uint8
    mask, a, dh, w = _tile_pixels(tile, npix, W, FLAT, BLOCK)
    src_base, s_off = _tile_ptr(src + sample * s_b, a, dh, w, s_h, s_w, FLAT)
    dst_base, d_off = _tile_ptr(dst + sample * d_b, a, dh, w, d_h, d_w, FLAT)
    if (code == _SATURATION) & (C == 3):
        r = load_f32(src_base, s_off, mask)
        g = load_f32(src_base + s_c, s_off, mask)
        b = load_f32(src_base + 2 * i64(s_c), s_off, mask)
        gray = (1.0 - f) * _gray(r, g, b, is_u8)
        store_f32(dst_base, d_off, _clamp01(f * r + gray), mask)
        store_f32(dst_base + d_c, d_off, _clamp01(f * g + gray), mask)
        store_f32(dst_base + 2 * i64(d_c), d_off, _clamp01(f * b + gray), mask)
    elif code == _SHARPNESS:
        _sharpen(src + sample * s_b, dst + sample * d_b, f, tile, C, H, W, npix,
                 s_c, s_h, s_w, d_c, d_h, d_w, FLAT, BLOCK, SHARP_BLOCK)
    else:
        t_sol = _solarize_threshold(f, src)
        for c in range(C):
            x = load_f32(src_base + i64(c) * s_c, s_off, mask)
            y = _channel_op(code, f, x, lut, lohi, mean, sample, sample * C + c, C, t_sol, src)
            store_f32(dst_base + i64(c) * d_c, d_off, y, mask)


# ------------------------------------------------------------------ launcher


def pixel_ops(images, op, magnitude, out_dtype):
    check_pixel_args(images, op, magnitude)
    check_out_dtype(out_dtype)
    B, C, H, W = images.shape
    out = empty_output(images.shape, out_dtype, images.device, is_channels_last(images))
    if out.numel() == 0:
        return out
    npix = H * W
    n_tiles = triton.cdiv(npix, STATS_BLOCK)
    S = triton.cdiv(n_tiles, STATS_STEPS)
    dev = images.device
    phist = torch.empty((B, C, S, 256), dtype=torch.int32, device=dev)
    work = torch.empty((2 * B * C * S + B * S + 2 * B * C + B,), dtype=torch.float32, device=dev)
    pmin, pmax, psum, lohi, mean = work.split([B * C * S, B * C * S, B * S, 2 * B * C, B])
    lut = torch.empty((B, C, 256), dtype=torch.uint8, device=dev)
    _pixel_stats_kernel[flat_grid(B * S)](
        images, op, phist, pmin, pmax, psum, C, W, npix, n_tiles, STATS_STEPS, S, B * S,
        *strides(images), FLAT=_flat(images), BLOCK=STATS_BLOCK)
    _pixel_finish_kernel[flat_grid(B * C)](
        op, phist, pmin, pmax, psum, lut, lohi, mean, C, S, npix, B * C,
        BLOCK_S=min(FINISH_BLOCK, triton.next_power_of_2(S)))
    T = triton.cdiv(npix, BLOCK)
    _pixel_ops_kernel[flat_grid(B * T)](
        images, out, op, magnitude, lut, lohi, mean, C, H, W, npix, T, B * T,
        *strides(images), *strides(out), FLAT=_flat(images) and _flat(out), BLOCK=BLOCK,
        SHARP_BLOCK=min(SHARP_BLOCK, BLOCK))
    return out
