"""Registrations for the audio ops: fakes, CUDA (Triton) kernels and autograd.

The schemas and CPU kernels are in csrc/audio.cpp. Every audio op is
differentiable with respect to its float inputs; the backward passes reuse
the ops themselves:

- masks with a fixed value: d/dspecs = the same masks applied to the
  gradient with value 0; d/dvalue = the gradient summed over masked elements;
- masks with the mean (value None): plus, for every element of the sample,
  (gradient summed over masked elements) / (elements in the sample);
- freq_shift: d/dspecs = freq_shift(grad, -shift, fill=0); d/dfill = the
  gradient summed over vacated bins;
- audio_mixup: d/dx = lam * g + index_add(perm, (1 - lam) * g);
  d/dlam = sum((x - x[perm]) * g) per sample.
"""
import torch

from .._checks.audio import empty_like_layout
from ._registry import register_cuda, register_fake

_NS = torch.ops.datagen_gpu


@register_fake("time_mask")
def _time_mask_fake(specs, start, width, value, out_dtype):
    return empty_like_layout(specs, out_dtype)


@register_fake("freq_mask")
def _freq_mask_fake(specs, start, width, value, out_dtype):
    return empty_like_layout(specs, out_dtype)


@register_fake("spec_mask")
def _spec_mask_fake(specs, freq_start, freq_width, time_start, time_width, value, out_dtype):
    return empty_like_layout(specs, out_dtype)


@register_fake("freq_shift")
def _freq_shift_fake(specs, shift, fill, out_dtype):
    return empty_like_layout(specs, out_dtype)


@register_fake("audio_mixup")
def _audio_mixup_fake(x, lam, perm, out_dtype):
    return empty_like_layout(x, out_dtype)


for _name in ("time_mask", "freq_mask", "spec_mask", "freq_shift", "audio_mixup"):
    register_cuda(_name, "audio")


def _sample_dims(t):
    return tuple(range(1, t.dim()))


def _per_sample(v, t):
    """(B,) -> broadcastable against t."""
    return v.reshape((-1,) + (1,) * (t.dim() - 1))


# --------------------------------------------------------------------------- masks


def _mask_backward(ctx, grad, apply_masks):
    """Shared backward of the three mask ops; apply_masks(g, zeros) masks g with 0."""
    specs_dtype, has_value = ctx.specs_dtype, ctx.has_value
    g = grad.to(torch.float32)
    zeros = torch.zeros(g.shape[0], dtype=torch.float32, device=g.device)
    kept = apply_masks(g, zeros)
    masked_sum = (g - kept).sum(_sample_dims(g))
    grad_specs = kept
    if not has_value:
        n = max(1, g[0].numel()) if g.shape[0] else 1
        grad_specs = kept + _per_sample(masked_sum / n, kept)
    grad_value = masked_sum if (has_value and ctx.needs_input_grad[ctx.value_index]) else None
    return grad_specs.to(specs_dtype), grad_value


def _mask_setup(ctx, specs, value, masks, value_index):
    ctx.specs_dtype = specs.dtype
    ctx.has_value = value is not None
    ctx.value_index = value_index
    ctx.save_for_backward(*masks)


def _setup_time_mask(ctx, inputs, output):
    specs, start, width, value, _ = inputs
    _mask_setup(ctx, specs, value, (start, width), 3)


def _backward_time_mask(ctx, grad):
    start, width = ctx.saved_tensors
    gs, gv = _mask_backward(ctx, grad, lambda g, z: _NS.time_mask(g, start, width, z, g.dtype))
    return gs, None, None, gv, None


def _setup_freq_mask(ctx, inputs, output):
    specs, start, width, value, _ = inputs
    _mask_setup(ctx, specs, value, (start, width), 3)


def _backward_freq_mask(ctx, grad):
    start, width = ctx.saved_tensors
    gs, gv = _mask_backward(ctx, grad, lambda g, z: _NS.freq_mask(g, start, width, z, g.dtype))
    return gs, None, None, gv, None


def _setup_spec_mask(ctx, inputs, output):
    specs, fs, fw, ts, tw, value, _ = inputs
    _mask_setup(ctx, specs, value, (fs, fw, ts, tw), 5)


def _backward_spec_mask(ctx, grad):
    fs, fw, ts, tw = ctx.saved_tensors
    gs, gv = _mask_backward(ctx, grad,
                            lambda g, z: _NS.spec_mask(g, fs, fw, ts, tw, z, g.dtype))
    return gs, None, None, None, None, gv, None


# --------------------------------------------------------------------------- freq_shift


def _setup_freq_shift(ctx, inputs, output):
    specs, shift, fill, _ = inputs
    ctx.specs_dtype = specs.dtype
    ctx.save_for_backward(shift)


def _backward_freq_shift(ctx, grad):
    (shift,) = ctx.saved_tensors
    g = grad.to(torch.float32)
    zeros = torch.zeros(g.shape[0], dtype=torch.float32, device=g.device)
    grad_specs = _NS.freq_shift(g, -shift, zeros, torch.float32)
    grad_fill = None
    if ctx.needs_input_grad[2]:
        dims = _sample_dims(g)
        grad_fill = g.sum(dims) - grad_specs.sum(dims)
    return grad_specs.to(ctx.specs_dtype), None, grad_fill, None


# --------------------------------------------------------------------------- audio_mixup


def _setup_audio_mixup(ctx, inputs, output):
    x, lam, perm, _ = inputs
    ctx.x_dtype = x.dtype
    ctx.save_for_backward(x, lam, perm)


def _backward_audio_mixup(ctx, grad):
    x, lam, perm = ctx.saved_tensors
    g = grad.to(torch.float32)
    grad_x = grad_lam = None
    if ctx.needs_input_grad[0]:
        w = _per_sample(lam, g)
        grad_x = (w * g).index_add(0, perm, (1.0 - w) * g).to(ctx.x_dtype)
    if ctx.needs_input_grad[1]:
        xf = x.to(torch.float32)
        grad_lam = ((xf - xf[perm]) * g).sum(_sample_dims(g))
    return grad_x, grad_lam, None, None


for _name, _setup, _backward in (
    ("time_mask", _setup_time_mask, _backward_time_mask),
    ("freq_mask", _setup_freq_mask, _backward_freq_mask),
    ("spec_mask", _setup_spec_mask, _backward_spec_mask),
    ("freq_shift", _setup_freq_shift, _backward_freq_shift),
    ("audio_mixup", _setup_audio_mixup, _backward_audio_mixup),
):
    torch.library.register_autograd(f"datagen_gpu::{_name}", _backward, setup_context=_setup)
