"""MoCHi ops (mochi_negatives, fused mochi_logits, its backward) against the reference."""
import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu.testing import poison_outputs

from _backends import HAS_TRITON, run_op, skip_unsupported

# (B, D, K, N, s, s'): D not a power of two and above one Triton block, K odd,
# s = 0, s' = 0, N = 1, N = K.
CASES = [(3, 37, 51, 8, 5, 4), (2, 130, 17, 17, 3, 0), (2, 16, 9, 1, 0, 3), (1, 5, 3, 2, 2, 2)]
# (query dtype, queue dtype) -> (atol, rtol) on logits / unit vectors
DTYPE_PAIRS = {
    (torch.float64, torch.float64): (1e-12, 1e-12),
    (torch.float32, torch.float32): (2e-6, 1e-5),
    (torch.float32, torch.float16): (2e-6, 1e-5),
    (torch.float16, torch.float16): (2e-3, 2e-3),
    (torch.bfloat16, torch.bfloat16): (1e-2, 1e-2),
}


def unit(shape, gen, dtype=torch.float32):
    return torch.nn.functional.normalize(torch.randn(shape, generator=gen, dtype=torch.float64), dim=-1).to(dtype)


def mochi_inputs(B, D, K, N, s, s2, gen, q_dtype=torch.float32, n_dtype=torch.float32):
    q = unit((B, D), gen, q_dtype)
    queue = unit((K, D), gen, n_dtype)
    hard = torch.stack([torch.randperm(K, generator=gen)[:N] for _ in range(B)])
    pair = torch.randint(0, N, (B, s, 2), generator=gen)
    alpha = torch.rand(B, s, generator=gen)
    qidx = torch.randint(0, N, (B, s2), generator=gen)
    beta = torch.rand(B, s2, generator=gen) * 0.5
    return q, queue, hard, pair, alpha, qidx, beta


def run_or_skip(backend, name, *args):
    dtypes = [a.dtype for a in args if isinstance(a, torch.Tensor)]
    skip_unsupported(backend, *dtypes)
    return run_op(backend, name, *args)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtypes", list(DTYPE_PAIRS))
def test_mochi_negatives_matches_reference(backend, case, dtypes, gen):
    args = mochi_inputs(*case, gen, *dtypes)
    before = [a.clone() for a in args]
    with poison_outputs():
        h = run_or_skip(backend, "mochi_negatives", *args)
    B, D, K, N, s, s2 = case
    assert h.shape == (B, s + s2, D) and h.dtype == torch.promote_types(*dtypes)
    ref = R.mochi_negatives(*[a.double() if a.is_floating_point() else a for a in args])
    atol, rtol = DTYPE_PAIRS[dtypes]
    torch.testing.assert_close(h.double(), ref, atol=atol, rtol=rtol)
    for a, b in zip(args, before):
        assert torch.equal(a, b)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtypes", list(DTYPE_PAIRS))
def test_mochi_logits_matches_reference(backend, case, dtypes, gen):
    args = mochi_inputs(*case, gen, *dtypes)
    with poison_outputs():
        logits = run_or_skip(backend, "mochi_logits", *args, 0.2)
    B, D, K, N, s, s2 = case
    assert logits.shape == (B, s + s2) and logits.dtype == torch.promote_types(*dtypes)
    ref = R.mochi_logits(*[a.double() if a.is_floating_point() else a for a in args], 0.2)
    atol, rtol = DTYPE_PAIRS[dtypes]
    torch.testing.assert_close(logits.double(), ref, atol=atol * 5, rtol=rtol)


def test_fused_logits_equal_dot_with_materialized_negatives(backend, gen):
    args = mochi_inputs(4, 24, 40, 10, 6, 5, gen)
    skip_unsupported(backend)
    h = run_op(backend, "mochi_negatives", *args)
    logits = run_op(backend, "mochi_logits", *args, 0.07)
    torch.testing.assert_close(logits, torch.einsum("bd,bsd->bs", args[0], h) / 0.07, atol=1e-5, rtol=1e-5)


