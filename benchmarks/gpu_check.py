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
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _gpu_common import copy_gbs, ensure_built, time_ms  # noqa: E402


ensure_built()

import torch  # noqa: E402

import datagen_gpu.functional as F  # noqa: E402
from datagen_gpu import reference as R  # noqa: E402
from datagen_gpu.testing import max_violation  # noqa: E402

DTYPES = [torch.uint8, torch.float16, torch.bfloat16, torch.float32]


REF_SAMPLES = 2  # the float64 reference loops over samples: check the first few


def make_params(B, H, W, gen):
    """Per-sample parameters (CPU tensors) shared by every device and the reference."""
    def u(lo, hi):
        return torch.rand(B, generator=gen) * (hi - lo) + lo

    side = torch.sqrt(torch.rand(B, generator=gen) * 0.92 + 0.08) * min(H, W)
    top = (torch.rand(B, generator=gen) * (H - side)).floor()
    left = (torch.rand(B, generator=gen) * (W - side)).floor()
    return {
        "coin": torch.rand(B, generator=gen) < 0.5,
        "boxes": torch.stack([top, left, side.floor(), side.floor()], 1),
        "order": torch.stack([torch.randperm(4, generator=gen) for _ in range(B)]),
        "b": u(0.6, 1.4), "c": u(0.6, 1.4), "s": u(0.6, 1.4), "h": u(-0.1, 0.1),
        "sigma": u(0.1, 2.0), "thr": u(0.3, 0.9),
        "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
    }


def make_cases(P, device):
    """op name -> (function of images on ``device``, float64 reference of (unit images, dtype))."""
    d = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in P.items()}
    n = REF_SAMPLES
    r = {k: (v[:n] if isinstance(v, torch.Tensor) else v) for k, v in P.items()}

    def th(dtype, p):  # solarize thresholds are in the input's value range
        return p["thr"] * 255 if dtype == torch.uint8 else p["thr"]

    q = lambda dt: dt == torch.uint8  # noqa: E731  (torchvision floors uint8 grayscale)
    return {
        "hflip": (lambda x: F.hflip(x, d["coin"]), lambda u, dt: R.hflip(u, r["coin"])),
        "resized_crop": (lambda x: F.resized_crop(x, d["boxes"], 224, flip=d["coin"], out_dtype=torch.float32),
                         lambda u, dt: R.resized_crop(u, r["boxes"], (224, 224), r["coin"])),
        "adjust_brightness": (lambda x: F.adjust_brightness(x, d["b"]),
                              lambda u, dt: R.adjust_brightness(u, r["b"])),
        "adjust_contrast": (lambda x: F.adjust_contrast(x, d["c"]),
                            lambda u, dt: R.adjust_contrast(u, r["c"], q(dt))),
        "adjust_saturation": (lambda x: F.adjust_saturation(x, d["s"]),
                              lambda u, dt: R.adjust_saturation(u, r["s"], q(dt))),
        "adjust_hue": (lambda x: F.adjust_hue(x, d["h"]), lambda u, dt: R.adjust_hue(u, r["h"])),
        "color_jitter": (lambda x: F.color_jitter(x, d["b"], d["c"], d["s"], d["h"], d["order"]),
                         lambda u, dt: R.color_jitter(u, r["b"], r["c"], r["s"], r["h"], r["order"], q(dt))),
        "rgb_to_grayscale": (lambda x: F.rgb_to_grayscale(x, d["coin"]),
                             lambda u, dt: R.rgb_to_grayscale(u, r["coin"], q(dt))),
        "solarize": (lambda x: F.solarize(x, th(x.dtype, d), d["coin"]),
                     lambda u, dt: R.solarize(u, th(dt, r), r["coin"], dt)),
        "gaussian_blur": (lambda x: F.gaussian_blur(x, 23, d["sigma"]),
                          lambda u, dt: R.gaussian_blur(u, 23, r["sigma"])),
        "normalize": (lambda x: F.normalize(x, d["mean"], d["std"]),
                      lambda u, dt: R.normalize(u, r["mean"], r["std"])),
        # crop + flip + jitter + grayscale + normalize in one pass (no solarize: its
        # threshold is a discontinuity where float32 orders may legitimately differ)
        "fused_augment": (
            lambda x: F.fused_augment(x, d["boxes"], 224, flip=d["coin"], brightness=d["b"],
                                      contrast=d["c"], saturation=d["s"], hue=d["h"],
                                      order=d["order"], grayscale=~d["coin"], mean=d["mean"],
                                      std=d["std"]),
            lambda u, dt: R.fused_augment(u, r["boxes"], (224, 224), r["coin"], True, r["b"],
                                          r["c"], r["s"], r["h"], r["order"], ~r["coin"],
                                          mean=r["mean"], std=r["std"])),
    }


