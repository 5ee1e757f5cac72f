"""Triton spectrogram and waveform kernels: masking, frequency shift, mixup.

Every tensor is seen as a (B, C, F, T) strided view (a (B, F, T)
spectrogram is (B, 1, F, T), a (B, T) waveform (B, 1, 1, T)); one program
handles a block of one row along T; the programs of a launch are numbered
in one flat index on ``_common.flat_grid`` (any length fits CUDA's grid
limits). Values are float32 inside the kernels (load_f32 / store_f32: plain
conversion for float dtypes), rounded once on store. Program indices are
decoded in 32 bits below 2^31 programs (``_row_program``; no 64-bit division),
offsets are 64-bit.
"""
import torch
import triton
import triton.language as tl

from .._checks.audio import (as_bcft, check_audio, check_float_out_dtype, check_mask_pair,
                      check_specs, empty_like_layout)
from .._checks import check_param
from ._common import (empty_output, flat_grid, flat_program_id, flat_program_index, i64, load_f32, split_program,
                      row_block, store_f32)

# Block sizes, read at every launch (tests lower them to reach every path on small inputs).
MAX_SPLIT = 32  # programs per sample in the mean's partial sums (a power of two)
BLOCK_T = 1024  # largest block of one row per program


def _alloc(shape, dtype, device):
    return empty_output(shape, dtype, device)


@triton.jit
def _row_sums_kernel(src, partials, C, F, T, n, s_b, s_c, s_f, s_t, rows_per_split,
                     SPLIT: tl.constexpr, BLOCK_T: tl.constexpr):
    """partials[b, s] = sum of rows [s * rows_per_split, (s + 1) * rows_per_split) of sample b.

    The rows of a sample are its C * F rows of T values; float32 lanes.
    n = B * SPLIT programs, program b * SPLIT + s.
    """
    pid = flat_program_id(n)
    b = pid // SPLIT
    s = pid % SPLIT
    acc = tl.zeros([BLOCK_T], dtype=tl.float32)
    r0 = s * rows_per_split
    r1 = tl.minimum(r0 + rows_per_split, i64(C) * F)
    c = r0 // F  # row r = c * F + f, stepped without a division per row
    f = r0 - c * F
    for r in range(r0, r1):
        base = src + b * s_b + c * s_c + f * s_f
        for t0 in range(0, T, BLOCK_T):
            t = t0 + tl.arange(0, BLOCK_T)
            acc += load_f32(base, t * s_t, t < T)
        f += 1
        c = tl.where(f == F, c + 1, c)
        f = tl.where(f == F, 0, f)
    tl.store(partials + b * SPLIT + s, tl.sum(acc, axis=0))


@triton.jit
def _row_program(n, C, F, NT, BLOCK_T: tl.constexpr):
    """(b, c, f, t) of this program of a launch of n = B * C * F * NT programs on a
    flat grid, program ((b * C + c) * F + f) * NT + j taking block j of row (b, c, f):
    the program index is decoded in n's type (``flat_program_index``: int32 below
    2^31 programs, so no 64-bit division), b, c, f are returned as int64 and t,
    the block's time indices, is int64."""
    b, c, f, j = split_program(flat_program_index(n), C, F, NT)
    return i64(b), i64(c), i64(f), i64(j) * BLOCK_T + tl.arange(0, BLOCK_T)


@triton.jit
def _mask_end(start, width, size):
    """Exclusive end of the mask [start, start + width) for the test ``i < end``.

    Negative widths count as 0. Never overflows where it matters: for
    start < 0, start + width cannot; for start >= 0 the width is first capped
    at size, and start + size wraps only when start > INT64_MAX - size, where
    ``i >= start`` is false anyway.
    """
    width = tl.maximum(width, 0)
    return tl.where(start < 0, start + width, start + tl.minimum(width, size))


