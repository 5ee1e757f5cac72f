"""Triton kernel of fused_augment: resized crop + flip -> color jitter ->
grayscale -> solarize -> normalize -> store, per sample, in one pass.

Every stage reuses the jit functions of its family: the crop taps and the
tile resampling of kernels/geometry.py (``_crop_taps``, ``_resample_tile``),
the color steps of kernels/color.py (``_run_steps``, ``_gray``). The formulas
are those of the single ops (documented there and in
datagen_gpu/functional/fused.py); the C++ kernel is csrc/fused.cpp.

Contrast needs each sample's mean grayscale of the image as it is when
contrast runs: a first launch of the same kernel (PARTIAL) resamples, applies
the steps before contrast in registers and writes one partial sum per
(sample, tile); the main launch adds a sample's partials in a fixed order
(no atomics, deterministic).
"""
import torch
import triton
import triton.language as tl

from .._checks import check_channel_param, check_param, check_range
from .._color_checks import check_factor, check_order
from ._common import empty_output, load_f32, store_f32, strides
from .color import _clamp01, _gray, _run_steps
from .geometry import _crop_taps, _resample_tile, check_op_boxes, check_source

BLOCK_H, BLOCK_W = 16, 32


@triton.jit
def _source_tile(src, meta, boxes, flip, b, c, oy, ox, out_h, out_w, mask,
                 HAS_CROP: tl.constexpr, ANTIALIAS: tl.constexpr, RGB: tl.constexpr,
                 BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr):
    """The resampled pixels of output tile (oy, ox) of sample b: channels c (RGB:
    c, c + 1, c + 2). HAS_CROP: resized_crop's resampling; else the image itself
    (out_h x out_w), mirrored where flip[b]."""
    if HAS_CROP:
        off, s_c, s_h, s_w, H, W, y0, ny, ey, inv_y, norm_y, x0, nx, ex, inv_x, norm_x = _crop_taps(
            meta, boxes, flip, b, oy, ox, out_h, out_w, ANTIALIAS)
        return _resample_tile(src + off + c * s_c, s_c, s_h, s_w, H, W, y0, ny, ey, inv_y, norm_y,
                              x0, nx, ex, inv_x, norm_x, mask, RGB, BLOCK_H, BLOCK_W)
    else:
        row = meta + b * 6
        s_c = tl.load(row + 3)
        base = src + tl.load(row) + c * s_c
        x = tl.where(tl.load(flip + b), out_w - 1 - ox, ox)
        offs = oy[:, None] * tl.load(row + 4) + x[None, :] * tl.load(row + 5)
        r = load_f32(base, offs, mask)
        g = r
        bl = r
        if RGB:
            g = load_f32(base + s_c, offs, mask)
            bl = load_f32(base + 2 * s_c, offs, mask)
        return r, g, bl


@triton.jit
def _normalize(x, mean, std, c):
    return (x - tl.load(mean + c)) * (1.0 / tl.load(std + c))


@triton.jit
def _solarize(x, t):
    return tl.where(x >= t, 1.0 - x, x)


