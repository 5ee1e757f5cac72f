"""Files -> two SimCLR views: datagen_gpu's loader against decode alone, augmentation alone and peers.

A folder of JPEG photos (``make_photo_folder``: random crops of the built-in
sample photos, 300-1200 px, quality 90, 4 classes) is read at batch B with the
same number of decode workers W by every variant, in one run:

- ``a  decode only``: ``ThreadLoader(ImageFolder, num_threads=W)``, no augmentation;
- ``a' augment only``: ``TwoViews(simclr_view())`` on batches decoded beforehand (all cores);
- ``b  DeviceLoader``: ``DeviceLoader(ThreadLoader(...), TwoViews(simclr_view()), crop_aware=False)``;
- ``b' DeviceLoader, crop-aware``: the same, decoding only the windows the crops read (the default);
- ``bp DeviceLoader, DataLoader workers``: b' fed by ``DataLoader(num_workers=W)`` processes;
- ``c  torchvision``: ``torchvision.datasets.ImageFolder`` + v2 transforms (two views) in W workers;
- ``d  DALI``: DALI's CPU pipeline (file reader, ``decoders.image_random_crop`` per view, resize,
  colour, blur, normalize; ``num_threads=W``).

The prediction for b is ``1 / (1/a + 1/a')`` (decode and augmentation share the
cores); the table gives b / prediction (the loader's own overhead) and every
variant's ratio to c and d. Also printed: each decoder's single-thread rate.
Every variant runs once per round, in turn, and the table gives the median
over the rounds (this VM's speed drifts by tens of percent within minutes)::

    python benchmarks/bench_loader.py [--images 2000] [--batch 64] [--workers 2] [--batches 15]
                                      [--size 224] [--json out/bench_loader.json] [--only a,b,b']
                                      [--peer-python /path/to/torchvision-venv/bin/python]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")  # see compare_pipeline.py

import torch  # noqa: E402
from torch.utils.data import DataLoader, RandomSampler  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.insert(0, os.path.dirname(_HERE))

import loader_peers  # noqa: E402
import pipeline_cases as pc  # noqa: E402
from datagen_gpu.data import (DeviceLoader, ImageFolder, ThreadLoader, available_decoders, collate,  # noqa: E402
                              decode)
from datagen_gpu.data.photo_folder import make_photo_folder  # noqa: E402
from datagen_gpu.presets import TwoViews, simclr_view  # noqa: E402

VARIANTS = ("a", "a'", "b", "b'", "bp", "c", "d")
PEER_VERSIONS = {}
LABELS = {"a": "a  decode only (threads)", "a'": "a' augment only", "b": "b  DeviceLoader, full decode",
          "b'": "b' DeviceLoader, crop-aware", "bp": "bp DeviceLoader, DataLoader processes",
          "c": "c  torchvision ImageFolder + v2", "d": "d  DALI CPU pipeline"}


def decoder_rates(paths, n=48):
    """Single-thread decode rate (img/s) of each installed decoder on the first n files."""
    blobs = [open(p, "rb").read() for p in paths[:n]]
    out = {}
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name in available_decoders():
            decode(blobs[0], name)
            t0 = time.perf_counter()
            for b in blobs:
                decode(b, name)
            out[name] = len(blobs) / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(saved)
    return out


def timed(batches, count, warmup, batch):
    """img/s over ``count`` batches of an iterator, after ``warmup`` batches."""
    it = iter(batches)
    for _ in range(warmup):
        next(it)
    t0 = time.perf_counter()
    n = 0
    for _ in range(count):
        b = next(it)
        n += batch if b is None else len(b[2]) if isinstance(b, tuple) and len(b) == 3 else batch
    elapsed = time.perf_counter() - t0
    close = getattr(it, "close", None)
    if close is not None:
        close()
    return n / elapsed


def _sampler(ds, total):
    return RandomSampler(ds, replacement=True, num_samples=total, generator=torch.Generator().manual_seed(0))


def loader(ds, args, total, processes=False):
    """W decode threads (ThreadLoader), or W DataLoader worker processes."""
    if processes:
        return DataLoader(ds, batch_size=args.batch, sampler=_sampler(ds, total), num_workers=args.workers,
                          collate_fn=collate, prefetch_factor=4 if args.workers else None)
    return ThreadLoader(ds, args.batch, sampler=_sampler(ds, total), num_threads=max(1, args.workers))


def run_a(args, root, total):
    return timed(loader(ImageFolder(root), args, total), args.batches, args.warmup, args.batch)


def run_a_prime(args, root, total):
    ds = ImageFolder(root)
    g = torch.Generator().manual_seed(1)
    batches = []
    for _ in range(3):
        idx = torch.randint(len(ds), (args.batch,), generator=g).tolist()
        batches.append(([ds[i][0] for i in idx], torch.tensor(idx)))
    views = TwoViews(simclr_view(args.size))

    def gen():
        k = 0
        while True:
            images, ids = batches[k % len(batches)]
            views(images, sample_ids=ids + k * len(ds))
            k += 1
            yield None
    return timed(gen(), args.batches, args.warmup, args.batch)


def run_b(args, root, total, crop_aware, processes=False):
    ds = ImageFolder(root)
    dl = DeviceLoader(loader(ds, args, total, processes), TwoViews(simclr_view(args.size)), device="cpu",
                      crop_aware=crop_aware, cpu_threads=args.cpu_threads)
    assert dl.crop_aware == crop_aware
    return timed(dl, args.batches, args.warmup, args.batch)


def run_c(args, root, total):
    """torchvision in this process when it imports, else under ``--peer-python`` (loader_peers.py)."""
    try:
        import torchvision  # noqa: F401
        return loader_peers.run_torchvision(root, args.batch, args.size, args.workers, args.batches, args.warmup)
    except ImportError as e:
        if not args.peer_python:
            raise pc.Unavailable(f"torchvision not installed ({e}); --peer-python runs it in another venv") from e
    cmd = [args.peer_python, os.path.join(_HERE, "loader_peers.py"), root, "--batch", str(args.batch), "--size",
           str(args.size), "--workers", str(args.workers), "--batches", str(args.batches), "--warmup", str(args.warmup)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise pc.Unavailable(f"{args.peer_python} failed: {res.stderr.strip().splitlines()[-1:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    if "skipped" in out:
        raise pc.Unavailable(out["skipped"])
    PEER_VERSIONS.update(out.get("versions", {}))
    return out["c"]


def run_d(args, root, total):
    try:
        from nvidia.dali import fn, pipeline_def, types
    except ImportError as e:
        raise pc.Unavailable(f"nvidia-dali not installed: {e}") from e
    size, mean, std = args.size, pc.IMAGENET_MEAN, pc.IMAGENET_STD

    def view(jpegs):
        x = fn.decoders.image_random_crop(jpegs, device="cpu", output_type=types.RGB,
                                          random_area=(0.08, 1.0), random_aspect_ratio=(3 / 4, 4 / 3))
        x = fn.resize(x, size=(size, size), antialias=True, interp_type=types.INTERP_LINEAR)
        jitter = fn.cast(fn.random.coin_flip(probability=0.8), dtype=types.FLOAT)
        keep_color = 1.0 - fn.cast(fn.random.coin_flip(probability=0.2), dtype=types.FLOAT)

        def factor(lo, hi):
            return 1.0 + jitter * (fn.random.uniform(range=(lo, hi)) - 1.0)
        x = fn.color_twist(x, brightness=factor(0.6, 1.4), contrast=factor(0.6, 1.4),
                           saturation=factor(0.6, 1.4) * keep_color, hue=jitter * fn.random.uniform(range=(-36.0, 36.0)))
        if fn.random.coin_flip(probability=0.5):
            x = fn.gaussian_blur(x, window_size=pc.BLUR_KERNEL, sigma=fn.random.uniform(range=(0.1, 2.0)))
        return fn.crop_mirror_normalize(x, mirror=fn.random.coin_flip(probability=0.5), dtype=types.FLOAT,
                                        output_layout="CHW", mean=[255 * m for m in mean],
                                        std=[255 * s for s in std])

    @pipeline_def(batch_size=args.batch, num_threads=max(1, args.workers), device_id=None, seed=0,
                  enable_conditionals=True, prefetch_queue_depth=2)
    def pipe():
        jpegs, labels = fn.readers.file(file_root=root, random_shuffle=True, name="Reader")
        return view(jpegs), view(jpegs), labels

    try:
        p = pipe()
        p.build()
    except Exception as e:  # noqa: BLE001  (DALI's C++ errors)
        raise pc.Unavailable(f"DALI pipeline failed to build: {type(e).__name__}: {e}") from e

    def gen():
        while True:
            a, b, labels = p.run()
            yield torch.from_numpy(a.as_array()), torch.from_numpy(b.as_array())
    return timed(gen(), args.batches, args.warmup, args.batch)


def measure(args, root):
    """Median img/s per variant over ``args.rounds`` interleaved rounds (round r runs every
    variant once, in turn, so a change in the machine's speed hits all of them alike)."""
    total = (args.batches + args.warmup + 2 * max(args.workers, 1)) * args.batch * 2
    runners = {"a": run_a, "a'": run_a_prime, "b": lambda *a: run_b(*a, crop_aware=False),
               "b'": lambda *a: run_b(*a, crop_aware=True), "bp": lambda *a: run_b(*a, crop_aware=True, processes=True),
               "c": run_c, "d": run_d}
    runs, skipped = {v: [] for v in args.only}, {}
    for r in range(args.rounds):
        for v in args.only:
            if v in skipped:
                continue
            try:
                runs[v].append(runners[v](args, root, total))
            except pc.Unavailable as e:
                skipped[v] = str(e)
            print(f"  round {r + 1}/{args.rounds} {LABELS[v]}: "
                  + (f"{runs[v][-1]:.0f} img/s" if v not in skipped else f"skipped ({skipped[v]})"),
                  file=sys.stderr, flush=True)
    rates = {v: statistics.median(x) for v, x in runs.items() if x}
    spread = {v: (min(x), max(x)) for v, x in runs.items() if x}
    return rates, spread, skipped


def report(args, rates, spread, skipped, dec):
    lines = [f"B={args.batch}, {args.size}x{args.size} two views, W={args.workers} decode workers / threads, "
             f"{args.batches} timed batches after {args.warmup}, median of {args.rounds} interleaved rounds "
             f"(min-max in brackets); torch threads {torch.get_num_threads()}, loader cpu_threads "
             f"{args.cpu_threads or torch.get_num_threads()}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(default)')}",
             "", "| variant | img/s | ratio to c | ratio to d | note |", "|---|---:|---:|---:|---|"]
    pred = None
    if "a" in rates and "a'" in rates:
        pred = 1.0 / (1.0 / rates["a"] + 1.0 / rates["a'"])
    for v in VARIANTS:
        if v not in rates:
            if v in skipped:
                lines.append(f"| {LABELS[v]} | - | | | skipped: {skipped[v]} |")
            continue
        r = rates[v]
        note = f"{r / pred:.0%} of the prediction {pred:.0f}" if pred and v == "b" else ""
        rc = f"{r / rates['c']:.1f}x" if "c" in rates else ""
        rd = f"{r / rates['d']:.1f}x" if "d" in rates else ""
        lo, hi = spread[v]
        lines.append(f"| {LABELS[v]} | {r:.0f} [{lo:.0f}-{hi:.0f}] | {rc} | {rd} | {note} |")
    lines += ["", "single-thread decode rates (img/s): " + ", ".join(f"{k} {v:.0f}" for k, v in dec.items())]
    return "\n".join(lines), pred


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batches", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--root", default=os.path.join("out", "bench_photos"))
    ap.add_argument("--only", default=",".join(VARIANTS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cpu-threads", type=int, default=None, help="DeviceLoader's cpu_threads (default: torch's)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--peer-python", default=None,
                    help="a Python with torchvision (its own torch) to run variant c in (loader_peers.py)")
    args = ap.parse_args(argv)
    args.only = [v.strip() for v in args.only.split(",") if v.strip()]
    bad = [v for v in args.only if v not in VARIANTS]
    if bad:
        ap.error(f"--only: unknown variants {bad}, expected some of {list(VARIANTS)}")
    root = make_photo_folder(args.root, args.images)
    dec = decoder_rates(ImageFolder(root).paths)
    rates, spread, skipped = measure(args, root)
    text, pred = report(args, rates, spread, skipped, dec)
    print(text)
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.processor() or platform.machine(),
                       "cores": os.cpu_count(), "args": vars(args), "img_per_s": rates, "min_max": spread, "skipped": skipped,
                       "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                       "predicted_b": pred, "decode_single_thread": dec, "torch": torch.__version__,
                       "peer_versions": PEER_VERSIONS}, f, indent=1)
    return rates


def test_bench_loader_runs(tmp_path):
    """A one-shot run at a tiny size (the numbers are not checked: tests never assert on speed)."""
    rates = main(["--images", "24", "--batch", "4", "--size", "32", "--workers", "0", "--batches", "2",
                  "--warmup", "1", "--rounds", "1", "--root", str(tmp_path / "photos"), "--only", "a,a',b,b',bp",
                  "--json", str(tmp_path / "r.json")])
    assert set(rates) == {"a", "a'", "b", "b'", "bp"} and all(r > 0 for r in rates.values())
    assert json.load(open(tmp_path / "r.json"))["img_per_s"].keys() == rates.keys()


if __name__ == "__main__":
    main()
