"""Vectorized samplers of the mixing transforms (Mixup, CutMix, MoCHi).

Every sampler maps uniforms in [0, 1) from ``counter.uniform`` (one row per
sample) to parameters for the whole batch: no torch RNG, no Python loop over
samples, no host synchronization.

Beta(a, a) is X / (X + Y) with X, Y ~ Gamma(a), each drawn by Marsaglia &
Tsang's method ("A simple method for generating gamma variables", ACM TOMS
2000) with a fixed number of vectorized tries: a try takes a normal
(``ndtri`` of a uniform) and an acceptance uniform, and the first accepted
try is kept. Shapes below 1 use the boost Gamma(a) = Gamma(a + 1) * U^(1/a).
The acceptance rate is above 0.95 for every shape >= 1, so all
``GAMMA_TRIES`` = 8 tries fail with probability below 1e-10; that case returns
the distribution's mode-like value d = a - 1/3 instead (documented, not
silent). Everything is computed in float64 and in log space, so small
shapes (a = 0.1) neither underflow nor lose the ratio.
"""
import math

import torch

GAMMA_TRIES = 8
GAMMA_DRAWS = 2 * GAMMA_TRIES + 1  # per try: normal, acceptance; then the boost uniform
BETA_DRAWS = 2 * GAMMA_DRAWS

_TINY = 2.0**-54  # moves u in [0, 1) to the open interval (0, 1)


def _open(u: torch.Tensor) -> torch.Tensor:
    return u.to(torch.float64) + _TINY


def log_gamma_sample(u: torch.Tensor, shape: float) -> torch.Tensor:
    """log of a Gamma(shape, 1) sample per row of ``u`` (B, GAMMA_DRAWS)."""
    if not shape > 0:
        raise ValueError(f"shape: expected a positive Gamma shape, got {shape!r}")
    u = _open(u)
    boost = shape < 1.0
    a = shape + 1.0 if boost else shape
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    tries = u[:, : 2 * GAMMA_TRIES].reshape(-1, GAMMA_TRIES, 2)
    x = torch.special.ndtri(tries[..., 0])
    t = 1.0 + c * x
    v = t * t * t
    log_v = torch.log(torch.clamp(v, min=1e-300))
    accept = (v > 0) & (torch.log(tries[..., 1]) < 0.5 * x * x + d - d * v + d * log_v)
    first = accept.to(torch.int8).argmax(dim=1, keepdim=True)
    log_v = torch.where(accept.any(dim=1), log_v.gather(1, first).squeeze(1), torch.zeros_like(log_v[:, 0]))
    out = math.log(d) + log_v
    if boost:
        out = out + torch.log(u[:, 2 * GAMMA_TRIES]) / shape
    return out


def beta_symmetric(u: torch.Tensor, alpha: float) -> torch.Tensor:
    """Beta(alpha, alpha) samples (B,) float64 from uniforms ``u`` (B, BETA_DRAWS)."""
    log_x = log_gamma_sample(u[:, :GAMMA_DRAWS], alpha)
    log_y = log_gamma_sample(u[:, GAMMA_DRAWS:BETA_DRAWS], alpha)
    return torch.sigmoid(log_x - log_y)


def _boxes(top, left, bottom, right):
    return torch.stack([top, left, bottom - top, right - left], dim=1).to(torch.int64)


