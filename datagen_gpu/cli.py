"""Command line: ``datagen-gpu demo`` and ``datagen-gpu bench`` (also ``python -m datagen_gpu ...``).

    datagen-gpu demo  [--out DIR] [--batch N] [--device cpu|cuda] [--seed S] [--source auto|skimage|procedural]
    datagen-gpu bench [--pipeline simclr|byol|moco|imagenet|specaugment|mixup|all] [--device cpu|cuda]
                      [--batch 64] [--size 224] [--source photos|procedural|DIR]
                      [--compare torchvision,kornia,dali,timm,torchaudio,torch|all|none]
                      [--sweep batch|size|threads[=V,V,...]] [--seconds S] [--threads N]
                      [--json FILE] [--plot FILE]

``demo`` applies every op to a batch of built-in sample images, writes
DIR/augmented.png and DIR/specaugment.png and prints a per-op throughput
table. ``bench`` times training pipelines with datagen_gpu and with every
installed library that can express them, on the same inputs in one process,
and prints img/s, ms per batch and the ratio to the fastest other library
(see datagen_gpu/bench/).
"""
import argparse
import os
import shlex
import sys

import torch


def _default_device():
    return "cuda" if torch.cuda.is_available() else "cpu"


def _positive(kind=int):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value
    return parse


def _sweep(text):
    """``batch``, ``size``, ``threads``, optionally ``=v1,v2,...`` -> (kind, values or None)."""
    kind, _, values = text.partition("=")
    if kind not in ("batch", "size", "threads"):
        raise argparse.ArgumentTypeError(f"expected batch, size or threads (optionally =V,V,...), got {text!r}")
    if not values:
        return kind, None
    try:
        points = [int(v) for v in values.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers after '=', got {values!r}") \
            from None
    if not points or min(points) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers after '=', got {values!r}")
    return kind, sorted(set(points))


def _device_arg(p):
    p.add_argument("--device", choices=("cpu", "cuda"), default=None,
                   help="device (default: cuda when available, else cpu)")


def build_parser():
    parser = argparse.ArgumentParser(prog="datagen-gpu", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="augment built-in sample images; PNG grid + throughput table")
    demo.add_argument("--out", default="out", help="output directory (default: out)")
    demo.add_argument("--batch", type=_positive(), default=64, help="batch size (default: 64)")
    _device_arg(demo)
    demo.add_argument("--seed", type=int, default=0, help="seed of the parameter draws (default: 0)")
    demo.add_argument("--source", choices=("auto", "skimage", "procedural"), default="auto",
                      help="sample images: scikit-image's photos, procedural ones, or auto "
                           "(photos when scikit-image is installed)")
    demo.add_argument("--columns", type=_positive(), default=8, help="samples shown in the grid (default: 8)")
    demo.add_argument("--tile", type=_positive(), default=128, help="grid cell size in pixels (default: 128)")
    demo.add_argument("--repeats", type=_positive(), default=5,
                      help="timed runs per op; the table shows the median (default: 5)")

    bench = sub.add_parser("bench", help="time training pipelines against torchvision, kornia, DALI, timm",
                           description="Time training pipelines with datagen_gpu and every installed library "
                                       "that can express them (same inputs, one process, interleaved rounds).")
    bench.add_argument("--pipeline", default="all",
                       help="simclr, byol, moco, imagenet (imagenet-trivial + imagenet-rand), imagenet-augmix, "
                            "specaugment, mixup or all; comma-separated for several (default: all)")
    _device_arg(bench)
    bench.add_argument("--batch", type=_positive(), default=64, help="batch size (default: 64)")
    bench.add_argument("--size", type=_positive(), default=224,
                       help="output side of the image pipelines; inputs are uint8 at size*256/224 (default: 224)")
    bench.add_argument("--source", default=None,
                       help="photos (scikit-image's sample photos), procedural, or a folder of images "
                            "(root/<class>/<file>: read through each library's data loader) "
                            "(default: photos when scikit-image is installed, else procedural)")
    bench.add_argument("--compare", default="all",
                       help="libraries to compare with: torchvision, kornia, dali, timm, torchaudio, torch "
                            "(comma-separated), all or none (default: all; missing ones are skipped with the reason)")
    bench.add_argument("--sweep", type=_sweep, default=None, metavar="batch|size|threads[=V,...]",
                       help="img/s against batch size (1..1024), output size or threads, drawn as a chart")
    bench.add_argument("--seconds", type=_positive(float), default=None,
                       help="timed seconds per pipeline (per sweep point) (default: 10; 3 with --sweep)")
    bench.add_argument("--threads", type=_positive(), default=None,
                       help="torch threads, DALI threads and per-image worker processes (default: torch's, "
                            f"{torch.get_num_threads()} here)")
    bench.add_argument("--seed", type=int, default=0, help="input and parameter seed (default: 0)")
    bench.add_argument("--json", metavar="FILE", help="write the results with the machine and versions as JSON")
    bench.add_argument("--plot", metavar="FILE", help="write the chart as PNG (with --sweep: img/s vs the setting; "
                                                      "default out/bench_sweep_<kind>.png)")
    return parser


def _device(parser, args):
    device = args.device or _default_device()
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    return device


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    # Batched outputs are tens of MB: back them with huge pages (torch's allocator reads
    # this at its first large allocation), for every library timed; README "CPU performance notes".
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
    if args.command == "demo":
        from .bench.demo import run_demo

        run_demo(out_dir=args.out, batch=args.batch, device=_device(parser, args), seed=args.seed,
                 source=args.source, columns=args.columns, tile=args.tile, repeats=args.repeats)
        return 0
    from .bench.main import bench

    command = "datagen-gpu " + shlex.join(sys.argv[1:] if argv is None else list(argv))
    return bench(args, _device(parser, args), parser.error, command)


if __name__ == "__main__":
    sys.exit(main())
