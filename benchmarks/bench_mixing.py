"""Mixup / CutMix benchmark on the CPU: one kernel for the batch against the alternatives.

B=64 images of 3x224x224 (float32, and uint8), per-sample weights and boxes
as timm's ``Mixup(mode="elem")`` draws them (half Mixup, half CutMix).

    python benchmarks/bench_mixing.py [--quick]          # one table, ratios from the same run
    python -m pytest benchmarks/bench_mixing.py --benchmark-enable

Members (one pytest-benchmark group per input dtype):

- ``ours``: ``functional.mix``, Mixup and CutMix samples in one launch;
- ``torch``: the same per-sample mix written with batched PyTorch ops
  (weights broadcast, CutMix through a full-size boolean mask);
- ``timm_elem``: ``timm.data.Mixup(mode="elem")`` image mixing (a Python
  loop over samples), given the same draws; skipped without timm;
- ``reference_b4``: the float64 reference on 4 samples (x16 for the batch).
"""
import argparse
import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import pytest  # noqa: E402
import torch  # noqa: E402

import datagen_gpu  # noqa: E402,F401
from datagen_gpu import functional as F  # noqa: E402
from datagen_gpu import reference as R  # noqa: E402
from datagen_gpu.bench.timing import best_ms  # noqa: E402
from datagen_gpu.testing import random_images  # noqa: E402
from datagen_gpu.transforms import Mixup  # noqa: E402

HAS_TIMM = importlib.util.find_spec("timm") is not None
DTYPES = {"float32": torch.float32, "uint8": torch.uint8}


def make_case(dtype, B=64, size=224):
    x = random_images((B, 3, size, size), dtype, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(B) % 10
    mixer = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=10)
    p = mixer.make_params(x, torch.arange(B))
    cut, lam, boxes, perm = p["use_cutmix"], p["lam"], p["boxes"], p["perm"]
    weight = torch.where(cut, torch.ones_like(lam), lam).float()

    def ours():
        return F.mix(x, weight, boxes, perm)

    def torch_batched():
        H, W = x.shape[-2:]
        ys, xs = torch.arange(H).view(1, H, 1), torch.arange(W).view(1, 1, W)
        top, left, h, w = boxes.unbind(1)
        inside = ((ys >= top.view(-1, 1, 1)) & (ys < (top + h).view(-1, 1, 1))
                  & (xs >= left.view(-1, 1, 1)) & (xs < (left + w).view(-1, 1, 1))).unsqueeze(1)
        a, b = x.float(), x[perm].float()
        wv = weight.view(-1, 1, 1, 1)
        out = torch.where(inside, b, wv * a + (1 - wv) * b)
        if dtype == torch.uint8:
            out = (out * 1.0).round_().clamp_(0, 255).to(torch.uint8)
        return out

    def timm_elem():
        from datagen_gpu.bench.peers_timm import elem_mix_with_draws

        images = x.float().clone() if dtype == torch.uint8 else x.clone()
        return elem_mix_with_draws(images, labels, lam, cut, boxes)[0]

    def reference_b4():
        return R.mix(R.to_unit(x[:4]), weight[:4], boxes[:4], perm[:4].clamp(max=3))

    members = {"ours": ours, "torch": torch_batched, "reference_b4": reference_b4}
    if HAS_TIMM:
        members["timm_elem"] = timm_elem
    return members


_CASES = {}


def _get(dtype, member):
    if dtype not in _CASES:
        _CASES[dtype] = make_case(DTYPES[dtype])
    fn = _CASES[dtype].get(member)
    if fn is None:
        pytest.skip(f"{member} is not available (timm not installed)")
    return fn


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("member", ["ours", "torch", "timm_elem", "reference_b4"])
def test_mix(benchmark, dtype, member):
    fn = _get(dtype, member)
    benchmark.group = f"mix_{dtype}"
    benchmark.pedantic(fn, rounds=5 if member == "ours" else 2, iterations=1, warmup_rounds=1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    B, size = (16, 96) if args.quick else (64, 224)
    print(f"Mixup/CutMix (timm elem draws) on CPU ({torch.get_num_threads()} threads), B={B}, 3x{size}x{size}")
    print("\n| input | member | best ms | ours is faster by |")
    print("|---|---|---:|---:|")
    for name, dtype in DTYPES.items():
        members = make_case(dtype, B, size)
        ms = {m: best_ms(fn, args.rounds) for m, fn in members.items()}
        ms["reference_b4"] *= B / 4
        for m, v in ms.items():
            label = "reference (x B/4)" if m == "reference_b4" else m
            print(f"| {name} | {label} | {v:.1f} | {v / ms['ours']:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
