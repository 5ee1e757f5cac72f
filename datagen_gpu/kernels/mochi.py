"""Triton MoCHi kernels (Kalantidis et al., "Hard Negative Mixing for
Contrastive Learning", NeurIPS 2020): synthetic hard negatives, their fused
logits and the logits' gradient with respect to the query.

For query b and synthetic point t (s pair mixes first, then s' query mixes):

    n(b, p) = negatives[hard_index[b, p]]
    t < s:   v = alpha[b, t] * n(b, pair_index[b, t, 0]) + (1 - alpha[b, t]) * n(b, pair_index[b, t, 1])
    t >= s:  v = beta[b, u] * query[b] + (1 - beta[b, u]) * n(b, query_index[b, u]),  u = t - s
    h = v / max(|v|, 1e-12);   logit = query[b] . h / temperature

Arithmetic in float32 (float64 when query or negatives is float64); the
queue is read in place in its own dtype and any stride. Indices are clamped
into range, so every value is memory-safe.
"""
import torch
import triton
import triton.language as tl

from .._checks_mixing import check_grad, check_mochi, check_temperature
from .._debug import empty_output

_EPS = tl.constexpr(1e-12)


@triton.jit
def _mochi_parents(hard, pair, alpha, qidx, beta, b, t, valid, N, K, S1, S2):
    """Rows of the two parents and the weight of the synthetic points (b, t)."""
    is_pair = t < S1
    pm = valid & is_pair
    qm = valid & (t >= S1)
    p_off = (b * S1 + t) * 2
    u = b * S2 + (t - S1)
    pos0 = tl.load(pair + p_off, mask=pm, other=0)
    pos1 = tl.where(is_pair, tl.load(pair + p_off + 1, mask=pm, other=0),
                    tl.load(qidx + u, mask=qm, other=0))
    pos0 = tl.minimum(tl.maximum(pos0, 0), N - 1)
    pos1 = tl.minimum(tl.maximum(pos1, 0), N - 1)
    row0 = tl.load(hard + b * N + pos0, mask=pm, other=0)
    row1 = tl.load(hard + b * N + pos1, mask=valid, other=0)
    row0 = tl.minimum(tl.maximum(row0, 0), K - 1)
    row1 = tl.minimum(tl.maximum(row1, 0), K - 1)
    w = tl.where(is_pair, tl.load(alpha + b * S1 + t, mask=pm, other=0.0),
                 tl.load(beta + u, mask=qm, other=0.0))
    return is_pair, row0, row1, w


@triton.jit
def _mochi_tile(q, neg, b, d, is_pair, valid, row0, row1, w, D, sq_b, sq_d, sn_k, sn_d,
                ACC: tl.constexpr):
    """(BLOCK_T, BLOCK_D) tile of the unnormalized points v over columns d, and q[b, d]."""
    dm = d < D
    qd = tl.load(q + b * sq_b + d * sq_d, mask=dm, other=0.0).to(ACC)
    m2 = valid[:, None] & dm[None, :]
    a = tl.load(neg + row0[:, None] * sn_k + d[None, :] * sn_d, mask=m2 & is_pair[:, None],
                other=0.0).to(ACC)
    a = tl.where(is_pair[:, None], a, qd[None, :])
    c = tl.load(neg + row1[:, None] * sn_k + d[None, :] * sn_d, mask=m2, other=0.0).to(ACC)
    wa = w.to(ACC)[:, None]
    return wa * a + (1.0 - wa) * c, qd


@triton.jit
def _mochi_sq_norm(q, neg, b, is_pair, valid, row0, row1, w, D, sq_b, sq_d, sn_k, sn_d,
                   BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr, ACC: tl.constexpr):
    vv = tl.zeros([BLOCK_T], dtype=ACC)
    for d0 in range(0, D, BLOCK_D):
        d = (d0 + tl.arange(0, BLOCK_D)).to(tl.int64)
        v, qd = _mochi_tile(q, neg, b, d, is_pair, valid, row0, row1, w, D, sq_b, sq_d, sn_k, sn_d, ACC)
        vv += tl.sum(v * v, 1)
    return vv