def test_synthetic_points_are_unit_and_between_their_parents(gen):
    B, D, K, N, s, s2 = 3, 20, 30, 6, 7, 5
    q, queue, hard, pair, alpha, qidx, beta = mochi_inputs(B, D, K, N, s, s2, gen, torch.float64, torch.float64)
    h = F.mochi_negatives(q, queue, hard, pair, alpha, qidx, beta)
    torch.testing.assert_close(h.norm(dim=-1), torch.ones(B, s + s2, dtype=torch.float64))
    for b in range(B):
        for t in range(s + s2):
            if t < s:
                p1, p2 = queue[hard[b, pair[b, t, 0]]], queue[hard[b, pair[b, t, 1]]]
                w = float(alpha[b, t])
            else:
                p1, p2 = q[b], queue[hard[b, qidx[b, t - s]]]
                w = float(beta[b, t - s])
            if torch.equal(p1, p2):  # both parents the same negative
                torch.testing.assert_close(h[b, t], p1)
                continue
            # h = c * (w * p1 + (1 - w) * p2) with c > 0: solve h = x * p1 + y * p2
            basis = torch.stack([p1, p2], 1)
            coef = torch.linalg.lstsq(basis, h[b, t].unsqueeze(1)).solution.squeeze(1)
            torch.testing.assert_close(basis @ coef, h[b, t], atol=1e-10, rtol=0)
            assert coef.min() >= -1e-10
            torch.testing.assert_close(coef[0] / coef.sum(), torch.tensor(w, dtype=torch.float64))


def test_mochi_logits_gradcheck_float64():
    gen = torch.Generator().manual_seed(0)
    # pair mixes only: then the op's gradient is the exact derivative of its output
    q, queue, hard, pair, alpha, qidx, beta = mochi_inputs(3, 7, 12, 5, 4, 0, gen, torch.float64, torch.float64)
    q.requires_grad_()
    fn = lambda q_: F.mochi_logits(q_, queue, hard, pair, alpha, qidx, beta, temperature=0.5)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (q,))


@pytest.mark.parametrize("dtypes", [(torch.float64, torch.float64), (torch.float32, torch.float16)])
def test_mochi_logits_gradient_matches_reference(backend, dtypes, gen):
    """With query mixes the synthetic points are constants (detached query): grad = sum_t g_t h_t / T."""
    args = list(mochi_inputs(3, 19, 25, 6, 4, 3, gen, *dtypes))
    skip_unsupported(backend)
    grad = torch.randn(3, 7, generator=gen, dtype=dtypes[0])
    if backend == "cpu":
        q = args[0].clone().requires_grad_()
        F.mochi_logits(q, *args[1:], temperature=0.3).backward(grad)
        got = q.grad
    else:
        got = run_op(backend, "mochi_logits_backward", grad, *args, 0.3)
    q_ref = args[0].double().requires_grad_()
    ref_args = [a.double() if a.is_floating_point() else a for a in args[1:]]
    R.mochi_logits(q_ref, *ref_args, 0.3).backward(grad.double())
    assert got.dtype == dtypes[0]
    torch.testing.assert_close(got.double(), q_ref.grad, atol=1e-5, rtol=1e-5)


def test_mochi_backward_kernels_agree(gen):
    if not HAS_TRITON:
        pytest.skip("triton is not installed")
    args = mochi_inputs(2, 150, 20, 7, 3, 2, gen)
    grad = torch.randn(2, 5, generator=gen)
    torch.testing.assert_close(run_op("triton", "mochi_logits_backward", grad, *args, 0.2),
                               run_op("cpu", "mochi_logits_backward", grad, *args, 0.2), atol=1e-5, rtol=1e-5)


