"""MoCHi module (MoCo logits with synthetic negatives), MoCoQueue and MoCHi's samplers."""
import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu.params import uniform
from datagen_gpu.params.mixing import mochi_draws, mochi_indices
from datagen_gpu.transforms import MoCHi, MoCoQueue


def unit(*shape, gen=None, dtype=torch.float32):
    return torch.nn.functional.normalize(torch.randn(*shape, generator=gen), dim=-1).to(dtype)


def test_mochi_indices_ranges_and_distinct_parents():
    u = uniform(0, torch.arange(50), 3, mochi_draws(40, 30), torch.float64)
    pair, alpha, qidx, beta = mochi_indices(u, 7, 40, 30)
    assert pair.shape == (50, 40, 2) and alpha.shape == (50, 40) and qidx.shape == (50, 30)
    assert pair.dtype == qidx.dtype == torch.int64 and alpha.dtype == beta.dtype == torch.float32
    assert int(pair.min()) == 0 and int(pair.max()) == 6 and int(qidx.max()) == 6
    assert bool((pair[..., 0] != pair[..., 1]).all())
    assert 0 <= float(alpha.min()) and float(alpha.max()) <= 1
    assert 0 <= float(beta.min()) and float(beta.max()) < 0.5 and float(beta.max()) > 0.45
    # every position and every ordered pair of distinct positions occurs
    assert torch.bincount(pair[..., 0].flatten(), minlength=7).min() > 0
    assert torch.unique(pair[..., 0] * 7 + pair[..., 1]).numel() == 42
    one, _, _, _ = mochi_indices(u[:, :mochi_draws(3, 0)], 1, 3, 0)
    assert int(one.abs().max()) == 0


def test_queue_ring_buffer():
    q = MoCoQueue(4, 6, seed=1)
    assert q.negatives.shape == (6, 4) and len(q) == 6
    torch.testing.assert_close(q.negatives.norm(dim=1), torch.ones(6))
    assert torch.equal(MoCoQueue(4, 6, seed=1).queue, q.queue)  # reproducible start
    keys = torch.arange(40, dtype=torch.float32).view(10, 4)
    q.enqueue(keys[:4])
    assert torch.equal(q.queue[:4], keys[:4]) and int(q.ptr) == 4
    q.enqueue(keys[4:7])  # wraps around: rows 4, 5, then 0
    assert torch.equal(q.queue[4:6], keys[4:6]) and torch.equal(q.queue[0], keys[6]) and int(q.ptr) == 1
    q.dequeue_and_enqueue(keys[:10])  # more keys than slots: the last 6 remain
    assert int(q.ptr) == 5
    assert sorted(q.queue[:, 0].tolist()) == [16.0, 20.0, 24.0, 28.0, 32.0, 36.0]
    assert torch.equal(q.queue[4], keys[9])  # newest just before the pointer
    half = MoCoQueue(8, 16, dtype=torch.float16)
    half.enqueue(unit(3, 8))
    assert half.queue.dtype == torch.float16
    with pytest.raises(ValueError, match="keys"):
        half.enqueue(torch.zeros(3, 7))
    with pytest.raises(ValueError, match="size"):
        MoCoQueue(8, 0)


def test_mochi_logits_layout_and_labels():
    gen = torch.Generator().manual_seed(0)
    B, D, K = 5, 16, 40
    q, k, queue = unit(B, D, gen=gen), unit(B, D, gen=gen), unit(K, D, gen=gen)
    m = MoCHi(n_hard=8, n_mix=6, n_mix_query=3, temperature=0.1)
    (logits, labels), p = m(q, k, queue, sample_ids=torch.arange(B), return_params=True)
    assert logits.shape == (B, 1 + K + 9) and torch.equal(labels, torch.zeros(B, dtype=torch.int64))
    torch.testing.assert_close(logits[:, 0], (q * k).sum(1) / 0.1)
    torch.testing.assert_close(logits[:, 1:1 + K], q @ queue.T / 0.1)
    hard = (q @ queue.T).topk(8, dim=1).indices
    expected = R.mochi_logits(q.double(), queue.double(), hard, p["pair_index"], p["alpha"], p["query_index"],
                              p["beta"], 0.1)
    torch.testing.assert_close(logits[:, 1 + K:].double(), expected, atol=1e-5, rtol=1e-5)
    # synthetic negatives mixed from the hardest are hard: above the average queue logit
    assert float(logits[:, 1 + K:1 + K + 6].mean()) > float(logits[:, 1:1 + K].mean())
    # replay and determinism
    again = MoCHi(n_hard=8, n_mix=6, n_mix_query=3, temperature=0.1)(q, k, queue, sample_ids=torch.arange(B))
    assert torch.equal(again[0], logits)
    replay = MoCHi(n_hard=8, n_mix=6, n_mix_query=3, temperature=0.1)(q, k, queue, params=p)
    assert torch.equal(replay[0], logits)