@triton.jit
def _mochi_logits_kernel(q, neg, hard, pair, alpha, qidx, beta, out, N, K, D, S1, S2,
                         sq_b, sq_d, sn_k, sn_d, inv_t,
                         BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr, ACC: tl.constexpr):
    """logit(b, t) = q[b] . v / max(|v|, eps) / temperature, fused: gather, mix,
    normalize and dot in registers, one pass over D; h is never written.
    Grid: (B, cdiv(s + s', BLOCK_T))."""
    b = tl.program_id(0).to(tl.int64)
    t = tl.program_id(1).to(tl.int64) * BLOCK_T + tl.arange(0, BLOCK_T)
    S = S1 + S2
    valid = t < S
    is_pair, row0, row1, w = _mochi_parents(hard, pair, alpha, qidx, beta, b, t, valid, N, K, S1, S2)
    qv = tl.zeros([BLOCK_T], dtype=ACC)
    vv = tl.zeros([BLOCK_T], dtype=ACC)
    for d0 in range(0, D, BLOCK_D):
        d = (d0 + tl.arange(0, BLOCK_D)).to(tl.int64)
        v, qd = _mochi_tile(q, neg, b, d, is_pair, valid, row0, row1, w, D, sq_b, sq_d, sn_k, sn_d, ACC)
        vv += tl.sum(v * v, 1)
        qv += tl.sum(v * qd[None, :], 1)
    res = qv / tl.maximum(tl.sqrt(vv), _EPS) * inv_t
    tl.store(out + b * S + t, res.to(out.dtype.element_ty), mask=valid)


@triton.jit
def _mochi_negatives_kernel(q, neg, hard, pair, alpha, qidx, beta, out, N, K, D, S1, S2,
                            sq_b, sq_d, sn_k, sn_d,
                            BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr, ACC: tl.constexpr):
    """h(b, t) = v / max(|v|, eps) into out (B, s + s', D): a norm pass, then a write pass."""
    b = tl.program_id(0).to(tl.int64)
    t = tl.program_id(1).to(tl.int64) * BLOCK_T + tl.arange(0, BLOCK_T)
    S = S1 + S2
    valid = t < S
    is_pair, row0, row1, w = _mochi_parents(hard, pair, alpha, qidx, beta, b, t, valid, N, K, S1, S2)
    vv = _mochi_sq_norm(q, neg, b, is_pair, valid, row0, row1, w, D, sq_b, sq_d, sn_k, sn_d,
                        BLOCK_T, BLOCK_D, ACC)
    inv = 1.0 / tl.maximum(tl.sqrt(vv), _EPS)
    for d0 in range(0, D, BLOCK_D):
        d = (d0 + tl.arange(0, BLOCK_D)).to(tl.int64)
        v, qd = _mochi_tile(q, neg, b, d, is_pair, valid, row0, row1, w, D, sq_b, sq_d, sn_k, sn_d, ACC)
        h = v * inv[:, None]
        tl.store(out + (b * S + t)[:, None] * D + d[None, :], h.to(out.dtype.element_ty),
                 mask=valid[:, None] & (d < D)[None, :])


