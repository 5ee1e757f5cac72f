"""Pixel ops of the learned policies (AutoAugment, RandAugment, TrivialAugmentWide,
AugMix): ``pixel_ops``, where every sample names its own operation, and the
single-op functionals built on it (posterize, equalize, autocontrast,
adjust_sharpness, invert).

Sample ``i`` gets the ``torchvision.transforms.v2.functional`` operation of
code ``op[i]`` (``PixelOp``) with parameter ``magnitude[i]``. The whole batch
runs in a fixed number of kernel launches whatever the mix of operations (the
code is data to one kernel; on CUDA 3 launches: statistics, their reduction,
the ops; ``datagen_gpu.kernels.pixel``). Values are computed in float32 in
[0, 1] and rounded once on store. Exact for uint8: POSTERIZE, SOLARIZE,
EQUALIZE, INVERT, SOLARIZE_ADD (with integer addends) and IDENTITY; within one
level of torchvision (which truncates where this rounds): BRIGHTNESS,
SATURATION, CONTRAST, SHARPNESS, AUTOCONTRAST.

Magnitude per code:

==============  ==============================================================
IDENTITY        ignored
BRIGHTNESS      factor >= 0: ``clamp(f x, 0, max)``
SATURATION      factor >= 0: blend with the grayscale (1 channel: unchanged)
CONTRAST        factor >= 0: blend with the mean grayscale (1 channel: its mean)
SHARPNESS       factor >= 0: blend with the 3x3 smoothed image (borders kept)
POSTERIZE       bits, an integer in 0..8: uint8 keeps the top bits (``x & mask``),
                floats ``clamp(floor(x 2^bits), 0, 2^bits - 1) / 2^bits``
SOLARIZE        threshold in the dtype's range (<= 255 for uint8, <= 1 for
                floats): ``max - x where x >= threshold``, compared as ``solarize``
AUTOCONTRAST    ignored: per channel ``(x - min) / (max - min)``
EQUALIZE        ignored: per channel histogram equalization of the uint8 levels
INVERT          ignored: ``max - x``
SOLARIZE_ADD    addend in [0, max] (uint8 levels for uint8): timm's
                ``solarize_add``, ``clamp(x + addend, 0, max)`` where x is below
                128 levels (0.5 for floats), else x
==============  ==============================================================

SATURATION and CONTRAST need images of 1 or 3 channels (torchvision's rule);
every other op works per channel for any C. Float inputs to EQUALIZE are
binned on uint8 levels as torchvision does (``to_dtype(x, uint8, scale=True)``,
``x * 255.999`` truncated) and come back as ``level / 255`` even where the
table is the identity. One difference: a float16 / bfloat16 value of exactly
1.0 makes torchvision's product round to 256, which wraps to level 0; here it
is level 255. Values are checked on CPU tensors only (no host sync on CUDA,
where an unknown code is the identity).
"""
import torch

from .._checks import is_integral, as_param, check_images, resolve_out_dtype
from .._checks.pixel import NUM_OPS, OP_DTYPE, PixelOp, check_pixel_args

PixelOp.__module__ = __name__  # defined low (the launchers' checks use it), public here

__all__ = ["PixelOp", "adjust_sharpness", "autocontrast", "equalize", "invert", "pixel_ops",
           "posterize"]


def _codes(op, images, name="op"):
    """(B,) int64 op codes on the images' device from a code (int / PixelOp) or an
    integer tensor of shape () or (B,)."""
    if is_integral(op) and not 0 <= int(op) < NUM_OPS:
        raise ValueError(f"{name}: unknown operation code {int(op)} (expected 0..{NUM_OPS - 1}, PixelOp)")
    if not (is_integral(op) or isinstance(op, torch.Tensor)):
        raise TypeError(f"{name}: expected a PixelOp, an int or an integer tensor of shape "
                        f"({images.shape[0]},), got {type(op).__name__}")
    return as_param(int(op) if is_integral(op) else op, images, name, OP_DTYPE)


def _run(images, op, magnitude, out_dtype, magnitude_name="magnitude"):
    check_pixel_args(images, op, magnitude, magnitude_name=magnitude_name)
    return torch.ops.datagen_gpu.pixel_ops(images, op, magnitude,
                                           resolve_out_dtype(out_dtype, images))


def pixel_ops(images: torch.Tensor, op, magnitude, *, out_dtype=None) -> torch.Tensor:
    """Apply operation ``op[i]`` with magnitude ``magnitude[i]`` to sample ``i``.

    The operations and what the magnitude means for each are in the module
    docstring (``PixelOp`` codes). A batch mixing every code runs in the same
    fixed number of launches as a batch of one code.

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32, NCHW or channels-last.
        op: (B,) int64 or int32 PixelOp codes, or one code (int / PixelOp) for every sample.
        magnitude: (B,) float32 magnitudes (integer tensors are converted), or one number;
            in the dtype's range for SOLARIZE / SOLARIZE_ADD (0..255 for uint8).
        out_dtype: output dtype (default: the input's). Floats are in [0, 1].

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> x = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
        >>> op = torch.tensor([PixelOp.EQUALIZE, PixelOp.POSTERIZE, PixelOp.BRIGHTNESS])
        >>> y = pixel_ops(x, op, torch.tensor([0.0, 4.0, 1.5]))
    """
    check_images(images)
    op = _codes(op, images)
    magnitude = as_param(magnitude, images, "magnitude", torch.float32)
    return _run(images, op, magnitude, out_dtype)


