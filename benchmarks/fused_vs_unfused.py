"""Quick CPU check: the SimCLR view pipeline, fused (Compose(fuse=True)) vs op by op.

    python benchmarks/fused_vs_unfused.py [--batch 64] [--repeats 5]

B uint8 3x256x256 images -> float32 3x224x224 normalized: RandomResizedCrop(224),
RandomHorizontalFlip, RandomApply(ColorJitter(0.4, 0.4, 0.4, 0.1), p=0.8),
RandomGrayscale(0.2), RandomApply(GaussianBlur(23), p=0.5), Normalize. Also the
same pipeline without the blur (the whole view is then one fused call plus the
normalize), and both with a leading ToDtype(float32) (float32 intermediates).
Prints the median wall time of each (fresh sample ids every call).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from datagen_gpu import transforms as T  # noqa: E402
from datagen_gpu.bench.timing import interleaved  # noqa: E402

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def simclr(fuse, blur=True, float_lead=False):
    ts = [T.ToDtype(torch.float32, scale=True)] if float_lead else []
    ts += [T.RandomResizedCrop(224), T.RandomHorizontalFlip(),
           T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8), T.RandomGrayscale(0.2)]
    if blur:
        ts.append(T.RandomApply([T.GaussianBlur(23)], p=0.5))
    ts.append(T.Normalize(MEAN, STD))
    return T.Compose(ts, seed=0, fuse=fuse)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5, help="interleaved rounds (median reported)")
    args = ap.parse_args()
    x = torch.randint(0, 256, (args.batch, 3, 256, 256), dtype=torch.uint8)
    print(f"B={args.batch} uint8 3x256x256 -> float32 3x224x224, {torch.get_num_threads()} threads")
    print(f"{'pipeline':<34}{'unfused ms':>12}{'fused ms':>10}{'speedup':>9}")
    for name, kw in (("SimCLR (blur p=0.5)", {}), ("SimCLR without blur", {"blur": False}),
                     ("ToDtype(f32) + SimCLR", {"float_lead": True}),
                     ("ToDtype(f32) + SimCLR, no blur", {"float_lead": True, "blur": False})):
        cases = {fuse: (lambda m=simclr(fuse, **kw): m(x)) for fuse in (False, True)}
        t = {k: v.median for k, v in interleaved(cases, dict.fromkeys(cases, "cpu"), seconds=0.0,
                                                  min_rounds=args.repeats, max_rounds=args.repeats).items()}
        print(f"{name:<34}{t[False]:>12.1f}{t[True]:>10.1f}{t[False] / t[True]:>8.2f}x")


if __name__ == "__main__":
    main()
