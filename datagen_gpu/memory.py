"""The cache of large CPU output buffers.

The C++ kernels allocate their outputs of 1 MiB or more from a cache of idle
buffers instead of fresh memory: a training loop that makes a batch-sized
output every step and frees it a step later then reuses the same pages
instead of having the OS map and zero new ones each step (for a B=64 float32
224x224 batch that costs about as much as writing it). Freed outputs return
to the cache while the idle bytes stay within a limit (default 256 MiB; the
environment variable ``DATAGEN_GPU_CPU_CACHE_MB`` sets it at import); any
other is freed. The outputs are ordinary CPU tensors. CUDA outputs use
torch's caching allocator and are not affected.
"""
import numbers

import torch

__all__ = ["cpu_cache_info", "set_cpu_cache_limit", "empty_cpu_cache"]

_READ, _EMPTY = -1, -2


def cpu_cache_info() -> dict:
    """``{"idle_bytes": ..., "limit_bytes": ...}`` of the CPU output cache."""
    idle, limit = torch.ops.datagen_gpu._cpu_output_cache(_READ)
    return {"idle_bytes": idle, "limit_bytes": limit}


def set_cpu_cache_limit(limit_bytes: int) -> dict:
    """Caps the idle bytes the cache keeps (0 disables caching); frees idle
    buffers above the new cap. Returns :func:`cpu_cache_info`."""
    if isinstance(limit_bytes, bool) or not isinstance(limit_bytes, numbers.Integral):
        raise TypeError(f"limit_bytes: expected an int, got {type(limit_bytes).__name__}")
    if limit_bytes < 0:
        raise ValueError(f"limit_bytes: expected >= 0, got {limit_bytes}")
    idle, limit = torch.ops.datagen_gpu._cpu_output_cache(int(limit_bytes))
    return {"idle_bytes": idle, "limit_bytes": limit}


def empty_cpu_cache() -> dict:
    """Frees every idle buffer (outputs still in use are not affected)."""
    idle, limit = torch.ops.datagen_gpu._cpu_output_cache(_EMPTY)
    return {"idle_bytes": idle, "limit_bytes": limit}