@triton.jit
def _mask_kernel(src, dst, f_start, f_width, MF, t_start, t_width, MT, value, partials, inv_n,
                 C, F, T, n, NT, s_b, s_c, s_f, s_t, d_b, d_c, d_f, d_t,
                 USE_MEAN: tl.constexpr, SPLIT: tl.constexpr, BLOCK_T: tl.constexpr):
    """SpecAugment masking (Park et al. 2019), all masks of a sample in one pass.

    out[b, c, f, t] = v_b  if f in any [fs, fs + fw) or t in any [ts, ts + tw) of sample b,
                      in[b, c, f, t] otherwise,
    with masks clipped to the axis (width <= 0: no mask) and v_b = value[b],
    or (USE_MEAN) the mean of sample b: sum(partials[b, :]) * inv_n.
    Masked elements are not read. n = B * C * F * NT programs, program row * NT + j
    for block j of a row.
    """
    b, c, f, t = _row_program(n, C, F, NT, BLOCK_T)
    if USE_MEAN:
        v = tl.sum(tl.load(partials + b * SPLIT + tl.arange(0, SPLIT)), axis=0) * inv_n
    else:
        v = tl.load(value + b)
    row_hit = f < 0
    for m in range(MF):
        s = tl.load(f_start + b * MF + m)
        row_hit = row_hit | ((f >= s) & (f < _mask_end(s, tl.load(f_width + b * MF + m), F)))
    inside = t < T
    hit = t < 0
    for m in range(MT):
        s = tl.load(t_start + b * MT + m)
        hit = hit | ((t >= s) & (t < _mask_end(s, tl.load(t_width + b * MT + m), T)))
    hit = hit | row_hit
    x = load_f32(src + b * s_b + c * s_c + f * s_f, t * s_t, inside & (hit == 0))
    out = tl.where(hit, v, x)
    store_f32(dst + b * d_b + c * d_c + f * d_f, t * d_t, out, inside)


@triton.jit
def _freq_shift_kernel(src, dst, shift, fill, C, F, T, n, NT,
                       s_b, s_c, s_f, s_t, d_b, d_c, d_f, d_t, BLOCK_T: tl.constexpr):
    """Frequency shift (as summarised by Wang & van den Oord 2021).

    out[b, c, f, t] = in[b, c, f - shift[b], t] if 0 <= f - shift[b] < F else fill[b]
    (a positive shift moves content toward higher bins). Vacated rows are not read.
    n = B * C * F * NT programs, program row * NT + j for block j of a row.
    """
    b, c, f, t = _row_program(n, C, F, NT, BLOCK_T)
    sh = tl.load(shift + b)
    valid = (sh <= f) & (sh > f - F)  # 0 <= f - sh < F without overflow
    src_f = tl.where(valid, f - sh, 0)
    inside = t < T
    # read only valid rows (the bound is 0 for vacated ones)
    x = load_f32(src + b * s_b + c * s_c + src_f * s_f, t * s_t, t < tl.where(valid, T, 0))
    out = tl.where(valid, x, tl.load(fill + b))
    store_f32(dst + b * d_b + c * d_c + f * d_f, t * d_t, out, inside)


@triton.jit
def _audio_mixup_kernel(src, dst, lam, perm, B, C, F, T, n, NT,
                        s_b, s_c, s_f, s_t, d_b, d_c, d_f, d_t, BLOCK_T: tl.constexpr):
    """Mixup (Zhang et al. 2018) of waveforms or spectrograms.

    out[b] = lam[b] * x[b] + (1 - lam[b]) * x[perm[b]] in float32; perm[b] is
    clamped to [0, B) so any value stays in bounds (the CPU checks reject it).
    n = B * C * F * NT programs, program row * NT + j for block j of a row.
    """
    b, c, f, t = _row_program(n, C, F, NT, BLOCK_T)
    p = tl.minimum(tl.maximum(tl.load(perm + b), 0), B - 1)
    w = tl.load(lam + b)
    inside = t < T
    a = load_f32(src + b * s_b + c * s_c + f * s_f, t * s_t, inside)
    o = load_f32(src + p * s_b + c * s_c + f * s_f, t * s_t, inside)
    store_f32(dst + b * d_b + c * d_c + f * d_f, t * d_t, w * a + (1.0 - w) * o, inside)


def _strides(t):
    return tuple(int(s) for s in t.stride())


