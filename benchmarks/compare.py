"""Measure every op side by side in one run and print a markdown table.

    python benchmarks/compare.py [--batch 64] [--repeats 7] [--ops adjust_hue,...]
                                 [--write benchmarks/RESULTS.md]

For each op (cases in benchmarks/cases.py): the median wall time of ours
(C++ kernel, whole batch), of torchvision's per-sample loop (when
torchvision is importable) and of the float64 reference (timed on a few
samples, scaled linearly to the batch), the speed-up over torchvision and
whether issue 2's target is met (>= 10x for adjust_hue, color_jitter and
gaussian_blur; >= 1x for resized_crop). All three run with the same torch
thread count (torch.get_num_threads()).
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time

import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_HERE, os.path.dirname(_HERE)]  # cases.py; datagen_gpu from this checkout
from cases import BATCH, HAS_TORCHVISION, OPS, REF_BATCH, make_cases  # noqa: E402


def median_ms(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def measure(cases, repeats, tv_repeats, ref_repeats, log=None):
    rows = []
    for case in cases:
        ours = median_ms(case.ours, repeats)
        tv = median_ms(case.torchvision, tv_repeats) if case.torchvision else None
        ref = median_ms(case.reference, ref_repeats, warmup=0) * case.batch / case.ref_batch
        rows.append((case, ours, tv, ref))
        if log:
            log(f"  {case.op}: ours {ours:.1f} ms, torchvision "
                f"{'-' if tv is None else f'{tv:.1f}'} ms, reference {ref:.0f} ms")
    return rows


def table(rows):
    lines = ["| op | ours ms | torchvision-loop ms | ratio (tv / ours) | reference ms | target | met |",
             "|---|---:|---:|---:|---:|---:|:---:|"]
    for case, ours, tv, ref in rows:
        ratio = None if tv is None else tv / ours
        target = case.target
        met = "" if target is None else ("n/a" if ratio is None else ("yes" if ratio >= target else "NO"))
        lines.append(
            f"| {case.op} | {ours:.1f} | {'-' if tv is None else f'{tv:.1f}'} | "
            f"{'-' if ratio is None else f'{ratio:.1f}x'} | {ref:,.0f} | "
            f"{'' if target is None else f'>= {target:g}x'} | {met} |")
    return "\n".join(lines)


def machine():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((ln.split(":", 1)[1].strip() for ln in out.splitlines()
                      if ln.startswith("Model name")), platform.processor())
    except OSError:
        model = platform.processor()
    return f"{model}, {os.cpu_count()} cores"


def header(batch, ref_batch, repeats, tv_repeats):
    try:
        import torchvision
        tv = torchvision.__version__
    except ImportError:
        tv = "not installed"
    return "\n".join([
        f"- date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- machine: {machine()}; torch threads: {torch.get_num_threads()}",
        f"- torch {torch.__version__}, torchvision {tv}, Python {platform.python_version()}",
        f"- batch: {batch} x uint8 3x256x256 (resized_crop -> 224x224 float32, antialias; "
        f"gaussian_blur kernel 23)",
        f"- medians of {repeats} runs (ours) and {tv_repeats} runs (torchvision loop) after one "
        f"warm-up; reference timed on {ref_batch} samples and scaled to {batch}",
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--ref-batch", type=int, default=REF_BATCH)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--tv-repeats", type=int, default=5)
    parser.add_argument("--ref-repeats", type=int, default=1)
    parser.add_argument("--ops", default=",".join(OPS), help="comma-separated op names")
    parser.add_argument("--write", metavar="PATH", help="also write the header and table to PATH")
    parser.add_argument("--note", default="", help="a line added under the table in --write")
    args = parser.parse_args(argv)
    ops = [o for o in args.ops.split(",") if o]
    unknown = set(ops) - set(OPS)
    if unknown:
        parser.error(f"--ops: unknown op(s) {sorted(unknown)}; choose from {', '.join(OPS)}")
    if not HAS_TORCHVISION:
        print("torchvision is not importable: the torchvision column is empty", file=sys.stderr)
    cases = make_cases(args.batch, args.ref_batch, ops)
    rows = measure(cases, args.repeats, args.tv_repeats, args.ref_repeats,
                   log=lambda s: print(s, file=sys.stderr))
    head = header(args.batch, min(args.ref_batch, args.batch), args.repeats, args.tv_repeats)
    text = head + "\n\n" + table(rows)
    print(text)
    if args.write:
        with open(args.write, "w") as f:
            f.write("# CPU benchmark results\n\nMeasured with `python benchmarks/compare.py "
                    f"--write {args.write}` (all columns in one run).\n\n{text}\n")
            if args.note:
                f.write(f"\n{args.note}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
