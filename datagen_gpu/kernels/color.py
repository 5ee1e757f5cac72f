"""Triton color kernels: the fused color jitter (behind adjust_brightness,
adjust_contrast, adjust_saturation, adjust_hue, color_jitter and
rgb_to_grayscale), its contrast mean, and solarize.

With contrast, three launches: per-tile partial sums of the grayscale
(B * T programs), one fixed-order reduction of them per sample (B programs),
then the jitter (which loads one mean per sample). Every launch numbers its
programs in one flat index on ``_common.flat_grid`` (any image size fits
CUDA's grid limits) and decodes it in 32 bits below 2^31 programs
(``flat_program_index``: no 64-bit division); offsets are 64-bit.

Formulas (torchvision.transforms.v2.functional._color, on float32 in [0, 1]):

- brightness  ``clamp(f x, 0, 1)``
- contrast    ``clamp(f x + (1 - f) mean(gray), 0, 1)``  (``_blend``)
- saturation  ``clamp(f x + (1 - f) gray, 0, 1)``
- hue         HSV rotation by ``f`` turns (``_rgb_to_hsv`` / ``_hsv_to_rgb``),
  computed without the HSV intermediate, see ``_hue``
- gray        ``0.2989 r + 0.587 g + 0.114 b``; on uint8 input, in the first
  applied step only, floored to a uint8 level exactly as torchvision floors it.
- solarize    ``1 - x where x >= threshold``

Steps whose factor is the identity (1, 1, 1, 0) are skipped. The C++ kernels
(csrc/color.cpp, csrc/color_math.h) compute the same formulas.
"""
import torch
import triton
import triton.language as tl

from .._checks import check_images, check_out_dtype, check_param, is_channels_last
from .._checks.color import (check_contrast_images, check_factor, check_order, check_rgb,
                             check_threshold)
from ._common import (empty_output, flat_grid, flat_program_id, flat_program_index, i64, index_like,
                      load_f32, store_f32, strides)

# Block sizes, read at every launch (tests lower them to reach every path on small images).
BLOCK = 1024  # pixels per program
MEAN_BLOCK = 1024  # largest number of partial sums a contrast-mean program adds per step


@triton.jit
def _clamp01(x):
    return tl.minimum(tl.maximum(x, 0.0), 1.0)


@triton.jit
def _gray(r, g, b, quant):
    """Luma; ``quant``: the pixels are uint8 levels and the result is
    floor((2989 R + 5870 G + 1140 B) / 10000) / 255, computed exactly
    (integer sum < 2^23, floor((S + 0.5) * 1e-4) == S // 10000 for all such S)."""
    gray = 0.2989 * r + 0.587 * g + 0.114 * b
    if quant:
        lr = (r * 255.0 + 0.5).to(tl.int32).to(tl.float32)
        lg = (g * 255.0 + 0.5).to(tl.int32).to(tl.float32)
        lb = (b * 255.0 + 0.5).to(tl.int32).to(tl.float32)
        s = 2989.0 * lr + 5870.0 * lg + 1140.0 * lb
        gray = ((s + 0.5) * 1e-4).to(tl.int32).to(tl.float32) * (1.0 / 255.0)
    return gray


@triton.jit
def _hue_channel(mx, cr, h6, k0):
    k = h6 + k0
    k = tl.where(k >= 6.0, k - 6.0, k)
    return mx - cr * _clamp01(tl.minimum(k, 4.0 - k))


@triton.jit
def _hue(r, g, b, shift6):
    """Hue rotation by shift6 sextants (shift6 in [0, 6)).

    h6 = (g - b) / cr if max == r, 2 + (b - r) / cr if max == g, else 4 + (r - g) / cr
    (cr = max - min), plus shift6, wrapped into [0, 6); then each channel is
    max - cr * clamp(min(k, 4 - k), 0, 1) with k = (k0 + h6) mod 6, k0 = 5, 3, 1 for
    r, g, b: torchvision's v, p, q, t table (v = max, p = min, q = max - cr f,
    t = min + cr f)."""
    mx = tl.maximum(r, tl.maximum(g, b))
    mn = tl.minimum(r, tl.minimum(g, b))
    cr = mx - mn
    inv = 1.0 / tl.where(cr > 0.0, cr, 1.0)
    h6 = tl.where(mx == r, (g - b) * inv,
                  tl.where(mx == g, 2.0 + (b - r) * inv, 4.0 + (r - g) * inv)) + shift6
    h6 = tl.where(h6 < 0.0, h6 + 6.0, h6)
    h6 = tl.where(h6 >= 6.0, h6 - 6.0, h6)
    return _hue_channel(mx, cr, h6, 5.0), _hue_channel(mx, cr, h6, 3.0), _hue_channel(mx, cr, h6, 1.0)


