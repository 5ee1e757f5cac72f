"""Triton kernels of fused_augment: resized crop + flip -> color jitter ->
grayscale -> solarize -> normalize -> store, per sample.

Every stage reuses the jit functions of its family: the crop taps and the
separable tile resampling of kernels/geometry.py (``_crop_taps``,
``_resample_tile``), the color steps of kernels/color.py (``_run_steps``,
``_step``, ``_gray``) and its per-sample contrast mean (``_contrast_mean_kernel``).
The formulas are those of the single ops (documented there and in
datagen_gpu/functional/fused.py); the C++ kernel is csrc/fused.cpp.

Launches (each on a flat grid, ``_common.flat_grid``; 64-bit offsets):

- without contrast: one, ``_fused_kernel``: resample an output tile, run every
  stage in registers, store.
- with contrast (each sample's mean grayscale of the image as it is when
  contrast runs): three. ``_fused_kernel`` with PRE resamples once, applies the
  steps before contrast, writes one partial grayscale sum per (sample, tile) and
  stores the tile in float32 to ``tmp`` -- the output itself when it is float32
  (always with a blur: the blur's float32 input), else a float32 buffer of the
  output's shape; samples whose contrast factor is 1 are finished and stored
  there and then. ``color._contrast_mean_kernel`` adds each sample's partials in
  a fixed order, once per sample (no atomics: deterministic).
  ``_fused_finish_kernel`` reads ``tmp`` back (elementwise, no resampling) and
  applies contrast, the steps after it, grayscale, solarize and normalize.
  Memory: the float32 buffer when the output is not float32 (4 bytes per output
  element, e.g. 308 MB for 512 x 3 x 224 x 224 bfloat16 outputs), plus
  4 * B * tiles bytes of partial sums and 4 * B of means.
- with a blur: the above into a float32 intermediate, then the blur's two
  passes (kernels/filters.py), normalize being the blur's epilogue.
"""
import torch
import triton
import triton.language as tl

from .._checks import check_channel_param, check_param, check_range
from .._checks.color import check_factor, check_order
from ._common import empty_output, flat_grid, flat_program_id, i64, load_f32, store_f32, strides
from . import color as _color
from .color import _clamp01, _contrast_mean_kernel, _gray, _load_factors, _run_steps, _step
from .geometry import _crop_taps, _resample_tile, check_op_boxes, check_source, tile_config


@triton.jit
def _tile_of(pid, C, out_h, out_w, tiles_w, tiles, MONO: tl.constexpr,
             BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr):
    """(sample, channel, rows oy, columns ox, mask) of program ``pid``: program
    item * tiles + tile takes output tile ``tile`` of item = sample (RGB: the
    three channels) or, MONO, sample * C + channel."""
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
    return sample, chan, oy, ox, mask


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
                              x0, nx, ex, inv_x, norm_x, RGB, BLOCK_H, BLOCK_W)
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
def _steps_from_contrast(r, g, b, sample, order, bri, con, sat, hue, mean,
                         HAS_ORDER: tl.constexpr, USE_B: tl.constexpr, USE_S: tl.constexpr,
                         USE_H: tl.constexpr, MONO: tl.constexpr):
    """The steps ``_run_steps(..., UNTIL_CONTRAST=True)`` left: sample's contrast
    step (which is applied: its factor is not 1) and the non-identity steps after
    it, in its order; contrast with the mean ``mean``."""
    zero = sample * 0
    fb, fc, fs, fh, shift6 = _load_factors(sample, bri, con, sat, hue, USE_B, True, USE_S, USE_H)
    reached = zero
    for k in tl.static_range(4):
        if HAS_ORDER:
            op = tl.load(order + sample * 4 + k)
        else:
            op = zero + k
        fac = tl.where(op == 0, fb, tl.where(op == 1, fc, tl.where(op == 2, fs, fh)))
        act = tl.where(op == 3, fac != 0.0, fac != 1.0)
        reached = tl.where(act & (op == 1), 1, reached)
        if act & (reached != 0):
            r, g, b = _step(op, fac, shift6, False, mean, r, g, b, MONO)
    return r, g, b


@triton.jit
def _last_stages(r, g, b, sample, chan, gray, thr, sol, mean, std,
                 USE_GRAY: tl.constexpr, USE_SOL: tl.constexpr, SOL_ALL: tl.constexpr,
                 USE_NORM: tl.constexpr, MONO: tl.constexpr):
    """grayscale (saturation 0), solarize and normalize of sample's pixels."""
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
    return r, g, b


