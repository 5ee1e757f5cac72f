"""examples/pretrain.py runs in one process and under torchrun (gloo, 2 ranks), and resumes."""
import os
import subprocess
import sys

import pytest

from _dist import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "examples", "pretrain.py")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from datagen_gpu.data.photo_folder import make_photo_folder
    return make_photo_folder(str(tmp_path_factory.mktemp("pt") / "photos"), 60, classes=3, size=(48, 96),
                             source="procedural")


def run(args, timeout=240):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout


COMMON = ["--epochs", "2", "--size", "32", "--batch", "8", "--queue", "64", "--workers", "2"]


def test_one_process_stops_and_resumes(folder, tmp_path):
    out = str(tmp_path / "run")
    first = run([sys.executable, SCRIPT, "--data", folder, "--out", out, "--max-steps", "3"] + COMMON)
    assert "step 3" in first and os.path.exists(os.path.join(out, "last.pt"))
    rest = run([sys.executable, SCRIPT, "--data", folder, "--out", out, "--resume", os.path.join(out, "last.pt")]
               + COMMON)
    assert "epoch 2/2" in rest and "kNN top-1 on the held-out images" in rest


def test_torchrun_two_ranks(folder, tmp_path):
    out = run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
               str(free_port()), SCRIPT, "--data", folder, "--out", str(tmp_path / "ddp")] + COMMON)
    assert "world 2 on cpu" in out
    assert "rank 0: epoch 2/2" in out and "rank 1: epoch 2/2" in out
    assert "kNN top-1 on the held-out images" in out
