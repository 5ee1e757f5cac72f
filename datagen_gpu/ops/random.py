"""Registrations for random_bits (schema and CPU kernel: csrc/random.cpp)."""
import torch

from ._registry import register_cuda, register_fake


@register_fake("random_bits")
def _random_bits_fake(sample_ids, key, n_draws):
    return torch.empty((sample_ids.shape[0], n_draws), dtype=torch.int64, device=sample_ids.device)


register_cuda("random_bits", "random")
