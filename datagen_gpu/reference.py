"""Plain-PyTorch float64 reference implementations: the oracle for tests.

Every function takes images as float64 (B, C, H, W) tensors with values in
[0, 1] (see ``to_unit``) and per-sample parameters as (B,) tensors, loops
over samples where that is clearest, and returns float64 in the same scale.
They follow torchvision.transforms.v2.functional's definitions; they are
written to be obviously right, not fast.
"""
import torch


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """Any image tensor -> float64 in [0, 1] (uint8 divided by 255)."""
    if images.dtype == torch.uint8:
        return images.to(torch.float64) / 255.0
    return images.to(torch.float64)


# --------------------------------------------------------------------------- geometry


def hflip(images: torch.Tensor, apply: torch.Tensor) -> torch.Tensor:
    out = images.clone()
    for i in range(images.shape[0]):
        if bool(apply[i]):
            out[i] = images[i].flip(-1)
    return out


# --------------------------------------------------------------------------- color


# --------------------------------------------------------------------------- filters


# --------------------------------------------------------------------------- audio
# Spectrograms (B, F, T) / (B, C, F, T) and waveforms (B, ...) as float64, not
# limited to [0, 1]. Masks are [start, start + width) clipped to the axis.


def _mask_range(start: int, width: int, size: int) -> range:
    if width <= 0:
        return range(0)
    return range(max(int(start), 0), min(int(start) + int(width), size))


def spec_mask(specs: torch.Tensor, freq_start: torch.Tensor, freq_width: torch.Tensor,
              time_start: torch.Tensor, time_width: torch.Tensor, value) -> torch.Tensor:
    """Frequency masks (B, MF) and time masks (B, MT); value (B,) or None (sample mean)."""
    out = specs.clone()
    F, T = specs.shape[-2], specs.shape[-1]
    for i in range(specs.shape[0]):
        v = specs[i].mean() if value is None else float(value[i])
        for m in range(freq_start.shape[1]):
            for f in _mask_range(freq_start[i, m], freq_width[i, m], F):
                out[i, ..., f, :] = v
        for m in range(time_start.shape[1]):
            for t in _mask_range(time_start[i, m], time_width[i, m], T):
                out[i, ..., t] = v
    return out


def time_mask(specs, start, width, value):
    none = torch.zeros((specs.shape[0], 0), dtype=torch.int64)
    return spec_mask(specs, none, none, start, width, value)


def freq_mask(specs, start, width, value):
    none = torch.zeros((specs.shape[0], 0), dtype=torch.int64)
    return spec_mask(specs, start, width, none, none, value)


def freq_shift(specs: torch.Tensor, shift: torch.Tensor, fill) -> torch.Tensor:
    out = torch.empty_like(specs)
    F = specs.shape[-2]
    for i in range(specs.shape[0]):
        for f in range(F):
            src = f - int(shift[i])
            out[i, ..., f, :] = specs[i, ..., src, :] if 0 <= src < F else float(fill[i])
    return out


def audio_mixup(x: torch.Tensor, lam: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        w = float(lam[i])
        out[i] = w * x[i] + (1.0 - w) * x[int(perm[i])]
    return out


def spec_mask_vectorized(specs, freq_start, freq_width, time_start, time_width, value,
                         fused: bool = True):
    """Batch-vectorized pure-torch masks in the input's dtype (benchmark baseline, second oracle).

    ``fused=True``: one boolean (B, 1, F, T) mask and one ``torch.where``;
    ``fused=False``: one ``torch.where`` pass per mask, as torchaudio's
    ``mask_along_axis_iid`` applied once per mask.
    """
    B, F, T = specs.shape[0], specs.shape[-2], specs.shape[-1]
    x = specs if specs.dim() == 4 else specs[:, None]
    fill = x.mean(dim=(1, 2, 3)) if value is None else value.to(x.dtype)
    fill = fill.to(x.dtype).view(B, 1, 1, 1)

    def hits(start, width, size):  # (B, M, size): [start, start + max(width, 0))
        i = torch.arange(size, device=specs.device)
        s, w = start[:, :, None], width.clamp(min=0)[:, :, None]
        return (i >= s) & (i < s + w)

    f_hit = hits(freq_start, freq_width, F)
    t_hit = hits(time_start, time_width, T)
    if fused:
        mask = f_hit.any(1)[:, None, :, None] | t_hit.any(1)[:, None, None, :]
        out = torch.where(mask, fill, x)
    else:
        out = x
        for m in range(f_hit.shape[1]):
            out = torch.where(f_hit[:, m, None, :, None], fill, out)
        for m in range(t_hit.shape[1]):
            out = torch.where(t_hit[:, m, None, None, :], fill, out)
    return out.reshape(specs.shape)
