"""Batch-sized scratch buffers for the Python side of the ops and transforms."""
import torch


def batch_buffer(shape, dtype: torch.dtype, device) -> torch.Tensor:
    """An uninitialized contiguous tensor of ``shape`` for a batch-sized intermediate.

    On the CPU it comes from the extension's cache of idle output buffers
    (csrc/output_cache.h): a fresh batch-sized allocation every step would be new
    pages that the kernel zeroes on first touch, costing about as much as writing
    the batch. Elsewhere it is ``torch.empty`` (CUDA's caching allocator already
    reuses memory).
    """
    shape = tuple(shape)
    if torch.device(device).type == "cpu":
        return torch.ops.datagen_gpu._cpu_cached_empty(torch.Size(shape).numel(), dtype).view(shape)
    return torch.empty(shape, dtype=dtype, device=device)
