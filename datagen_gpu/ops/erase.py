"""Registrations for erase (a new output) and erase_ (in place), behind RandomErasing.

Not differentiable in a useful way (the box's pixels are constants or noise):
no autograd formula is registered.
"""
from ._registry import fake_like, register_cuda, register_fake


@register_fake("erase")
def _erase_fake(images, boxes, value, random, sample_ids, key, out_dtype):
    return fake_like(images, out_dtype)


@register_fake("erase_")
def _erase_inplace_fake(images, boxes, value, random, sample_ids, key):
    return None


register_cuda("erase", "erase")
register_cuda("erase_", "erase")
