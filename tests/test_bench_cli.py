"""``datagen-gpu bench`` on the CPU at tiny sizes: every flag, the JSON record, the chart, skips, bad flags."""
import json
import os
import subprocess
import sys

import pytest
import torch

from datagen_gpu import cli
from datagen_gpu.bench import cases, peers, plots, report
from datagen_gpu.bench.cases import Unavailable

pytest.importorskip("matplotlib")
pytest.importorskip("PIL")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--device", "cpu", "--batch", "2", "--size", "32", "--seconds", "0.01", "--threads", "1",
        "--source", "procedural"]


def bench(*args):
    return cli.main(["bench", *TINY, *args])


@pytest.fixture
def only_ours(monkeypatch):
    """Peers are out of the picture unless a test puts them back (the suite never depends on them)."""
    monkeypatch.setattr(peers, "installed", lambda peer: False)


def test_table_json_and_chart(tmp_path, capsys, only_ours):
    out_json, out_png = tmp_path / "r" / "bench.json", tmp_path / "charts" / "bench.png"
    assert bench("--pipeline", "simclr,byol,moco,specaugment,mixup", "--seed", "3",
                 "--json", str(out_json), "--plot", str(out_png)) == 0
    out = capsys.readouterr().out
    assert "| pipeline | library | img/s | ms / batch | min-max ms | vs fastest peer | note |" in out
    for name in ("simclr", "byol", "moco", "specaugment", "mixup"):
        assert f"| {name} | **datagen_gpu** |" in out
    assert "kornia skipped for simclr, byol, moco: kornia is not installed" in out
    record = json.loads(out_json.read_text())
    assert record["schema"] == report.SCHEMA and record["command"].startswith("datagen-gpu bench --device cpu")
    assert {"cpu", "cores", "gpu", "versions", "load_average_start", "load_average_end"} <= set(record["machine"])
    assert record["machine"]["versions"]["torch"] == torch.__version__
    assert record["settings"] == {"device": "cpu", "batch": 2, "size": 32, "source": "procedural", "threads": 1,
                                  "seed": 3}
    assert record["sweep"] is None and record["copy_gbs"]["cpu"] > 0
    row = record["results"][0]
    assert {"pipeline", "library", "img_per_s", "ms_per_batch", "spread_ms", "times_ms", "ratio_to_fastest_peer",
            "bytes", "bandwidth_fraction", "note"} <= set(row)
    assert row["ratio_to_fastest_peer"] is None  # no peer ran
    assert row["bytes"] == 2 * 3 * 37 * 37 + 2 * 2 * 3 * 32 * 32 * 4  # uint8 in, two float32 views out
    assert len(row["times_ms"]) >= 3 and row["spread_ms"]["min"] <= row["ms_per_batch"] <= row["spread_ms"]["max"]
    assert record["plot"] == os.path.join("..", "charts", "bench.png")
    assert plots.read_png(out_png).shape[2] == 3


@pytest.mark.parametrize("kind,values", [("batch", "1,3"), ("size", "24,40"), ("threads", "1,2")])
def test_sweep_writes_a_chart(tmp_path, capsys, only_ours, kind, values):
    out_json, out_png = tmp_path / "sweep.json", tmp_path / "sweep.png"
    assert bench("--pipeline", "simclr,specaugment", "--sweep", f"{kind}={values}", "--json", str(out_json),
                 "--plot", str(out_png)) == 0
    out = capsys.readouterr().out
    record = json.loads(out_json.read_text())
    assert record["sweep"] == kind
    points = [int(v) for v in values.split(",")]
    got = {(r["pipeline"], r[kind]) for r in record["results"]}
    assert {("simclr", p) for p in points} <= got
    if kind == "size":  # spectrograms have no size: skipped once, with the reason
        assert not any(p == "specaugment" for p, _ in got)
        assert "specaugment: --size does not apply to spectrograms" in out.replace("all skipped for ", "")
    else:
        assert {("specaugment", p) for p in points} <= got
    assert f"| simclr: img/s at {kind} = | {' | '.join(values.split(','))} |" in out
    assert plots.read_png(out_png).shape[0] > 100


