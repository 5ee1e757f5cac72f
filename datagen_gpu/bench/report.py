"""Results of ``datagen-gpu bench``: the table, the JSON record, and RESULTS.md's generated section.

The JSON (``--json FILE``) is the record runs are compared by over time:
``schema``, ``date``, ``command``, ``machine`` (CPU model, cores, memory,
GPU, library versions, load average), ``settings``, ``copy_gbs`` (measured
copy bandwidth per device), ``results`` (one entry per pipeline x library x
setting: img/s, ms per batch with its spread and every round's time, ratio
to the fastest peer, compulsory bytes and their fraction of the copy
bandwidth, a note), ``skipped`` (library, pipeline, reason) and ``plot``.

From JSON files, ``python -m datagen_gpu.bench.report --markdown FILES``
prints the tables as markdown (the latest run of each kind first) and
``--write benchmarks/RESULTS.md`` replaces the part of that file between
``<!-- bench:begin -->`` and ``<!-- bench:end -->`` with them.
"""
import argparse
import dataclasses
import datetime
import json
import os
import platform
import sys
from typing import Dict, List, Optional

import torch

SCHEMA = "datagen_gpu.bench/1"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


# ---------------------------------------------------------------- the machine


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what ``platform`` says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load() -> Optional[List[float]]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def machine(device: str, peer_versions: Dict[str, str]) -> dict:
    """What the numbers depend on: CPU, cores, memory, GPU, versions, load average."""
    import datagen_gpu

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1)
    except (ValueError, OSError, AttributeError):
        mem_gb = None
    gpu = torch.cuda.get_device_name(torch.device(device)) if torch.device(device).type == "cuda" else None
    return {
        "cpu": cpu_model(), "cores": os.cpu_count(), "usable_cores": usable, "memory_gb": mem_gb,
        "gpu": gpu, "platform": platform.platform(), "python": platform.python_version(),
        "versions": {"torch": torch.__version__, "datagen_gpu": getattr(datagen_gpu, "__version__", "?"),
                     **peer_versions},
        "load_average_start": _load(),
    }


# ---------------------------------------------------------------- JSON


def result(r) -> dict:
    """The JSON form of one :class:`~.run.Row`."""
    lo, q1, q3, hi = r.spread_ms
    return {
        "pipeline": r.pipeline, "library": r.library, "device": r.device, "batch": r.batch, "size": r.size,
        "threads": r.threads, "img_per_s": round(r.img_per_s, 2), "ms_per_batch": round(r.median_ms, 4),
        "spread_ms": {"min": round(lo, 4), "q1": round(q1, 4), "q3": round(q3, 4), "max": round(hi, 4)},
        "times_ms": r.times_ms, "ratio_to_fastest_peer": None if r.ratio is None else round(r.ratio, 4),
        "bytes": r.bytes, "bandwidth_fraction": None if r.bandwidth is None else round(r.bandwidth, 4),
        "note": r.note,
    }


def to_json(report, command: str, machine_info: dict, plot: Optional[str] = None) -> dict:
    """The JSON record of a :class:`~.run.Report` (see the module docstring)."""
    results = [result(r) for r in report.rows]
    info = dict(machine_info, load_average_end=_load())
    return {
        "schema": SCHEMA,
        "date": datetime.datetime.fromtimestamp(report.started).astimezone().isoformat(timespec="seconds"),
        "command": command, "machine": info, "settings": dataclasses.asdict(report.settings),
        "seconds": report.seconds, "sweep": report.sweep, "passes": report.passes,
        "copy_gbs": {k: round(v, 2) for k, v in report.copy_gbs.items()},
        "results": results, "skipped": [dataclasses.asdict(k) for k in report.skips], "plot": plot,
    }


def write_json(record: dict, path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")


def load(path: str) -> dict:
    """A JSON record written by ``--json``; ValueError if it is not one."""
    with open(path) as f:
        record = json.load(f)
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a datagen-gpu bench record (schema {SCHEMA})")
    if record.get("plot"):  # stored relative to the JSON file
        record["plot"] = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), record["plot"]))
    return record


# ---------------------------------------------------------------- tables