def test_mochi_queue_with_strides_and_empty_cases(gen):
    q, queue, hard, pair, alpha, qidx, beta = mochi_inputs(3, 12, 20, 6, 3, 2, gen)
    transposed = queue.t().contiguous().t()  # (K, D) view with strides (1, K), as MoCo's (D, K) queue
    torch.testing.assert_close(F.mochi_logits(q, transposed, hard, pair, alpha, qidx, beta),
                               F.mochi_logits(q, queue, hard, pair, alpha, qidx, beta))
    if HAS_TRITON:
        torch.testing.assert_close(run_op("triton", "mochi_logits", q, transposed, hard, pair, alpha, qidx, beta, 0.2),
                                   F.mochi_logits(q, queue, hard, pair, alpha, qidx, beta), atol=1e-6, rtol=1e-5)
    e = lambda *shape, dtype=torch.int64: torch.zeros(shape, dtype=dtype)  # noqa: E731
    # no synthetic points at all
    out = F.mochi_logits(q, queue, hard, e(3, 0, 2), e(3, 0, dtype=torch.float32), e(3, 0),
                         e(3, 0, dtype=torch.float32))
    assert out.shape == (3, 0)
    # empty batch
    out = F.mochi_negatives(q[:0], queue, hard[:0], pair[:0], alpha[:0], qidx[:0], beta[:0])
    assert out.shape == (0, 5, 12)
    # backward with nothing to mix is zero
    g = torch.ops.datagen_gpu.mochi_logits_backward(torch.zeros(3, 0), q, queue, hard, e(3, 0, 2),
                                                    e(3, 0, dtype=torch.float32), e(3, 0),
                                                    e(3, 0, dtype=torch.float32), 0.2)
    assert torch.equal(g, torch.zeros(3, 12))


def test_mochi_errors(gen):
    q, queue, hard, pair, alpha, qidx, beta = mochi_inputs(2, 8, 10, 4, 3, 2, gen)
    f = F.mochi_logits
    with pytest.raises(ValueError, match="query"):
        f(q[0], queue, hard, pair, alpha, qidx, beta)
    with pytest.raises(TypeError, match="query"):
        f(q.int(), queue, hard, pair, alpha, qidx, beta)
    with pytest.raises(ValueError, match="negatives"):
        f(q, queue[:, :5], hard, pair, alpha, qidx, beta)
    with pytest.raises(TypeError, match="negatives"):
        f(q, queue.int(), hard, pair, alpha, qidx, beta)
    with pytest.raises(ValueError, match="hard_index"):
        f(q, queue, hard[:1], pair, alpha, qidx, beta)
    with pytest.raises(ValueError, match="hard_index"):
        f(q, queue, hard + 10, pair, alpha, qidx, beta)
    with pytest.raises(TypeError, match="hard_index"):
        f(q, queue, hard.float(), pair, alpha, qidx, beta)
    with pytest.raises(ValueError, match="pair_index"):
        f(q, queue, hard, pair[..., :1], alpha, qidx, beta)
    with pytest.raises(ValueError, match="pair_index"):
        f(q, queue, hard, pair + 4, alpha, qidx, beta)
    with pytest.raises(ValueError, match="alpha"):
        f(q, queue, hard, pair, alpha[:, :2], qidx, beta)
    with pytest.raises(ValueError, match="alpha"):
        f(q, queue, hard, pair, alpha + 1.5, qidx, beta)
    with pytest.raises(TypeError, match="alpha"):
        f(q, queue, hard, pair, (alpha > 0.5), qidx, beta)
    with pytest.raises(ValueError, match="query_index"):
        f(q, queue, hard, pair, alpha, qidx - 1 - qidx.max(), beta)
    with pytest.raises(ValueError, match="beta"):
        f(q, queue, hard, pair, alpha, qidx, beta[:1])
    with pytest.raises(ValueError, match="temperature"):
        f(q, queue, hard, pair, alpha, qidx, beta, temperature=0.0)
    with pytest.raises(ValueError, match="hard_index"):
        f(q, queue, hard[:, :0], pair, alpha, qidx, beta)
    # the ops check shapes and dtypes too (C++ and Triton)
    for backend in ["cpu"] + (["triton"] if HAS_TRITON else []):
        with pytest.raises(TypeError, match="alpha"):
            run_op(backend, "mochi_logits", q, queue, hard, pair, alpha.double(), qidx, beta, 0.2)
        with pytest.raises(ValueError, match="query_index"):
            run_op(backend, "mochi_negatives", q, queue, hard, pair, alpha, qidx[:, :1].t(), beta)
        with pytest.raises(ValueError, match="temperature"):
            run_op(backend, "mochi_logits", q, queue, hard, pair, alpha, qidx, beta, -1.0)
        with pytest.raises(ValueError, match="grad"):
            run_op(backend, "mochi_logits_backward", torch.ones(2, 4), q, queue, hard, pair, alpha, qidx, beta, 0.2)


