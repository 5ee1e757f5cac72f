"""Triton kernel of random_bits: the counter-based generator's words in one launch.

Definition (and a plain-torch version of the same arithmetic) in
datagen_gpu/params/counter.py; csrc/random.cpp is the CPU kernel.
"""
import torch
import triton
import triton.language as tl

BLOCK = 256


@triton.jit
def _hash32(x):
    x = x ^ (x >> 16)
    x = x * 0x7FEB352D
    x = x ^ (x >> 15)
    x = x * 0x846CA68B
    x = x ^ (x >> 16)
    return x


# key: a hash, so specializing on its value (== 1, divisible by 16) would only compile
# extra variants for arbitrary keys
@triton.jit(do_not_specialize=["key"])
def _random_bits_kernel(ids, out, key, total, n_draws, BLOCK: tl.constexpr):
    """out[i, d] = hash32(hash32(hash32(lo(id[i]) ^ key) ^ hi(id[i])) ^ hash32(d ^ golden)),
    uint32 arithmetic (wraps mod 2^32); one element per lane, 64-bit offsets."""
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < total
    i = offs // n_draws
    d = offs % n_draws
    v = tl.load(ids + i, mask=mask, other=0)
    lo = (v & 0xFFFFFFFF).to(tl.uint32)
    hi = ((v >> 32) & 0xFFFFFFFF).to(tl.uint32)
    h = _hash32(_hash32(lo ^ tl.cast(key, tl.uint32)) ^ hi)
    g = _hash32(d.to(tl.uint32) ^ 0x9E3779B9)
    tl.store(out + offs, _hash32(h ^ g).to(tl.int64), mask=mask)


def random_bits(sample_ids: torch.Tensor, key: int, n_draws: int) -> torch.Tensor:
    if sample_ids.dim() != 1:
        raise ValueError(f"sample_ids: expected shape (B,), got {tuple(sample_ids.shape)}")
    if sample_ids.dtype != torch.int64:
        raise TypeError(f"sample_ids: expected int64, got {sample_ids.dtype}")
    if n_draws < 0:
        raise ValueError(f"n_draws: expected >= 0, got {n_draws}")
    if not 0 <= key <= 0xFFFFFFFF:
        raise ValueError(f"key: expected a 32-bit word, got {key}")
    out = torch.empty((sample_ids.shape[0], n_draws), dtype=torch.int64, device=sample_ids.device)
    total = out.numel()
    if total == 0:
        return out
    _random_bits_kernel[(triton.cdiv(total, BLOCK),)](sample_ids.contiguous(), out, key, total,
                                                      n_draws, BLOCK=BLOCK)
    return out
