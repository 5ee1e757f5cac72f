"""benchmarks/gpu_check.py runs end to end (on the CPU here) so it cannot rot between GPU loans."""
import importlib.util
import os
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from gpu_checks import device as dev  # noqa: E402
from gpu_checks.common import judge  # noqa: E402


def _gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", os.path.join(ROOT, "benchmarks", "gpu_check.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _family(name, *extra):
    return _gpu_check().main(["--device", "cpu", "--families", name, "--sections", "", "--quick", "--rep", "1",
                              *extra])


def test_gpu_check_runs_on_cpu(capsys):
    mod = _gpu_check()
    assert mod.main(["--device", "cpu", "--batch", "2", "--size", "32", "--rep", "1", "--families", "image",
                     "--big-size", "48", "--opcheck-ops", "hflip,normalize,random_bits"]) == 0
    out = capsys.readouterr().out
    assert "0 failure(s) in image ops" in out
    assert "failures: image 0; 0 in the device sections" in out
    assert "| op | ms | GB/s | % of copy | device vs float64 | CPU kernel vs float64 | max abs(device - CPU) |" in out
    for op in ("resized_crop", "color_jitter", "gaussian_blur", "normalize", "fused_augment"):
        assert f"| {op} |" in out
    for op in ("hflip", "normalize", "random_bits"):
        assert f"| opcheck | {op} | ok |" in out
    for op in ("hflip", "color_jitter (no contrast)", "gaussian_blur k=23", "normalize", "mixup",
               "resized_crop -> 224", "fused_augment -> 224"):
        assert f"| big | {op}, 3x3x48x48 | ok |" in out
    # the CUDA-only sections say why they did not run
    assert "| graphs | all | skipped | needs CUDA" in out and "| pytest | tests -k cuda | skipped | needs CUDA" in out
    # the tables come last
    tail = out.strip().splitlines()
    assert tail[-1].startswith("failures: image 0") and tail[-3].startswith("| pytest |")


def test_opcheck_reaches_every_op():
    """The calls opcheck replays reach every public datagen_gpu op (none silently unchecked)."""
    calls = dev.record_op_calls("cpu")
    public = {n for n in torch._C._dispatch_get_all_op_names()
              if n.startswith("datagen_gpu::") and not n.split("::")[-1].startswith("_")}
    assert public and public <= set(calls)


def test_judge_reports_a_one_ulp_difference_without_failing():
    """Defect 7: two float16 results one ulp apart, each half an ulp from the exact value,
    are both correct; comparing them with each other at half an ulp called that a failure."""
    from datagen_gpu.testing import max_violation

    a = torch.tensor([0.1], dtype=torch.float16)
    b = (a.view(torch.int16) + 1).view(torch.float16)  # the next float16
    ref = (a.double() + b.double()) / 2
    j = judge(b.view(1, 1, 1, 1), a.view(1, 1, 1, 1), ref.view(1, 1, 1, 1))
    assert j["dev"] <= 0 and j["cpu"] <= 0
    assert 0 < j["diff"] and 0.9 < j["ratio"] < 2.1
    assert max_violation(b, a.double())[0] > 0  # what the old check did: a false failure


def test_pytest_summary_parsing():
    done = "....s..F.\n=========== 1 failed, 7 passed, 1 skipped in 12.3s ===========\nFAILED tests/x.py::t - boom\n"
    status, detail = dev.pytest_summary(done, 1, 100)
    assert status == "FAIL" and "1 failed, 7 passed" in detail
    status, detail = dev.pytest_summary("..........  [ 10%]\n.....s", None, 60)
    assert status == "ok (partial)" and "15 passed, 0 failed" in detail and "60 s budget" in detail
    status, _ = dev.pytest_summary("...E..  [ 10%]\n", None, 60)
    assert status == "FAIL"
    status, detail = dev.pytest_summary("\n===== 300 passed in 50.0s =====\n", 0, 100)
    assert status == "ok" and detail.startswith("300 passed")
    status, detail = dev.pytest_summary("===== 120 deselected in 1.0s =====\n", 5, 100)
    assert status == "FAIL" and "no test selected" in detail


def test_gpu_check_pipeline_runs_on_cpu(capsys, monkeypatch):
    from datagen_gpu.bench import peers

    monkeypatch.setattr(peers, "installed", lambda peer: peer == "dali")
    assert _family("pipeline", "--batch", "3", "--size", "48", "--seconds", "0.01") == 0
    out = capsys.readouterr().out
    assert "0 failure(s) in the pipeline check" in out
    assert "device ok, CPU kernels ok" in out
    assert "| one view, eager |" in out and "| simclr | **datagen_gpu** |" in out
    assert "kornia skipped for simclr: kornia is not installed" in out
    assert _family("pipeline", "--batch", "2", "--size", "32", "--seconds", "0.01", "--no-peers") == 0
    out = capsys.readouterr().out
    assert "| simclr | **datagen_gpu** |" in out and "skipped for simclr" not in out


def test_gpu_check_mixing_runs_on_cpu(capsys):
    assert _family("mixing") == 0
    out = capsys.readouterr().out
    assert "0 failure(s) in mixing ops" in out and "| mochi_logits_backward (queue float16) |" in out


def test_gpu_check_audio_runs_on_cpu(capsys):
    assert _family("audio", "--rep", "10") == 0
    out = capsys.readouterr().out
    assert "| specaugment_LD_mean |" in out and "0 failure(s) in audio ops" in out


def test_gpu_check_data_runs_on_cpu(capsys, tmp_path):
    assert _family("data", "--images", "24", "--batch", "8", "--size", "32", "--threads", "2", "--batches", "1",
                   "--root", str(tmp_path / "photos"), "--no-pytest") == 0
    out = capsys.readouterr().out
    assert "0 failure(s) in the data check" in out
    assert "| b  DeviceLoader on cpu, two views |" in out and '| decode="gpu", decode only |' in out


def test_unknown_family_is_rejected(capsys):
    with pytest.raises(SystemExit):
        _family("video")
    assert "--families: unknown ['video']" in capsys.readouterr().err
