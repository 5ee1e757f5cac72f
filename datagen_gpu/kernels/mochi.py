"""Triton MoCHi kernels (Kalantidis et al., "Hard Negative Mixing for
Contrastive Learning", NeurIPS 2020): synthetic hard negatives, their fused
logits and the logits' gradient with respect to the query.

For query b and synthetic point t (s pair mixes first, then s' query mixes):

    n(b, p) = negatives[hard_index[b, p]]
    t < s:   v = alpha[b, t] * n(b, pair_index[b, t, 0]) + (1 - alpha[b, t]) * n(b, pair_index[b, t, 1])
    t >= s:  v = beta[b, u] * query[b] + (1 - beta[b, u]) * n(b, query_index[b, u]),  u = t - s
    h = v / max(|v|, 1e-12);   logit = query[b] . h / temperature

Arithmetic in float32 (float64 when query or negatives is float64); indices
are clamped into range, so every value is memory-safe.

Queue layout. The kernels gather whole rows of the queue in a random order
(hard_index), so only a queue whose rows are contiguous (stride(1) == 1) can
be read with coalesced, vectorized loads: then a warp reads a row's D values
as 16-byte vectors. MoCo keeps its queue as (D, K), i.e. a (K, D) view with
strides (1, K): a gathered row is D values K apart, one 32-byte sector per
value, and no tile orientation helps, since the contiguous axis is the row
axis and the rows are not consecutive. So a launcher that will gather at
least K rows (B * (2s + s') >= K) first makes a row-major copy with
``_mochi_transpose_kernel`` (coalesced reads along K, coalesced writes along
D, K * D elements each way), and below that threshold reads the queue in place.
"""
import torch
import triton
import triton.language as tl

from .._checks.mixing import check_grad, check_mochi, check_temperature
from .._debug import empty_output

_EPS = tl.constexpr(1e-12)
_BLOCK_T = 16
_TRANSPOSE_BLOCK = 64


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
    """(BLOCK_T, BLOCK_D) tile of the unnormalized points v over columns d, and q[b, d].
    With sn_d == 1 (Triton specializes it) a tile row is contiguous: vector loads."""
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
def _mochi_transpose_kernel(src, dst, K, D, s_k, s_d, BLOCK_K: tl.constexpr, BLOCK_D: tl.constexpr):
    """dst[k, d] = src[k, d], dst row-major (K, D). For MoCo's queue (s_k == 1)
    the tile is read along K and written along D, both coalesced; Triton moves
    it between the two register layouts through shared memory.
    Grid: (cdiv(K, BLOCK_K), cdiv(D, BLOCK_D))."""
    k = (tl.program_id(0) * BLOCK_K + tl.arange(0, BLOCK_K)).to(tl.int64)
    d = (tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)).to(tl.int64)
    m = (k < K)[:, None] & (d < D)[None, :]
    x = tl.load(src + k[:, None] * s_k + d[None, :] * s_d, mask=m)
    tl.store(dst + k[:, None] * D + d[None, :], x, mask=m)


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
                            BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr, ACC: tl.constexpr,
                            ONE_BLOCK: tl.constexpr):
    """h(b, t) = v / max(|v|, eps) into out (B, s + s', D). ONE_BLOCK (D <= BLOCK_D):
    one gather, the norm and the write from the same registers; otherwise a norm
    pass, then a write pass. Grid: (B, cdiv(s + s', BLOCK_T))."""
    b = tl.program_id(0).to(tl.int64)
    t = tl.program_id(1).to(tl.int64) * BLOCK_T + tl.arange(0, BLOCK_T)
    S = S1 + S2
    valid = t < S
    is_pair, row0, row1, w = _mochi_parents(hard, pair, alpha, qidx, beta, b, t, valid, N, K, S1, S2)
    if ONE_BLOCK:
        d = tl.arange(0, BLOCK_D).to(tl.int64)
        v, qd = _mochi_tile(q, neg, b, d, is_pair, valid, row0, row1, w, D, sq_b, sq_d, sn_k, sn_d, ACC)
        inv = 1.0 / tl.maximum(tl.sqrt(tl.sum(v * v, 1)), _EPS)
        tl.store(out + (b * S + t)[:, None] * D + d[None, :], (v * inv[:, None]).to(out.dtype.element_ty),
                 mask=valid[:, None] & (d < D)[None, :])
    else:
        vv = _mochi_sq_norm(q, neg, b, is_pair, valid, row0, row1, w, D, sq_b, sq_d, sn_k, sn_d,
                            BLOCK_T, BLOCK_D, ACC)
        inv = 1.0 / tl.maximum(tl.sqrt(vv), _EPS)
        for d0 in range(0, D, BLOCK_D):
            d = (d0 + tl.arange(0, BLOCK_D)).to(tl.int64)
            v, qd = _mochi_tile(q, neg, b, d, is_pair, valid, row0, row1, w, D, sq_b, sq_d, sn_k, sn_d, ACC)
            tl.store(out + (b * S + t)[:, None] * D + d[None, :], (v * inv[:, None]).to(out.dtype.element_ty),
                     mask=valid[:, None] & (d < D)[None, :])