def check(args):
    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(args.seed)
    B, H, W = args.batch, args.size, args.size
    P = make_params(B, H, W, gen)
    cpu_cases, dev_cases = make_cases(P, "cpu"), make_cases(P, device)
    rows = []
    failures = 0
    for name, (fn, ref) in dev_cases.items():
        worst = float("-inf")
        for dtype in DTYPES:
            if dtype == torch.uint8:
                x_cpu = torch.randint(0, 256, (B, 3, H, W), dtype=torch.uint8, generator=gen)
            else:
                x_cpu = torch.rand(B, 3, H, W, generator=gen).to(dtype)
            try:
                out_dev = fn(x_cpu.to(device)).cpu()
                out_cpu = cpu_cases[name][0](x_cpu)
                expected = ref(R.to_unit(x_cpu[:REF_SAMPLES]), dtype)
            except Exception as exc:  # report and go on: the table shows what broke
                print(f"FAIL {name} {dtype}: {type(exc).__name__}: {exc}")
                failures += 1
                continue
            for what, target in (("CPU kernel", R.to_unit(out_cpu)), ("float64 reference", expected)):
                v, where = max_violation(out_dev[: target.shape[0]], target)
                worst = max(worst, v)
                if v > 0:
                    print(f"FAIL {name} {dtype}: device vs {what} exceeds tolerance by {v:.3g} at {where}")
                    failures += 1
        x = torch.randint(0, 256, (B, 3, H, W), dtype=torch.uint8, device=device)
        out = fn(x)
        ms = time_ms(lambda: fn(x), device, args.rep)
        moved = x.numel() * x.element_size() + out.numel() * out.element_size()
        rows.append((name, ms, moved / (ms * 1e-3) / 1e9, worst))
    bw = copy_gbs(device, args.rep)
    return rows, bw, failures


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--rep", type=int, default=200, help="do_bench rep time in ms")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--families", default="data,audio,mixing,pipeline,image",
                   help="comma-separated: data, audio, mixing, pipeline (their own scripts, run first), "
                        "image (last)")
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.rep = min(args.batch, 32), min(args.rep, 50)
    t0 = time.time()
    families = set(args.families.split(","))
    sub_failures = 0
    sub_args = ["--device", args.device, "--rep", str(args.rep)] + (["--quick"] if args.quick else [])
    for family in ("data", "audio", "mixing", "pipeline"):
        if family in families:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            module = __import__(f"gpu_check_{family}")
            print(f"== {family} ops (benchmarks/gpu_check_{family}.py)", flush=True)
            sub_failures += int(module.main(sub_args) != 0)
    if "image" not in families:
        return 1 if sub_failures else 0
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print(f"datagen_gpu gpu_check on {name}, torch {torch.__version__}, B={args.batch}, "
          f"{args.size}x{args.size} uint8")
    rows, bw, failures = check(args)
    print(f"\ncopy bandwidth (read+write): {bw:.0f} GB/s; total {time.time() - t0:.0f} s\n")
    print("| op | ms | GB/s | % of copy | vs CPU kernel and reference |")
    print("|---|---:|---:|---:|---:|")
    for op, ms, gbs, worst in rows:
        ok = "ok" if worst <= 0 else f"FAIL {worst:.2g}"
        print(f"| {op} | {ms:.3f} | {gbs:.0f} | {100 * gbs / bw:.0f}% | {ok} |")
    print(f"\n{failures} failure(s) in image ops; {sub_failures} failing family script(s)")
    return 1 if failures or sub_failures else 0


if __name__ == "__main__":
    sys.exit(main())