def cutmix_boxes_timm(u: torch.Tensor, lam: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """timm's ``rand_bbox`` (timm 1.0): (B, 4) int64 boxes (top, left, height, width) from u (B, 2).

    cut = int(size * sqrt(1 - lam)); centre c uniform over the integer pixels
    (u[:, 0] for the row, u[:, 1] for the column, timm's draw order); the box
    spans [c - cut // 2, c + (cut + 1) // 2), clipped to the image.
    """
    ratio = torch.sqrt(1.0 - lam.to(torch.float64))
    cut_h = torch.floor(height * ratio)
    cut_w = torch.floor(width * ratio)
    cy = torch.clamp(torch.floor(u[:, 0].to(torch.float64) * height), max=height - 1)
    cx = torch.clamp(torch.floor(u[:, 1].to(torch.float64) * width), max=width - 1)
    lo_h, lo_w = torch.div(cut_h, 2, rounding_mode="floor"), torch.div(cut_w, 2, rounding_mode="floor")
    hi_h, hi_w = cut_h - lo_h, cut_w - lo_w  # (cut + 1) // 2
    return _boxes(torch.clamp(cy - lo_h, 0, height), torch.clamp(cx - lo_w, 0, width),
                  torch.clamp(cy + hi_h, 0, height), torch.clamp(cx + hi_w, 0, width))


def cutmix_boxes_minmax(u: torch.Tensor, minmax, height: int, width: int) -> torch.Tensor:
    """timm's ``rand_bbox_minmax`` (timm 1.0) from u (B, 4): cut sizes uniform in
    [int(size * min), int(size * max)) per side, top-left corner uniform in
    [0, size - cut] (the box always lies inside the image)."""
    lo_h, hi_h = int(height * minmax[0]), int(height * minmax[1])
    lo_w, hi_w = int(width * minmax[0]), int(width * minmax[1])
    u = u.to(torch.float64)
    cut_h = torch.clamp(lo_h + torch.floor(u[:, 0] * (hi_h - lo_h)), max=max(hi_h - 1, lo_h))
    cut_w = torch.clamp(lo_w + torch.floor(u[:, 1] * (hi_w - lo_w)), max=max(hi_w - 1, lo_w))
    top = torch.minimum(torch.floor(u[:, 2] * (height - cut_h + 1)), height - cut_h)
    left = torch.minimum(torch.floor(u[:, 3] * (width - cut_w + 1)), width - cut_w)
    return _boxes(top, left, top + cut_h, left + cut_w)


def cutmix_boxes_torchvision(u: torch.Tensor, lam: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """torchvision v2 CutMix's box from u (B, 2): centre (u[:, 0] column, u[:, 1] row, its
    draw order), half sides int(0.5 * sqrt(1 - lam) * size), clipped to the image."""
    r = 0.5 * torch.sqrt(1.0 - lam.to(torch.float64))
    half_w, half_h = torch.floor(r * width), torch.floor(r * height)
    cx = torch.clamp(torch.floor(u[:, 0].to(torch.float64) * width), max=width - 1)
    cy = torch.clamp(torch.floor(u[:, 1].to(torch.float64) * height), max=height - 1)
    return _boxes(torch.clamp(cy - half_h, min=0), torch.clamp(cx - half_w, min=0),
                  torch.clamp(cy + half_h, max=height), torch.clamp(cx + half_w, max=width))


def box_lam(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """1 - (box clipped to the image) area / image area, float64 (B,): CutMix's corrected lambda."""
    b = boxes.to(torch.int64)
    y0 = torch.clamp(b[:, 0], 0, height)
    x0 = torch.clamp(b[:, 1], 0, width)
    y1 = torch.minimum(torch.maximum(b[:, 0] + torch.clamp(b[:, 2], min=0), y0), torch.full_like(y0, height))
    x1 = torch.minimum(torch.maximum(b[:, 1] + torch.clamp(b[:, 3], min=0), x0), torch.full_like(x0, width))
    area = ((y1 - y0) * (x1 - x0)).to(torch.float64)
    return 1.0 - area / float(max(height * width, 1))


def flip_permutation(batch: int, device=None) -> torch.Tensor:
    """timm's partners: sample i mixes with sample B - 1 - i (``x.flip(0)``)."""
    return torch.arange(batch - 1, -1, -1, dtype=torch.int64, device=device)


def roll_permutation(batch: int, device=None) -> torch.Tensor:
    """torchvision's partners: sample i mixes with sample i - 1 (``x.roll(1, 0)``)."""
    return (torch.arange(batch, dtype=torch.int64, device=device) - 1) % max(batch, 1)


def pair_mirror(sample_ids: torch.Tensor) -> torch.Tensor:
    """timm's ``pair`` mode: sample B - 1 - i draws with the id of sample i for i < B / 2."""
    batch = sample_ids.shape[0]
    pos = torch.arange(batch, device=sample_ids.device)
    return sample_ids[torch.minimum(pos, batch - 1 - pos)]


def mochi_draws(n_mix: int, n_mix_query: int) -> int:
    """Uniforms per query used by ``mochi_indices``."""
    return 3 * n_mix + 2 * n_mix_query


def mochi_indices(u: torch.Tensor, n_hard: int, n_mix: int, n_mix_query: int):
    """MoCHi's random choices per query from u (B, mochi_draws(s, s')).

    Returns pair_index (B, s, 2): two distinct positions among the n_hard
    hardest (the same one only when n_hard = 1), alpha (B, s) ~ U(0, 1),
    query_index (B, s') uniform positions, beta (B, s') ~ U(0, 0.5).
    """
    B, s, s2, n = u.shape[0], n_mix, n_mix_query, n_hard
    u = u.to(torch.float64)
    u_i, u_j, u_a = u[:, :s], u[:, s:2 * s], u[:, 2 * s:3 * s]
    u_q, u_b = u[:, 3 * s:3 * s + s2], u[:, 3 * s + s2:3 * s + 2 * s2]
    first = torch.clamp(torch.floor(u_i * n), max=n - 1).to(torch.int64)
    if n > 1:
        step = 1 + torch.clamp(torch.floor(u_j * (n - 1)), max=n - 2).to(torch.int64)
        second = (first + step) % n
    else:
        second = first
    query_index = torch.clamp(torch.floor(u_q * n), max=n - 1).to(torch.int64)
    return (torch.stack([first, second], dim=-1).reshape(B, s, 2), u_a.to(torch.float32),
            query_index.reshape(B, s2), (0.5 * u_b).to(torch.float32))
