"""Registrations for the geometry ops: hflip, resized_crop."""
from ._registry import fake_like, register_cuda, register_fake


@register_fake("hflip")
def _hflip_fake(images, apply, out_dtype):
    return fake_like(images, out_dtype)


register_cuda("hflip", "geometry")
