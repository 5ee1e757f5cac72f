"""Color functionals: brightness, contrast, saturation, hue, color jitter,
grayscale, solarize.

Each matches the ``torchvision.transforms.v2.functional`` function of the same
name applied to sample ``i`` with parameter ``[i]``. Inside the kernels values
are float32 in [0, 1]; uint8 outputs are rounded once, at the end, where
torchvision truncates (``.to(torch.uint8)`` / ``to_dtype``) after each call:
single-op uint8 results are within one level of torchvision's. As torchvision
does for uint8 images, the grayscale used by contrast, saturation and
rgb_to_grayscale is floored to a uint8 level (exactly: the floor of the
decimal-weighted sum of the levels); float inputs use the unfloored grayscale.

All adjustments except hue clamp to [0, 1], like torchvision's ``_blend``.
Brightness and solarize accept any channel count, contrast 1 or 3 channels,
the others RGB (3 channels).
"""
import torch

from .._checks import as_param, check_images, check_range, resolve_out_dtype
from .._checks.color import check_contrast_images, check_order, check_rgb, check_threshold
from ._constants import device_constant, to_device

_IDENTITY_ORDER = (0, 1, 2, 3)


def _factor(value, images, name, low=0.0, high=None, default=None):
    value = as_param(value, images, name, torch.float32, default=default)
    check_range(value, name, low, high)
    return value


def adjust_brightness(images: torch.Tensor, factor, *, out_dtype=None) -> torch.Tensor:
    """Scale every value by ``factor[i]``: ``clamp(factor * x, 0, max)``.

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32, any C, NCHW or channels-last.
        factor: (B,) non-negative factors, or one number for every sample (1 = unchanged).
        out_dtype: output dtype (default: the input's). Floats are in [0, 1].

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> x = torch.rand(4, 3, 32, 32)
        >>> y = adjust_brightness(x, torch.tensor([0.5, 1.0, 1.5, 2.0]))
    """
    check_images(images)
    factor = _factor(factor, images, "factor")
    return torch.ops.datagen_gpu.adjust_brightness(images, factor, resolve_out_dtype(out_dtype, images))


def adjust_contrast(images: torch.Tensor, factor, *, out_dtype=None) -> torch.Tensor:
    """Blend each sample with the mean of its grayscale: ``clamp(f x + (1 - f) mean)``.

    Args:
        images: (B, C, H, W) with C = 1 (the mean of the channel) or C = 3.
        factor: (B,) non-negative factors, or one number (0 = uniform gray, 1 = unchanged).
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> y = adjust_contrast(torch.rand(2, 3, 16, 16), torch.tensor([0.5, 1.5]))
    """
    check_contrast_images(images)
    factor = _factor(factor, images, "factor")
    return torch.ops.datagen_gpu.adjust_contrast(images, factor, resolve_out_dtype(out_dtype, images))


def adjust_saturation(images: torch.Tensor, factor, *, out_dtype=None) -> torch.Tensor:
    """Blend each pixel with its grayscale: ``clamp(f x + (1 - f) gray)``.

    Args:
        images: (B, 3, H, W) RGB.
        factor: (B,) non-negative factors, or one number (0 = grayscale, 1 = unchanged).
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, 3, H, W) -> (B, 3, H, W), same memory format.

    Example:
        >>> y = adjust_saturation(torch.rand(2, 3, 16, 16), 0.0)  # grayscale
    """
    check_rgb(images)
    factor = _factor(factor, images, "factor")
    return torch.ops.datagen_gpu.adjust_saturation(images, factor, resolve_out_dtype(out_dtype, images))


def adjust_hue(images: torch.Tensor, factor, *, out_dtype=None) -> torch.Tensor:
    """Rotate the hue (HSV) by ``factor[i]`` of a turn.

    Args:
        images: (B, 3, H, W) RGB.
        factor: (B,) factors in [-0.5, 0.5], or one number (0 = unchanged).
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, 3, H, W) -> (B, 3, H, W), same memory format.

    Example:
        >>> y = adjust_hue(torch.rand(2, 3, 16, 16), torch.tensor([-0.25, 0.1]))
    """
    check_rgb(images)
    factor = _factor(factor, images, "factor", -0.5, 0.5)
    return torch.ops.datagen_gpu.adjust_hue(images, factor, resolve_out_dtype(out_dtype, images))


