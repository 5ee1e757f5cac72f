"""The SimCLR pipeline benchmark cases build and run on a tiny batch (no timing assertions)."""
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

import compare_pipeline  # noqa: E402
import pipeline_cases as pc  # noqa: E402

B, IN, OUT, BLUR = 3, 40, 32, 7


def test_make_images_is_uint8_nchw_and_deterministic():
    x = pc.make_images(2, 24, seed=3)
    assert x.shape == (2, 3, 24, 24) and x.dtype == torch.uint8
    assert torch.equal(x, pc.make_images(2, 24, seed=3))
    assert int(x.max()) > int(x.min())


def test_ours_case_runs_on_a_tiny_batch():
    images = pc.make_images(B, IN)
    before = images.clone()
    out = pc.build("ours", images, size=OUT, blur_kernel=BLUR)()
    assert out.shape == (B, 3, OUT, OUT) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    # normalized ImageNet range: (0 - max mean) / min std .. (1 - min mean) / min std
    assert out.min() >= -0.485 / 0.225 - 1e-4 and out.max() <= (1 - 0.406) / 0.225 + 1e-4
    assert torch.equal(images, before)


@pytest.mark.parametrize("name", [n for n in pc.BUILDERS if n != "ours"])
def test_other_cases_run_or_skip_with_reason(name):
    images = pc.make_images(B, IN)
    try:
        fn = pc.build(name, images, size=OUT, blur_kernel=BLUR)
    except pc.Unavailable as e:
        assert str(e)
        pytest.skip(f"{name}: {e}")
    out = fn()
    assert out.shape == (B, 3, OUT, OUT) and out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_unknown_case_raises():
    with pytest.raises(KeyError, match="name"):
        pc.build("nope", pc.make_images(1, 8))


def test_table_reports_ratio_and_target():
    rows, verdict = compare_pipeline.table({"ours": [10.0, 12.0, 11.0], "other": [100.0, 130.0, 120.0]}, 64)
    assert any(r.startswith("| other |") and "10.91x" in r for r in rows)
    assert "MET" in verdict and "other" in verdict
    _, verdict = compare_pipeline.table({"ours": [50.0], "other": [100.0]}, 64)
    assert "NOT met" in verdict and "2.00x" in verdict
    _, verdict = compare_pipeline.table({"ours": [50.0]}, 64)
    assert "not evaluated" in verdict
