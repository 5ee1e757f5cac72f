"""Process-wide debug switches shared by the Python-side kernel launchers."""
import torch

_state = {"poison": False}


def poison_enabled() -> bool:
    return _state["poison"]


def set_poison(enable: bool) -> None:
    """Fill freshly allocated outputs with NaN / 0xA5 (C++ and Triton paths)."""
    _state["poison"] = bool(enable)
    torch.ops.datagen_gpu._set_poison_outputs(bool(enable))


def empty_output(shape, dtype, device, channels_last=False):
    """Output allocation for the Triton launchers (poisoned when enabled)."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    out = torch.empty(shape, dtype=dtype, device=device, memory_format=fmt)
    if _state["poison"]:
        out.fill_(0xA5 if dtype == torch.uint8 else float("nan"))
    return out
