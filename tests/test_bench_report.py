"""The bench record's tables, RESULTS.md's generated section and the charts (no timing involved)."""
import json

import pytest

from datagen_gpu.bench import plots, report


def _row(pipeline, library, ms, batch=64, size=224, threads=2, device="cpu", ratio=None, bw=None):
    return {"pipeline": pipeline, "library": library, "device": device, "batch": batch, "size": size,
            "threads": threads, "img_per_s": batch / ms * 1e3, "ms_per_batch": ms,
            "spread_ms": {"min": ms * 0.9, "q1": ms, "q3": ms, "max": ms * 1.2}, "times_ms": [ms],
            "ratio_to_fastest_peer": ratio, "bytes": 10, "bandwidth_fraction": bw, "note": ""}


def _record(results, sweep=None, date="2026-12-02T10:00:00+00:00", device="cpu", gpu=None, plot=None):
    return {"schema": report.SCHEMA, "date": date, "command": "datagen-gpu bench", "sweep": sweep, "seconds": 5,
            "machine": {"cpu": "Test CPU", "cores": 2, "memory_gb": 8, "gpu": gpu,
                        "versions": {"torch": "2.x", "dali": "2.4"}, "load_average_start": [1, 1, 1],
                        "load_average_end": [1, 1, 1]},
            "settings": {"device": device, "batch": 64, "size": 224, "source": "photos", "threads": 2, "seed": 0},
            "copy_gbs": {"cpu": 10.0}, "results": results,
            "skipped": [{"pipeline": "simclr", "library": "timm", "reason": "timm is not installed"},
                        {"pipeline": "byol", "library": "timm", "reason": "timm is not installed"}],
            "plot": plot}


def test_table_marks_ours_and_shows_bandwidth_only_on_cuda():
    rows = [_row("simclr", "datagen_gpu", 20.0, ratio=11.5, bw=0.4), _row("simclr", "dali", 230.0, ratio=1.0)]
    text = report.table(_record(rows))
    assert "| simclr | **datagen_gpu** | 3,200 | 20.0 | 18.0-24.0 | 11.50x |  |" in text
    assert "% of copy bandwidth" not in text
    rows[0]["device"] = "cuda:0"
    text = report.table(_record(rows, device="cuda"))
    assert "| % of copy bandwidth |" in text and "| 11.50x | 40% |" in text and "| 1.00x | - |" in text


def test_sweep_table_has_one_column_per_point():
    rows = [_row("simclr", lib, ms, batch=b) for lib, ms in (("datagen_gpu", 10.0), ("dali", 100.0))
            for b in (1, 8, 64)]
    rows.pop()  # dali missing at 64
    text = report.table(_record(rows, sweep="batch"))
    assert "| simclr: img/s at batch = | 1 | 8 | 64 |" in text
    assert "| dali | 10.0 | 80.0 | - |" in text


def test_skipped_lines_group_pipelines():
    assert report.skipped_lines(_record([])) == ["- timm skipped for simclr, byol: timm is not installed"]


def test_markdown_and_section_replacement(tmp_path):
    (tmp_path / "results").mkdir()
    plain = tmp_path / "results" / "pipelines.json"
    sweep = tmp_path / "results" / "sweep.json"
    plain.write_text(json.dumps(_record([_row("simclr", "datagen_gpu", 20.0)], date="2026-12-02T09:00:00+00:00")))
    sweep.write_text(json.dumps(_record([_row("simclr", "datagen_gpu", 20.0, batch=8)], sweep="batch",
                                        plot="sweep.png")))
    doc = tmp_path / "RESULTS.md"
    doc.write_text(f"# Results\n\nintro\n\n{report.BEGIN}\nold\n{report.END}\n\n## History\n- a line\n")
    assert report.main(["--markdown", str(plain), str(sweep), "--write", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("# Results\n\nintro\n\n" + report.BEGIN)
    assert text.endswith(f"{report.END}\n\n## History\n- a line\n")
    assert "old" not in text
    assert text.index("### Sweep over batch (2026-12-02)") < text.index("### Pipelines (2026-12-02)")
    assert "![Sweep over batch](results/sweep.png)" in text
    assert "- machine: Test CPU, 2 cores, 8 GB, no GPU used" in text and "`datagen-gpu bench`" in text
    assert report.main(["--markdown", str(plain), "--write", str(doc)]) == 0  # idempotent markers
    assert doc.read_text().count(report.BEGIN) == 1


def test_report_rejects_other_files(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"schema": "other"}))
    with pytest.raises(SystemExit):
        report.main(["--markdown", str(bad)])
    assert "not a datagen-gpu bench record" in capsys.readouterr().err
    doc = tmp_path / "doc.md"
    doc.write_text("no markers")
    with pytest.raises(ValueError, match="no <!-- bench:begin -->"):
        report.replace_section(str(doc), "x")


@pytest.mark.parametrize("sweep", [None, "batch", "size", "threads"])
def test_charts_are_png(tmp_path, sweep):
    pytest.importorskip("matplotlib")
    pytest.importorskip("PIL")
    key = sweep or "batch"
    rows = [_row(p, lib, ms, **{key: v}) for p in ("simclr", "mixup", "byol", "moco")
            for lib, ms in (("datagen_gpu", 10.0), ("torch", 30.0)) for v in (1, 2, 4)]
    path = plots.chart(_record(rows, sweep=sweep), str(tmp_path / "c" / "chart.png"))
    image = plots.read_png(path)
    assert image.shape[0] > 200 and image.float().std() > 10
