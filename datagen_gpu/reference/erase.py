"""Float64 references of erase (RandomErasing) and of its per-pixel noise.

``erase`` fills each sample's clipped box with its values or its noise, with
plain loops over samples; ``erase_noise`` computes the noise of
``datagen_gpu.functional.erase(value="random")`` from the generator's words
(``counter.random_bits_torch``, plain int64 torch arithmetic) in float64.
"""
import math

import torch

from ..params.counter import random_bits_torch
from . import clip_box  # defined before the package imports this module

__all__ = ["erase", "erase_noise"]


def erase_noise(seed: int, sample_ids: torch.Tensor, op_id: int, boxes: torch.Tensor, C: int,
                size=None) -> list:
    """The noise of each sample's box: a list of float64 (C, h, w) tensors.

    ``boxes`` (B, 4) (top, left, height, width), clipped to ``size`` = (H, W)
    first when given (the kernels index the noise in the clipped box). With
    ``words = random_bits(seed, ids, op_id, 2 C h w)`` and d = (c * h + y) * w + x:
    ``u1 = ((words[2d] >> 8) + 1) 2^-24``, ``u2 = (words[2d + 1] >> 8) 2^-24``,
    ``z = sqrt(-2 ln u1) cos(2 pi u2)``.
    """
    out = []
    for i in range(boxes.shape[0]):
        top, left, h, w = (int(v) for v in boxes[i])
        if size is not None:
            y0, y1, x0, x1 = clip_box(boxes[i], *size)
            h, w = y1 - y0, x1 - x0
        h, w = max(h, 0), max(w, 0)
        words = random_bits_torch(seed, sample_ids[i : i + 1].to(torch.int64), op_id, 2 * C * h * w)[0]
        u1 = ((words[0::2] >> 8) + 1).to(torch.float64) * 2.0**-24
        u2 = (words[1::2] >> 8).to(torch.float64) * 2.0**-24
        z = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
        out.append(z.reshape(C, h, w))
    return out


def erase(images: torch.Tensor, boxes: torch.Tensor, value: torch.Tensor, random=None,
          noise=None) -> torch.Tensor:
    """Box i of sample i (clipped to the image) set to ``value[i, c]`` per channel, or to
    ``noise[i]`` (a (C, h, w) tensor of the clipped box) where ``random[i]``.

    ``images``: float64 (B, C, H, W) in [0, 1] units; ``value``: (B, C) in the same
    units as the expected output (uint8 levels / 255 for a uint8 output).
    """
    out = images.clone()
    H, W = images.shape[-2:]
    for i in range(images.shape[0]):
        y0, y1, x0, x1 = clip_box(boxes[i], H, W)
        if random is not None and bool(random[i]):
            out[i, :, y0:y1, x0:x1] = noise[i].to(torch.float64)
        else:
            for c in range(images.shape[1]):
                out[i, c, y0:y1, x0:x1] = float(value[i, c])
    return out
