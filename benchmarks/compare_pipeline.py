"""Side-by-side CPU timing of the SimCLR view pipeline: ours vs torchvision v2, kornia, DALI.

One process, one run: every available case (``pipeline_cases.py``) is built
on the same uint8 batch, warmed up, then timed in interleaved rounds (round r
times each case once, in turn, so load changes hit all cases alike). The
table reports the median per case, images/s, how many times faster ours is
than each other case, and whether ours reaches the issue's target (>= 10x the
fastest other case)::

    python benchmarks/compare_pipeline.py [--batch 64] [--repeats 7] [--threads N] [--dali-threads 2]
                                          [--only ours,dali] [--profile]
"""
import argparse
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
sys.path.insert(0, _HERE)
sys.path.insert(0, os.path.dirname(_HERE))

import pipeline_cases as pc  # noqa: E402

TARGET = 10.0


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def measure(cases, repeats, warmup=1):
    """name -> list of per-call milliseconds, rounds interleaved across cases."""
    for fn in cases.values():
        for _ in range(warmup):
            fn()
    times = {n: [] for n in cases}
    for _ in range(repeats):
        for n, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[n].append((time.perf_counter() - t0) * 1e3)
    return times


def table(times, batch):
    """Markdown table rows (list of str) and the target verdict line."""
    med = {n: statistics.median(t) for n, t in times.items()}
    ours = med.get("ours")
    rows = ["| library | ms / batch (median) | min..max ms | images/s | ours is x faster |",
            "|---|---:|---:|---:|---:|"]
    for n, ms in med.items():
        ratio = "-" if n == "ours" or ours is None else f"{ms / ours:.2f}x"
        rows.append(f"| {n} | {ms:.1f} | {min(times[n]):.1f}..{max(times[n]):.1f} | "
                    f"{1e3 * batch / ms:.0f} | {ratio} |")
    others = {n: ms for n, ms in med.items() if n != "ours"}
    if ours is None or not others:
        verdict = "Target (ours >= 10x the fastest other library): not evaluated (missing cases)."
    else:
        fastest = min(others, key=others.get)
        r = others[fastest] / ours
        verdict = (f"Target (ours >= {TARGET:.0f}x the fastest other library, here {fastest}): "
                   f"{'MET' if r >= TARGET else 'NOT met'} ({r:.2f}x).")
    return rows, verdict


def profile_ours(images, rounds=3):
    """torch.profiler table of ours (self CPU time per op) and the cost of a fresh float32 output."""
    from torch.profiler import ProfilerActivity, profile
    fn = pc.build("ours", images)
    fn()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(rounds):
            fn()
    print(f"\nProfile of ours ({rounds} calls, torch threads {torch.get_num_threads()}):")
    print(prof.key_averages(group_by_input_shape=True).table(
        sort_by="self_cpu_time_total", row_limit=12, max_name_column_width=32, max_shapes_column_width=48))
    out = torch.empty(images.shape[0], 3, pc.OUT_SIZE, pc.OUT_SIZE)
    fresh = min(_ms(lambda: torch.empty_like(out).fill_(0)) for _ in range(rounds))
    reused = min(_ms(lambda: out.fill_(0)) for _ in range(rounds))
    print(f"Writing the {tuple(out.shape)} float32 output: {fresh:.1f} ms into a fresh buffer "
          f"(first-touch page faults), {reused:.1f} ms into a reused one.")


def _ms(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=pc.BATCH)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    p.add_argument("--dali-threads", type=int, default=2, help="DALI num_threads (default 2)")
    p.add_argument("--profile", action="store_true", help="also profile ours (torch.profiler)")
    p.add_argument("--only", default=None, help="comma-separated case names")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.only.split(",") if args.only else list(pc.BUILDERS)
    images = pc.make_images(args.batch)
    cases, skipped = {}, {}
    for n in names:
        try:
            cases[n] = pc.build(n, images, dali_threads=args.dali_threads)
        except pc.Unavailable as e:
            skipped[n] = str(e)
            print(f"skipped {n}: {e}", flush=True)
    stats = {}
    for n, fn in cases.items():  # every case must produce the same kind of batch
        out = fn()
        want = (args.batch, 3, pc.OUT_SIZE, pc.OUT_SIZE)
        if tuple(out.shape) != want or out.dtype != torch.float32:
            raise RuntimeError(f"{n}: produced {tuple(out.shape)} {out.dtype}, expected {want} float32")
        stats[n] = f"{n} {float(out.mean()):.3f}/{float(out.std()):.3f}"
    load0 = os.getloadavg()
    times = measure(cases, args.repeats)
    load1 = os.getloadavg()
    rows, verdict = table(times, args.batch)
    vers = ", ".join(f"{k} {v}" for k, v in pc.versions().items())
    print(f"\n{time.strftime('%Y-%m-%d %H:%M %Z')}; CPU: {cpu_model()} ({os.cpu_count()} logical CPUs); "
          f"torch threads: {torch.get_num_threads()} (torchvision: 1 per worker); "
          f"DALI num_threads={args.dali_threads}")
    print(f"{vers}; python {platform.python_version()}; THP_MEM_ALLOC_ENABLE={os.environ.get('THP_MEM_ALLOC_ENABLE')}")
    print(f"SimCLR view, B={args.batch} uint8 3x{pc.IN_SIZE}x{pc.IN_SIZE} -> float32 3x{pc.OUT_SIZE}x{pc.OUT_SIZE}; "
          f"median of {args.repeats} interleaved repeats after 1 warm-up; "
          f"load average (1/5/15 min) before {load0[0]:.2f}/{load0[1]:.2f}/{load0[2]:.2f}, "
          f"after {load1[0]:.2f}/{load1[1]:.2f}/{load1[2]:.2f}\n")
    print("\n".join(rows))
    print(f"\n{verdict}")
    print(f"Output mean/std (sanity: same kind of batch): {', '.join(stats.values())}")
    for n, why in skipped.items():
        print(f"- {n} skipped: {why}")
    if args.profile and "ours" in cases:
        profile_ours(images)
    return 0


if __name__ == "__main__":
    sys.exit(main())
