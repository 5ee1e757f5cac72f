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

c and d are ``datagen_gpu.bench``'s peers in folder mode (what ``datagen-gpu bench
--source DIR --pipeline simclr`` runs against b'); run this script in an environment
with torchvision and DALI (README, "Compare against peers").

The prediction for b is ``1 / (1/a + 1/a')`` (decode and augmentation share the
cores); the table gives b / prediction (the loader's own overhead) and every
variant's ratio to c and d. Also printed: each decoder's single-thread rate.
Every variant runs once per round, in turn, and the table gives the median
over the rounds (this VM's speed drifts by tens of percent within minutes)::

    python benchmarks/bench_loader.py [--images 2000] [--batch 64] [--workers 2] [--batches 15]
                                      [--size 224] [--json out/bench_loader.json] [--only a,b,b']
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")  # huge pages for every variant (README)

import torch  # noqa: E402
from torch.utils.data import DataLoader, RandomSampler  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.insert(0, os.path.dirname(_HERE))

from datagen_gpu.bench import peers  # noqa: E402
from datagen_gpu.bench.cases import PIPELINES, Settings, Unavailable  # noqa: E402
from datagen_gpu.bench.inputs import Inputs  # noqa: E402
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


def _peer(name, args, root):
    """A peer's SimCLR two views read from ``root`` by its own loader (datagen_gpu.bench's folder mode)."""
    settings = Settings(batch=args.batch, size=args.size, threads=max(1, args.workers))
    built = peers.build(name, PIPELINES["simclr"], Inputs(torch.empty(0), folder=root), settings)
    PEER_VERSIONS.update(peers.versions([name]))
    return built.run


def run_c(args, root, total):
    """torchvision's ImageFolder (PIL) + v2 transforms in W DataLoader workers."""
    return timed(_peer("torchvision", args, root).open(), args.batches, args.warmup, args.batch)


def run_d(args, root, total):
    """DALI's file reader, ``decoders.image_random_crop`` per view and the CPU operators, W threads."""
    return timed(_peer("dali", args, root).open(), args.batches, args.warmup, args.batch)


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
            except Unavailable as e:
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