@triton.jit
def _step(op, fac, shift6, quant, mean, r, g, b, MONO: tl.constexpr):
    """One adjustment (op 0..3) on the pixels; MONO: r is a lone channel."""
    if op == 0:
        r = _clamp01(fac * r)
        if not MONO:
            g = _clamp01(fac * g)
            b = _clamp01(fac * b)
    elif op == 1:
        c = (1.0 - fac) * mean
        r = _clamp01(fac * r + c)
        if not MONO:
            g = _clamp01(fac * g + c)
            b = _clamp01(fac * b + c)
    else:
        if not MONO:
            if op == 2:
                gray = _gray(r, g, b, quant)
                k = 1.0 - fac
                r = _clamp01(fac * r + k * gray)
                g = _clamp01(fac * g + k * gray)
                b = _clamp01(fac * b + k * gray)
            else:
                r, g, b = _hue(r, g, b, shift6)
    return r, g, b


@triton.jit
def _load_factors(sample, bri, con, sat, hue, USE_B: tl.constexpr, USE_C: tl.constexpr,
                  USE_S: tl.constexpr, USE_H: tl.constexpr):
    """(brightness, contrast, saturation, hue, 6 * hue wrapped to [0, 6)) of sample:
    identities (1, 1, 1, 0) for the adjustments not in use."""
    zero = (sample * 0).to(tl.float32)
    fb = zero + 1.0
    fc = zero + 1.0
    fs = zero + 1.0
    fh = zero
    shift6 = zero
    if USE_B:
        fb = tl.load(bri + sample)
    if USE_C:
        fc = tl.load(con + sample)
    if USE_S:
        fs = tl.load(sat + sample)
    if USE_H:
        fh = tl.load(hue + sample)
        shift6 = 6.0 * (fh - tl.floor(fh))
        shift6 = tl.where(shift6 >= 6.0, 0.0, shift6)
    return fb, fc, fs, fh, shift6


@triton.jit
def _run_steps(r, g, b, sample, order, bri, con, sat, hue, mean,
               IS_U8: tl.constexpr, HAS_ORDER: tl.constexpr, USE_B: tl.constexpr,
               USE_C: tl.constexpr, USE_S: tl.constexpr, USE_H: tl.constexpr,
               MONO: tl.constexpr, UNTIL_CONTRAST: tl.constexpr):
    """Applies sample's non-identity steps in its order. UNTIL_CONTRAST: stop at the
    contrast step and also return whether its grayscale is quantized."""
    zero = sample * 0
    fb, fc, fs, fh, shift6 = _load_factors(sample, bri, con, sat, hue, USE_B, USE_C, USE_S, USE_H)
    applied = zero
    done = zero
    cquant = zero != 0
    for k in tl.static_range(4):
        if HAS_ORDER:
            op = tl.load(order + sample * 4 + k)
        else:
            op = zero + k
        fac = tl.where(op == 0, fb, tl.where(op == 1, fc, tl.where(op == 2, fs, fh)))
        act = tl.where(op == 3, fac != 0.0, fac != 1.0) & (done == 0)
        quant = zero != 0
        if IS_U8:  # only the first applied step sees uint8 levels
            quant = applied == 0
        if UNTIL_CONTRAST:
            at_c = act & (op == 1)
            cquant = tl.where(at_c, quant, cquant)
            done = tl.where(at_c, 1, done)
            act = act & (op != 1)
        if act:
            r, g, b = _step(op, fac, shift6, quant, mean, r, g, b, MONO)
            applied += 1
    return r, g, b, cquant


