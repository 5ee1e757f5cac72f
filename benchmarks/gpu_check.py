"""The GPU check, one entry point: every Triton kernel judged against float64, timings, the device sections.

Run on a CUDA machine from the repository root (builds the extension with
ninja when it is not built yet; needs torch and triton, nothing downloaded)::

    python benchmarks/gpu_check.py            # everything, < 5 minutes, tables last
    python benchmarks/gpu_check.py --quick    # smaller batches, fewer repeats
    python benchmarks/gpu_check.py --families pipeline --sections ""   # one family

Families (``--families``, in this order; each in ``benchmarks/gpu_checks/``):

1. ``data``: files -> ``DeviceLoader`` on the device, GPU decoding, CuPy / DALI tests;
2. ``audio``: spectrogram kernels, device vs CPU vs float64, timings vs copy bandwidth;
3. ``mixing``: mix and MoCHi kernels, the same;
4. ``pipeline``: the SimCLR view's correctness, CUDA-graph capture, its share of
   the copy bandwidth, and ``datagen-gpu bench --pipeline simclr`` on the device
   against every installed peer (``datagen_gpu.bench``);
5. ``policies``: ``presets.imagenet_train`` (TrivialAugmentWide, RandAugment, AugMix)
   on the device vs the CPU kernels, its launch sequence for two operation mixes, CUDA-graph
   capture, timings, and ``datagen-gpu bench --pipeline imagenet`` against the peers;
6. ``image``: every image op (the policies' affine / pixel_ops / erase included) in uint8,
   float16, bfloat16 and float32, device and CPU kernel each judged against the float64
   reference, timed against a copy.

Then the device sections (``--sections``, ``gpu_checks/device.py``):
``torch.library.opcheck`` of every op on the device's tensors; CUDA-graph
capture and replay of the SimCLR Compose and TwoViews under
``torch.cuda.set_sync_debug_mode("error")`` with host-to-device copies
counted; one launch per image-op family on a 3x3x16384x16384 batch with spot
checks; the test suite's CUDA backend (``pytest tests -k cuda``) in the time
left of the 5-minute budget. ``--device cpu`` runs the same code on the CPU
(C++ kernels, wall-clock timings; CUDA-only sections say why they are
skipped), so CI smoke-tests it (tests/test_gpu_check_script.py).
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gpu_checks.common import ROOT, ensure_built  # noqa: E402

ensure_built()

import torch  # noqa: E402

from gpu_checks import audio, data, device, images, mixing, pipeline, policies  # noqa: E402

FAMILIES = {"data": data, "audio": audio, "mixing": mixing, "pipeline": pipeline, "policies": policies,
            "image": images}
BUDGET_S = 285  # the whole run, pytest section included


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=256, help="image ops and the pipeline (data: at most 128)")
    p.add_argument("--size", type=int, default=256, help="input image side (views: size * 224 / 256)")
    p.add_argument("--rep", type=int, default=200, help="do_bench rep time in ms")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="batch <= 32, rep <= 50, fewer photos")
    p.add_argument("--families", default=",".join(FAMILIES), help="comma-separated: " + ", ".join(FAMILIES))
    p.add_argument("--sections", default=",".join(device.SECTIONS),
                   help="comma-separated device sections, after the families: " + ", ".join(device.SECTIONS))
    p.add_argument("--big-size", type=int, default=None,
                   help="side of the big-image launch (default 16384 on CUDA; on the CPU skipped unless given)")
    p.add_argument("--opcheck-ops", default=None, help="comma-separated op names to opcheck (default: all)")
    p.add_argument("--seconds", type=float, default=5.0, help="pipeline: timed seconds of the bench comparison")
    p.add_argument("--no-peers", action="store_true", help="pipeline: compare ours only (no peer libraries)")
    p.add_argument("--images", type=int, default=768, help="data: photos in the folder")
    p.add_argument("--threads", type=int, default=min(8, os.cpu_count() or 1), help="data: decode threads")
    p.add_argument("--batches", type=int, default=4, help="data: timed batches")
    p.add_argument("--root", default=os.path.join(ROOT, "out", "gpu_check_photos"), help="data: photo folder")
    p.add_argument("--no-pytest", action="store_true", help="data: skip the CuPy / DALI test runs")
    return p


def main(argv=None):
    p = build_parser()
    args = p.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        p.error(f"--families: unknown {unknown}; choose from {', '.join(FAMILIES)}")
    if args.quick:
        args.batch, args.rep = min(args.batch, 32), min(args.rep, 50)
    t0 = time.time()
    dev = torch.device(args.device)
    failed = {}
    for name in FAMILIES:  # in their order, whatever the order given
        if name in families:
            failed[name] = FAMILIES[name].run(args)
    sections = {s for s in args.sections.split(",") if s}
    big = args.big_size if args.big_size is not None else (16384 if dev.type == "cuda" else 0)
    ops = None if args.opcheck_ops is None else set(args.opcheck_ops.split(","))
    rows, sec_failures = device.run_sections(dev, sections, big_size=big, budget_end=t0 + BUDGET_S,
                                             batch=min(args.batch, 64), opcheck_ops=ops)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"\ndatagen_gpu gpu_check on {name}, torch {torch.__version__}; total {time.time() - t0:.0f} s\n")
    if rows:
        device.print_rows(rows)
    summary = ", ".join(f"{k} {n}" for k, n in failed.items())
    print(f"\nfailures: {summary or 'no family run'}; {sec_failures} in the device sections")
    return 1 if sec_failures or any(failed.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