@triton.jit
def _mochi_logits_backward_kernel(grad, q, neg, hard, pair, alpha, qidx, beta, out,
                                  N, K, D, S1, S2, sq_b, sq_d, sn_k, sn_d, inv_t,
                                  BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr, ACC: tl.constexpr):
    """d query[b, d] = sum_t grad[b, t] * h(b, t)[d] / temperature (h is a constant).
    Grid: (B, cdiv(D, BLOCK_D)); each program owns a block of columns of one query."""
    b = tl.program_id(0).to(tl.int64)
    d_own = (tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)).to(tl.int64)
    S = S1 + S2
    acc = tl.zeros([BLOCK_D], dtype=ACC)
    for t0 in range(0, S, BLOCK_T):
        t = (t0 + tl.arange(0, BLOCK_T)).to(tl.int64)
        valid = t < S
        is_pair, row0, row1, w = _mochi_parents(hard, pair, alpha, qidx, beta, b, t, valid, N, K, S1, S2)
        vv = _mochi_sq_norm(q, neg, b, is_pair, valid, row0, row1, w, D, sq_b, sq_d, sn_k, sn_d,
                            BLOCK_T, BLOCK_D, ACC)
        g = tl.load(grad + b * S + t, mask=valid, other=0.0).to(ACC)
        coef = g / tl.maximum(tl.sqrt(vv), _EPS) * inv_t
        v, qd = _mochi_tile(q, neg, b, d_own, is_pair, valid, row0, row1, w, D, sq_b, sq_d, sn_k, sn_d,
                            ACC)
        acc += tl.sum(coef[:, None] * v, 0)
    tl.store(out + b * D + d_own, acc.to(out.dtype.element_ty), mask=d_own < D)


def _acc(query, negatives):
    return tl.float64 if torch.float64 in (query.dtype, negatives.dtype) else tl.float32


def _blocks(D):
    block_d = max(16, min(128, triton.next_power_of_2(max(int(D), 1))))
    return 16, block_d


def mochi_logits(query, negatives, hard_index, pair_index, alpha, query_index, beta, temperature):
    B, D, K, N, S1, S2 = check_mochi(query, negatives, hard_index, pair_index, alpha, query_index, beta)
    inv_t = 1.0 / check_temperature(temperature)
    out = empty_output((B, S1 + S2), torch.promote_types(query.dtype, negatives.dtype), query.device)
    if out.numel() == 0:
        return out
    block_t, block_d = _blocks(D)
    grid = (B, triton.cdiv(S1 + S2, block_t))
    _mochi_logits_kernel[grid](query, negatives, hard_index, pair_index, alpha, query_index, beta, out,
                               N, K, D, S1, S2, *query.stride(), *negatives.stride(), inv_t,
                               BLOCK_T=block_t, BLOCK_D=block_d, ACC=_acc(query, negatives))
    return out


def mochi_negatives(query, negatives, hard_index, pair_index, alpha, query_index, beta):
    B, D, K, N, S1, S2 = check_mochi(query, negatives, hard_index, pair_index, alpha, query_index, beta)
    out = empty_output((B, S1 + S2, D), torch.promote_types(query.dtype, negatives.dtype), query.device)
    if out.numel() == 0:
        return out
    block_t, block_d = _blocks(D)
    grid = (B, triton.cdiv(S1 + S2, block_t))
    _mochi_negatives_kernel[grid](query, negatives, hard_index, pair_index, alpha, query_index, beta, out,
                                  N, K, D, S1, S2, *query.stride(), *negatives.stride(),
                                  BLOCK_T=block_t, BLOCK_D=block_d, ACC=_acc(query, negatives))
    return out


def mochi_logits_backward(grad, query, negatives, hard_index, pair_index, alpha, query_index, beta,
                          temperature):
    B, D, K, N, S1, S2 = check_mochi(query, negatives, hard_index, pair_index, alpha, query_index, beta)
    inv_t = 1.0 / check_temperature(temperature)
    check_grad(grad, B, S1 + S2)
    out = empty_output((B, D), query.dtype, query.device)
    if out.numel() == 0:
        return out
    if S1 + S2 == 0:
        return out.zero_()
    grad = grad.contiguous()
    block_t, block_d = _blocks(D)
    grid = (B, triton.cdiv(D, block_d))
    _mochi_logits_backward_kernel[grid](grad, query, negatives, hard_index, pair_index, alpha, query_index,
                                        beta, out, N, K, D, S1, S2, *query.stride(), *negatives.stride(),
                                        inv_t, BLOCK_T=block_t, BLOCK_D=block_d,
                                        ACC=_acc(query, negatives))
    return out