@triton.jit
def _tile_pixels(tile, npix, W, FLAT: tl.constexpr, BLOCK: tl.constexpr):
    """(mask, a, dh, w) of pixel tile ``tile`` (pixels tile * BLOCK + [0, BLOCK) of
    the npix = H * W of a plane), for ``_tile_ptr``. FLAT (rows contiguous in
    pixels): a = tile * BLOCK, the first pixel, w the lanes [0, BLOCK) (dh unused).
    Else a = h0, the row of the first pixel, and each pixel at row h0 + dh, column
    w; divided in npix's type (``index_like``: int32 below 2^31 pixels, no 64-bit
    division), lanes past the plane clamped to its last pixel (masked anyway, and
    no int32 overflow). a is an int64 scalar, dh and w are lanes in npix's type."""
    p0 = i64(tile) * BLOCK
    q = tl.arange(0, BLOCK)
    mask = q < npix - p0
    if FLAT:
        return mask, p0, q * 0, q
    else:
        p0 = index_like(p0, npix)
        h0 = p0 // W
        w = p0 - h0 * W + tl.minimum(q, npix - 1 - p0)
        dh = w // W
        return mask, i64(h0), dh, w - dh * W


@triton.jit
def _tile_ptr(ptr, a, dh, w, s_h, s_w, FLAT: tl.constexpr):
    """(ptr advanced to the tile's origin, 64-bit lane offsets) of ``_tile_pixels``'
    (a, dh, w) in a plane of strides (s_h, s_w). The origin in the pointer keeps the
    lane offsets small multiples of the strides (fewer 64-bit registers live)."""
    if FLAT:  # rows are contiguous in pixels: s_h == W * s_w (NCHW and channels-last)
        return ptr + a * s_w, i64(w) * s_w
    else:
        return ptr + a * s_h, i64(dh) * s_h + i64(w) * s_w


@triton.jit
def _contrast_partial_kernel(src, partial, order, bri, con, sat, hue,
                             C, W, npix, T, n, s_b, s_c, s_h, s_w,
                             IS_U8: tl.constexpr, HAS_ORDER: tl.constexpr, USE_B: tl.constexpr,
                             USE_S: tl.constexpr, USE_H: tl.constexpr, MONO: tl.constexpr,
                             FLAT: tl.constexpr, BLOCK: tl.constexpr):
    """partial[b, t] = sum over pixel tile t of sample b of the grayscale the
    contrast step sees (earlier steps applied in registers). n = B * T programs,
    program b * T + t; npix = H * W. No atomics: ``_contrast_mean_kernel`` adds
    the T partials of a sample in a fixed order."""
    pid = flat_program_index(n)
    sample = pid // T
    tile = pid - sample * T
    sample = i64(sample)
    mask, a, dh, w = _tile_pixels(tile, npix, W, FLAT, BLOCK)
    base, off = _tile_ptr(src + sample * s_b, a, dh, w, s_h, s_w, FLAT)
    r = load_f32(base, off, mask)
    g = r
    b = r
    if not MONO:
        g = load_f32(base + s_c, off, mask)
        b = load_f32(base + 2 * i64(s_c), off, mask)
    r, g, b, cquant = _run_steps(r, g, b, sample, order, bri, con, sat, hue, 0.0,
                                 IS_U8, HAS_ORDER, USE_B, True, USE_S, USE_H, MONO, True)
    gray = r
    if not MONO:
        gray = _gray(r, g, b, cquant)
    tl.store(partial + sample * T + tile, tl.sum(tl.where(mask, gray, 0.0), axis=0))


@triton.jit
def _contrast_mean_kernel(partial, mean, T, npix, n, BLOCK_T: tl.constexpr):
    """mean[b] = (sum of partial[b, 0:T], in a fixed order) / npix: the contrast
    step's mean of sample b, reduced once per sample (n = B programs)."""
    sample = flat_program_id(n)
    acc = tl.zeros((BLOCK_T,), dtype=tl.float32)
    for start in range(0, T, BLOCK_T):
        t = start + tl.arange(0, BLOCK_T)
        acc += tl.load(partial + sample * T + t, mask=t < T, other=0.0)
    tl.store(mean + sample, tl.sum(acc, axis=0) / npix)


