"""Shared by the gpu_check scripts: build-if-needed, timing, copy bandwidth."""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def copy_gbs(device, rep_ms):
    """Measured device-to-device copy bandwidth, bytes read + written per second, in GB/s."""
    import torch

    n = (1 << 28) if device.type == "cuda" else (1 << 25)
    src = torch.empty(n, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    return 2 * n / (time_ms(lambda: dst.copy_(src), device, rep_ms) * 1e-3) / 1e9