@triton.jit
def _fused_kernel(src, meta, boxes, flip, dst, partial, order, bri, con, sat, hue, gray, thr, sol,
                  mean, std, C, out_h, out_w, tiles_w, tiles, npix, d_b, d_c, d_h, d_w,
                  HAS_CROP: tl.constexpr, ANTIALIAS: tl.constexpr, HAS_ORDER: tl.constexpr,
                  USE_B: tl.constexpr, USE_C: tl.constexpr, USE_S: tl.constexpr,
                  USE_H: tl.constexpr, USE_GRAY: tl.constexpr, USE_SOL: tl.constexpr,
                  SOL_ALL: tl.constexpr, USE_NORM: tl.constexpr, MONO: tl.constexpr,
                  PARTIAL: tl.constexpr, BLOCK_T: tl.constexpr,
                  BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr):
    """out[b, :, oy, ox] = store(normalize(solarize(gray(jitter(resample(src_b))))))
    for one (BLOCK_H, BLOCK_W) output tile.

    RGB (not MONO): one program per (sample, tile), the three channels together.
    MONO (C != 3: brightness, contrast (C = 1), solarize, normalize only): one
    program per (sample * C + channel, tile). PARTIAL: instead of storing,
    write partial[b * tiles + tile] = sum over the tile of the grayscale the
    contrast step sees (steps before it applied). Otherwise contrast's mean is
    the fixed-order sum of sample b's partials / (out_h * out_w).
    64-bit offsets.
    """
    pid = tl.program_id(0).to(tl.int64)
    item = pid // tiles
    tile = pid % tiles
    if MONO:
        sample = item // C
        chan = item % C
    else:
        sample = item
        chan = item * 0
    oy = (tile // tiles_w) * BLOCK_H + tl.arange(0, BLOCK_H)
    ox = (tile % tiles_w) * BLOCK_W + tl.arange(0, BLOCK_W)
    mask = (oy < out_h)[:, None] & (ox < out_w)[None, :]
    r, g, b = _source_tile(src, meta, boxes, flip, sample, chan, oy, ox, out_h, out_w, mask,
                           HAS_CROP, ANTIALIAS, not MONO, BLOCK_H, BLOCK_W)
    if PARTIAL:
        r, g, b, _ = _run_steps(r, g, b, sample, order, bri, con, sat, hue, 0.0, False,
                                HAS_ORDER, USE_B, True, USE_S, USE_H, MONO, True)
        lum = r
        if not MONO:
            lum = _gray(r, g, b, False)
        tl.store(partial + sample * tiles + tile, tl.sum(tl.sum(tl.where(mask, lum, 0.0), axis=1),
                                                          axis=0))
    else:
        m = 0.0
        if USE_C:
            acc = tl.zeros((BLOCK_T,), dtype=tl.float32)
            for start in range(0, tiles, BLOCK_T):
                t = start + tl.arange(0, BLOCK_T)
                acc += tl.load(partial + sample * tiles + t, mask=t < tiles, other=0.0)
            m = tl.sum(acc, axis=0) / npix
        r, g, b, _ = _run_steps(r, g, b, sample, order, bri, con, sat, hue, m, False,
                                HAS_ORDER, USE_B, USE_C, USE_S, USE_H, MONO, False)
        if USE_GRAY:  # saturation 0: the clamped grayscale on every channel
            if tl.load(gray + sample):
                lum = _clamp01(_gray(r, g, b, False))
                r = lum
                g = lum
                b = lum
        if USE_SOL:
            t = tl.load(thr + sample)
            if not SOL_ALL:
                t = tl.where(tl.load(sol + sample), t, 3.0e38)  # not applied: nothing reaches it
            r = _solarize(r, t)
            if not MONO:
                g = _solarize(g, t)
                b = _solarize(b, t)
        if USE_NORM:
            r = _normalize(r, mean, std, chan)
            if not MONO:
                g = _normalize(g, mean, std, 1)
                b = _normalize(b, mean, std, 2)
        base = dst + sample * d_b + chan * d_c
        offs = oy[:, None] * d_h + ox[None, :] * d_w
        store_f32(base, offs, r, mask)
        if not MONO:
            store_f32(base + d_c, offs, g, mask)
            store_f32(base + 2 * d_c, offs, b, mask)


def _check(src, src_meta, channels, boxes, flip, out_h, out_w, brightness, contrast, saturation,
           hue, order, grayscale, solarize_threshold, solarize_apply, mean, std, out_dtype):
    """The C++ op's checks (csrc/fused.cpp), in its order."""
    check_source(src, src_meta, channels, out_h, out_w, out_dtype)
    batch = src_meta.shape[0]
    if boxes is not None:
        check_op_boxes(boxes, src, batch)
    elif src.device.type == "cpu" and batch > 0:
        if bool(((src_meta[:, 1] != out_h) | (src_meta[:, 2] != out_w)).any()):
            raise ValueError(f"size: without boxes every image must be {out_h}x{out_w}")
    check_param(flip, src_meta, "flip", torch.bool)
    for value, name, low, high in ((brightness, "brightness", 0.0, None),
                                   (contrast, "contrast", 0.0, None),
                                   (saturation, "saturation", 0.0, None),
                                   (hue, "hue", -0.5, 0.5)):
        if value is not None:
            check_factor(value, src_meta, name, low, high)
    if order is not None:
        check_order(order, src_meta)
    if grayscale is not None:
        check_param(grayscale, src_meta, "grayscale", torch.bool)
    if solarize_threshold is not None:
        check_param(solarize_threshold, src_meta, "solarize_threshold", torch.float32)
    if solarize_apply is not None:
        if solarize_threshold is None:
            raise ValueError("solarize_apply: given without solarize_threshold")
        check_param(solarize_apply, src_meta, "solarize_apply", torch.bool)
    if (mean is None) != (std is None):
        raise ValueError("mean, std: give both (normalize) or neither")
    for value, name in ((saturation, "saturation"), (hue, "hue"), (grayscale, "grayscale")):
        if value is not None and channels != 3:
            raise ValueError(f"images: {name} needs 3 (RGB) channels, got {channels}")
    if contrast is not None and channels not in (1, 3):
        raise ValueError(f"images: contrast needs 1 or 3 channels, got {channels}")
    if mean is not None:
        check_channel_param(mean, channels, src.device, "mean")
        check_channel_param(std, channels, src.device, "std")
        if std.device.type == "cpu" and bool((std == 0).any()):
            raise ValueError(f"std: expected non-zero values, got {std.tolist()}")


def _check_blur(blur_kernel, blur_sigma, blur_apply, src_meta, out_h, out_w):
    if blur_sigma is None:
        if blur_kernel != 0 or blur_apply is not None:
            raise ValueError("blur_kernel, blur_apply: given without blur_sigma")
        return
    if blur_kernel <= 0 or blur_kernel % 2 == 0:
        raise ValueError(f"blur_kernel: expected a positive odd integer, got {blur_kernel}")
    if blur_kernel // 2 >= out_h or blur_kernel // 2 >= out_w:
        raise ValueError(f"blur_kernel: {blur_kernel} needs blur_kernel // 2 < h and < w of the "
                         f"output (reflect padding), got {out_h}x{out_w}")
    check_param(blur_sigma, src_meta, "blur_sigma", torch.float32)
    check_range(blur_sigma, "blur_sigma", low=0.0, low_inclusive=False)
    if blur_apply is not None:
        check_param(blur_apply, src_meta, "blur_apply", torch.bool)


def fused_augment(src, src_meta, channels, boxes, flip, out_h, out_w, antialias, brightness,
                  contrast, saturation, hue, order, grayscale, solarize_threshold, solarize_apply,
                  blur_kernel, blur_sigma, blur_apply, mean, std, out_dtype, channels_last):
    """Launcher of torch.ops.datagen_gpu.fused_augment (same arguments and checks as the C++ op).

    With a blur: the fused kernel writes a float32 intermediate (no normalize), then
    the blur launcher (kernels/filters.py) blurs the picked samples and normalizes.
    """
    _check(src, src_meta, channels, boxes, flip, out_h, out_w, brightness, contrast, saturation,
           hue, order, grayscale, solarize_threshold, solarize_apply, mean, std, out_dtype)
    _check_blur(blur_kernel, blur_sigma, blur_apply, src_meta, out_h, out_w)
    if blur_sigma is not None:
        from .filters import gaussian_blur

        x = fused_augment(src, src_meta, channels, boxes, flip, out_h, out_w, antialias,
                          brightness, contrast, saturation, hue, order, grayscale,
                          solarize_threshold, solarize_apply, 0, None, None, None, None,
                          torch.float32, channels_last)
        return gaussian_blur(x, blur_kernel, blur_sigma, blur_apply, mean, std, out_dtype)
    batch = src_meta.shape[0]
    out = empty_output((batch, channels, out_h, out_w), out_dtype, src.device, channels_last)
    if out.numel() == 0:
        return out
    mono = channels != 3
    tiles_w = triton.cdiv(out_w, BLOCK_W)
    tiles = triton.cdiv(out_h, BLOCK_H) * tiles_w
    ptr = lambda t: flip if t is None else t  # noqa: E731  (pointers of absent stages: unused)
    flags = dict(HAS_CROP=boxes is not None, ANTIALIAS=bool(antialias), HAS_ORDER=order is not None,
                 USE_B=brightness is not None, USE_S=saturation is not None, USE_H=hue is not None,
                 USE_GRAY=grayscale is not None, USE_SOL=solarize_threshold is not None,
                 SOL_ALL=solarize_apply is None, USE_NORM=mean is not None, MONO=mono,
                 BLOCK_T=min(1024, triton.next_power_of_2(tiles)), BLOCK_H=BLOCK_H, BLOCK_W=BLOCK_W)
    partial = flip
    args = [src, src_meta, ptr(boxes), flip, out, partial, ptr(order), ptr(brightness),
            ptr(contrast), ptr(saturation), ptr(hue), ptr(grayscale), ptr(solarize_threshold),
            ptr(solarize_apply), ptr(mean), ptr(std), channels, out_h, out_w, tiles_w, tiles,
            float(out_h * out_w), *strides(out)]
    if contrast is not None:
        partial = args[5] = torch.empty((batch, tiles), dtype=torch.float32, device=src.device)
        _fused_kernel[(batch * tiles,)](*args, USE_C=True, PARTIAL=True, **flags)
    grid = (batch * (channels if mono else 1) * tiles,)
    _fused_kernel[grid](*args, USE_C=contrast is not None, PARTIAL=False, **flags)
    return out
