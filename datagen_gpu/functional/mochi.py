"""MoCHi hard-negative mixing (Kalantidis et al., "Hard Negative Mixing for
Contrastive Learning", NeurIPS 2020) with explicit parameters.

For a query ``q`` (B, D) and the queue of negatives (K, D), both
L2-normalized, and the indices ``hard_index`` (B, N) of each query's N
hardest negatives (highest ``q . n`` first):

- pair mix t (t < s): ``normalize(alpha[b, t] * n_i + (1 - alpha[b, t]) * n_j)`` with
  ``n_i = negatives[hard_index[b, pair_index[b, t, 0]]]`` and ``n_j`` likewise from
  ``pair_index[b, t, 1]``;
- query mix t (t < s'): ``normalize(beta[b, t] * q[b] + (1 - beta[b, t]) * n_k)`` with
  ``n_k = negatives[hard_index[b, query_index[b, t]]]`` and ``q`` detached.

``normalize`` is ``v / max(|v|, 1e-12)``. The synthetic points are constants
(detached), as in the paper; ``mochi_logits`` differentiates with respect to
``query`` only through the dot product.
"""
import torch

from .._checks.mixing import FLOAT_DTYPES, check_mochi, check_temperature, check_values


def _prepare(query, negatives, hard_index, pair_index, alpha, query_index, beta):
    if not isinstance(query, torch.Tensor) or not isinstance(negatives, torch.Tensor):
        bad = "query" if not isinstance(query, torch.Tensor) else "negatives"
        raise TypeError(f"{bad}: expected a tensor")
    if query.dtype not in FLOAT_DTYPES:
        raise TypeError(f"query: expected float16, bfloat16, float32 or float64, got {query.dtype}")
    out = []
    for name, t, dtype in (("hard_index", hard_index, torch.int64), ("pair_index", pair_index, torch.int64),
                           ("alpha", alpha, torch.float32), ("query_index", query_index, torch.int64),
                           ("beta", beta, torch.float32)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected a tensor, got {type(t).__name__}")
        if dtype == torch.int64 and (t.dtype.is_floating_point or t.dtype == torch.bool):
            raise TypeError(f"{name}: expected an integer tensor, got {t.dtype}")
        if dtype == torch.float32 and not t.dtype.is_floating_point:
            raise TypeError(f"{name}: expected a floating point tensor, got {t.dtype}")
        if t.device != query.device:
            raise ValueError(f"{name}: expected device {query.device} (the query's device), got {t.device}")
        out.append(t.detach().to(dtype).contiguous())
    hard_index, pair_index, alpha, query_index, beta = out
    _, _, K, N, _, _ = check_mochi(query, negatives, hard_index, pair_index, alpha, query_index, beta)
    check_values(hard_index, "hard_index", 0, K - 1, what="rows of negatives")
    check_values(pair_index, "pair_index", 0, N - 1, what="positions in hard_index")
    check_values(query_index, "query_index", 0, N - 1, what="positions in hard_index")
    check_values(alpha, "alpha", 0.0, 1.0)
    check_values(beta, "beta", 0.0, 1.0)
    return hard_index, pair_index, alpha, query_index, beta


def mochi_negatives(query: torch.Tensor, negatives: torch.Tensor, hard_index: torch.Tensor,
                    pair_index: torch.Tensor, alpha: torch.Tensor, query_index: torch.Tensor,
                    beta: torch.Tensor) -> torch.Tensor:
    """MoCHi's synthetic hard negatives, materialized and detached.

    Args:
        query: (B, D) L2-normalized queries (float16 / bfloat16 / float32 / float64).
        negatives: (K, D) the queue, any strides, any of those dtypes.
        hard_index: (B, N) integer rows of ``negatives``, hardest first.
        pair_index: (B, s, 2) integer positions into ``hard_index[b]``.
        alpha: (B, s) weights of the first parent, in [0, 1].
        query_index: (B, s') integer positions into ``hard_index[b]``.
        beta: (B, s') weights of the query, in [0, 1] (MoCHi draws U(0, 0.5)).

    Shape:
        -> (B, s + s', D) unit vectors: the s pair mixes, then the s' query mixes;
        dtype ``torch.promote_types(query.dtype, negatives.dtype)``.

    Example:
        >>> q = torch.nn.functional.normalize(torch.randn(2, 8), dim=1)
        >>> queue = torch.nn.functional.normalize(torch.randn(32, 8), dim=1)
        >>> hard = (q @ queue.T).topk(4, dim=1).indices
        >>> h = mochi_negatives(q, queue, hard, torch.tensor([[[0, 1]], [[2, 3]]]),
        ...                     torch.tensor([[0.5], [0.3]]), torch.tensor([[0], [1]]),
        ...                     torch.tensor([[0.2], [0.4]]))
        >>> h.shape
        torch.Size([2, 2, 8])
    """
    params = _prepare(query, negatives, hard_index, pair_index, alpha, query_index, beta)
    return torch.ops.datagen_gpu.mochi_negatives(query.detach(), negatives.detach(), *params)


def mochi_logits(query: torch.Tensor, negatives: torch.Tensor, hard_index: torch.Tensor,
                 pair_index: torch.Tensor, alpha: torch.Tensor, query_index: torch.Tensor,
                 beta: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """Logits ``q[b] . h[b, t] / temperature`` of MoCHi's synthetic negatives, fused.

    Same parameters as :func:`mochi_negatives`. One kernel gathers, mixes,
    normalizes and takes the dot product per synthetic point without
    materializing the (B, s + s', D) negatives. Differentiable with respect
    to ``query`` (the synthetic points are constants); append the result to
    MoCo's ``[positive | queue]`` logits.

    Args:
        temperature: softmax temperature T > 0 (MoCo v2: 0.2).

    Shape:
        -> (B, s + s'), dtype ``torch.promote_types(query.dtype, negatives.dtype)``.

    Example:
        >>> q = torch.nn.functional.normalize(torch.randn(2, 8), dim=1).requires_grad_()
        >>> queue = torch.nn.functional.normalize(torch.randn(32, 8), dim=1)
        >>> hard = (q @ queue.T).topk(4, dim=1).indices
        >>> logits = mochi_logits(q, queue, hard, torch.tensor([[[0, 1]], [[2, 3]]]),
        ...                       torch.tensor([[0.5], [0.3]]), torch.tensor([[0], [1]]),
        ...                       torch.tensor([[0.2], [0.4]]), temperature=0.2)
        >>> logits.sum().backward()
    """
    params = _prepare(query, negatives, hard_index, pair_index, alpha, query_index, beta)
    temperature = check_temperature(temperature)
    return torch.ops.datagen_gpu.mochi_logits(query, negatives.detach(), *params, temperature)