def test_default_sweep_chart_path(tmp_path, capsys, only_ours, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert bench("--pipeline", "specaugment", "--sweep", "batch=1,2") == 0
    assert (tmp_path / "out" / "bench_sweep_batch.png").is_file()
    assert "chart: out/bench_sweep_batch.png" in capsys.readouterr().out


def test_missing_and_unexpressible_peers_are_skipped_with_reasons(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(peers, "installed", lambda peer: peer in ("torch", "dali"))
    out_json = tmp_path / "r.json"
    assert bench("--pipeline", "specaugment,mixup", "--compare", "timm,torch,dali", "--json", str(out_json)) == 0
    out = capsys.readouterr().out
    assert "timm skipped for mixup: timm is not installed" in out
    assert "dali skipped for specaugment: dali cannot express specaugment" in out
    assert "| specaugment | torch |" in out and "| mixup | torch |" in out
    record = json.loads(out_json.read_text())
    skipped = {(k["pipeline"], k["library"]) for k in record["skipped"]}
    assert {("mixup", "timm"), ("specaugment", "dali"), ("mixup", "dali")} <= skipped
    ours = next(r for r in record["results"] if r["pipeline"] == "mixup" and r["library"] == "datagen_gpu")
    torch_row = next(r for r in record["results"] if r["pipeline"] == "mixup" and r["library"] == "torch")
    assert ours["ratio_to_fastest_peer"] == pytest.approx(torch_row["ms_per_batch"] / ours["ms_per_batch"],
                                                          rel=1e-3)
    assert torch_row["ratio_to_fastest_peer"] == 1.0


def test_a_peer_with_the_wrong_output_is_dropped(capsys, monkeypatch):
    monkeypatch.setattr(peers, "installed", lambda peer: peer in ("kornia", "torchvision"))

    def fake_build(peer, pipeline, inputs, settings):
        n = inputs.batch
        if peer == "kornia":  # one view instead of two
            return peers.Built(lambda: torch.zeros(n, 3, settings.size, settings.size), "cpu", "fake")
        if peer == "torchvision":
            return peers.Built(lambda: (torch.zeros(n, 3, settings.size, settings.size),) * 2, "cpu", "fake")
        raise Unavailable("not here")
    monkeypatch.setattr(peers, "build", fake_build)
    assert bench("--pipeline", "simclr", "--compare", "kornia,torchvision") == 0
    out = capsys.readouterr().out
    assert "kornia skipped for simclr: produced ((2, 3, 32, 32), 'float32'), expected" in out
    assert "| simclr | torchvision |" in out and "| simclr | kornia |" not in out


def test_imagenet_without_the_preset_is_skipped_and_with_it_runs(capsys, monkeypatch, only_ours):
    from datagen_gpu import presets

    monkeypatch.delattr(presets, "imagenet_train", raising=False)
    assert bench("--pipeline", "imagenet") == 0
    out = capsys.readouterr().out
    assert "datagen_gpu skipped for imagenet-trivial, imagenet-rand: presets.imagenet_train is not in this build" \
        in out
    calls = []

    def imagenet_train(size=224, policy="rand-m9-mstd0.5", re_prob=0.25, seed=0):
        calls.append(policy)
        return presets.simclr_view(size, seed=seed)
    monkeypatch.setattr(presets, "imagenet_train", imagenet_train, raising=False)
    assert bench("--pipeline", "imagenet-trivial,imagenet-rand") == 0
    out = capsys.readouterr().out
    assert "| imagenet-trivial | **datagen_gpu** |" in out and "| imagenet-rand | **datagen_gpu** |" in out
    assert calls == ["trivial", "rand-m9-mstd0.5"]


def test_source_folder_reads_files_through_the_loader(tmp_path, capsys, only_ours):
    from datagen_gpu.data.photo_folder import make_photo_folder

    root = make_photo_folder(str(tmp_path / "photos"), 6, classes=2, size=(40, 64), source="procedural")
    out_json = tmp_path / "r.json"
    assert cli.main(["bench", "--device", "cpu", "--batch", "2", "--size", "32", "--seconds", "0.01",
                     "--threads", "1", "--source", root, "--pipeline", "moco,mixup", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "inputs: folder photos" in out
    rows = {r["pipeline"]: r for r in json.loads(out_json.read_text())["results"]}
    assert rows["moco"]["note"] == "DeviceLoader(ThreadLoader(ImageFolder))" and rows["moco"]["bytes"] is None
    assert rows["mixup"]["bytes"] > 0  # decoded once into memory


@pytest.mark.parametrize("args,message", [
    (["--pipeline", "nope"], "--pipeline: unknown pipeline 'nope'; choose from simclr, byol"),
    (["--pipeline", ","], "--pipeline: no pipeline given"),
    (["--compare", "torchvision,nope"], "--compare: unknown library nope; choose from torchvision"),
    (["--sweep", "depth"], "--sweep: expected batch, size or threads"),
    (["--sweep", "batch=0,2"], "--sweep: expected comma-separated positive integers"),
    (["--sweep", "batch=a"], "--sweep: expected comma-separated positive integers"),
    (["--batch", "0"], "--batch: expected a positive number, got '0'"),
    (["--seconds", "-1"], "--seconds: expected a positive number"),
    (["--threads", "x"], "--threads: expected a positive number, got 'x'"),
    (["--size", "8"], "--size: expected at least 16, got 8"),
    (["--source", "/no/such/folder"], "--source: expected photos, procedural or an existing folder"),
    (["--device", "tpu"], "--device: invalid choice: 'tpu'"),
])
def test_bad_flags_are_rejected_with_a_clear_message(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        bench(*args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_unavailable_device_photos_and_matplotlib_are_reported(capsys, monkeypatch):
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            cli.main(["bench", "--device", "cuda"])
        assert "--device cuda: no CUDA device is available" in capsys.readouterr().err
    import datagen_gpu.sample_data as sd

    monkeypatch.setattr(sd, "skimage_images", lambda limit=None: [])
    with pytest.raises(SystemExit):
        bench("--source", "photos")
    assert "--source photos needs scikit-image" in capsys.readouterr().err

    def no_matplotlib():
        raise RuntimeError("charts need matplotlib: pip install matplotlib")
    monkeypatch.setattr(plots, "_pyplot", no_matplotlib)
    with pytest.raises(SystemExit):
        bench("--plot", "x.png")
    assert "--plot: charts need matplotlib" in capsys.readouterr().err


def test_pipeline_groups_and_peer_lists():
    assert [p.name for p in cases.select("imagenet,simclr,imagenet-rand")] == [
        "imagenet-trivial", "imagenet-rand", "simclr"]
    assert [p.name for p in cases.select("all")] == list(cases.PIPELINES)
    assert peers.parse("all") == list(peers.PEERS) and peers.parse("none") == []
    assert peers.parse("dali, kornia,dali") == ["dali", "kornia"]


def test_console_entry_point_help():
    res = subprocess.run([sys.executable, "-m", "datagen_gpu", "bench", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    for flag in ("--pipeline", "--device", "--batch", "--size", "--source", "--compare", "--sweep", "--seconds",
                 "--json", "--plot", "--threads"):
        assert flag in res.stdout


def test_sweep_skips_name_their_points(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(peers, "installed", lambda peer: peer == "torch")
    real_build = peers.build

    def build(peer, pipeline, inputs, settings):
        if settings.batch == 1:
            raise Unavailable("batch size should be even")
        return real_build(peer, pipeline, inputs, settings)
    monkeypatch.setattr(peers, "build", build)
    monkeypatch.chdir(tmp_path)
    assert bench("--pipeline", "mixup", "--compare", "torch", "--sweep", "batch=1,2,4") == 0
    out = capsys.readouterr().out
    assert "- torch skipped for mixup: batch size should be even (at batch = 1)" in out
    assert "| torch | - | " in out  # no number at batch 1, numbers at 2 and 4
