"""Registrations for the affine warp (behind functional.affine / rotate).

Elementwise-shaped: the output has the images' shape and layout. Not
differentiable (nearest rounding, a per-sample map; no autograd formula).
"""
from ._registry import fake_like, register_cuda, register_fake


@register_fake("affine_warp")
def _affine_warp_fake(images, matrix, fill, interpolation, out_dtype):
    return fake_like(images, out_dtype)


register_cuda("affine_warp", "affine")
