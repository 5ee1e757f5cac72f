"""Filter and conversion functionals: gaussian_blur, normalize."""
from numbers import Number

import torch

from .._checks import (as_param, check_images, check_kernel_size, check_range, host_checks,
                       resolve_out_dtype)
from ._constants import device_constant

_FLOAT_OUT = (torch.float32, torch.float16, torch.bfloat16)


def _kernel_size(kernel_size, images) -> int:
    if isinstance(kernel_size, (list, tuple)):
        if len(kernel_size) != 2:
            raise ValueError(f"kernel_size: expected an int or a (k, k) pair, got {kernel_size}")
        kx, ky = kernel_size
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (kx, ky)):
            raise TypeError(f"kernel_size: expected ints, got {kernel_size}")
        if kx != ky:
            raise ValueError(f"kernel_size: only square kernels are supported, got {kernel_size}")
        kernel_size = kx
    check_kernel_size(kernel_size, images)
    return kernel_size


def gaussian_blur(images: torch.Tensor, kernel_size, sigma, apply=None, *, mean=None, std=None,
                  out_dtype=None) -> torch.Tensor:
    """Blur each sample with a Gaussian of its own standard deviation.

    Matches ``torchvision.transforms.v2.functional.gaussian_blur(img_i, [k, k],
    [sigma[i], sigma[i]])`` per sample: the 1-D kernel
    ``w[t] = exp(-0.5 ((t - k // 2) / sigma)^2)`` normalized to sum 1, torch
    "reflect" padding of ``k // 2`` (the edge pixel is not repeated), and the
    2-D kernel ``w ⊗ w``, applied here as two separable passes (on the CPU
    vertical, then horizontal, one float32 row in between; the Triton kernel
    horizontal, then vertical): equal to torchvision's conv2d up to float32
    rounding.

    Differences from torchvision: every dtype is computed in float32 (float16
    and bfloat16 inputs too, where torchvision convolves in the input dtype);
    uint8 results are stored as ``floor(255 x + 0.5)`` (round half up) where
    torchvision rounds half to even, so an exact .5 tie can differ by one level.

    ``apply`` blurs only the samples where it is true (the others are copied,
    converted to ``out_dtype``), so ``RandomApply(GaussianBlur)`` costs a blur only
    for the samples it picks. ``mean`` / ``std`` normalize the result as
    ``normalize`` does, in the same pass (a float ``out_dtype``, default float32).

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32, NCHW or channels-last.
        kernel_size: positive odd int k, or a (k, k) pair (different sizes per
            axis are not supported). Reflect padding needs ``k // 2 < H`` and
            ``k // 2 < W``.
        sigma: (B,) float, or a number for every sample; every value must be > 0
            (checked for CPU tensors).
        apply: (B,) bool or a bool: which samples to blur; None: all.
        mean, std: per-channel normalization after the blur (both or neither), as
            for ``normalize``.
        out_dtype: output dtype (default: the input's; float32 with ``mean``/``std``).
            Floats are in [0, 1] before normalization.

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> x = torch.rand(4, 3, 32, 32)
        >>> y = gaussian_blur(x, 5, torch.tensor([0.5, 1.0, 1.5, 2.0]))
    """
    check_images(images)
    k = _kernel_size(kernel_size, images)
    if isinstance(sigma, Number) and not isinstance(sigma, bool) and not sigma > 0:
        raise ValueError(f"sigma: expected values > 0, got {sigma}")
    sigma = as_param(sigma, images, "sigma", torch.float32)
    check_range(sigma, "sigma", low=0.0, low_inclusive=False)
    if apply is not None:
        apply = as_param(apply, images, "apply", torch.bool)
    if (mean is None) != (std is None):
        raise ValueError("mean, std: give both (normalize) or neither")
    if mean is not None:
        mean, std = _normalize_params(images, mean, std, out_dtype or torch.float32)
        out_dtype = out_dtype or torch.float32
    return torch.ops.datagen_gpu.gaussian_blur(images, k, sigma, apply, mean, std,
                                               resolve_out_dtype(out_dtype, images))


def _channel_param(value, images, name, nonzero=False) -> torch.Tensor:
    """mean / std as a contiguous (C,) float32 tensor on the images' device (a sequence:
    a cached device constant, see functional/_constants.py)."""
    C = images.shape[1]
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected a number, a sequence of {C} numbers or a tensor, got bool")
    if isinstance(value, Number):
        if nonzero and float(value) == 0:
            raise ValueError(f"{name}: expected non-zero values, got {value}")
        return torch.full((C,), float(value), dtype=torch.float32, device=images.device)
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, Number) and not isinstance(v, bool) for v in value):
            raise TypeError(f"{name}: expected numbers, got {value}")
        if nonzero and any(float(v) == 0 for v in value):  # host values: checked on every device
            raise ValueError(f"{name}: expected non-zero values, got {list(value)}")
        # cached per (values, device): no host-to-device copy (no sync, CUDA-graph capturable)
        value = device_constant([float(v) for v in value], images.device, torch.float32)
    elif isinstance(value, torch.Tensor):
        if value.device != images.device:
            raise ValueError(f"{name}: expected device {images.device} (the images' device), "
                             f"got {value.device}")
        if not (value.is_floating_point() or value.dtype in (torch.int32, torch.int64)):
            raise TypeError(f"{name}: expected a floating point tensor, got {value.dtype}")
    else:
        raise TypeError(f"{name}: expected a number, a sequence of {C} numbers or a tensor, "
                        f"got {type(value).__name__}")
    if value.dim() == 0:
        value = value.reshape(1)
    if value.dim() != 1 or value.shape[0] not in (1, C):
        raise ValueError(f"{name}: expected {C} values (one per channel) or 1, "
                         f"got shape {tuple(value.shape)}")
    return value.to(torch.float32).expand(C).contiguous()


def normalize(images: torch.Tensor, mean, std, *, out_dtype=torch.float32) -> torch.Tensor:
    """Scale to [0, 1] and normalize per channel: ``(x - mean[c]) / std[c]``.

    Matches ``torchvision.transforms.v2.functional.normalize(to_dtype(img,
    torch.float32, scale=True), mean, std)``: uint8 is divided by 255 first,
    float inputs are taken as they are. One fused pass (load, scale, subtract,
    multiply by ``1 / std[c]``, store); computed in float32 (multiplying by the
    reciprocal differs from torchvision's division by at most an ulp or so).
    The output is not clamped.

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32, NCHW or channels-last.
        mean: C numbers (sequence or (C,) tensor on the images' device), or one
            number for every channel.
        std: like ``mean``; every value must be non-zero (checked for CPU tensors).
        out_dtype: float32 (default), float16 or bfloat16.

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
        >>> y = normalize(x, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    """
    check_images(images)
    mean, std = _normalize_params(images, mean, std, out_dtype)
    return torch.ops.datagen_gpu.normalize(images, mean, std, out_dtype)


def _normalize_params(images, mean, std, out_dtype):
    """Checked (C,) float32 mean and std tensors on the images' device."""
    if not isinstance(out_dtype, torch.dtype):
        raise TypeError(f"out_dtype: expected a torch.dtype, got {type(out_dtype).__name__}")
    if out_dtype not in _FLOAT_OUT:
        raise TypeError(f"out_dtype: expected a floating dtype (float32, float16 or bfloat16), "
                        f"got {out_dtype}")
    mean = _channel_param(mean, images, "mean")
    std = _channel_param(std, images, "std", nonzero=True)
    if host_checks(std) and bool((std == 0).any()):
        raise ValueError(f"std: expected non-zero values, got {std.tolist()}")
    return mean, std
