"""Dtype conversion: to_dtype."""
import torch

from .._checks import IMAGE_DTYPES, as_param, check_images


def to_dtype(images: torch.Tensor, dtype: torch.dtype, *, scale: bool = False) -> torch.Tensor:
    """Convert a batch to ``dtype``, like torchvision.transforms.v2.functional.to_dtype.

    With ``scale=True``, uint8 [0, 255] maps to float [0, 1] and back (float to
    uint8 rounds to nearest after clamping; torchvision floors ``x * 255.999``,
    so results can differ by one level). The scaled conversion runs as one
    strided copy kernel (the hflip kernel with no sample flipped), keeping the
    memory format.

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32.
        dtype: one of those dtypes.
        scale: rescale value ranges between integer and float dtypes.

    Example:
        >>> x = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
        >>> to_dtype(x, torch.float32, scale=True).max() <= 1.0
        tensor(True)
    """
    check_images(images)
    if dtype not in IMAGE_DTYPES:
        raise TypeError(f"dtype: expected one of uint8, float16, bfloat16, float32, got {dtype}")
    if not scale or dtype == images.dtype:
        return images.to(dtype)
    keep = as_param(False, images, "apply", torch.bool)
    return torch.ops.datagen_gpu.hflip(images, keep, dtype)
