"""Mixup / CutMix against timm's and torchvision's own code, given the same draws.

Skipped (not failed) when timm or torchvision is not installed. The
libraries draw from NumPy's / torch's global RNG; each test feeds them the
values our counter-based samplers drew (by patching their RNG calls), then
compares images and targets.
"""
import numpy as np
import pytest
from _backends import torchvision_or_skip  # noqa: E402

import torch

from datagen_gpu.params.mixing import (BETA_DRAWS, beta_symmetric, cutmix_boxes_minmax, cutmix_boxes_timm,
                                       cutmix_boxes_torchvision)
from datagen_gpu.testing import random_images
from datagen_gpu.transforms import CutMix, Mixup, MixUp


class FakeRandint:
    """Stands in for np.random.randint / torch.randint: low + int(u * (high - low)) for queued u."""

    def __init__(self, us):
        self.us = list(us)

    def numpy(self, low, high=None, size=None):
        if high is None:
            low, high = 0, low
        return low + int(self.us.pop(0) * (high - low))

    def torch(self, high, size=None, **kwargs):
        return torch.tensor([int(self.us.pop(0) * high)])


# ----------------------------------------------------------------------------- timm


@pytest.fixture
def timm_mixup():
    return pytest.importorskip("timm.data.mixup")


@pytest.mark.parametrize("minmax", [None, (0.2, 0.8)])
def test_boxes_equal_timm_rand_bbox(timm_mixup, monkeypatch, minmax, gen):
    H, W = 27, 35
    for _ in range(50):
        u = torch.rand(1, 4, generator=gen, dtype=torch.float64)
        lam = torch.rand(1, generator=gen, dtype=torch.float64)
        fake = FakeRandint(u[0].tolist())
        monkeypatch.setattr(np.random, "randint", fake.numpy)
        (yl, yu, xl, xu), _ = timm_mixup.cutmix_bbox_and_lam((3, H, W), float(lam), ratio_minmax=minmax)
        ours = cutmix_boxes_timm(u, lam, H, W) if minmax is None else cutmix_boxes_minmax(u, minmax, H, W)
        assert ours[0].tolist() == [int(yl), int(xl), int(yu - yl), int(xu - xl)]


CONFIGS = [
    dict(mixup_alpha=0.8, cutmix_alpha=0.0),
    dict(mixup_alpha=0.0, cutmix_alpha=1.0),
    dict(mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5, prob=0.7, label_smoothing=0.1),
    dict(mixup_alpha=0.0, cutmix_minmax=(0.3, 0.7), correct_lam=False),
    dict(mixup_alpha=1.0, cutmix_alpha=0.5, correct_lam=False, label_smoothing=0.2),
]


@pytest.mark.parametrize("mode", ["batch", "pair", "elem"])
@pytest.mark.parametrize("config", CONFIGS)
def test_mixup_equals_timm(timm_mixup, monkeypatch, mode, config, gen):
    B, K, H, W = 8, 5, 14, 18
    x = random_images((B, 3, H, W), torch.float32, generator=gen)
    y = torch.randint(0, K, (B,), generator=gen)
    for seed in range(3):
        ours = Mixup(mode=mode, num_classes=K, seed=seed, **config)
        (out, target), p = ours(x, y, return_params=True)
        lam = p["lam"].numpy()
        cut = p["use_cutmix"].numpy()
        timm = timm_mixup.Mixup(mode=mode, num_classes=K, **config)
        timm._params_per_elem = lambda n: (lam[:n].astype(np.float32), cut[:n].copy())
        timm._params_per_batch = lambda: (float(lam[0]), bool(cut[0]))
        order = iter([0] if mode == "batch" else range(B))
        boxes = p["boxes"]

        def fake_bbox(img_shape, lam_i, ratio_minmax=None, correct_lam=True, count=None):
            i = next(order)
            while not cut[i]:
                i = next(order)
            top, left, h, w = boxes[i].tolist()
            if correct_lam or ratio_minmax is not None:  # timm's correction
                lam_i = 1.0 - h * w / float(img_shape[-2] * img_shape[-1])
            return (top, top + h, left, left + w), lam_i

        monkeypatch.setattr(timm_mixup, "cutmix_bbox_and_lam", fake_bbox)
        x_timm, target_timm = timm(x.clone(), y)
        torch.testing.assert_close(out, x_timm, atol=2e-6, rtol=0)
        torch.testing.assert_close(target, target_timm.float(), atol=1e-6, rtol=0)


# ----------------------------------------------------------------------------- torchvision


@pytest.fixture
def tv2():
    return torchvision_or_skip("torchvision.transforms.v2")


def test_mixup_equals_torchvision(tv2, gen):
    B, K = 6, 4
    x = random_images((B, 3, 11, 13), torch.float32, generator=gen)
    y = torch.randint(0, K, (B,), generator=gen)
    for seed in range(3):
        ours = MixUp(alpha=0.4, num_classes=K, seed=seed, same_on_batch=True)
        (out, target), p = ours(x, y, return_params=True)
        tv = tv2.MixUp(alpha=0.4, num_classes=K)
        tv._dist.sample = lambda *a, lam=float(p["lam"][0]): torch.tensor([lam])
        x_tv, y_tv = tv(x, y)
        torch.testing.assert_close(out, x_tv, atol=2e-6, rtol=0)
        torch.testing.assert_close(target, y_tv, atol=1e-6, rtol=0)


def test_cutmix_equals_torchvision(tv2, monkeypatch, gen):
    B, K, H, W = 6, 4, 15, 22
    x = random_images((B, 3, H, W), torch.float32, generator=gen)
    y = torch.randint(0, K, (B,), generator=gen)
    for seed in range(5):
        ours = CutMix(alpha=1.0, num_classes=K, seed=seed, same_on_batch=True)
        ids = torch.zeros(B, dtype=torch.int64)
        (out, target), p = ours(x, y, sample_ids=ids, return_params=True)
        u = ours.draw(ids[:1], BETA_DRAWS + 2)
        lam = beta_symmetric(u[:, :BETA_DRAWS], 1.0)
        assert torch.equal(cutmix_boxes_torchvision(u[:, BETA_DRAWS:], lam, H, W)[0], p["boxes"][0])
        tv = tv2.CutMix(alpha=1.0, num_classes=K)
        tv._dist.sample = lambda *a, lam=float(lam[0]): torch.tensor([lam])
        monkeypatch.setattr(torch, "randint", FakeRandint(u[0, BETA_DRAWS:].tolist()).torch)
        x_tv, y_tv = tv(x, y)
        monkeypatch.undo()
        assert torch.equal(out, x_tv)
        torch.testing.assert_close(target, y_tv, atol=1e-6, rtol=0)
