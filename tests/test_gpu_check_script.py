"""benchmarks/gpu_check.py runs end to end (on the CPU here) so it cannot rot between GPU loans."""
import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_gpu_check_runs_on_cpu(capsys):
    spec = importlib.util.spec_from_file_location("gpu_check", os.path.join(ROOT, "benchmarks", "gpu_check.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--device", "cpu", "--batch", "2", "--size", "32", "--rep", "1",
                     "--families", "image"]) == 0
    out = capsys.readouterr().out
    assert "| op | ms | GB/s |" in out and "0 failure(s) in image ops" in out
    for op in ("resized_crop", "color_jitter", "gaussian_blur", "normalize", "fused_augment"):
        assert f"| {op} |" in out


def test_gpu_check_pipeline_runs_on_cpu(capsys):
    spec = importlib.util.spec_from_file_location(
        "gpu_check_pipeline", os.path.join(ROOT, "benchmarks", "gpu_check_pipeline.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--device", "cpu", "--batch", "3", "--size", "48", "--rep", "1",
                     "--no-peers"]) == 0
    out = capsys.readouterr().out
    assert "0 failure(s) in the pipeline check" in out
    assert "| ours, eager |" in out and "| ours, TwoViews (2 views, stacked) |" in out


def test_gpu_check_data_runs_on_cpu(capsys, tmp_path):
    spec = importlib.util.spec_from_file_location(
        "gpu_check_data", os.path.join(ROOT, "benchmarks", "gpu_check_data.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--device", "cpu", "--images", "24", "--batch", "8", "--size", "32", "--threads", "2",
                     "--batches", "1", "--root", str(tmp_path / "photos"), "--no-pytest"]) == 0
    out = capsys.readouterr().out
    assert "0 failure(s) in the data check" in out
    assert "| b  DeviceLoader on cpu, two views |" in out and '| decode="gpu", decode only |' in out
