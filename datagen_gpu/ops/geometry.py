"""Registrations for the geometry ops: hflip, resized_crop."""
import torch

from ._registry import fake_like, register_cuda, register_fake


@register_fake("hflip")
def _hflip_fake(images, apply, out_dtype):
    return fake_like(images, out_dtype)


register_cuda("hflip", "geometry")


@register_fake("resized_crop")
def _resized_crop_fake(src, src_meta, channels, boxes, flip, out_h, out_w, antialias, out_dtype,
                       channels_last):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return torch.empty((src_meta.shape[0], channels, out_h, out_w), dtype=out_dtype,
                       device=src.device, memory_format=fmt)


register_cuda("resized_crop", "geometry")
