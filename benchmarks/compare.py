"""Measure every op side by side in one run and print a markdown table.

    python benchmarks/compare.py [--batch 64] [--repeats 11] [--ops adjust_hue,...]
                                 [--write benchmarks/RESULTS.md]

For each op (cases in benchmarks/cases.py): the median wall time of ours
(C++ kernel, whole batch), of torchvision's per-sample loop (when
torchvision is importable) and of the float64 reference (timed on a few
samples, scaled linearly to the batch), the speed-up over torchvision and
whether issue 2's target is met (>= 10x for adjust_hue, color_jitter and
gaussian_blur; >= 1x for resized_crop).

All three run with the same torch thread count, ``--threads`` (default 1):
a DataLoader worker runs torchvision with one thread (workers call
torch.set_num_threads(1)), so one thread each compares per core; with N
workers / N threads both sides scale by about the same factor. On a shared,
loaded machine, one thread is also the stable choice: torch's multi-threaded
small ops in torchvision's loop slow down by 10-100x when other processes
hold the cores (OpenMP threads waiting for each other).
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time

# Large CPU tensors (a 64 x 3 x 224 x 224 float32 batch is 38.5 MB) are fresh
# mmaps; 4 KiB first-touch page faults cost ~20-35 ms per batch on the dev VM.
# torch's allocator backs allocations >= 2 MB with transparent huge pages when
# this is set (read once, at the first allocation); it applies to every
# library timed in this process alike. Export THP_MEM_ALLOC_ENABLE=0 to measure
# without it.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

import torch  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_HERE, os.path.dirname(_HERE)]  # cases.py; datagen_gpu from this checkout
from cases import BATCH, HAS_TORCHVISION, OPS, REF_BATCH, make_cases  # noqa: E402


def _ms(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def measure(cases, repeats, tv_repeats, ref_repeats, log=None):
    """Per op: medians of ours, torchvision's loop and the reference, interleaved.

    The three are timed in alternating rounds (after one warm-up each), so a
    burst of load from other processes hits all of them rather than one.
    """
    rows = []
    for case in cases:
        fns = {"ours": case.ours, "tv": case.torchvision, "ref": case.reference}
        want = {"ours": repeats, "tv": tv_repeats if case.torchvision else 0, "ref": ref_repeats}
        times = {k: [] for k in fns}
        for k in ("ours", "tv"):
            if want[k]:
                fns[k]()
        rounds = max(want.values())
        for r in range(rounds):
            for k in ("ours", "tv", "ref"):
                # spread each one's runs evenly over the rounds
                due = (r + 1) * want[k] // rounds - r * want[k] // rounds
                times[k] += [_ms(fns[k]) for _ in range(due)]
        ours = statistics.median(times["ours"])
        tv = statistics.median(times["tv"]) if times["tv"] else None
        ref = statistics.median(times["ref"]) * case.batch / case.ref_batch
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


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def header(batch, ref_batch, repeats, tv_repeats, ref_repeats, loads=None):
    try:
        import torchvision
        tv = torchvision.__version__
    except ImportError:
        tv = "not installed"
    return "\n".join([
        f"- date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- machine: {machine()}; torch threads: {torch.get_num_threads()}; "
        f"THP_MEM_ALLOC_ENABLE={os.environ.get('THP_MEM_ALLOC_ENABLE')}",
        f"- torch {torch.__version__}, torchvision {tv}, Python {platform.python_version()}",
        f"- batch: {batch} x uint8 3x256x256 (resized_crop -> 224x224 float32, antialias; "
        f"gaussian_blur kernel 23)",
        f"- medians of {repeats} runs (ours), {tv_repeats} (torchvision loop) and {ref_repeats} "
        f"(reference, on {ref_batch} samples, scaled to {batch}), interleaved, after a warm-up",
    ] + ([f"- 1-minute load average at start / end: {loads[0]:.1f} / {loads[1]:.1f} "
          f"(above the core count means other processes shared the CPU: timings are noisy)"]
         if loads else []))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--ref-batch", type=int, default=REF_BATCH)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--tv-repeats", type=int, default=5)
    parser.add_argument("--ref-repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for all (default: 1)")
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
    torch.set_num_threads(args.threads)
    cases = make_cases(args.batch, args.ref_batch, ops)
    load_start = load_average()
    rows = measure(cases, args.repeats, args.tv_repeats, args.ref_repeats,
                   log=lambda s: print(s, file=sys.stderr))
    head = header(args.batch, min(args.ref_batch, args.batch), args.repeats, args.tv_repeats,
                  args.ref_repeats, (load_start, load_average()))
    text = head + "\n\n" + table(rows)
    print(text)
    if args.write:
        with open(args.write, "w") as f:
            f.write("# CPU benchmark results\n\nMeasured with `python benchmarks/compare.py "
                    f"--threads {args.threads} --write {args.write}` (all columns in one run)."
                    f"\n\n{text}\n")
            if args.note:
                f.write(f"\n{args.note}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