@triton.jit
def _store_tile(dst, sample, chan, s_b, s_c, s_h, s_w, oy, ox, r, g, b, mask, MONO: tl.constexpr):
    base = dst + sample * s_b + chan * s_c
    offs = oy[:, None] * s_h + ox[None, :] * s_w
    store_f32(base, offs, r, mask)
    if not MONO:
        store_f32(base + s_c, offs, g, mask)
        store_f32(base + 2 * i64(s_c), offs, b, mask)


@triton.jit
def _fused_kernel(src, meta, boxes, flip, dst, tmp, partial, order, bri, con, sat, hue, gray, thr,
                  sol, mean, std, C, out_h, out_w, tiles_w, tiles, n,
                  d_b, d_c, d_h, d_w, t_b, t_c, t_h, t_w,
                  HAS_CROP: tl.constexpr, ANTIALIAS: tl.constexpr, HAS_ORDER: tl.constexpr,
                  USE_B: tl.constexpr, USE_S: tl.constexpr, USE_H: tl.constexpr,
                  USE_GRAY: tl.constexpr, USE_SOL: tl.constexpr, SOL_ALL: tl.constexpr,
                  USE_NORM: tl.constexpr, MONO: tl.constexpr, PRE: tl.constexpr,
                  BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr):
    """out[b, :, oy, ox] = store(normalize(solarize(gray(jitter(resample(src_b))))))
    for one (BLOCK_H, BLOCK_W) output tile, n programs (``_tile_of``).

    RGB (not MONO): one program per (sample, tile), the three channels together.
    MONO (C != 3: brightness, contrast (C = 1), solarize, normalize only): one
    program per (sample * C + channel, tile). PRE (contrast): the steps before
    contrast only; partial[pid] = sum over the tile of the grayscale the contrast
    step sees; samples whose contrast factor is not 1 store that tile to ``tmp``
    (float32, strides t_*) for ``_fused_finish_kernel``, the others (all steps
    applied) are finished here.
    """
    pid = flat_program_id(n)
    sample, chan, oy, ox, mask = _tile_of(pid, C, out_h, out_w, tiles_w, tiles, MONO,
                                          BLOCK_H, BLOCK_W)
    r, g, b = _source_tile(src, meta, boxes, flip, sample, chan, oy, ox, out_h, out_w, mask,
                           HAS_CROP, ANTIALIAS, not MONO, BLOCK_H, BLOCK_W)
    r, g, b, _ = _run_steps(r, g, b, sample, order, bri, con, sat, hue, 0.0, False,
                            HAS_ORDER, USE_B, PRE, USE_S, USE_H, MONO, PRE)
    if PRE:
        lum = r
        if not MONO:
            lum = _gray(r, g, b, False)
        tl.store(partial + pid, tl.sum(tl.sum(tl.where(mask, lum, 0.0), axis=1), axis=0))
        if tl.load(con + sample) != 1.0:  # contrast applies: _fused_finish_kernel continues
            _store_tile(tmp, sample, chan, t_b, t_c, t_h, t_w, oy, ox, r, g, b, mask, MONO)
        else:
            r, g, b = _last_stages(r, g, b, sample, chan, gray, thr, sol, mean, std,
                                   USE_GRAY, USE_SOL, SOL_ALL, USE_NORM, MONO)
            _store_tile(dst, sample, chan, d_b, d_c, d_h, d_w, oy, ox, r, g, b, mask, MONO)
    else:
        r, g, b = _last_stages(r, g, b, sample, chan, gray, thr, sol, mean, std,
                               USE_GRAY, USE_SOL, SOL_ALL, USE_NORM, MONO)
        _store_tile(dst, sample, chan, d_b, d_c, d_h, d_w, oy, ox, r, g, b, mask, MONO)


