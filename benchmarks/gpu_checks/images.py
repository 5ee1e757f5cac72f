"""GPU check, image ops: every op and dtype on the device and on the CPU, each judged against float64.

For every op and input dtype (uint8, float16, bfloat16, float32) the op runs
on the device's tensors (Triton on CUDA) and on the same inputs on the CPU
(C++). *Each* output is judged against the float64 reference
(datagen_gpu.reference) on samples spread over the batch, with the per-dtype
tolerance of datagen_gpu.testing, as the test suite judges them. The two
outputs are not required to agree bit for bit (the GPU fuses multiply-adds;
Triton's sqrt and division are not IEEE-rounded): their largest difference
over the whole batch is reported as a number (also in units of the
tolerance; two outputs each within tolerance of the reference differ by at
most about 2). Each op is then timed (uint8 3xSxS batches) and its effective
GB/s (bytes read + written once) compared with a measured device-to-device copy.
"""
import torch

import datagen_gpu.functional as F
from datagen_gpu import reference as R
from datagen_gpu.testing import TOLERANCES

from .common import copy_gbs, device_name, judge, judge_dtypes, op_row, print_op_table, ref_samples

DTYPES = [torch.uint8, torch.float16, torch.bfloat16, torch.float32]
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
        # the policies' ops: a per-sample affine map (bilinear: continuous in the map, so a
        # float32 device map is judged fairly), continuous pixel ops, erase boxes
        "angle": u(-30.0, 30.0), "scale": u(0.8, 1.2),
        "translate": torch.stack([u(-20.0, 20.0), u(-20.0, 20.0)], 1).round(),
        "shear": torch.stack([u(-15.0, 15.0), u(-15.0, 15.0)], 1),
        "pixop": torch.tensor([0, 1, 2, 3, 4, 7, 9])[torch.randint(0, 7, (B,), generator=gen)],
        "pixmag": u(0.1, 1.9),
        "erase": torch.stack([top, left, (side / 2).floor(), (side / 3).floor()], 1).to(torch.int64),
        "erase_value": torch.rand(B, 3, generator=gen),
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
        "affine": (lambda x: F.affine(x, d["angle"], d["translate"], d["scale"], d["shear"],
                                      interpolation="bilinear", fill=None),
                   lambda u, dt: R.affine(u, r["angle"], r["translate"], r["scale"], r["shear"],
                                          interpolation="bilinear")),
        "pixel_ops": (lambda x: F.pixel_ops(x, d["pixop"], d["pixmag"]),
                      lambda u, dt: R.pixel_ops(u, r["pixop"], r["pixmag"], dt)),
        "erase": (lambda x: F.erase(x, d["erase"], d["erase_value"] * (255 if x.dtype == torch.uint8 else 1)),
                  lambda u, dt: R.erase(u, r["erase"], r["erase_value"])),
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
    # the warp's map is float32 on both paths (the reference's is float64): a coordinate off by
    # ~1e-7 of the image size moves a bilinear value by up to that times the local gradient
    warp_atol = lambda dt: max(TOLERANCES[dt][0], 5e-5)  # noqa: E731
    atols = {"normalize": norm_atol, "fused_augment": norm_atol, "affine": warp_atol}
    return {k: (fn, ref, atols.get(k)) for k, (fn, ref) in cases.items()}


def check(args):
    """(rows, copy bandwidth, failures); a row: (op, ms, GB/s, device excess, CPU excess,
    max |device - CPU|, that in tolerance units), the excesses being the worst over dtypes."""
    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(args.seed)
    B, H, W = args.batch, args.size, args.size
    P = make_params(B, H, W, gen)
    idx = ref_samples(B)
    cpu_cases, dev_cases = make_cases(P, "cpu", idx), make_cases(P, device, idx)
    rows, failures = [], 0
    for name, (fn, ref, atol) in dev_cases.items():
        def trial(dtype, name=name, fn=fn, ref=ref, atol=atol):
            if dtype == torch.uint8:
                x_cpu = torch.randint(0, 256, (B, 3, H, W), dtype=torch.uint8, generator=gen)
            else:
                x_cpu = torch.rand(B, 3, H, W, generator=gen).to(dtype)
            out_dev = fn(x_cpu.to(device)).cpu()
            return judge(out_dev, cpu_cases[name][0](x_cpu), ref(R.to_unit(x_cpu[idx]), dtype), idx,
                         atol(dtype) if callable(atol) else atol)
        worst, failed = judge_dtypes(name, DTYPES, trial, verbose=True)
        failures += failed
        x = torch.randint(0, 256, (B, 3, H, W), dtype=torch.uint8, device=device)
        rows.append(op_row(name, fn, x, device, args.rep, worst))
    bw = copy_gbs(device, args.rep)
    return rows, bw, failures


def run(args) -> int:
    """The image-op section of ``benchmarks/gpu_check.py``: prints its table, returns the failure count."""
    print(f"== image ops on {device_name(args.device)}, torch {torch.__version__}, B={args.batch}, "
          f"{args.size}x{args.size}; device and CPU kernel each judged against float64 on samples "
          f"{ref_samples(args.batch)}", flush=True)
    rows, bw, failures = check(args)
    print_op_table(rows, bw)
    print(f"\n{failures} failure(s) in image ops\n")
    return failures
