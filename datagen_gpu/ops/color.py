"""Registrations for the color ops (brightness, contrast, saturation, hue, jitter, grayscale, solarize).

All are elementwise-shaped: the output has the images' shape and layout.
None is differentiable through its parameters in a useful way (clamps,
floors, a per-sample order), so no autograd formula is registered.
"""
from ._registry import fake_like, register_cuda, register_fake

_FACTOR_OPS = ("adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue")


def _factor_fake(images, factor, out_dtype):
    return fake_like(images, out_dtype)


for _name in _FACTOR_OPS:
    register_fake(_name)(_factor_fake)
    register_cuda(_name, "color")


@register_fake("color_jitter")
def _color_jitter_fake(images, brightness, contrast, saturation, hue, order, out_dtype):
    return fake_like(images, out_dtype)


@register_fake("rgb_to_grayscale")
def _rgb_to_grayscale_fake(images, apply, out_dtype):
    return fake_like(images, out_dtype)


@register_fake("solarize")
def _solarize_fake(images, threshold, apply, out_dtype):
    return fake_like(images, out_dtype)


for _name in ("color_jitter", "rgb_to_grayscale", "solarize"):
    register_cuda(_name, "color")