@triton.jit
def _fused_finish_kernel(tmp, dst, means, order, bri, con, sat, hue, gray, thr, sol, mean, std,
                         C, out_h, out_w, tiles_w, tiles, n, t_b, t_c, t_h, t_w,
                         d_b, d_c, d_h, d_w,
                         HAS_ORDER: tl.constexpr, USE_B: tl.constexpr, USE_S: tl.constexpr,
                         USE_H: tl.constexpr, USE_GRAY: tl.constexpr, USE_SOL: tl.constexpr,
                         SOL_ALL: tl.constexpr, USE_NORM: tl.constexpr, MONO: tl.constexpr,
                         BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr):
    """The rest of a contrast sample's pipeline, elementwise on its float32 tile
    in ``tmp`` (``_fused_kernel`` with PRE): contrast with means[sample], the steps
    after it, grayscale, solarize, normalize, store. Same tiles as _fused_kernel;
    samples whose contrast factor is 1 were finished there and are skipped. ``tmp``
    may be ``dst``: padding programs of a folded grid (index >= n) do nothing.
    """
    raw = tl.program_id(1).to(tl.int64) * tl.num_programs(0) + tl.program_id(0)
    pid = tl.minimum(raw, i64(n) - 1)
    sample, chan, oy, ox, mask = _tile_of(pid, C, out_h, out_w, tiles_w, tiles, MONO,
                                          BLOCK_H, BLOCK_W)
    if (tl.load(con + sample) != 1.0) & (raw < n):
        base = tmp + sample * t_b + chan * t_c
        offs = oy[:, None] * t_h + ox[None, :] * t_w
        r = tl.load(base + offs, mask=mask, other=0.0)
        g = r
        b = r
        if not MONO:
            g = tl.load(base + t_c + offs, mask=mask, other=0.0)
            b = tl.load(base + 2 * i64(t_c) + offs, mask=mask, other=0.0)
        r, g, b = _steps_from_contrast(r, g, b, sample, order, bri, con, sat, hue,
                                       tl.load(means + sample), HAS_ORDER, USE_B, USE_S, USE_H,
                                       MONO)
        r, g, b = _last_stages(r, g, b, sample, chan, gray, thr, sol, mean, std,
                               USE_GRAY, USE_SOL, SOL_ALL, USE_NORM, MONO)
        _store_tile(dst, sample, chan, d_b, d_c, d_h, d_w, oy, ox, r, g, b, mask, MONO)


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
    block_h, block_w, warps = tile_config()
    tiles_w = triton.cdiv(out_w, block_w)
    tiles = triton.cdiv(out_h, block_h) * tiles_w
    n = batch * (channels if mono else 1) * tiles
    ptr = lambda t: flip if t is None else t  # noqa: E731  (pointers of absent stages: unused)
    stages = (ptr(order), ptr(brightness), ptr(contrast), ptr(saturation), ptr(hue), ptr(grayscale),
              ptr(solarize_threshold), ptr(solarize_apply), ptr(mean), ptr(std))
    flags = dict(HAS_ORDER=order is not None, USE_B=brightness is not None,
                 USE_S=saturation is not None, USE_H=hue is not None,
                 USE_GRAY=grayscale is not None, USE_SOL=solarize_threshold is not None,
                 SOL_ALL=solarize_apply is None, USE_NORM=mean is not None, MONO=mono,
                 BLOCK_H=block_h, BLOCK_W=block_w, num_warps=warps)
    crop = dict(HAS_CROP=boxes is not None, ANTIALIAS=bool(antialias))
    geometry = (channels, out_h, out_w, tiles_w, tiles, n)
    if contrast is None:
        _fused_kernel[flat_grid(n)](src, src_meta, ptr(boxes), flip, out, out, flip, *stages,
                                    *geometry, *strides(out), *strides(out), PRE=False, **crop,
                                    **flags)
        return out
    # contrast: resample once into a float32 tile store (the output itself when it is float32)
    tmp = out if out.dtype == torch.float32 else empty_output(out.shape, torch.float32, src.device,
                                                              channels_last)
    partial = torch.empty((batch, tiles), dtype=torch.float32, device=src.device)
    _fused_kernel[flat_grid(n)](src, src_meta, ptr(boxes), flip, out, tmp, partial, *stages,
                                *geometry, *strides(out), *strides(tmp), PRE=True, **crop, **flags)
    means = torch.empty((batch,), dtype=torch.float32, device=src.device)
    _contrast_mean_kernel[flat_grid(batch)](
        partial, means, tiles, float(out_h * out_w), batch,
        BLOCK_T=min(_color.MEAN_BLOCK, triton.next_power_of_2(tiles)))
    _fused_finish_kernel[flat_grid(n)](tmp, out, means, *stages, *geometry, *strides(tmp),
                                       *strides(out), **flags)
    return out