def _num(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def table(record: dict) -> str:
    """The results table (markdown, also readable in a terminal)."""
    if record.get("sweep"):
        return sweep_table(record)
    cuda = any(r["device"].startswith("cuda") for r in record["results"])
    head = ["pipeline", "library", "img/s", "ms / batch", "min-max ms", "vs fastest peer"]
    head += ["% of copy bandwidth"] if cuda else []
    lines = ["| " + " | ".join(head + ["note"]) + " |",
             "|" + "---|" * 2 + "---:|" * (len(head) - 2) + "---|"]
    for r in record["results"]:
        ratio = r["ratio_to_fastest_peer"]
        cells = [r["pipeline"], f"**{r['library']}**" if r["library"] == "datagen_gpu" else r["library"],
                 _num(r["img_per_s"]), _num(r["ms_per_batch"]),
                 f"{_num(r['spread_ms']['min'])}-{_num(r['spread_ms']['max'])}",
                 "-" if ratio is None else f"{ratio:.2f}x"]
        if cuda:
            bw = r["bandwidth_fraction"]
            cells.append("-" if bw is None or not r["device"].startswith("cuda") else f"{100 * bw:.0f}%")
        lines.append("| " + " | ".join(cells + [r["note"]]) + " |")
    return "\n".join(lines)


def sweep_table(record: dict) -> str:
    """img/s per library (rows) and sweep point (columns), one block per pipeline."""
    kind = record["sweep"]
    points = sorted({r[kind] for r in record["results"]})
    blocks = []
    for pipeline in dict.fromkeys(r["pipeline"] for r in record["results"]):
        rows = [r for r in record["results"] if r["pipeline"] == pipeline]
        lines = [f"| {pipeline}: img/s at {kind} = | " + " | ".join(str(p) for p in points) + " |",
                 "|---|" + "---:|" * len(points)]
        for lib in dict.fromkeys(r["library"] for r in rows):
            got = {r[kind]: r["img_per_s"] for r in rows if r["library"] == lib}
            lines.append(f"| {lib} | " + " | ".join(_num(got[p]) if p in got else "-" for p in points) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def skipped_lines(record: dict) -> List[str]:
    """One line per skipped library, its pipelines grouped."""
    by = {}
    for k in record["skipped"]:
        by.setdefault((k["library"], k["reason"]), []).append(k["pipeline"])
    return [f"- {lib} skipped for {', '.join(p)}: {reason}" for (lib, reason), p in by.items()]


def header(record: dict) -> str:
    m, s = record["machine"], record["settings"]
    gpu = f", GPU {m['gpu']}" if m.get("gpu") else ", no GPU used"
    vers = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    source = s["source"] if s["source"] in ("photos", "procedural") else "an image folder"

    def swept(key, value):
        return "swept" if record.get("sweep") == key else value
    return "\n".join([
        f"- date: {record['date']}; command: `{record['command']}`",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m.get('memory_gb')} GB{gpu}; "
        f"load average (1/5/15 min) {m.get('load_average_start')} at the start, {m.get('load_average_end')} at the end",
        f"- {vers}",
        f"- {s['device']}, batch {swept('batch', s['batch'])}, output {swept('size', s['size'])}, inputs from "
        f"{source}, {swept('threads', s['threads'])} threads; median of interleaved rounds over "
        f"{record['seconds']:g} s per "
        + (f"point ({record.get('passes', 3)} passes over the points, pooled)" if record.get("sweep")
           else "pipeline") + " after a warm-up"
        + (f"; copy bandwidth {', '.join(f'{k} {v:g} GB/s' for k, v in record['copy_gbs'].items())}"
           if record["copy_gbs"] else ""),
    ])


def markdown(records: List[dict], plot_dir: Optional[str] = None) -> str:
    """The generated section of RESULTS.md: the newest record of each kind (table, sweep) first."""
    records = sorted(records, key=lambda r: r["date"], reverse=True)
    out = []
    for rec in records:
        title = f"Sweep over {rec['sweep']}" if rec.get("sweep") else "Pipelines"
        out += [f"### {title} ({rec['date'][:10]})", "", header(rec), "", table(rec), ""]
        skipped = skipped_lines(rec)
        if skipped:
            out += skipped + [""]
        if rec.get("plot"):
            path = rec["plot"] if plot_dir is None else os.path.relpath(os.path.abspath(rec["plot"]), plot_dir)
            out += [f"![{title}]({path})", ""]
    return "\n".join(out).rstrip() + "\n"


def replace_section(path: str, text: str) -> None:
    """Replace what lies between BEGIN and END in ``path`` with ``text`` (markers kept)."""
    with open(path) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        raise ValueError(f"{path}: no {BEGIN} ... {END} section to replace")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(f"{head}{BEGIN}\n{text}{END}{tail}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m datagen_gpu.bench.report",
                                 description="Markdown tables from datagen-gpu bench JSON records.")
    ap.add_argument("--markdown", nargs="+", metavar="JSON", required=True, help="bench --json files")
    ap.add_argument("--write", metavar="MD", help="replace the generated section of this file (e.g. RESULTS.md)")
    args = ap.parse_args(argv)
    try:
        records = [load(p) for p in args.markdown]
    except (OSError, ValueError) as e:
        ap.error(str(e))
    text = markdown(records, os.path.dirname(os.path.abspath(args.write)) if args.write else None)
    if args.write:
        replace_section(args.write, text)
        print(f"wrote {len(records)} record(s) into {args.write}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