def test_mochi_kernels_clamp_out_of_range_indices(gen):
    """Index values are validated in Python on CPU only; the kernels stay memory-safe for any value."""
    q, queue, hard, pair, alpha, qidx, beta = mochi_inputs(2, 8, 10, 4, 3, 2, gen)
    bad = torch.ops.datagen_gpu.mochi_negatives(q, queue, hard * 1000 - 5000, pair + 100, alpha, qidx - 100, beta)
    assert torch.isfinite(bad).all()


def test_mochi_opcheck(gen):
    q, queue, hard, pair, alpha, qidx, beta = mochi_inputs(2, 9, 11, 4, 3, 2, gen)
    torch.library.opcheck(torch.ops.datagen_gpu.mochi_negatives.default, (q, queue, hard, pair, alpha, qidx, beta))
    qg = q.double().requires_grad_()
    args = (qg, queue.double(), hard, pair, alpha, qidx, beta, 0.2)
    torch.library.opcheck(torch.ops.datagen_gpu.mochi_logits.default, args)
    torch.library.opcheck(torch.ops.datagen_gpu.mochi_logits.default,
                          (q, queue.half(), hard, pair, alpha, qidx, beta, 0.1))
    torch.library.opcheck(torch.ops.datagen_gpu.mochi_logits_backward.default,
                          (torch.randn(2, 5), q, queue, hard, pair, alpha, qidx, beta, 0.2))


# Queue layouts (issue 12). (B, D, K, N, s, s'): s + s' = 18 > BLOCK_T = 16; D = 131 > BLOCK_D = 128
# (the backward's coefficient kernel) and D = 37 (one D block); odd D and K; K and D > 64 (the
# transpose copy's tiles). Rows gathered B * (2s + s') vs K: >= K copies a transposed queue, < K
# reads it in place.
LAYOUT_CASES = {
    "D131-copy": (3, 131, 67, 9, 11, 7),      # 87 rows >= 67
    "D131-inplace": (2, 131, 67, 9, 11, 7),   # 58 rows < 67
    "D37-copy": (3, 37, 71, 8, 12, 6),        # 90 rows >= 71
    "D37-inplace": (3, 37, 97, 8, 12, 6),     # 90 rows < 97
}
# (query dtype, queue dtype): every dtype the ops take, mixed ones too
LAYOUT_DTYPES = [(torch.float64, torch.float64), (torch.float32, torch.float32), (torch.float32, torch.float16),
                 (torch.float16, torch.float32), (torch.float16, torch.float16), (torch.bfloat16, torch.bfloat16),
                 (torch.float32, torch.bfloat16)]