@triton.jit
def _mochi_backward_coef_kernel(grad, q, neg, hard, pair, alpha, qidx, beta, coef, N, K, D, S1, S2,
                                sq_b, sq_d, sn_k, sn_d, inv_t,
                                BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr, ACC: tl.constexpr):
    """coef[b, t] = grad[b, t] / max(|v(b, t)|, eps) / temperature: the backward's
    norm, once per (query, synthetic point), one pass over D (used when D > BLOCK_D).
    Grid: (B, cdiv(s + s', BLOCK_T))."""
    b = tl.program_id(0).to(tl.int64)
    t = tl.program_id(1).to(tl.int64) * BLOCK_T + tl.arange(0, BLOCK_T)
    S = S1 + S2
    valid = t < S
    is_pair, row0, row1, w = _mochi_parents(hard, pair, alpha, qidx, beta, b, t, valid, N, K, S1, S2)
    vv = _mochi_sq_norm(q, neg, b, is_pair, valid, row0, row1, w, D, sq_b, sq_d, sn_k, sn_d,
                        BLOCK_T, BLOCK_D, ACC)
    g = tl.load(grad + b * S + t, mask=valid, other=0.0).to(ACC)
    tl.store(coef + b * S + t, g / tl.maximum(tl.sqrt(vv), _EPS) * inv_t, mask=valid)


@triton.jit
def _mochi_logits_backward_kernel(weight, q, neg, hard, pair, alpha, qidx, beta, out,
                                  N, K, D, S1, S2, sq_b, sq_d, sn_k, sn_d, inv_t,
                                  BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr, ACC: tl.constexpr,
                                  ONE_BLOCK: tl.constexpr):
    """d query[b, d] = sum_t grad[b, t] * h(b, t)[d] / temperature (h is a constant).
    ONE_BLOCK (D <= BLOCK_D): weight is grad; each tile is gathered once and gives
    both |v| and the weighted sum. Otherwise weight is the coefficient
    grad / |v| / temperature from _mochi_backward_coef_kernel, and each program
    gathers only its own columns: every row is read once per kernel.
    Grid: (B, cdiv(D, BLOCK_D)); each program owns a block of columns of one query."""
    b = tl.program_id(0).to(tl.int64)
    d_own = (tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)).to(tl.int64)
    S = S1 + S2
    acc = tl.zeros([BLOCK_T, BLOCK_D], dtype=ACC)  # reduced over t once, after the loop
    for t0 in range(0, S, BLOCK_T):
        t = (t0 + tl.arange(0, BLOCK_T)).to(tl.int64)
        valid = t < S
        is_pair, row0, row1, w = _mochi_parents(hard, pair, alpha, qidx, beta, b, t, valid, N, K, S1, S2)
        v, qd = _mochi_tile(q, neg, b, d_own, is_pair, valid, row0, row1, w, D, sq_b, sq_d, sn_k, sn_d,
                            ACC)
        c = tl.load(weight + b * S + t, mask=valid, other=0.0).to(ACC)
        if ONE_BLOCK:
            c = c / tl.maximum(tl.sqrt(tl.sum(v * v, 1)), _EPS) * inv_t
        acc += c[:, None] * v
    tl.store(out + b * D + d_own, tl.sum(acc, 0).to(out.dtype.element_ty), mask=d_own < D)


def _acc(query, negatives):
    return tl.float64 if torch.float64 in (query.dtype, negatives.dtype) else tl.float32


def _blocks(D):
    block_d = max(16, min(128, triton.next_power_of_2(max(int(D), 1))))
    return _BLOCK_T, block_d


def _gathered_rows(B, S1, S2):
    """Queue rows one pass of the kernels gathers: two per pair mix, one per query mix."""
    return B * (2 * S1 + S2)


