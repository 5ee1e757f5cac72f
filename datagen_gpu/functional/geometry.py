"""Geometry functionals: hflip, resized_crop."""
import torch

from .._checks import as_param, check_images, resolve_out_dtype


def hflip(images: torch.Tensor, apply=None, *, out_dtype=None) -> torch.Tensor:
    """Horizontally flip the samples where ``apply`` is True.

    Matches ``torchvision.transforms.v2.functional.hflip`` on each flipped sample.

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32, NCHW or channels-last.
        apply: (B,) bool, or a bool for every sample; None flips all.
        out_dtype: output dtype (default: the input's). Floats are in [0, 1].

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> x = torch.rand(4, 3, 32, 32)
        >>> y = hflip(x, torch.tensor([True, False, True, False]))
    """
    check_images(images)
    apply = as_param(apply, images, "apply", torch.bool, default=True)
    return torch.ops.datagen_gpu.hflip(images, apply, resolve_out_dtype(out_dtype, images))
