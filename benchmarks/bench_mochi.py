"""MoCHi benchmark: the fused logits kernel against the reference that materializes h.

Issue 4's setting: B=256 queries, a K=65536 x D=128 float32 queue, the N=1024
hardest negatives per query, s = s' = 256 synthetic negatives per query.

    python benchmarks/bench_mochi.py [--quick]           # one table, ratios from the same run
    python -m pytest benchmarks/bench_mochi.py --benchmark-enable

Members (pytest-benchmark group ``mochi_logits`` / ``mochi_backward``):

- ``fused``: ``functional.mochi_logits`` (C++: gather, mix, normalize and dot
  per synthetic point in one pass over D; h never exists);
- ``reference``: ``reference.mochi_logits`` in float32, the plain-PyTorch
  code a user writes (gather the parents, mix, normalize, bmm), imported
  from the project's reference as the baseline;
- ``materialized``: our own ``mochi_negatives`` kernel followed by a bmm;
- backward: the fused ``mochi_logits_backward`` against autograd through the
  reference.

Without ``--benchmark-enable`` (the project's default) each case runs once.
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402

import datagen_gpu  # noqa: E402,F401
from datagen_gpu import functional as F  # noqa: E402
from datagen_gpu import reference as R  # noqa: E402
from datagen_gpu.bench.timing import best_ms  # noqa: E402
from datagen_gpu.params import uniform  # noqa: E402
from datagen_gpu.params.mixing import mochi_draws, mochi_indices  # noqa: E402

FULL = dict(B=256, K=65536, D=128, N=1024, s=256, s2=256)
QUICK = dict(B=64, K=8192, D=128, N=256, s=64, s2=64)
TEMPERATURE = 0.2


def make_inputs(B, K, D, N, s, s2, dtype=torch.float32, seed=0):
    """Unit queries and queue, each query's N hardest negatives, MoCHi's random choices."""
    g = torch.Generator().manual_seed(seed)
    q = torch.nn.functional.normalize(torch.randn(B, D, generator=g), dim=1)
    queue = torch.nn.functional.normalize(torch.randn(K, D, generator=g), dim=1).to(dtype)
    hard = (q @ queue.float().T).topk(N, dim=1).indices
    u = uniform(seed, torch.arange(B), 1, mochi_draws(s, s2), torch.float64)
    pair, alpha, qidx, beta = mochi_indices(u, N, s, s2)
    return q, queue, hard, pair, alpha, qidx, beta


def cases(size):
    args = make_inputs(**size)
    grad = torch.randn(size["B"], size["s"] + size["s2"], generator=torch.Generator().manual_seed(1))

    def fused():
        return F.mochi_logits(*args, temperature=TEMPERATURE)

    def reference():
        return R.mochi_logits(*args, TEMPERATURE)

    def materialized():
        h = F.mochi_negatives(*args)
        return torch.bmm(h, args[0].unsqueeze(-1)).squeeze(-1) / TEMPERATURE

    def fused_backward():
        return torch.ops.datagen_gpu.mochi_logits_backward(grad, *args, TEMPERATURE)

    def reference_backward():
        q = args[0].clone().requires_grad_()
        R.mochi_logits(q, *args[1:], TEMPERATURE).backward(grad)
        return q.grad

    return {
        "mochi_logits": {"fused": fused, "reference": reference, "materialized": materialized},
        "mochi_backward": {"fused": fused_backward, "reference": reference_backward},
    }


_CASES = {}


def _get(group, member):
    if not _CASES:
        _CASES.update(cases(FULL))
    return _CASES[group][member]


def test_mochi_logits_fused(benchmark):
    benchmark.group = "mochi_logits"
    benchmark.pedantic(_get("mochi_logits", "fused"), rounds=5, iterations=1, warmup_rounds=1)


def test_mochi_logits_reference(benchmark):
    benchmark.group = "mochi_logits"
    benchmark.pedantic(_get("mochi_logits", "reference"), rounds=3, iterations=1, warmup_rounds=1)


def test_mochi_logits_materialized(benchmark):
    benchmark.group = "mochi_logits"
    benchmark.pedantic(_get("mochi_logits", "materialized"), rounds=3, iterations=1, warmup_rounds=1)


def test_mochi_backward_fused(benchmark):
    benchmark.group = "mochi_backward"
    benchmark.pedantic(_get("mochi_backward", "fused"), rounds=5, iterations=1, warmup_rounds=1)


def test_mochi_backward_reference(benchmark):
    benchmark.group = "mochi_backward"
    benchmark.pedantic(_get("mochi_backward", "reference"), rounds=3, iterations=1, warmup_rounds=1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    size = QUICK if args.quick else FULL
    print(f"MoCHi on CPU ({torch.get_num_threads()} threads), torch {torch.__version__}: "
          + ", ".join(f"{k}={v}" for k, v in size.items()) + " (s2 = s'), float32 queue")
    all_cases = cases(size)
    out = all_cases["mochi_logits"]["fused"]()
    ref = all_cases["mochi_logits"]["reference"]()
    print(f"max |fused - reference| = {float((out - ref).abs().max()):.2e}")
    print("\n| op | member | best ms | speed-up of fused |")
    print("|---|---|---:|---:|")
    for group, members in all_cases.items():
        ms = {m: best_ms(fn, args.rounds if m == "fused" else max(2, args.rounds // 2)) for m, fn in members.items()}
        for m, v in ms.items():
            print(f"| {group} | {m} | {v:.1f} | {v / ms['fused']:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