# relative tolerance by output dtype (the output rounding; the Triton interpreter truncates bfloat16)
OUT_RTOL = {torch.float64: 1e-12, torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


def _close(got, ref, dtype):
    assert got.dtype == dtype
    tol = OUT_RTOL[dtype]
    torch.testing.assert_close(got.double(), ref, rtol=tol, atol=tol * max(float(ref.abs().max()), 1e-6))


def _transposed(queue):
    """MoCo's (D, K) buffer seen as (K, D): strides (1, K)."""
    t = queue.t().contiguous().t()
    assert t.stride() == (1, queue.shape[0]) and torch.equal(t, queue)
    return t


@pytest.mark.parametrize("layout", ["row-major", "transposed"])
@pytest.mark.parametrize("dtypes", LAYOUT_DTYPES, ids=lambda d: f"{d[0]}-{d[1]}".replace("torch.", ""))
@pytest.mark.parametrize("case", list(LAYOUT_CASES))
@pytest.mark.parametrize("be", ["cpu", "triton"])
def test_mochi_queue_layouts_forward_backward(be, case, dtypes, layout, gen):
    """negatives, logits and the backward on both queue layouts against the float64 reference
    (C++ and Triton on the interpreter); on Triton the transposed queue, copied or read in place,
    gives bit-identical results to the row-major one."""
    if be == "triton" and not HAS_TRITON:
        pytest.skip("triton is not installed")
    B, D, K, N, s, s2 = LAYOUT_CASES[case]
    args = list(mochi_inputs(B, D, K, N, s, s2, gen, *dtypes))
    row_major = list(args)
    if layout == "transposed":
        args[1] = _transposed(args[1])
    grad = torch.randn(B, s + s2, generator=gen).to(dtypes[0])
    with poison_outputs():
        h = run_op(be, "mochi_negatives", *args)
        logits = run_op(be, "mochi_logits", *args, 0.3)
        dq = run_op(be, "mochi_logits_backward", grad, *args, 0.3)
    ref_args = [a.double() if a.is_floating_point() else a for a in row_major]
    h_ref = R.mochi_negatives(*ref_args)
    out = torch.promote_types(*dtypes)
    _close(h, h_ref, out)
    _close(logits, torch.einsum("bd,bsd->bs", ref_args[0], h_ref) / 0.3, out)
    _close(dq, torch.einsum("bs,bsd->bd", grad.double(), h_ref) / 0.3, dtypes[0])
    if be == "triton" and layout == "transposed":
        assert torch.equal(h, run_op(be, "mochi_negatives", *row_major))
        assert torch.equal(logits, run_op(be, "mochi_logits", *row_major, 0.3))
        assert torch.equal(dq, run_op(be, "mochi_logits_backward", grad, *row_major, 0.3))


def test_mochi_transposed_queue_copy_decision(gen):
    """A queue with contiguous rows is read in place; another is copied row-major only when the
    launch gathers at least K rows; the copy (Triton transpose kernel, tiles > 1 on both axes,
    any strides) is exact."""
    if not HAS_TRITON:
        pytest.skip("triton is not installed")
    from datagen_gpu.kernels import mochi as K_

    queue = torch.randn(131, 67, generator=gen)
    t = _transposed(queue)
    assert not K_._copy_pays(queue, 10**6)
    assert not K_._copy_pays(queue[:, :50], 10**6)  # rows contiguous, padded: in place
    assert K_._copy_pays(t, 131) and not K_._copy_pays(t, 130)
    assert not K_._copy_pays(t[:, :1], 10**6)  # D = 1: a column is contiguous
    for src in (t, queue[::2, ::3], t.half(), _transposed(queue.double())[5:, 1:]):
        copy = K_._row_major(src)
        assert copy.is_contiguous() and copy.dtype == src.dtype and torch.equal(copy, src)
    assert K_._gather_source(t, 100, 1, 0) is not t  # 200 rows >= 131: copied
    assert K_._gather_source(t, 10, 1, 4) is t       # 60 rows: in place


def test_mochi_codegen_benchmark_compiles_for_sm90():
    """benchmarks/mochi_codegen.py's tiny run: the launchers' kernels compile for sm_90 (no GPU)."""
    if not HAS_TRITON:
        pytest.skip("triton is not installed")
    import importlib.util
    import os
    from pathlib import Path

    import triton

    try:
        from triton.backends.compiler import GPUTarget
        from triton.compiler import make_backend
        make_backend(GPUTarget("cuda", 90, 32))
        tools = [triton.knobs.nvidia.ptxas_blackwell.path, triton.knobs.nvidia.cuobjdump.path]
    except Exception as e:  # noqa: BLE001 - no CUDA backend / toolchain in this triton build
        pytest.skip(f"triton cannot compile for CUDA here: {e}")
    if not all(p and os.path.exists(p) for p in tools):
        pytest.skip("triton's bundled ptxas / cuobjdump are missing")
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "mochi_codegen.py"
    spec = importlib.util.spec_from_file_location("mochi_codegen", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.test_codegen_tiny()
