"""GPU check, data pipeline: files -> DeviceLoader on the device, decode on the GPU, interop.

The ``data`` family of ``benchmarks/gpu_check.py`` (``--families data``; its
``--images``, ``--threads``, ``--batches``, ``--root``, ``--no-pytest`` and, capped
at 128, ``--batch``; views at 224 for ``--size 256``). On a folder of JPEG
photos made at the start (``make_photo_folder``, nothing downloaded) it
measures (a) decoding alone with ``ThreadLoader`` and (b)
``DeviceLoader(ThreadLoader(...), TwoViews(simclr_view()))`` on the device
(crop-aware, the default), whose target is >= 85% of (a): augmentation leaves
the CPU. It checks (b)'s views against the same loader on the CPU (the Triton
and C++ kernels; the difference is reported as a number and fails only past
a loose bound), runs the loader with ``torch.cuda.set_sync_debug_mode("error")``
(no host synchronization per batch), decodes with ``decode="gpu"`` (nvImageCodec
or torchvision's nvJPEG, whichever is installed) and reports its throughput
and its difference from the CPU decode, then runs the CuPy interop tests and
the DALI mixed-pipeline tests when CuPy / DALI are installed.
"""
import subprocess
import sys
import time

import torch

from datagen_gpu.data import DeviceLoader, ImageFolder, ThreadLoader
from datagen_gpu.data.photo_folder import make_photo_folder
from datagen_gpu.presets import TwoViews, simclr_view

from .common import ROOT, device_name, print_table

VIEW_BOUND = 0.05  # normalized units; Triton vs C++ differ by float32 rounding (~1e-5)


def rate(iterable, batches, warmup=1):
    it = iter(iterable)
    for _ in range(warmup):
        next(it)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0, n = time.perf_counter(), 0
    for _ in range(batches):
        b = next(it)
        n += len(b.sample_ids)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    close = getattr(it, "close", None)
    if close:
        close()
    return n / (time.perf_counter() - t0)


def views_of(loader, ids_wanted):
    out = {}
    for (a, b), _, ids in loader:
        for k, i in enumerate(ids.tolist()):
            if i in ids_wanted:
                out[i] = (a[k].float().cpu(), b[k].float().cpu())
        if len(out) == len(ids_wanted):
            break
    return out


def pytest_run(args_):
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", *args_], cwd=ROOT, capture_output=True, text=True)
    last = (res.stdout.strip().splitlines() or ["(no output)"])[-1]
    return res.returncode in (0, 5), last


def run(args) -> int:
    """The data section: prints its table, returns the failure count."""
    batch, size = min(args.batch, 128), round(args.size * 224 / 256)
    images, batches = (min(args.images, 256), 2) if args.quick else (args.images, args.batches)
    device = torch.device(args.device)
    t0 = time.time()
    root = make_photo_folder(args.root, images)
    print(f"== data on {device_name(device)}, torch {torch.__version__}, B={batch}, "
          f"{args.threads} decode threads, {images} photos", flush=True)
    rows, failures = [], 0

    def source(decode="cpu", shuffle=False):
        return ThreadLoader(ImageFolder(root, decode=decode), batch, shuffle=shuffle, num_threads=args.threads)

    a = rate(source(), batches)
    rows.append(("a  decode only (ThreadLoader)", f"{a:.0f} img/s", ""))
    view = TwoViews(simclr_view(size))
    b = rate(DeviceLoader(source(shuffle=True), view, device=device), batches)
    ok = device.type != "cuda" or b >= 0.85 * a
    rows.append((f"b  DeviceLoader on {device.type}, two views", f"{b:.0f} img/s",
                 f"{b / a:.0%} of a (target >= 85% on CUDA)" + ("" if ok else " MISSED")))

    # views on the device == views on the CPU (first batch's sample ids)
    wanted = set(range(min(batch, 32)))
    ref = views_of(DeviceLoader(source(), view, device="cpu"), wanted)
    got = views_of(DeviceLoader(source(), view, device=device), wanted)
    diff = max(max((got[i][v] - ref[i][v]).abs().max().item() for v in range(2)) for i in wanted)
    failures += diff > VIEW_BOUND
    rows.append(("views: device vs CPU kernels", f"max abs diff {diff:.2e}", "ok" if diff <= VIEW_BOUND else "FAIL"))

    if device.type == "cuda":
        torch.cuda.set_sync_debug_mode("error")
        try:
            rate(DeviceLoader(source(), view, device=device), 2, warmup=1)
            rows.append(("no host sync per batch (sync debug mode 'error')", "", "ok"))
        except RuntimeError as e:
            failures += 1
            rows.append(("no host sync per batch (sync debug mode 'error')", "", f"FAIL: {str(e)[:80]}"))
        finally:
            torch.cuda.set_sync_debug_mode("default")

    # decode="gpu": the batch decoded on the device in one call
    g = rate(DeviceLoader(source("gpu"), None, device=device), batches)
    cpu_imgs = next(iter(DeviceLoader(source(), None, device="cpu"))).images
    gpu_imgs = next(iter(DeviceLoader(source("gpu"), None, device=device))).images
    dec = max((x.float().cpu() - y.float()).abs().mean().item() for x, y in zip(gpu_imgs, cpu_imgs))
    rows.append(('decode="gpu", decode only', f"{g:.0f} img/s", f"mean abs diff vs CPU decode <= {dec:.2f} levels"))

    suites = () if args.no_pytest else (("CuPy interop tests", "tests/test_interop.py", "cupy"),
                                        ("DALI source tests (mixed pipeline)", "tests/test_dali_source.py", ""))
    for label, test, flt in suites:
        ok, last = pytest_run([test] + (["-k", flt] if flt else []))
        failures += not ok
        rows.append((label, last, "ok" if ok else "FAIL"))

    print(f"\ntotal {time.time() - t0:.0f} s\n")
    print_table(["check", "result", "note"], rows)
    print(f"\n{failures} failure(s) in the data check\n")
    return failures