def _masks(specs, f_start, f_width, t_start, t_width, value, out_dtype):
    out = empty_like_layout(specs, out_dtype, _alloc)
    if out.numel() == 0:
        return out
    src, dst = as_bcft(specs), as_bcft(out)
    B, C, F, T = src.shape
    MF, MT = f_start.shape[1], t_start.shape[1]
    # unused pointer arguments (no masks on an axis, no fill tensor) get a small real tensor
    dummy = torch.empty(MAX_SPLIT, dtype=torch.int64, device=specs.device)  # never read
    if MF == 0:
        f_start = f_width = dummy
    if MT == 0:
        t_start = t_width = dummy
    block = row_block(T, BLOCK_T)
    use_mean = value is None
    if use_mean:
        split = min(MAX_SPLIT, triton.next_power_of_2(C * F))
        partials = torch.empty((B, split), dtype=torch.float32, device=specs.device)
        _row_sums_kernel[flat_grid(B * split)](src, partials, C, F, T, B * split, *_strides(src),
                                               triton.cdiv(C * F, split), SPLIT=split,
                                               BLOCK_T=block)
        value, inv_n = dummy, 1.0 / float(C * F * T)
    else:
        split, partials, inv_n = 1, value, 1.0
    nt = triton.cdiv(T, block)
    n = B * C * F * nt
    _mask_kernel[flat_grid(n)](src, dst, f_start, f_width, MF, t_start, t_width, MT, value,
                               partials, inv_n, C, F, T, n, nt, *_strides(src), *_strides(dst),
                               USE_MEAN=use_mean, SPLIT=split, BLOCK_T=block)
    return out


def _check_value(value, specs):
    if value is not None:
        check_param(value, specs, "value", torch.float32)


def _one_axis_masks(specs, start, width, value, out_dtype, time_axis):
    """Masks along one axis only (the other axis gets none)."""
    check_specs(specs)
    check_mask_pair(specs, start, width, "start", "width")
    _check_value(value, specs)
    check_float_out_dtype(out_dtype)
    none = torch.empty((specs.shape[0], 0), dtype=torch.int64, device=specs.device)
    if time_axis:
        return _masks(specs, none, none, start, width, value, out_dtype)
    return _masks(specs, start, width, none, none, value, out_dtype)


def time_mask(specs, start, width, value, out_dtype):
    return _one_axis_masks(specs, start, width, value, out_dtype, time_axis=True)


def freq_mask(specs, start, width, value, out_dtype):
    return _one_axis_masks(specs, start, width, value, out_dtype, time_axis=False)


def spec_mask(specs, freq_start, freq_width, time_start, time_width, value, out_dtype):
    check_specs(specs)
    check_mask_pair(specs, freq_start, freq_width, "freq_start", "freq_width")
    check_mask_pair(specs, time_start, time_width, "time_start", "time_width")
    _check_value(value, specs)
    check_float_out_dtype(out_dtype)
    return _masks(specs, freq_start, freq_width, time_start, time_width, value, out_dtype)


def freq_shift(specs, shift, fill, out_dtype):
    check_specs(specs)
    check_param(shift, specs, "shift", torch.int64)
    check_param(fill, specs, "fill", torch.float32)
    check_float_out_dtype(out_dtype)
    out = empty_like_layout(specs, out_dtype, _alloc)
    if out.numel() == 0:
        return out
    src, dst = as_bcft(specs), as_bcft(out)
    B, C, F, T = src.shape
    block = row_block(T, BLOCK_T)
    nt = triton.cdiv(T, block)
    n = B * C * F * nt
    _freq_shift_kernel[flat_grid(n)](src, dst, shift, fill, C, F, T, n, nt, *_strides(src),
                                     *_strides(dst), BLOCK_T=block)
    return out


def audio_mixup(x, lam, perm, out_dtype):
    check_audio(x)
    check_param(lam, x, "lam", torch.float32)
    check_param(perm, x, "perm", torch.int64)
    check_float_out_dtype(out_dtype)
    B = x.shape[0]
    if perm.device.type == "cpu" and B > 0 and bool(((perm < 0) | (perm >= B)).any()):
        bad = perm[(perm < 0) | (perm >= B)][0].item()
        raise ValueError(f"perm: expected values in [0, {B}), got {bad}")
    out = empty_like_layout(x, out_dtype, _alloc)
    if out.numel() == 0:
        return out
    src, dst = as_bcft(x), as_bcft(out)
    _, C, F, T = src.shape
    block = row_block(T, BLOCK_T)
    nt = triton.cdiv(T, block)
    n = B * C * F * nt
    _audio_mixup_kernel[flat_grid(n)](src, dst, lam, perm, B, C, F, T, n, nt, *_strides(src),
                                      *_strides(dst), BLOCK_T=block)
    return out
