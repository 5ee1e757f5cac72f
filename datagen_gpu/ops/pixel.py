"""Registration of ``pixel_ops``: the per-sample pixel operations of the learned
policies (PixelOp codes), behind posterize / equalize / autocontrast /
adjust_sharpness / invert. Elementwise-shaped: the output has the images' shape
and layout. Not differentiable (levels, histograms, clamps): no autograd formula.
"""
from ._registry import fake_like, register_cuda, register_fake


@register_fake("pixel_ops")
def _pixel_ops_fake(images, op, magnitude, out_dtype):
    return fake_like(images, out_dtype)


register_cuda("pixel_ops", "pixel")
