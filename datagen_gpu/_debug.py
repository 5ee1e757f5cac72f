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


CPU_ISAS = {"baseline": 0, "avx2": 1}


def set_cpu_isa(name: str) -> str:
    """Select the instruction set of the C++ color row kernels; returns the one in use.

    ``"best"`` (the default at import) picks the best the CPU has; ``"baseline"``
    forces the portable build (SSE2 on x86-64); ``"avx2"`` is clamped to what the
    CPU supports. Every level gives bit-identical results; this exists for tests
    and for A/B timing. The environment variable ``DATAGEN_GPU_CPU_ISA`` sets it
    at import.
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected a str, got {type(name).__name__}")
    if name != "best" and name not in CPU_ISAS:
        raise ValueError(f"name: expected 'best', 'baseline' or 'avx2', got {name!r}")
    level = torch.ops.datagen_gpu._set_cpu_isa(CPU_ISAS.get(name, -1))
    return {v: k for k, v in CPU_ISAS.items()}[level]