def test_mochi_gradient_reaches_the_query_only():
    gen = torch.Generator().manual_seed(1)
    q = unit(4, 12, gen=gen).requires_grad_()
    k = unit(4, 12, gen=gen).requires_grad_()
    queue = MoCoQueue(12, 30)
    logits, labels = MoCHi(n_hard=10, n_mix=5, n_mix_query=5)(q, k, queue)
    torch.nn.functional.cross_entropy(logits, labels).backward()
    assert q.grad is not None and torch.isfinite(q.grad).all() and k.grad is None
    # the gradient of the synthetic part equals the reference with detached negatives
    q2 = q.detach().clone().requires_grad_()
    m = MoCHi(n_hard=10, n_mix=5, n_mix_query=5)
    (logits2, _), p = m(q2, k.detach(), queue, sample_ids=torch.arange(4), return_params=True)
    logits2[:, 31:].sum().backward()
    q3 = q.detach().double().requires_grad_()
    hard = (q.detach() @ queue.negatives.T).topk(10, dim=1).indices
    R.mochi_logits(q3, queue.negatives.double(), hard, p["pair_index"], p["alpha"], p["query_index"], p["beta"],
                   0.2).sum().backward()
    torch.testing.assert_close(q2.grad.double(), q3.grad, atol=1e-5, rtol=1e-5)


def test_mochi_edge_cases():
    gen = torch.Generator().manual_seed(2)
    q, k = unit(3, 10, gen=gen), unit(3, 10, gen=gen)
    small = unit(4, 10, gen=gen)
    logits, _ = MoCHi(n_hard=1024, n_mix=7, n_mix_query=2)(q, k, small)  # N > K: N = K
    assert logits.shape == (3, 1 + 4 + 9) and torch.isfinite(logits).all()
    assert MoCHi(n_mix=0, n_mix_query=3)(q, k, small)[0].shape == (3, 8)
    assert MoCHi(n_mix=3, n_mix_query=0)(q, k, small)[0].shape == (3, 8)
    assert MoCHi(n_mix=0, n_mix_query=0)(q, k, small)[0].shape == (3, 5)
    # half precision queue, float32 queries
    half = MoCoQueue(10, 33, dtype=torch.float16)
    logits, _ = MoCHi(n_hard=16, n_mix=4, n_mix_query=4)(q, k, half)
    assert logits.dtype == torch.float32 and logits.shape == (3, 1 + 33 + 8)
    # eval mode and warmup leave the synthetic negatives out
    m = MoCHi(n_hard=4, n_mix=2, n_mix_query=2, warmup_steps=2)
    assert m(q, k, small)[0].shape == (3, 5) and m(q, k, small)[0].shape == (3, 5)
    assert m(q, k, small)[0].shape == (3, 9)
    m.eval()
    assert m(q, k, small)[0].shape == (3, 5)
    # empty batch
    assert MoCHi(n_hard=4, n_mix=2, n_mix_query=2)(q[:0], k[:0], small)[0].shape == (0, 9)


def test_mochi_module_errors():
    q = unit(2, 8)
    with pytest.raises(ValueError, match="n_hard"):
        MoCHi(n_hard=0)
    with pytest.raises(ValueError, match="n_mix"):
        MoCHi(n_mix=-1)
    with pytest.raises(ValueError, match="temperature"):
        MoCHi(temperature=0)
    with pytest.raises(ValueError, match="key"):
        MoCHi()(q, q[:1], unit(5, 8))
    with pytest.raises(ValueError, match="queue"):
        MoCHi()(q, q, unit(5, 7))
    with pytest.raises(ValueError, match="query"):
        MoCHi()(q[0], q, unit(5, 8))


def test_functional_detaches_the_synthetic_points():
    q = unit(2, 8).requires_grad_()
    queue = unit(6, 8)
    hard = torch.tensor([[0, 1, 2], [3, 4, 5]])
    h = F.mochi_negatives(q, queue, hard, torch.tensor([[[0, 1]], [[1, 2]]]), torch.tensor([[0.5], [0.5]]),
                          torch.tensor([[0], [2]]), torch.tensor([[0.3], [0.1]]))
    assert not h.requires_grad
