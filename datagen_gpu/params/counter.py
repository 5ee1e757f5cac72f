"""Counter-based random numbers with exact integer tensor arithmetic.

A draw is a pure function of ``(seed, sample_id, op_id, draw_index)``: no
generator state, so a sample's parameters do not depend on its batch, its
position in the batch, the batch size, the number of workers or GPUs.

The mixing function is a 32-bit integer hash (the "lowbias32" constants
from Wellons' hash-prospector search: xorshift-multiply rounds with full
avalanche), applied once per key word and chained. Everything runs on int64
tensors holding values < 2^32, and the 32-bit multiplications are split into
16-bit halves so no intermediate reaches 2^63: the results are exact and
bit-identical on every device and under torch.compile.

Uniform floats take the top 24 (float32) or 53 (float64, two words) bits, so
they are exactly representable: the draws themselves are bit-identical on
CPU and CUDA. Parameters derived with transcendental functions (log, exp,
sqrt) are computed in float64 by the samplers; there the devices' math
libraries may differ in the last ulp (~1e-16 relative).
"""
import torch

from .. import _extension  # noqa: F401  (the random_bits op)

_MASK32 = 0xFFFFFFFF
_M1 = 0x7FEB352D
_M2 = 0x846CA68B
_GOLDEN = 0x9E3779B9  # key separation between chained words


def _mulmod32(x: torch.Tensor, c: int) -> torch.Tensor:
    """(x * c) mod 2^32 for 0 <= x < 2^32, without leaving [0, 2^63)."""
    lo = x * (c & 0xFFFF)
    hi = ((x * (c >> 16)) & 0xFFFF) << 16
    return (lo + hi) & _MASK32


def hash32(x):
    """Bijective 32-bit mix of an int64 tensor (or a Python int) of values in [0, 2^32)."""
    x = x ^ (x >> 16)
    x = _mulmod32(x, _M1)
    x = x ^ (x >> 15)
    x = _mulmod32(x, _M2)
    x = x ^ (x >> 16)
    return x


def _key(seed: int, op_id: int) -> int:
    """The hash chain of the scalar key words (seed, op id): a Python int < 2^32."""
    seed, op_id = int(seed) & 0xFFFFFFFFFFFFFFFF, int(op_id) & 0xFFFFFFFFFFFFFFFF
    h = hash32(((seed & _MASK32) ^ _GOLDEN) & _MASK32)
    for word in (seed >> 32, op_id & _MASK32, op_id >> 32):
        h = hash32(h ^ word)
    return h


def random_bits_torch(seed: int, sample_ids: torch.Tensor, op_id: int, n_draws: int) -> torch.Tensor:
    """``random_bits`` in plain int64 torch arithmetic (the definition; tests compare)."""
    h = _key(seed, op_id)
    ids = sample_ids.to(dtype=torch.int64)
    h = hash32(hash32((ids & _MASK32) ^ h) ^ ((ids >> 32) & _MASK32))
    draws = hash32(torch.arange(n_draws, dtype=torch.int64, device=sample_ids.device) ^ _GOLDEN)
    return hash32(h.unsqueeze(1) ^ draws.unsqueeze(0))


def random_bits(seed: int, sample_ids: torch.Tensor, op_id: int, n_draws: int) -> torch.Tensor:
    """32-bit random words, shape (B, n_draws), as int64 in [0, 2^32).

    Word ``[i, d]`` depends only on ``(seed, sample_ids[i], op_id, d)``::

        key    = chain of hash32 over the 32-bit words of seed and op_id (host ints)
        h[i]   = hash32(hash32(lo32(id[i]) ^ key) ^ hi32(id[i]))
        w[i,d] = hash32(h[i] ^ hash32(d ^ 0x9E3779B9))

    computed by one op, ``torch.ops.datagen_gpu.random_bits`` (C++ on the CPU, one
    Triton launch on CUDA; ``random_bits_torch`` is the same arithmetic in plain
    torch). No tensor is made from a host value, so it is CUDA-graph capturable.
    """
    if not isinstance(sample_ids, torch.Tensor) or sample_ids.dim() != 1:
        raise ValueError("sample_ids: expected a (B,) tensor")
    ids = sample_ids if sample_ids.dtype == torch.int64 else sample_ids.to(torch.int64)
    return torch.ops.datagen_gpu.random_bits(ids, _key(seed, op_id), int(n_draws))


def uniform(seed: int, sample_ids: torch.Tensor, op_id: int, n_draws: int,
            dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Uniform floats in [0, 1), shape (B, n_draws), exactly representable in ``dtype``."""
    if dtype == torch.float64:
        bits = random_bits(seed, sample_ids, op_id, 2 * n_draws)
        hi, lo = bits[:, 0::2] >> 5, bits[:, 1::2] >> 6  # 27 + 26 = 53 bits
        return (hi.to(torch.float64) * 67108864.0 + lo.to(torch.float64)) * 2.0**-53
    if dtype != torch.float32:
        raise TypeError(f"dtype: expected torch.float32 or torch.float64, got {dtype}")
    bits = random_bits(seed, sample_ids, op_id, n_draws)
    return (bits >> 8).to(torch.float32) * 2.0**-24
