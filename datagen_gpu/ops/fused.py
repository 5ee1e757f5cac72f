"""Registrations for fused_augment (schema and CPU kernel: csrc/fused.cpp)."""
import torch

from ._registry import register_cuda, register_fake


@register_fake("fused_augment")
def _fused_augment_fake(src, src_meta, channels, boxes, flip, out_h, out_w, antialias, brightness,
                        contrast, saturation, hue, order, grayscale, solarize_threshold,
                        solarize_apply, blur_kernel, blur_sigma, blur_apply, mean, std, out_dtype,
                        channels_last):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return torch.empty((src_meta.shape[0], channels, out_h, out_w), dtype=out_dtype,
                       device=src.device, memory_format=fmt)


register_cuda("fused_augment", "fused")
