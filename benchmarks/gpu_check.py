"""One prepared GPU check: every Triton kernel judged against float64, timings, then the device sections.

Run on a CUDA machine from the repository root (builds the extension with
ninja when it is not built yet; needs torch and triton, nothing downloaded):

    python benchmarks/gpu_check.py            # full check, < 5 minutes, a table last
    python benchmarks/gpu_check.py --quick    # smaller batch, fewer repeats

1. the family scripts (data, audio, mixing, pipeline: gpu_check_<family>.py);
2. image ops: for every op and input dtype (uint8, float16, bfloat16, float32)
   the op runs on CUDA tensors (Triton) and on the same inputs on the CPU (C++).
   *Each* output is judged against the float64 reference (datagen_gpu.reference)
   on samples spread over the batch, with the per-dtype tolerance of
   datagen_gpu.testing, as the test suite judges them. The two outputs are not
   required to agree bit for bit (the GPU fuses multiply-adds; Triton's sqrt and
   division are not IEEE-rounded): their largest difference over the whole batch
   is reported as a number (also in units of the tolerance; two outputs each within
   tolerance of the reference differ by at most about 2). Each op is then timed
   with triton.testing.do_bench (uint8 3x256x256 batches) and its effective GB/s
   (bytes read + written once) compared with a measured device-to-device copy;
3. the device sections (benchmarks/gpu_check_device.py): ``torch.library.opcheck``
   of every op on CUDA tensors; CUDA-graph capture and replay of the SimCLR Compose
   and TwoViews under ``torch.cuda.set_sync_debug_mode("error")`` with host-to-device
   copies counted; one launch per image-op family on a 3x3x16384x16384 batch with
   spot checks against float64; the test suite's CUDA backend (``pytest tests -k
   cuda``) in the time left of the 5-minute budget.

The op table and the section table come last. ``--device cpu`` runs the same
script on the CPU (C++ kernels, wall-clock timings; the CUDA-only sections print
why they are skipped) so it is smoke-tested without a GPU
(tests/test_gpu_check_script.py).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _gpu_common import copy_gbs, ensure_built, judge, time_ms, verdict  # noqa: E402


ensure_built()

import torch  # noqa: E402

import datagen_gpu.functional as F  # noqa: E402
import gpu_check_device as dev_checks  # noqa: E402
from datagen_gpu import reference as R  # noqa: E402
from datagen_gpu.testing import TOLERANCES  # noqa: E402

DTYPES = [torch.uint8, torch.float16, torch.bfloat16, torch.float32]
BUDGET_S = 285  # the whole run, pytest section included


def ref_samples(batch, n=4):
    """The samples judged against the (per-sample, float64) reference: spread over the batch."""
    return sorted({round(i * (batch - 1) / max(n - 1, 1)) for i in range(n)}) if batch else []


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


def make_cases(P, device, idx):
    """op name -> (function of images on ``device``, float64 reference of (unit images[idx],
    dtype) for the samples ``idx``, atol: None (the dtype's) or the normalized outputs' own)."""
    d = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in P.items()}
    r = {k: (v[idx] if isinstance(v, torch.Tensor) else v) for k, v in P.items()}
    norm_atol = TOLERANCES[torch.float32][0] / min(P["std"])  # normalize scales errors by 1 / std

    def th(dtype, p):  # solarize thresholds are in the input's value range
        return p["thr"] * 255 if dtype == torch.uint8 else p["thr"]

    q = lambda dt: dt == torch.uint8  # noqa: E731  (torchvision floors uint8 grayscale)
    cases = {
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
    return {k: (fn, ref, norm_atol if k in ("normalize", "fused_augment") else None)
            for k, (fn, ref) in cases.items()}


def check(args):
    """(rows, copy bandwidth, failures); a row: (op, ms, GB/s, device excess, CPU excess,
    max |device - CPU|, that in tolerance units), the excesses being the worst over dtypes."""
    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(args.seed)
    B, H, W = args.batch, args.size, args.size
    P = make_params(B, H, W, gen)
    idx = ref_samples(B)
    cpu_cases, dev_cases = make_cases(P, "cpu", idx), make_cases(P, device, idx)
    rows = []
    failures = 0
    for name, (fn, ref, atol) in dev_cases.items():
        worst = dict(dev=float("-inf"), cpu=float("-inf"), diff=0.0, ratio=0.0)
        for dtype in DTYPES:
            if dtype == torch.uint8:
                x_cpu = torch.randint(0, 256, (B, 3, H, W), dtype=torch.uint8, generator=gen)
            else:
                x_cpu = torch.rand(B, 3, H, W, generator=gen).to(dtype)
            try:
                out_dev = fn(x_cpu.to(device)).cpu()
                out_cpu = cpu_cases[name][0](x_cpu)
                j = judge(out_dev, out_cpu, ref(R.to_unit(x_cpu[idx]), dtype), idx, atol)
            except Exception as exc:  # report and go on: the table shows what broke
                print(f"FAIL {name} {dtype}: {type(exc).__name__}: {exc}")
                failures += 1
                worst["dev"] = worst["cpu"] = float("inf")
                continue
            for what in ("dev", "cpu"):
                if j[what] > 0:
                    print(f"FAIL {name} {dtype}: {'device' if what == 'dev' else 'CPU kernel'} vs float64 "
                          f"reference exceeds tolerance by {j[what]:.3g}")
                    failures += 1
            print(f"  {name} {str(dtype).replace('torch.', '')}: |device - CPU| max {j['diff']:.3g} "
                  f"({j['ratio']:.2f} x tolerance)")
            worst = {k: max(worst[k], j[k]) for k in worst}
        x = torch.randint(0, 256, (B, 3, H, W), dtype=torch.uint8, device=device)
        out = fn(x)
        ms = time_ms(lambda: fn(x), device, args.rep)
        moved = x.numel() * x.element_size() + out.numel() * out.element_size()
        rows.append((name, ms, moved / (ms * 1e-3) / 1e9, worst["dev"], worst["cpu"], worst["diff"],
                     worst["ratio"]))
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
                        "image (the image ops)")
    p.add_argument("--sections", default=",".join(dev_checks.SECTIONS),
                   help="comma-separated device sections, after the image ops: " + ", ".join(dev_checks.SECTIONS))
    p.add_argument("--big-size", type=int, default=None,
                   help="side of the big-image launch (default 16384 on CUDA; on the CPU skipped unless given)")
    p.add_argument("--opcheck-ops", default=None, help="comma-separated op names to opcheck (default: all)")
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.rep = min(args.batch, 32), min(args.rep, 50)
    t0 = time.time()
    device = torch.device(args.device)
    families = set(args.families.split(","))
    sections = {s for s in args.sections.split(",") if s}
    sub_failures = 0
    sub_args = ["--device", args.device, "--rep", str(args.rep)] + (["--quick"] if args.quick else [])
    for family in ("data", "audio", "mixing", "pipeline"):
        if family in families:
            module = __import__(f"gpu_check_{family}")
            print(f"== {family} ops (benchmarks/gpu_check_{family}.py)", flush=True)
            sub_failures += int(module.main(sub_args) != 0)
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    rows, bw, failures = [], 0.0, 0
    if "image" in families:
        print(f"== image ops: datagen_gpu gpu_check on {name}, torch {torch.__version__}, B={args.batch}, "
              f"{args.size}x{args.size}; device and CPU kernel each judged against float64 on samples "
              f"{ref_samples(args.batch)}", flush=True)
        rows, bw, failures = check(args)
    big = args.big_size if args.big_size is not None else (16384 if device.type == "cuda" else 0)
    ops = None if args.opcheck_ops is None else set(args.opcheck_ops.split(","))
    sec_rows, sec_failures = dev_checks.run_sections(
        device, sections, big_size=big, budget_end=t0 + BUDGET_S, batch=min(args.batch, 64), opcheck_ops=ops)

    print(f"\ndatagen_gpu gpu_check on {name}, torch {torch.__version__}; copy bandwidth (read+write): "
          f"{bw:.0f} GB/s; total {time.time() - t0:.0f} s\n")
    if rows:
        print("| op | ms | GB/s | % of copy | device vs float64 | CPU kernel vs float64 | max abs(device - CPU) |")
        print("|---|---:|---:|---:|---|---|---:|")
        for op, ms, gbs, dev, cpu, diff, ratio in rows:
            print(f"| {op} | {ms:.3f} | {gbs:.0f} | {100 * gbs / bw:.0f}% | {verdict(dev)} | {verdict(cpu)} | "
                  f"{diff:.2g} ({ratio:.2f} tol) |")
        print()
    if sec_rows:
        dev_checks.print_table(sec_rows)
    print(f"\n{failures} failure(s) in image ops; {sec_failures} in the device sections; "
          f"{sub_failures} failing family script(s)")
    return 1 if failures or sec_failures or sub_failures else 0


if __name__ == "__main__":
    sys.exit(main())
