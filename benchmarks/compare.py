"""Every image op side by side: ours (one kernel per batch), torchvision's per-sample loop, the float64 reference.

    python benchmarks/compare.py [--batch 64] [--seconds 5] [--threads 1] [--ops adjust_hue,color_jitter]

Cases: ``datagen_gpu.bench.ops`` (B uint8 3x256x256 images, per-sample
parameters with ImageNet-recipe ranges; resized_crop 256 -> 224 float32
with antialias; gaussian_blur kernel 23) and torchvision's loop from
``datagen_gpu.bench.peers_torchvision.op_loops`` (sample by sample, then
stacked, as a DataLoader worker and collate build the batch). The reference
runs on the first ``--ref-batch`` samples and is scaled to the batch. The
three are timed in interleaved rounds (``datagen_gpu.bench.timing``) with the
same torch thread count, ``--threads`` (default 1: a DataLoader worker runs
torchvision with one thread, so this is the per-core ratio). Issue 2's
targets: >= 10x torchvision for adjust_hue, color_jitter and gaussian_blur,
>= 1x for resized_crop. For whole training pipelines use ``datagen-gpu bench``.
"""
import argparse
import importlib.util
import os
import sys

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")  # huge pages for every library timed (README)

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's datagen_gpu
from datagen_gpu.bench import ops, timing  # noqa: E402
from datagen_gpu.bench.report import cpu_model  # noqa: E402

TARGETS = {"adjust_hue": 10.0, "color_jitter": 10.0, "gaussian_blur": 10.0, "resized_crop": 1.0}
HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


def make_cases(batch=64, ref_batch=4, seed=0, torchvision=True):
    """op -> {"ours", "torchvision" (when installed), "reference"} zero-argument callables."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (batch, 3, 256, 256), dtype=torch.uint8, generator=gen)
    p = ops.draw_params(batch, gen)
    ref_batch = min(ref_batch, batch)
    ours, ref = ops.op_calls(x, p), ops.reference_calls(x[:ref_batch], ops.head(p, ref_batch))
    tv = {}
    if torchvision and HAS_TORCHVISION:
        from datagen_gpu.bench.peers_torchvision import op_loops

        tv = op_loops(x, p)
    return {op: {"ours": ours[op], **({"torchvision": tv[op]} if tv else {}), "reference": ref[op]}
            for op in ops.OPS}


def measure(cases, seconds, batch, ref_batch):
    """op -> median ms per batch of each member (the reference scaled from ``ref_batch`` to ``batch``)."""
    rows = {}
    for op, members in cases.items():
        timed = timing.interleaved(members, dict.fromkeys(members, "cpu"), seconds=seconds)
        rows[op] = {k: t.median * (batch / ref_batch if k == "reference" else 1) for k, t in timed.items()}
        print(f"  {op}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in rows[op].items()), file=sys.stderr)
    return rows


def table(rows):
    lines = ["| op | ours ms | torchvision-loop ms | ratio (tv / ours) | reference ms | target | met |",
             "|---|---:|---:|---:|---:|---:|:---:|"]
    for op, r in rows.items():
        tv, target = r.get("torchvision"), TARGETS.get(op)
        ratio = None if tv is None else tv / r["ours"]
        met = "" if target is None else ("n/a" if ratio is None else ("yes" if ratio >= target else "NO"))
        lines.append(f"| {op} | {r['ours']:.1f} | {'-' if tv is None else f'{tv:.1f}'} | "
                     f"{'-' if ratio is None else f'{ratio:.1f}x'} | {r['reference']:,.0f} | "
                     f"{'' if target is None else f'>= {target:g}x'} | {met} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--ref-batch", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds per op (default 5)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for all (default: 1)")
    ap.add_argument("--ops", default=",".join(ops.OPS), help="comma-separated op names")
    args = ap.parse_args(argv)
    names = [o for o in args.ops.split(",") if o]
    unknown = sorted(set(names) - set(ops.OPS))
    if unknown:
        ap.error(f"--ops: unknown op(s) {unknown}; choose from {', '.join(ops.OPS)}")
    if not HAS_TORCHVISION:
        print("torchvision is not installed: only ours and the reference are timed", file=sys.stderr)
    with timing.torch_threads(args.threads):
        cases = {op: c for op, c in make_cases(args.batch, args.ref_batch).items() if op in names}
        rows = measure(cases, args.seconds, args.batch, min(args.ref_batch, args.batch))
    print(f"{cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}, {args.threads} thread(s); "
          f"B={args.batch} uint8 3x256x256; medians of interleaved rounds over {args.seconds:g} s per op\n")
    print(table(rows))
    return rows


if __name__ == "__main__":
    main()