def _single(images, code, apply, out_dtype):
    """``code`` where apply[i] (all samples when None), IDENTITY elsewhere; magnitude 0."""
    check_images(images)
    batch = images.shape[0]
    if apply is None:
        op = torch.full((batch,), int(code), dtype=OP_DTYPE, device=images.device)
    else:
        op = as_param(apply, images, "apply", torch.bool).to(OP_DTYPE) * int(code)
    magnitude = torch.zeros((batch,), dtype=torch.float32, device=images.device)
    return _run(images, op, magnitude, out_dtype)


def posterize(images: torch.Tensor, bits, *, out_dtype=None) -> torch.Tensor:
    """Keep ``bits[i]`` bits of each value: uint8 ``x & (0xFF << (8 - bits))``;
    floats ``clamp(floor(x * 2^bits), 0, 2^bits - 1) / 2^bits`` (torchvision's
    float mapping, which differs from the uint8 one).

    Args:
        images: (B, C, H, W), any C.
        bits: (B,) integer tensor with values in 0..8, or one int.
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> x = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
        >>> y = posterize(x, torch.tensor([2, 6]))
    """
    check_images(images)
    if is_integral(bits) and not 0 <= int(bits) <= 8:
        raise ValueError(f"bits: expected an integer in 0..8, got {int(bits)}")
    magnitude = as_param(bits, images, "bits", torch.int64).to(torch.float32)
    op = torch.full((images.shape[0],), int(PixelOp.POSTERIZE), dtype=OP_DTYPE, device=images.device)
    return _run(images, op, magnitude, out_dtype, magnitude_name="bits")


def equalize(images: torch.Tensor, apply=None, *, out_dtype=None) -> torch.Tensor:
    """Histogram-equalize each channel of the samples where ``apply[i]`` (PIL's
    ``ImageOps.equalize`` table, as torchvision computes it, on uint8 levels).

    With h the channel's histogram of levels, cum its running sum and
    step = (pixels - h[brightest level]) // 255, level k maps to
    ``min((cum[k - 1] + step // 2) // step, 255)`` (0 for k = 0); step 0 keeps
    the levels. Float inputs are binned as ``to_dtype(x, uint8, scale=True)``
    (``x * 255.999`` truncated) and come back as ``level / 255``.

    Args:
        images: (B, C, H, W), any C.
        apply: (B,) bool, or a bool for every sample; None equalizes all.
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> y = equalize(torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8))
    """
    return _single(images, PixelOp.EQUALIZE, apply, out_dtype)


def autocontrast(images: torch.Tensor, apply=None, *, out_dtype=None) -> torch.Tensor:
    """Stretch each channel of the samples where ``apply[i]`` to the full range:
    ``clamp((x - min) / (max - min), 0, 1)`` per channel (a constant channel is kept).

    Args:
        images: (B, C, H, W), any C.
        apply: (B,) bool, or a bool for every sample; None applies to all.
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> y = autocontrast(torch.rand(2, 3, 8, 8) * 0.5, torch.tensor([True, False]))
    """
    return _single(images, PixelOp.AUTOCONTRAST, apply, out_dtype)


def invert(images: torch.Tensor, apply=None, *, out_dtype=None) -> torch.Tensor:
    """``max - x`` (255 - x for uint8, 1 - x for floats) for the samples where ``apply[i]``.

    Args:
        images: (B, C, H, W), any C.
        apply: (B,) bool, or a bool for every sample; None inverts all.
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> y = invert(torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8))
    """
    return _single(images, PixelOp.INVERT, apply, out_dtype)


def adjust_sharpness(images: torch.Tensor, factor, *, out_dtype=None) -> torch.Tensor:
    """Blend each sample with its smoothed image: interior pixels become
    ``clamp(x + (1 - f) (blur - x), 0, max)`` with blur the 3x3 sum weighted 1
    around and 5 at the centre, over 13 (rounded to a level for uint8 inputs);
    the first and last rows and columns are kept (images with H <= 2 or W <= 2
    are unchanged), as torchvision's ``adjust_sharpness``.

    Args:
        images: (B, C, H, W), any C (each channel on its own).
        factor: (B,) non-negative factors, or one number (0 = smoothed, 1 = unchanged,
            2 = sharpened).
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> y = adjust_sharpness(torch.rand(2, 3, 16, 16), torch.tensor([0.5, 2.0]))
    """
    check_images(images)
    magnitude = as_param(factor, images, "factor", torch.float32)
    op = torch.full((images.shape[0],), int(PixelOp.SHARPNESS), dtype=OP_DTYPE, device=images.device)
    return _run(images, op, magnitude, out_dtype, magnitude_name="factor")
