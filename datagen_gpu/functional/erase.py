"""erase: torchvision v2's ``erase`` per sample, every sample with its own box and value.

One launch erases the whole batch (``torch.ops.datagen_gpu.erase``: C++ on
the CPU, Triton on CUDA). The noise of ``value="random"`` comes from the
project's counter-based generator (``datagen_gpu.params.counter``) inside the
kernel, so it is a pure function of (seed, sample id, channel, position in the
box): the same numbers on CPU and GPU (up to float32 ``log`` / ``cos`` ulps)
whatever the batch a sample is in.
"""
import numbers
import zlib

import torch

from .._checks import check_images, resolve_out_dtype
from ..params.counter import _key
from ._constants import device_constant
from .mixing import _boxes

ERASE_OP_ID = zlib.crc32(b"erase")  # the noise stream of ``erase`` when no op_id is given


def _fill_values(value, images, out_dtype):
    """(value (B, C) float32, random (B,) bool) of ``erase``'s ``value`` argument."""
    B, C = images.shape[:2]
    device = images.device
    if isinstance(value, str):
        if value != "random":
            raise ValueError(f"value: expected a number, a sequence of numbers, a tensor or 'random', "
                             f"got {value!r}")
        if out_dtype == torch.uint8:
            raise TypeError("value: 'random' writes standard-normal noise, which a uint8 output cannot "
                            "hold (torchvision would truncate it to 0 / 255 garbage); erase float images, "
                            "e.g. after ToDtype(torch.float32, scale=True) or Normalize, or pass out_dtype")
        return (torch.zeros((B, C), dtype=torch.float32, device=device),
                torch.ones((B,), dtype=torch.bool, device=device))
    random = torch.zeros((B,), dtype=torch.bool, device=device)
    if isinstance(value, bool):
        raise TypeError("value: expected a number, a sequence of numbers, a tensor or 'random', got a bool")
    if isinstance(value, numbers.Real):
        return torch.full((B, C), float(value), dtype=torch.float32, device=device), random
    if isinstance(value, (list, tuple)):
        if len(value) not in (1, C) or not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                                               for v in value):
            raise ValueError(f"value: expected 1 or {C} numbers (one per channel), got {value!r}")
        per_channel = device_constant([float(v) for v in value], device, torch.float32)
        return per_channel.view(1, -1).expand(B, C).contiguous(), random
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"value: expected a number, a sequence of numbers, a tensor or 'random', "
                        f"got {type(value).__name__}")
    if value.dtype == torch.bool or value.dtype.is_complex:
        raise TypeError(f"value: expected a real (floating or integer) tensor, got {value.dtype}")
    if value.device != device:
        raise ValueError(f"value: expected device {device} (the images' device), got {value.device}")
    if value.dim() == 0:
        value = value.view(1, 1)
    elif value.dim() == 1 and value.shape[0] == B:
        value = value.view(B, 1)
    if value.dim() != 2 or value.shape[0] not in (1, B) or value.shape[1] not in (1, C):
        raise ValueError(f"value: expected a tensor of shape ({B},) or ({B}, {C}), got {tuple(value.shape)}")
    return value.to(torch.float32).expand(B, C).contiguous(), random


def _sample_ids(sample_ids, images):
    B = images.shape[0]
    if sample_ids is None:
        return torch.arange(B, dtype=torch.int64, device=images.device)
    if not isinstance(sample_ids, torch.Tensor) or sample_ids.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"sample_ids: expected an int64 tensor of shape ({B},)")
    if tuple(sample_ids.shape) != (B,):
        raise ValueError(f"sample_ids: expected shape ({B},), got {tuple(sample_ids.shape)}")
    if sample_ids.device != images.device:
        raise ValueError(f"sample_ids: expected device {images.device} (the images' device), "
                         f"got {sample_ids.device}")
    return sample_ids.to(torch.int64).contiguous()


def erase(images: torch.Tensor, boxes: torch.Tensor, value, *, seed: int = 0, sample_ids=None,
          out_dtype=None, op_id: int = ERASE_OP_ID, inplace: bool = False) -> torch.Tensor:
    """Fill box i of sample i with ``value`` (torchvision v2 ``F.erase`` per sample).

    ``out[i, c, y, x]`` is the fill inside box i and the input elsewhere (converted
    to ``out_dtype``, as every op of this package converts: uint8 <-> [0, 1] floats).
    Boxes ``(top, left, height, width)`` are clipped to the image (a box partly
    outside erases its part inside; height or width 0 erases nothing), where
    torchvision would slice ``image[..., top:top + height, left:left + width]``.

    The fill is in the *output* dtype's value range: uint8 levels (rounded half up,
    within one level of torchvision's truncating assignment) or float values as
    given (any value, e.g. a normalized-space mean). ``value="random"`` fills every
    pixel of the (clipped) box with a standard normal, a pure function of
    ``(seed, sample_ids[i], op_id, c, dy, dx)``: with ``h, w`` the clipped box size,
    ``d = (c * h + dy) * w + dx`` and ``words = counter.random_bits(seed, sample_ids,
    op_id, 2 * C * h * w)`` (draw indices mod 2^32)::

        u1 = ((words[i, 2d] >> 8) + 1) * 2^-24          # (0, 1]
        u2 = (words[i, 2d + 1] >> 8) * 2^-24            # [0, 1)
        z  = sqrt(-2 ln u1) * cos(2 pi u2)              # Box-Muller, float32

    (``datagen_gpu.reference.erase_noise`` computes it in plain torch). It does not
    depend on the batch a sample is in, and CPU and GPU agree up to float32
    ``log`` / ``cos`` ulps. Noise needs a floating output (TypeError for uint8).

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32, NCHW or channels-last.
        boxes: (B, 4) integer (top, left, height, width); height, width >= 0.
        value: a number; a sequence of 1 or C numbers (per channel); a (B,) or (B, C)
            tensor (per sample / per sample and channel); or ``"random"``.
        seed: generator seed of the noise.
        sample_ids: (B,) int64 sample ids of the noise (default ``arange(B)``).
        out_dtype: output dtype (default: the input's).
        op_id: the noise's op id in the generator (RandomErasing passes its own stream).
        inplace: write into ``images`` and return it (only the boxes' pixels are
            written; ``out_dtype`` must be None or the input's dtype).

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> x = torch.rand(2, 3, 32, 32)
        >>> boxes = torch.tensor([[4, 4, 8, 16], [0, 0, 0, 0]])
        >>> y = erase(x, boxes, (0.485, 0.456, 0.406))
        >>> z = erase(x, boxes, "random", seed=7)
    """
    check_images(images)
    if inplace and out_dtype is not None and out_dtype != images.dtype:
        raise ValueError(f"out_dtype: inplace=True writes into the images, so out_dtype must be None or "
                         f"{images.dtype}, got {out_dtype}")
    out_dtype = resolve_out_dtype(out_dtype, images)
    boxes = _boxes(boxes, images)
    value, random = _fill_values(value, images, out_dtype)
    ids = _sample_ids(sample_ids, images)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
    if isinstance(op_id, bool) or not isinstance(op_id, int):
        raise TypeError(f"op_id: expected an int, got {type(op_id).__name__}")
    key = _key(seed, op_id)
    if inplace:
        torch.ops.datagen_gpu.erase_(images, boxes, value, random, ids, key)
        return images
    return torch.ops.datagen_gpu.erase(images, boxes, value, random, ids, key, out_dtype)
