"""Argument checks and output allocation shared by the audio functionals, fakes and launchers.

They mirror csrc/audio_views.h: the same conditions raise ValueError /
TypeError naming the argument, and outputs get the input's dimension order
in memory by the same rule.
"""
import torch

from . import check_tensor
from . import resolve_out_dtype as _resolve_out_dtype

AUDIO_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_DTYPE_NAMES = "float32, float16 or bfloat16"


def _check_tensor(x, name):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")


def check_specs(specs, name="specs"):
    """(B, F, T) or (B, C, F, T) float spectrograms."""
    _check_tensor(specs, name)
    if specs.dim() not in (3, 4):
        raise ValueError(f"{name}: expected a (B, F, T) or (B, C, F, T) spectrogram, "
                         f"got shape {tuple(specs.shape)}")
    if specs.dtype not in AUDIO_DTYPES:
        raise TypeError(f"{name}: expected {_DTYPE_NAMES}, got {specs.dtype}")


def check_audio(x, name="x"):
    """(B, T), (B, C, T), (B, F, T) or (B, C, F, T) float waveforms or spectrograms."""
    _check_tensor(x, name)
    if not 2 <= x.dim() <= 4:
        raise ValueError(f"{name}: expected a (B, T), (B, C, T), (B, F, T) or (B, C, F, T) "
                         f"tensor, got shape {tuple(x.shape)}")
    if x.dtype not in AUDIO_DTYPES:
        raise TypeError(f"{name}: expected {_DTYPE_NAMES}, got {x.dtype}")


def check_float_out_dtype(out_dtype, name="out_dtype"):
    if out_dtype not in AUDIO_DTYPES:
        raise TypeError(f"{name}: expected one of {_DTYPE_NAMES}, got {out_dtype}")


def resolve_out_dtype(out_dtype, x):
    return _resolve_out_dtype(out_dtype, x, check_float_out_dtype)


def check_mask_param(p, specs, name):
    """Op-level (B, M) int64 mask starts or widths (what the C++ kernels check)."""
    check_tensor(p, name, (specs.shape[0], None), torch.int64, specs.device, owner="spectrograms")


def check_mask_pair(specs, start, width, start_name, width_name):
    check_mask_param(start, specs, start_name)
    check_mask_param(width, specs, width_name)
    if start.shape != width.shape:
        raise ValueError(f"{width_name}: expected the shape of {start_name} "
                         f"{tuple(start.shape)}, got {tuple(width.shape)}")


def layout_order(t: torch.Tensor):
    """Dimensions of ``t`` by decreasing stride (ties in dimension order): its memory order."""
    return sorted(range(t.dim()), key=lambda i: -t.stride(i))


def empty_like_layout(t: torch.Tensor, dtype, alloc=None) -> torch.Tensor:
    """A new tensor of t's shape whose dimensions have t's order in memory.

    ``alloc(shape, dtype, device)`` allocates the contiguous storage (default
    torch.empty; the launchers pass their poisoning allocator).
    """
    order = layout_order(t)
    inverse = [0] * len(order)
    for i, d in enumerate(order):
        inverse[d] = i
    shape = [t.shape[d] for d in order]
    if alloc is None:
        out = torch.empty(shape, dtype=dtype, device=t.device)
    else:
        out = alloc(shape, dtype, t.device)
    return out.permute(inverse)


def as_bcft(t: torch.Tensor) -> torch.Tensor:
    """A (B, C, F, T) view: (B, T) -> (B, 1, 1, T), (B, X, T) -> (B, 1, X, T)."""
    if t.dim() == 2:
        return t[:, None, None, :]
    if t.dim() == 3:
        return t[:, None]
    return t