@triton.jit
def _color_jitter_kernel(src, dst, mean, order, bri, con, sat, hue,
                         C, W, npix, T, n, s_b, s_c, s_h, s_w, d_b, d_c, d_h, d_w,
                         IS_U8: tl.constexpr, HAS_ORDER: tl.constexpr, USE_B: tl.constexpr,
                         USE_C: tl.constexpr, USE_S: tl.constexpr, USE_H: tl.constexpr,
                         MONO: tl.constexpr, FLAT: tl.constexpr, BLOCK: tl.constexpr):
    """One program per (sample, tile of BLOCK pixels) with the 3 channels
    (MONO: per (sample * C + channel, tile), brightness / contrast only):
    n programs, program i * T + t for tile t of sample (plane) i; npix = H * W.
    Applies the sample's steps in its order; contrast's mean is mean[sample]
    (``_contrast_mean_kernel``)."""
    pid = flat_program_index(n)
    plane = pid // T
    tile = pid - plane * T
    if MONO:
        sample = plane // C
        chan = plane - sample * C
    else:
        sample = plane
        chan = plane * 0
    sample = i64(sample)
    chan = i64(chan)
    m = 0.0
    if USE_C:
        m = tl.load(mean + sample)
    mask, a, dh, w = _tile_pixels(tile, npix, W, FLAT, BLOCK)
    src_base, s_off = _tile_ptr(src + sample * s_b + chan * s_c, a, dh, w, s_h, s_w, FLAT)
    dst_base, d_off = _tile_ptr(dst + sample * d_b + chan * d_c, a, dh, w, d_h, d_w, FLAT)
    r = load_f32(src_base, s_off, mask)
    g = r
    b = r
    if not MONO:
        g = load_f32(src_base + s_c, s_off, mask)
        b = load_f32(src_base + 2 * i64(s_c), s_off, mask)
    r, g, b, _ = _run_steps(r, g, b, sample, order, bri, con, sat, hue, m,
                            IS_U8, HAS_ORDER, USE_B, USE_C, USE_S, USE_H, MONO, False)
    store_f32(dst_base, d_off, r, mask)
    if not MONO:
        store_f32(dst_base + d_c, d_off, g, mask)
        store_f32(dst_base + 2 * i64(d_c), d_off, b, mask)


@triton.jit
def _round_bf16(x):
    """float32 x (finite) rounded to the nearest bfloat16, ties to even, as float32:
    what ``x.to(tl.bfloat16)`` gives on the GPU; the interpreter truncates instead,
    and a threshold is a decision, not a value that a tolerance can absorb."""
    bits = x.to(tl.uint32, bitcast=True)
    bits = (bits + (0x7FFF + ((bits >> 16) & 1))) & 0xFFFF0000
    return bits.to(tl.float32, bitcast=True)


@triton.jit
def _solarize_threshold(t, src):
    """Threshold t of the input's range as torchvision compares it: uint8 level >= t
    <=> x >= ceil(t) / 255; floats x >= t rounded to the input dtype."""
    if src.dtype.element_ty == tl.uint8:
        k = tl.ceil(t)
        t = tl.where(k > 255.0, 2.0, k * (1.0 / 255.0))
    elif src.dtype.element_ty == tl.bfloat16:
        t = _round_bf16(t)
    else:
        t = t.to(src.dtype.element_ty).to(tl.float32)
    return t


@triton.jit
def _solarize_kernel(src, dst, threshold, apply, C, W, npix, T, n,
                     s_b, s_c, s_h, s_w, d_b, d_c, d_h, d_w,
                     FLAT: tl.constexpr, BLOCK: tl.constexpr):
    """out = 1 - x where apply[b] and x >= threshold[b]. The threshold is in the
    input dtype's range, compared as torchvision compares it: uint8 level >= t
    (<=> x >= ceil(t) / 255), float x >= t rounded to the input dtype.
    n = B * C * T programs, program plane * T + t for tile t of a plane."""
    pid = flat_program_index(n)
    plane = pid // T
    tile = pid - plane * T
    sample = plane // C
    chan = i64(plane - sample * C)
    sample = i64(sample)
    t = _solarize_threshold(tl.load(threshold + sample), src)
    t = tl.where(tl.load(apply + sample), t, 3.0e38)  # not applied: nothing reaches it
    mask, a, dh, w = _tile_pixels(tile, npix, W, FLAT, BLOCK)
    src_base, s_off = _tile_ptr(src + sample * s_b + chan * s_c, a, dh, w, s_h, s_w, FLAT)
    dst_base, d_off = _tile_ptr(dst + sample * d_b + chan * d_c, a, dh, w, d_h, d_w, FLAT)
    x = load_f32(src_base, s_off, mask)
    y = tl.where(x >= t, 1.0 - x, x)
    store_f32(dst_base, d_off, y, mask)


