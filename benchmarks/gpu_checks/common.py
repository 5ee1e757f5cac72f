"""Shared by the GPU check's sections: build-if-needed, timing, judging against float64, CUDA graphs."""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ensure_built():
    """Import datagen_gpu from this checkout, building its extension in place if needed."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    try:
        import datagen_gpu  # noqa: F401
    except ImportError:
        print("building datagen_gpu._C ...", flush=True)
        subprocess.check_call([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=ROOT)


def time_ms(fn, device, rep_ms):
    """Milliseconds per call: triton.testing.do_bench on CUDA, best wall-clock of a few on CPU."""
    if device.type == "cuda":
        import triton.testing

        return triton.testing.do_bench(fn, warmup=25, rep=rep_ms)
    fn()
    best = float("inf")
    for _ in range(max(3, rep_ms // 50)):
        t0 = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - t0) * 1e3)
    return best


def copy_gbs(device, rep_ms=None):
    """Measured device-to-device copy bandwidth, bytes read + written per second, in GB/s."""
    from datagen_gpu.bench.timing import copy_bandwidth

    return copy_bandwidth(device)


def device_name(device) -> str:
    """The GPU's name, or "cpu"."""
    import torch

    device = torch.device(device)
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def ref_samples(batch, n=4):
    """The samples judged against the (per-sample, float64) reference: spread over the batch."""
    return sorted({round(i * (batch - 1) / max(n - 1, 1)) for i in range(n)}) if batch else []


def print_table(head, rows):
    """A markdown table: ``head`` (column titles), ``rows`` (tuples of cells, already formatted)."""
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


# ---------------------------------------------------------------- judging against float64


def judge(dev, cpu, ref, idx=None, atol=None, rtol=None):
    """Device and CPU outputs, each against the float64 reference, and their difference.

    ``ref`` is the float64 reference (values in [0, 1] units, or normalized units) of the
    samples ``idx`` (None: all) of ``dev`` / ``cpu`` (same shape, their own dtype). Each
    path must be within the per-dtype tolerance of datagen_gpu.testing (``atol`` / ``rtol``
    override it, e.g. scaled by 1 / std for normalized outputs). The two paths need not
    agree bit for bit (the GPU fuses multiply-adds; Triton's sqrt and division are not
    IEEE-rounded), so their difference is only measured: ``diff`` is max |dev - cpu| over
    every sample, ``ratio`` that difference in units of the tolerance (two paths that are
    each within tolerance of the reference differ by at most about 2).

    Returns:
        dict(dev=worst excess of the device over its tolerance (<= 0: ok), cpu=the same for
        the CPU kernel, diff=..., ratio=...).
    """
    import torch
    from datagen_gpu.reference import to_unit
    from datagen_gpu.testing import max_violation, tolerance

    dev, cpu = dev.cpu(), cpu.cpu()
    pick = (lambda t: t) if idx is None else (lambda t: t[idx])
    v_dev, _ = max_violation(pick(dev), ref, atol, rtol)
    v_cpu, _ = max_violation(pick(cpu), ref, atol, rtol)
    d_atol, d_rtol = tolerance(cpu.dtype)
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    a, b = to_unit(dev), to_unit(cpu)
    if a.numel() == 0:
        return dict(dev=v_dev, cpu=v_cpu, diff=0.0, ratio=0.0)
    d = (a - b).abs()
    ratio = d / (atol + rtol * b.abs())
    return dict(dev=v_dev, cpu=v_cpu, diff=float(d.max()), ratio=float(torch.nan_to_num(ratio, nan=float("inf")).max()))


def verdict(excess):
    """'ok' when the worst excess over the tolerance is <= 0, else 'FAIL <excess>'."""
    return "ok" if excess <= 0 else f"FAIL {excess:.2g}"


def judge_dtypes(name, dtypes, trial, kernel="CPU kernel", verbose=False):
    """Judge op ``name`` in every dtype: ``trial(dtype)`` returns ``judge``'s dict. Prints each
    failure (an exception, or device / CPU output past the tolerance) and goes on.

    Returns (worst, failures): ``worst`` holds the largest of each judged quantity over dtypes
    (``dev`` / ``cpu`` are +inf when a dtype raised)."""
    worst = dict(dev=float("-inf"), cpu=float("-inf"), diff=0.0, ratio=0.0)
    failures = 0
    for dtype in dtypes:
        try:
            j = trial(dtype)
        except Exception as exc:  # report and go on: the table shows what broke
            print(f"FAIL {name} {dtype}: {type(exc).__name__}: {exc}")
            failures += 1
            worst["dev"] = worst["cpu"] = float("inf")
            continue
        for what in ("dev", "cpu"):
            if j[what] > 0:
                print(f"FAIL {name} {dtype}: {'device' if what == 'dev' else kernel} vs float64 "
                      f"reference exceeds tolerance by {j[what]:.3g}")
                failures += 1
        if verbose:
            print(f"  {name} {str(dtype).replace('torch.', '')}: |device - CPU| max {j['diff']:.3g} "
                  f"({j['ratio']:.2f} x tolerance)")
        worst = {k: max(worst[k], j[k]) for k in worst}
    return worst, failures


def op_row(name, fn, x, device, rep_ms, worst):
    """A table row of op ``name``: (name, ms, GB/s, device excess, CPU excess, max |dev - CPU|,
    that in tolerance units), timing ``fn(x)`` and counting its input and output bytes."""
    out = fn(x)
    ms = time_ms(lambda: fn(x), device, rep_ms)
    moved = x.numel() * x.element_size() + out.numel() * out.element_size()
    return (name, ms, moved / (ms * 1e-3) / 1e9, worst["dev"], worst["cpu"], worst["diff"], worst["ratio"])


def print_op_table(rows, bw, kernel="CPU kernel"):
    """The per-op table of ``op_row`` rows against the copy bandwidth ``bw`` (GB/s)."""
    print(f"\ncopy bandwidth (read+write): {bw:.0f} GB/s\n")
    print_table(["op", "ms", "GB/s", "% of copy", "device vs float64", f"{kernel} vs float64",
                 "max abs(device - CPU)"],
                [(op, f"{ms:.3f}", f"{gbs:.0f}", f"{100 * gbs / bw:.0f}%", verdict(dev), verdict(cpu),
                  f"{diff:.2g} ({ratio:.2f} tol)") for op, ms, gbs, dev, cpu, diff, ratio in rows])


# ---------------------------------------------------------------- CUDA: sync debug, graphs


class sync_debug:
    """``torch.cuda.set_sync_debug_mode(mode)`` inside the block ("error": a host
    synchronization raises), restored after; a no-op off CUDA."""

    def __init__(self, mode="error", enabled=True):
        self.mode, self.enabled, self.prev = mode, enabled, None

    def __enter__(self):
        import torch

        if self.enabled and torch.cuda.is_available():
            self.prev = torch.cuda.get_sync_debug_mode()
            torch.cuda.set_sync_debug_mode(self.mode)
        return self

    def __exit__(self, *exc):
        import torch

        if self.prev is not None:
            torch.cuda.set_sync_debug_mode(self.prev)
        return False


def capture_graph(fn, warmup=3):
    """(graph, output of the captured call): ``fn()`` warmed up on a side stream, then
    captured, both under ``set_sync_debug_mode("error")`` (a host synchronization inside
    raises; the capture would fail on it anyway)."""
    import torch

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side), sync_debug("error"):
        for _ in range(warmup):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):  # entering synchronizes: the debug mode goes inside
        with sync_debug("error"):
            out = fn()
    return graph, out
