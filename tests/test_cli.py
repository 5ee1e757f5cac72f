"""The demo CLI, its sample images, PNG files and crop-box sampler."""
import importlib.util
import os
import subprocess
import sys

import pytest
import torch

from datagen_gpu import cli
from datagen_gpu.bench.demo import OP_NAMES
from datagen_gpu.bench.ops import draw_params, random_resized_crop_boxes
from datagen_gpu.bench.plots import read_png as _decode
from datagen_gpu.bench.plots import save_png
from datagen_gpu.sample_data import procedural_images, sample_images

pytest.importorskip("PIL")  # the demo's PNG files (the 'demo' extra)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAS_SKIMAGE = importlib.util.find_spec("skimage") is not None


@pytest.mark.parametrize("source", ["procedural", "auto"])
def test_demo_writes_grid_and_table(tmp_path, capsys, source):
    batch, tile = 3, 24
    assert cli.main(["demo", "--out", str(tmp_path), "--batch", str(batch), "--device", "cpu",
                     "--seed", "1", "--source", source, "--tile", str(tile), "--repeats", "1"]) == 0
    path = tmp_path / "augmented.png"
    assert path.is_file()
    grid = _decode(path)
    rows, pad = 1 + len(OP_NAMES), 4
    assert grid.dim() == 3 and grid.shape[2] == 3
    assert grid.shape[0] == rows * (tile + pad) + pad
    assert grid.shape[1] >= batch * (tile + pad) + pad
    assert grid.float().std() > 10  # not a blank image
    out = capsys.readouterr().out
    assert "| op | ms / batch | images / s |" in out
    for name in OP_NAMES:
        assert f"| {name} |" in out
    assert str(path) in out
    spec = tmp_path / "specaugment.png"
    assert spec.is_file() and str(spec) in out and _decode(spec).float().std() > 10


def test_demo_is_deterministic(tmp_path, capsys):
    args = ["demo", "--batch", "2", "--device", "cpu", "--source", "procedural", "--tile", "16",
            "--repeats", "1", "--seed", "7"]
    cli.main(args + ["--out", str(tmp_path / "a")])
    cli.main(args + ["--out", str(tmp_path / "b")])
    capsys.readouterr()
    assert torch.equal(_decode(tmp_path / "a" / "augmented.png"), _decode(tmp_path / "b" / "augmented.png"))


def test_cli_errors(capsys):
    for flag in ("--batch", "--tile", "--columns", "--repeats"):
        with pytest.raises(SystemExit):
            cli.main(["demo", flag, "0"])
        assert flag in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main([])
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            cli.main(["demo", "--device", "cuda"])
        assert "cuda" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    res = subprocess.run([sys.executable, "-m", "datagen_gpu", "demo", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "--batch" in res.stdout and "--device" in res.stdout


def test_procedural_images_are_deterministic_and_varied():
    a, b = procedural_images(6, seed=3), procedural_images(6, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert len({tuple(x.shape) for x in a}) > 1  # a ragged set of sizes
    for img in a:
        assert img.dtype == torch.uint8 and img.dim() == 3 and img.shape[0] == 3
        assert img.float().std() > 5
    assert not torch.equal(procedural_images(1, seed=4)[0], a[0])


def test_sample_images_sources():
    images, used = sample_images("procedural", count=4)
    assert used == "procedural" and len(images) == 4
    images, used = sample_images("auto", count=4)
    assert used == ("skimage" if HAS_SKIMAGE else "procedural")
    assert all(i.dtype == torch.uint8 and i.shape[0] == 3 for i in images)
    if not HAS_SKIMAGE:
        with pytest.raises(RuntimeError, match="scikit-image"):
            sample_images("skimage")
    with pytest.raises(ValueError, match="source"):
        sample_images("web")


def test_png_round_trip(tmp_path):
    img = torch.randint(0, 256, (7, 11, 3), dtype=torch.uint8)
    path = tmp_path / "sub" / "x.png"
    assert save_png(path, img) == path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert torch.equal(_decode(path), img)
    with pytest.raises(ValueError, match="image"):
        save_png(path, img.float())


def test_random_resized_crop_boxes_are_valid():
    gen = torch.Generator().manual_seed(0)
    heights = torch.tensor([256] * 200 + [50, 400, 300])
    widths = torch.tensor([256] * 200 + [400, 50, 300])
    boxes = random_resized_crop_boxes(heights, widths, gen)
    top, left, h, w = boxes.unbind(1)
    assert torch.equal(boxes, boxes.round())
    assert (h >= 1).all() and (w >= 1).all() and (top >= 0).all() and (left >= 0).all()
    assert (top + h <= heights).all() and (left + w <= widths).all()
    frac = (h * w / (heights * widths).float())[:200]
    assert frac.min() >= 0.07 and frac.max() <= 1.0 and frac.std() > 0.1
    assert ((w / h)[:200] > 0.7).all() and ((w / h)[:200] < 1.4).all()
    # no attempt fits a very narrow image: centre crop with the aspect ratio clamped
    boxes = random_resized_crop_boxes(torch.tensor([10]), torch.tensor([1000]), gen, scale=(0.9, 1.0))
    assert boxes.tolist() == [[0.0, 493.0, 10.0, 13.0]]


@pytest.mark.parametrize("visible", [False, True])
def test_draw_params_shapes_and_ranges(visible):
    p = draw_params(5, torch.Generator().manual_seed(0), visible=visible)
    assert p["boxes"].shape == (5, 4) and p["order"].shape == (5, 4)
    assert torch.equal(p["order"].sort(1).values, torch.arange(4).expand(5, 4))
    assert (p["hue"].abs() <= (0.5 if visible else 0.1)).all() and (p["sigma"] > 0).all()
    assert ((p["threshold"] >= 0) & (p["threshold"] <= 255)).all()
