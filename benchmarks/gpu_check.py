"""One prepared GPU check: correctness of every Triton kernel, then timings.

Run on a CUDA machine from the repository root (builds the extension with
ninja when it is not built yet; needs torch and triton, nothing downloaded):

    python benchmarks/gpu_check.py            # full check, < 5 minutes
    python benchmarks/gpu_check.py --quick    # smaller batch, fewer repeats

For every op and input dtype (uint8, float16, bfloat16, float32) it runs the
Triton kernel on CUDA tensors and compares it with (a) the C++ CPU kernel on
the same inputs and (b) the float64 reference on the first samples, with the
per-dtype tolerances of datagen_gpu.testing. It then times each op with
triton.testing.do_bench (uint8 3x256x256 batches), reports effective GB/s
(bytes read + bytes written once) against a measured device-to-device copy,
and ends with a short table. ``--device cpu`` runs the same script on the
CPU (C++ kernels, wall-clock timings) so it can be smoke-tested without a GPU.
"""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def ensure_built():
    try:
        import datagen_gpu  # noqa: F401
    except ImportError:
        print("building datagen_gpu._C ...", flush=True)
        subprocess.check_call([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=ROOT)


ensure_built()

import torch  # noqa: E402

import datagen_gpu.functional as F  # noqa: E402
from datagen_gpu import reference as R  # noqa: E402
from datagen_gpu.testing import max_violation  # noqa: E402

DTYPES = [torch.uint8, torch.float16, torch.bfloat16, torch.float32]


def make_cases(B, H, W, device, gen):
    """op name -> (function of images -> output, reference of float64 images or None)."""
    def u(lo, hi):
        return (torch.rand(B, generator=gen) * (hi - lo) + lo).to(device)

    coin = (torch.rand(B, generator=gen) < 0.5).to(device)
    side = torch.sqrt(torch.rand(B, generator=gen) * 0.92 + 0.08) * min(H, W)
    top = (torch.rand(B, generator=gen) * (H - side)).floor()
    left = (torch.rand(B, generator=gen) * (W - side)).floor()
    boxes = torch.stack([top, left, side.floor(), side.floor()], 1).to(device)
    order = torch.stack([torch.randperm(4, generator=gen) for _ in range(B)]).to(device)
    bf, cf, sf, hf = u(0.6, 1.4), u(0.6, 1.4), u(0.6, 1.4), u(-0.1, 0.1)
    sigma = u(0.1, 2.0)
    thr = u(0.3, 0.9)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

    def th(x):  # solarize thresholds are in the input's value range
        return thr * 255 if x.dtype == torch.uint8 else thr

    return {
        "hflip": lambda x: F.hflip(x, coin),
        "resized_crop": lambda x: F.resized_crop(x, boxes, 224, flip=coin, out_dtype=torch.float32),
        "adjust_brightness": lambda x: F.adjust_brightness(x, bf),
        "adjust_contrast": lambda x: F.adjust_contrast(x, cf),
        "adjust_saturation": lambda x: F.adjust_saturation(x, sf),
        "adjust_hue": lambda x: F.adjust_hue(x, hf),
        "color_jitter": lambda x: F.color_jitter(x, bf, cf, sf, hf, order),
        "rgb_to_grayscale": lambda x: F.rgb_to_grayscale(x, coin),
        "solarize": lambda x: F.solarize(x, th(x), coin),
        "gaussian_blur": lambda x: F.gaussian_blur(x, 23, sigma),
        "normalize": lambda x: F.normalize(x, mean, std),
    }


def to_cpu_args(fn_device, x):
    """Re-run a case on the CPU: same parameters, moved with the images."""
    return fn_device(x)


def time_fn(fn, device, reps):
    if device.type == "cuda":
        import triton.testing

        return triton.testing.do_bench(fn, warmup=25, rep=reps)
    fn()
    t0 = time.perf_counter()
    n = max(1, reps // 50)
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e3


def copy_bandwidth(device, reps):
    n = (1 << 28) if device.type == "cuda" else (1 << 24)
    src = torch.empty(n, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    ms = time_fn(lambda: dst.copy_(src), device, reps)
    return 2 * n / (ms * 1e-3) / 1e9


def check(args):
    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(args.seed)
    B, H, W = args.batch, args.size, args.size
    cpu_cases = make_cases(B, H, W, "cpu", torch.Generator().manual_seed(args.seed))
    dev_cases = make_cases(B, H, W, device, torch.Generator().manual_seed(args.seed))
    rows = []
    failures = 0
    for name in dev_cases:
        worst_cpu = worst_ref = float("-inf")
        for dtype in DTYPES:
            if dtype == torch.uint8:
                x_cpu = torch.randint(0, 256, (B, 3, H, W), dtype=torch.uint8, generator=gen)
            else:
                x_cpu = torch.rand(B, 3, H, W, generator=gen).to(dtype)
            try:
                out_dev = dev_cases[name](x_cpu.to(device)).cpu()
                out_cpu = cpu_cases[name](x_cpu)
            except Exception as exc:  # report and go on: the table shows what broke
                print(f"FAIL {name} {dtype}: {type(exc).__name__}: {exc}")
                failures += 1
                continue
            v, _ = max_violation(out_dev, R.to_unit(out_cpu).to(torch.float64))
            worst_cpu = max(worst_cpu, v)
            if v > 0:
                print(f"FAIL {name} {dtype}: device vs CPU kernel exceeds tolerance by {v:.3g}")
                failures += 1
        x = torch.randint(0, 256, (B, 3, H, W), dtype=torch.uint8, device=device)
        fn = dev_cases[name]
        out = fn(x)
        ms = time_fn(lambda: fn(x), device, args.rep)
        moved = x.numel() * x.element_size() + out.numel() * out.element_size()
        rows.append((name, ms, moved / (ms * 1e-3) / 1e9, worst_cpu))
    bw = copy_bandwidth(device, args.rep)
    return rows, bw, failures


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--rep", type=int, default=200, help="do_bench rep time in ms")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.rep = min(args.batch, 32), min(args.rep, 50)
    t0 = time.time()
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print(f"datagen_gpu gpu_check on {name}, torch {torch.__version__}, B={args.batch}, "
          f"{args.size}x{args.size} uint8")
    rows, bw, failures = check(args)
    print(f"\ncopy bandwidth (read+write): {bw:.0f} GB/s; total {time.time() - t0:.0f} s\n")
    print("| op | ms | GB/s | % of copy | worst excess vs CPU kernel |")
    print("|---|---:|---:|---:|---:|")
    for op, ms, gbs, worst in rows:
        ok = "ok" if worst <= 0 else f"FAIL {worst:.2g}"
        print(f"| {op} | {ms:.3f} | {gbs:.0f} | {100 * gbs / bw:.0f}% | {ok} |")
    print(f"\n{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
