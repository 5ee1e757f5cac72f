"""Vectorized per-sample parameter samplers (torchvision v2 distributions).

Each sampler maps uniform draws (from ``counter.uniform``) to parameters for
a whole batch at once: no Python loop over samples, no host synchronization.
"""
import math
from typing import Sequence, Tuple

import torch

CROP_TRIES = 10  # torchvision's RandomResizedCrop.get_params tries 10 times
CROP_DRAWS = 4 * CROP_TRIES  # per try: area, log-ratio, top, left


def resized_crop_boxes(u: torch.Tensor, heights: torch.Tensor, widths: torch.Tensor,
                       scale: Sequence[float], ratio: Sequence[float]) -> torch.Tensor:
    """RandomResizedCrop boxes ``(top, left, height, width)`` as float64 (B, 4) integers.

    Same distribution as torchvision's ``RandomResizedCrop.get_params``: up to
    10 tries of ``area ~ U(scale) * H * W`` and ``log(aspect) ~ U(log ratio)``,
    ``w = round(sqrt(area * aspect))``, ``h = round(sqrt(area / aspect))``
    (round half to even, as Python's round), accepted when ``0 < w <= W`` and
    ``0 < h <= H``, with the top-left corner uniform over the valid positions;
    if no try fits, the central crop clipped to the ratio range. All 10 tries
    are evaluated at once and the first valid one is picked.

    Args:
        u: (B, 40) uniforms in [0, 1) (float64 preferred).
        heights, widths: (B,) image sizes (ragged batches have one per sample).
        scale, ratio: torchvision's (min, max) ranges.
    """
    u = u.to(torch.float64)
    H = heights.to(torch.float64).unsqueeze(1)
    W = widths.to(torch.float64).unsqueeze(1)
    t = u.view(-1, CROP_TRIES, 4)
    area = H * W * (scale[0] + (scale[1] - scale[0]) * t[..., 0])
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_lo + (log_hi - log_lo) * t[..., 1])
    w = torch.round(torch.sqrt(area * aspect))
    h = torch.round(torch.sqrt(area / aspect))
    valid = (w > 0) & (w <= W) & (h > 0) & (h <= H)
    top = torch.floor(t[..., 2] * (H - h + 1))
    left = torch.floor(t[..., 3] * (W - w + 1))
    # first valid try (argmax of a bool picks the first True), all four values in one gather
    first = valid.to(torch.int8).argmax(dim=1, keepdim=True)
    picked = torch.stack([top, left, h, w], dim=2).gather(1, first.unsqueeze(2).expand(-1, 1, 4)).squeeze(1)
    any_valid = valid.any(dim=1, keepdim=True)
    # torchvision's fallback: central crop, clipped to the ratio range
    Hs, Ws = H.squeeze(1), W.squeeze(1)
    in_ratio = Ws / Hs
    fb_w = torch.where(in_ratio < min(ratio), Ws,
                       torch.where(in_ratio > max(ratio), torch.round(Hs * max(ratio)), Ws))
    fb_h = torch.where(in_ratio < min(ratio), torch.round(Ws / min(ratio)), Hs)
    fallback = torch.stack([torch.floor((Hs - fb_h) / 2), torch.floor((Ws - fb_w) / 2), fb_h, fb_w], dim=1)
    boxes = torch.where(any_valid, picked, fallback)
    return boxes


def uniform_range(u: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Map U[0, 1) draws to U[low, high) (torchvision's ``uniform_(low, high)``)."""
    return low + (high - low) * u


def coins(u: torch.Tensor, p: float) -> torch.Tensor:
    """Per-sample Bernoulli(p) decisions: ``u < p`` (p = 1 always, p = 0 never)."""
    return u < p


def permutations(u: torch.Tensor) -> torch.Tensor:
    """A uniform random permutation per row of ``u`` (B, n): ranks of the draws, int64."""
    return torch.argsort(u, dim=1, stable=True)


def jitter_range(value, name: str, center: float = 1.0, bound: Tuple[float, float] = (0.0, float("inf")),
                 clip_first_to_zero: bool = True):
    """torchvision ColorJitter's argument parsing: a number v -> [center - v, center + v]."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{name}: if it is a single number, it must be non-negative, got {value}")
        lo, hi = center - float(value), center + float(value)
        if clip_first_to_zero:
            lo = max(lo, 0.0)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        lo, hi = float(value[0]), float(value[1])
    else:
        raise TypeError(f"{name}: expected a number or a (min, max) pair, got {value!r}")
    if not bound[0] <= lo <= hi <= bound[1]:
        raise ValueError(f"{name}: values should be between {bound}, got ({lo}, {hi})")
    return None if lo == hi == center else (lo, hi)