# ------------------------------------------------------------------ launchers


def _flat(t: torch.Tensor) -> bool:
    _, _, H, W = t.shape
    return H <= 1 or t.stride(2) == W * t.stride(3)


def _jitter(images, out_dtype, brightness=None, contrast=None, saturation=None, hue=None,
            order=None):
    B, C, H, W = images.shape
    out = empty_output(images.shape, out_dtype, images.device, is_channels_last(images))
    if out.numel() == 0:
        return out
    mono = C != 3
    npix = H * W
    T = triton.cdiv(npix, BLOCK)
    any_factor = next(f for f in (brightness, contrast, saturation, hue) if f is not None)
    ptr = lambda t: any_factor if t is None else t  # noqa: E731  (unused pointers)
    flags = dict(IS_U8=images.dtype == torch.uint8, HAS_ORDER=order is not None,
                 USE_B=brightness is not None, USE_S=saturation is not None,
                 USE_H=hue is not None, MONO=mono, FLAT=_flat(images) and _flat(out), BLOCK=BLOCK)
    args = (ptr(order), ptr(brightness), ptr(contrast), ptr(saturation), ptr(hue))
    mean = any_factor  # unused unless contrast
    if contrast is not None:
        partial = torch.empty((B, T), dtype=torch.float32, device=images.device)
        _contrast_partial_kernel[flat_grid(B * T)](images, partial, *args, C, W, npix, T, B * T,
                                                   *strides(images), **flags)
        mean = torch.empty((B,), dtype=torch.float32, device=images.device)
        _contrast_mean_kernel[flat_grid(B)](partial, mean, T, float(npix), B,
                                            BLOCK_T=min(MEAN_BLOCK, triton.next_power_of_2(T)))
    n = (B * C if mono else B) * T
    _color_jitter_kernel[flat_grid(n)](
        images, out, mean, *args, C, W, npix, T, n, *strides(images), *strides(out),
        USE_C=contrast is not None, **flags)
    return out


def _single(images, factor, out_dtype, name, check=check_images, low=0.0, high=None):
    """One adjustment: the jitter kernel with only that step."""
    check(images)
    check_factor(factor, images, "factor", low, high)
    check_out_dtype(out_dtype)
    return _jitter(images, out_dtype, **{name: factor})


def adjust_brightness(images, factor, out_dtype):
    return _single(images, factor, out_dtype, "brightness")


def adjust_contrast(images, factor, out_dtype):
    return _single(images, factor, out_dtype, "contrast", check=check_contrast_images)


def adjust_saturation(images, factor, out_dtype):
    return _single(images, factor, out_dtype, "saturation", check=check_rgb)


def adjust_hue(images, factor, out_dtype):
    return _single(images, factor, out_dtype, "hue", check=check_rgb, low=-0.5, high=0.5)


def color_jitter(images, brightness, contrast, saturation, hue, order, out_dtype):
    check_rgb(images)
    check_factor(brightness, images, "brightness")
    check_factor(contrast, images, "contrast")
    check_factor(saturation, images, "saturation")
    check_factor(hue, images, "hue", -0.5, 0.5)
    check_order(order, images)
    check_out_dtype(out_dtype)
    return _jitter(images, out_dtype, brightness, contrast, saturation, hue, order)


def rgb_to_grayscale(images, apply, out_dtype):
    """Saturation 0 where apply (blend weight 1 on the grayscale), 1 elsewhere."""
    check_rgb(images)
    check_param(apply, images, "apply", torch.bool)
    check_out_dtype(out_dtype)
    saturation = (~apply).to(torch.float32)
    return _jitter(images, out_dtype, saturation=saturation)


def solarize(images, threshold, apply, out_dtype):
    check_images(images)
    check_threshold(threshold, images)
    check_param(apply, images, "apply", torch.bool)
    check_out_dtype(out_dtype)
    B, C, H, W = images.shape
    out = empty_output(images.shape, out_dtype, images.device, is_channels_last(images))
    if out.numel() == 0:
        return out
    T = triton.cdiv(H * W, BLOCK)
    n = B * C * T
    _solarize_kernel[flat_grid(n)](images, out, threshold, apply, C, W, H * W, T, n,
                                   *strides(images), *strides(out),
                                   FLAT=_flat(images) and _flat(out), BLOCK=BLOCK)
    return out
