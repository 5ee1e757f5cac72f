"""RandomErasing's boxes and per-channel values, vectorized over the batch.

The distribution is torchvision v2 ``RandomErasing.make_params``'s (Zhong et al.,
"Random Erasing Data Augmentation", AAAI 2020), with every try evaluated at once
and the first valid one picked (as ``samplers.resized_crop_boxes`` does):

- up to 10 tries of ``area = H W U(scale)``, ``aspect = exp(U(log ratio))``,
  ``h = round(sqrt(area * aspect))``, ``w = round(sqrt(area / aspect))`` (the
  ratio goes to the *height*, unlike RandomResizedCrop; round half to even, as
  Python's ``round``);
- a try fits when ``h < H and w < W`` (strict; h or w may be 0: an empty box);
- top ~ U{0 .. H - h}, left ~ U{0 .. W - w} (``randint(0, H - h + 1)``);
- no try fits: torchvision returns the whole image with ``v=None`` and leaves the
  image unchanged; here the box is empty and ``erased`` is false.

timm's ``max_count`` (several boxes per sample) draws a count uniform in
[min_count, max_count] and that many boxes, each from its own 10 tries with the
target area divided by the count (a box that does not fit is skipped).
"""
import math
from typing import Sequence

import torch

ERASE_TRIES = 10
ERASE_DRAWS = 4 * ERASE_TRIES  # per try: area, log-ratio, top, left


def erasing_boxes(u: torch.Tensor, height: int, width: int, scale: Sequence[float],
                  ratio: Sequence[float], count=None):
    """(boxes (B, 4) int64 (top, left, h, w), fits (B,) bool) from ``u`` (B, ERASE_DRAWS).

    ``u``: uniforms in [0, 1) (float64 preferred), try t at columns 4t .. 4t + 3
    (area, log-ratio, top, left). ``fits`` is false where no try fits (the box is
    then (0, 0, 0, 0)). ``count`` (B,), when given, divides each sample's target
    area (timm's several boxes per sample: ``U(scale) H W / count``).
    """
    u = u.to(torch.float64)
    t = u.view(-1, ERASE_TRIES, 4)
    area = float(height * width) * (scale[0] + (scale[1] - scale[0]) * t[..., 0])
    if count is not None:
        area = area / count.to(torch.float64).unsqueeze(1)
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_lo + (log_hi - log_lo) * t[..., 1])
    h = torch.round(torch.sqrt(area * aspect))
    w = torch.round(torch.sqrt(area / aspect))
    valid = (h < height) & (w < width)
    top = torch.floor(t[..., 2] * (height - h + 1))
    left = torch.floor(t[..., 3] * (width - w + 1))
    first = valid.to(torch.int8).argmax(dim=1, keepdim=True)  # the first True
    fits = valid.any(dim=1)
    boxes = torch.stack([top, left, h, w], dim=2).gather(1, first.unsqueeze(2).expand(-1, 1, 4)).squeeze(1)
    boxes = torch.where(fits.unsqueeze(1), boxes, torch.zeros_like(boxes))
    return boxes.to(torch.int64), fits


def standard_normals(u: torch.Tensor) -> torch.Tensor:
    """(B, n) float64 standard normals from (B, 2n) uniforms in [0, 1) (Box-Muller on pairs:
    ``sqrt(-2 ln(1 - u[2k])) cos(2 pi u[2k + 1])``)."""
    u = u.to(torch.float64)
    return torch.sqrt(-2.0 * torch.log1p(-u[:, 0::2])) * torch.cos(2.0 * math.pi * u[:, 1::2])
