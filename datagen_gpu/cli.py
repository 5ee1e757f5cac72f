"""Command line: ``datagen-gpu demo`` (also ``python -m datagen_gpu demo``).

    datagen-gpu demo [--out DIR] [--batch N] [--device cpu|cuda] [--seed S]

applies every op with random per-sample parameters to a batch of built-in
sample images (scikit-image's bundled photos when it is installed, else
procedural images), writes DIR/augmented.png (rows = ops, columns = samples)
and prints a per-op throughput table for the chosen device.
"""
import argparse
import os
import sys

import torch


def _default_device():
    return "cuda" if torch.cuda.is_available() else "cpu"


def build_parser():
    parser = argparse.ArgumentParser(prog="datagen-gpu", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="augment built-in sample images; PNG grid + throughput table")
    demo.add_argument("--out", default="out", help="output directory (default: out)")
    demo.add_argument("--batch", type=int, default=64, help="batch size (default: 64)")
    demo.add_argument("--device", choices=("cpu", "cuda"), default=None,
                      help="device (default: cuda when available, else cpu)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the parameter draws (default: 0)")
    demo.add_argument("--source", choices=("auto", "skimage", "procedural"), default="auto",
                      help="sample images: scikit-image's photos, procedural ones, or auto "
                           "(photos when scikit-image is installed)")
    demo.add_argument("--columns", type=int, default=8,
                      help="samples shown in the grid (default: 8)")
    demo.add_argument("--tile", type=int, default=128, help="grid cell size in pixels (default: 128)")
    demo.add_argument("--repeats", type=int, default=5,
                      help="timed runs per op; the table shows the median (default: 5)")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        # The throughput table times batched outputs of tens of MB: back them with
        # huge pages (torch's allocator reads this at its first large allocation),
        # as benchmarks/compare*.py do; see README "CPU performance notes".
        os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
        device = args.device or _default_device()
        if device == "cuda" and not torch.cuda.is_available():
            parser.error("--device cuda: no CUDA device is available")
        for name in ("batch", "columns", "tile", "repeats"):
            if getattr(args, name) < 1:
                parser.error(f"--{name}: expected a positive number, got {getattr(args, name)}")
        from .demo import run_demo

        run_demo(out_dir=args.out, batch=args.batch, device=device, seed=args.seed,
                 source=args.source, columns=args.columns, tile=args.tile, repeats=args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
