"""``datagen-gpu bench``: check the flags, run the comparison, print the table, write JSON and the chart."""
import os
from typing import Callable

import torch

from . import cases, peers, plots, report
from .inputs import check_source, describe_source
from .run import run

DEFAULT_SECONDS, SWEEP_SECONDS = 10.0, 3.0


def bench(args, device: str, error: Callable[[str], None], command: str, log: Callable[[str], None] = print) -> int:
    """Run ``datagen-gpu bench`` for parsed ``args``; ``error(message)`` rejects bad flags (exits).

    Returns:
        0 (the exit status).
    """
    try:
        pipelines = cases.select(args.pipeline)
        compare = peers.parse(args.compare)
        source = check_source(args.source)
    except (ValueError, RuntimeError) as e:
        error(str(e))
    sweep, points = args.sweep or (None, None)
    plot = args.plot or (os.path.join("out", f"bench_sweep_{sweep}.png") if sweep else None)
    if plot:
        try:
            plots._pyplot()
        except RuntimeError as e:
            error(f"--plot: {e}")
    if args.size < 16:
        error(f"--size: expected at least 16, got {args.size}")
    settings = cases.Settings(device=device, batch=args.batch, size=args.size, source=source,
                              threads=args.threads or torch.get_num_threads(), seed=args.seed)
    seconds = args.seconds or (SWEEP_SECONDS if sweep else DEFAULT_SECONDS)
    info = report.machine(device, peers.versions(compare))
    log(f"datagen-gpu bench on {info['gpu'] or info['cpu']} ({device}, {info['cores']} cores, "
        f"{settings.threads} threads), batch {settings.batch}, size {settings.size}, "
        f"inputs: {describe_source(source)}; {seconds:g} s per "
        f"{'point' if sweep else 'pipeline'}; comparing with: {', '.join(compare) or 'nothing'}")
    result = run(pipelines, settings, compare, seconds, sweep=sweep, sweep_points=points, log=log)
    record = report.to_json(result, command, info)
    log("")
    log(report.table(record) if record["results"] else "no results (every library was skipped)")
    skipped = report.skipped_lines(record)
    if skipped:
        log("\nskipped:\n" + "\n".join(skipped))
    if plot and record["results"]:
        log(f"chart: {plots.chart(record, plot)}")
        record["plot"] = os.path.relpath(os.path.abspath(plot), os.path.dirname(os.path.abspath(args.json))) \
            if args.json else plot
    if args.json:
        report.write_json(record, args.json)
        log(f"results: {args.json}")
    return 0