def _order(order, images):
    """(B, 4) int64 order on the images' device; None and a sequence of 4 ints become a
    cached device constant (no host-to-device copy), expanded on the device."""
    batch = images.shape[0]
    if order is None:
        order = _IDENTITY_ORDER
    if isinstance(order, (list, tuple)):
        if all(isinstance(v, int) and not isinstance(v, bool) for v in order):
            order = device_constant(order, images.device, torch.int64)
        else:  # per-sample rows given as host data: one pinned, asynchronous copy
            order = to_device(torch.tensor(order, dtype=torch.int64), images.device)
    if isinstance(order, torch.Tensor) and order.dim() == 1 and order.shape[0] == 4:
        order = order.expand(batch, 4)
    if isinstance(order, torch.Tensor):
        order = order.contiguous()
    check_order(order, images)
    return order


def color_jitter(images: torch.Tensor, brightness=1.0, contrast=1.0, saturation=1.0, hue=0.0,
                 order=None, *, out_dtype=None) -> torch.Tensor:
    """Brightness, contrast, saturation and hue adjustments in a per-sample order, fused.

    Sample ``i`` gets torchvision's ``ColorJitter`` steps with factors
    ``brightness[i]``, ``contrast[i]``, ``saturation[i]``, ``hue[i]`` applied in the
    order ``order[i]``; a step whose factor is the identity (1, 1, 1, 0) is
    skipped, as ColorJitter skips a ``None`` factor. Contrast uses the mean
    grayscale of the image as it is when contrast runs.

    One kernel does all of it (plus one reduction pass when contrast is used),
    computing in float32 and rounding once. torchvision's uint8 chain instead
    truncates to uint8 after every step (and floors the grayscale of each
    intermediate image); only the first applied step sees uint8 levels here, so
    only it floors the grayscale. uint8 results stay within a few levels of
    torchvision's chain (each truncation loses < 1 level, scaled by the gains of
    the later steps; see docs/color.md).

    Args:
        images: (B, 3, H, W) RGB.
        brightness: (B,) non-negative factors, or one number.
        contrast: (B,) non-negative factors, or one number.
        saturation: (B,) non-negative factors, or one number.
        hue: (B,) factors in [-0.5, 0.5], or one number.
        order: (B, 4) int64, each row a permutation of 0 = brightness, 1 = contrast,
            2 = saturation, 3 = hue; a (4,) tensor or a sequence of 4 ints for every
            sample; None = (0, 1, 2, 3).
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, 3, H, W) -> (B, 3, H, W), same memory format.

    Example:
        >>> x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
        >>> order = torch.stack([torch.randperm(4) for _ in range(2)])
        >>> y = color_jitter(x, torch.tensor([0.8, 1.2]), 1.1, 0.9, torch.tensor([0.05, -0.1]),
        ...                  order, out_dtype=torch.float32)
    """
    check_rgb(images)
    b = _factor(brightness, images, "brightness")
    c = _factor(contrast, images, "contrast")
    s = _factor(saturation, images, "saturation")
    h = _factor(hue, images, "hue", -0.5, 0.5)
    order = _order(order, images)
    return torch.ops.datagen_gpu.color_jitter(images, b, c, s, h, order,
                                              resolve_out_dtype(out_dtype, images))


def rgb_to_grayscale(images: torch.Tensor, apply=None, *, out_dtype=None) -> torch.Tensor:
    """Replace the samples where ``apply[i]`` by their grayscale, repeated on 3 channels.

    ``0.2989 r + 0.587 g + 0.114 b`` (uint8: floored to a level, exactly as
    torchvision's truncating cast gives).

    Args:
        images: (B, 3, H, W) RGB.
        apply: (B,) bool, or a bool for every sample; None converts all.
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, 3, H, W) -> (B, 3, H, W), same memory format.

    Example:
        >>> y = rgb_to_grayscale(torch.rand(2, 3, 8, 8), torch.tensor([True, False]))
    """
    check_rgb(images)
    apply = as_param(apply, images, "apply", torch.bool, default=True)
    return torch.ops.datagen_gpu.rgb_to_grayscale(images, apply, resolve_out_dtype(out_dtype, images))


def solarize(images: torch.Tensor, threshold, apply=None, *, out_dtype=None) -> torch.Tensor:
    """Invert the values ``>= threshold[i]`` of the samples where ``apply[i]``.

    The threshold is in the input dtype's range (0..255 for uint8, 0..1 for
    floats) and compared as torchvision compares it: uint8 levels against the
    float threshold, float values against the threshold rounded to their dtype.

    Args:
        images: (B, C, H, W), any C.
        threshold: (B,) thresholds at most the dtype's maximum, or one number.
        apply: (B,) bool, or a bool for every sample; None solarizes all.
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> x = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
        >>> y = solarize(x, torch.tensor([128.0, 200.0]))
    """
    check_images(images)
    threshold = as_param(threshold, images, "threshold", torch.float32)
    check_threshold(threshold, images)
    apply = as_param(apply, images, "apply", torch.bool, default=True)
    return torch.ops.datagen_gpu.solarize(images, threshold, apply, resolve_out_dtype(out_dtype, images))