def _copy_pays(negatives, rows):
    """Whether to gather ``rows`` rows from a row-major copy of ``negatives`` rather than in place.

    A queue with contiguous rows is always read in place. Otherwise every value
    of a gathered row costs a 32-byte sector of its own (the gathered rows are
    random: the other values of the sector are not used), ``rows * D`` sectors,
    against ``(2 K + rows) * D * itemsize / 32`` with the copy (read + write of
    K x D, then a coalesced gather): a break-even at rows = 2K/7 in float32
    (2K/15 in 16-bit, 2K/3 in float64). The copy is made from rows >= K, where
    it already moves 2.7x fewer sectors in float32 (5.3x in 16-bit, 1.3x in
    float64; up to 32 / itemsize as rows grow), because the sector count leaves
    out costs of the copy: a K x D temporary and, when the queue fits in L2,
    DRAM traffic the in-place gather would not make.
    """
    K, D = negatives.shape
    return negatives.stride(1) != 1 and D > 1 and K > 0 and rows >= K


def _row_major(negatives):
    """A row-major (K, D) copy of the queue, read along its contiguous axis."""
    K, D = negatives.shape
    out = torch.empty((K, D), dtype=negatives.dtype, device=negatives.device)
    grid = (triton.cdiv(K, _TRANSPOSE_BLOCK), triton.cdiv(D, _TRANSPOSE_BLOCK))
    _mochi_transpose_kernel[grid](negatives, out, K, D, *negatives.stride(),
                                  BLOCK_K=_TRANSPOSE_BLOCK, BLOCK_D=_TRANSPOSE_BLOCK)
    return out


def _gather_source(negatives, B, S1, S2):
    """The queue the gather kernels read: ``negatives`` itself, or its row-major copy."""
    if _copy_pays(negatives, _gathered_rows(B, S1, S2)):
        return _row_major(negatives)
    return negatives


def mochi_logits(query, negatives, hard_index, pair_index, alpha, query_index, beta, temperature):
    B, D, K, N, S1, S2 = check_mochi(query, negatives, hard_index, pair_index, alpha, query_index, beta)
    inv_t = 1.0 / check_temperature(temperature)
    out = empty_output((B, S1 + S2), torch.promote_types(query.dtype, negatives.dtype), query.device)
    if out.numel() == 0:
        return out
    neg = _gather_source(negatives, B, S1, S2)
    block_t, block_d = _blocks(D)
    grid = (B, triton.cdiv(S1 + S2, block_t))
    _mochi_logits_kernel[grid](query, neg, hard_index, pair_index, alpha, query_index, beta, out,
                               N, K, D, S1, S2, *query.stride(), *neg.stride(), inv_t,
                               BLOCK_T=block_t, BLOCK_D=block_d, ACC=_acc(query, negatives))
    return out


def mochi_negatives(query, negatives, hard_index, pair_index, alpha, query_index, beta):
    B, D, K, N, S1, S2 = check_mochi(query, negatives, hard_index, pair_index, alpha, query_index, beta)
    out = empty_output((B, S1 + S2, D), torch.promote_types(query.dtype, negatives.dtype), query.device)
    if out.numel() == 0:
        return out
    neg = _gather_source(negatives, B, S1, S2)
    block_t, block_d = _blocks(D)
    grid = (B, triton.cdiv(S1 + S2, block_t))
    _mochi_negatives_kernel[grid](query, neg, hard_index, pair_index, alpha, query_index, beta, out,
                                  N, K, D, S1, S2, *query.stride(), *neg.stride(),
                                  BLOCK_T=block_t, BLOCK_D=block_d, ACC=_acc(query, negatives),
                                  ONE_BLOCK=D <= block_d)
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
    neg = _gather_source(negatives, B, S1, S2)
    acc = _acc(query, negatives)
    block_t, block_d = _blocks(D)
    one_block = D <= block_d
    args = (query, neg, hard_index, pair_index, alpha, query_index, beta)
    sizes = (N, K, D, S1, S2, *query.stride(), *neg.stride(), inv_t)
    weight = grad
    if not one_block:
        # the norms once per (query, synthetic point): (B, s + s') coefficients
        weight = torch.empty((B, S1 + S2), dtype=torch.float64 if acc == tl.float64 else torch.float32,
                             device=query.device)
        _mochi_backward_coef_kernel[(B, triton.cdiv(S1 + S2, block_t))](
            grad, *args, weight, *sizes, BLOCK_T=block_t, BLOCK_D=block_d, ACC=acc)
    _mochi_logits_backward_kernel[(B, triton.cdiv(D, block_d))](
        weight, *args, out, *sizes, BLOCK_T=block_t, BLOCK_D=block_d, ACC=acc, ONE_BLOCK=one_block)
    return out
