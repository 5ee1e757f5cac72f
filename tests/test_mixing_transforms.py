"""MixUp / CutMix / Mixup modules and their samplers (Beta, boxes, partners)."""
import math

import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu.params import uniform
from datagen_gpu.params.mixing import (BETA_DRAWS, GAMMA_DRAWS, beta_symmetric, box_lam, cutmix_boxes_minmax,
                                       cutmix_boxes_timm, cutmix_boxes_torchvision, flip_permutation,
                                       log_gamma_sample, pair_mirror, roll_permutation)
from datagen_gpu.testing import random_images
from datagen_gpu.transforms import CutMix, Mixup, MixUp

# ----------------------------------------------------------------------------- samplers


@pytest.mark.parametrize("alpha", [0.2, 1.0, 2.5])
def test_beta_matches_scipy(alpha):
    st = pytest.importorskip("scipy.stats")
    n = 8000
    x = beta_symmetric(uniform(11, torch.arange(n), 5, BETA_DRAWS, torch.float64), alpha)
    assert x.dtype == torch.float64 and bool(((x >= 0) & (x <= 1)).all())
    # fixed seed, so deterministic; 1.63 / sqrt(n) is the 1% critical value
    assert st.kstest(x.numpy(), st.beta(alpha, alpha).cdf).statistic < 1.63 / math.sqrt(n)


@pytest.mark.parametrize("shape", [0.1, 0.5, 1.0, 3.0])
def test_gamma_matches_scipy(shape):
    st = pytest.importorskip("scipy.stats")
    n = 8000
    g = log_gamma_sample(uniform(4, torch.arange(n), 9, GAMMA_DRAWS, torch.float64), shape).exp()
    assert st.kstest(g.numpy(), st.gamma(shape).cdf).statistic < 1.63 / math.sqrt(n)


def test_beta_is_a_pure_function_of_the_uniforms():
    u = uniform(0, torch.arange(64), 1, BETA_DRAWS, torch.float64)
    a = beta_symmetric(u, 0.4)
    b = beta_symmetric(u[10:20], 0.4)
    assert torch.equal(a[10:20], b)  # no dependence on the batch


def _timm_rand_bbox(H, W, lam, cy, cx):
    """timm.data.mixup.rand_bbox (timm 1.0), transcribed for given centre draws (Python ints)."""
    ratio = math.sqrt(1 - lam)
    cut_h, cut_w = int(H * ratio), int(W * ratio)
    yl, yh = min(max(cy - cut_h // 2, 0), H), min(max(cy + (cut_h + 1) // 2, 0), H)
    xl, xh = min(max(cx - cut_w // 2, 0), W), min(max(cx + (cut_w + 1) // 2, 0), W)
    return yl, yh, xl, xh


def test_timm_boxes_follow_rand_bbox(gen):
    H, W, B = 23, 31, 200
    u = torch.rand(B, 2, generator=gen, dtype=torch.float64)
    lam = torch.rand(B, generator=gen, dtype=torch.float64)
    boxes = cutmix_boxes_timm(u, lam, H, W)
    for i in range(B):
        cy, cx = int(u[i, 0] * H), int(u[i, 1] * W)
        yl, yh, xl, xh = _timm_rand_bbox(H, W, float(lam[i]), cy, cx)
        assert boxes[i].tolist() == [yl, xl, yh - yl, xh - xl]


def test_torchvision_boxes_follow_cutmix_make_params(gen):
    H, W, B = 20, 33, 200
    u = torch.rand(B, 2, generator=gen, dtype=torch.float64)
    lam = torch.rand(B, generator=gen, dtype=torch.float64)
    boxes = cutmix_boxes_torchvision(u, lam, H, W)
    for i in range(B):
        r_x, r_y = int(u[i, 0] * W), int(u[i, 1] * H)
        r = 0.5 * math.sqrt(1.0 - float(lam[i]))
        rw, rh = int(r * W), int(r * H)
        x1, y1, x2, y2 = max(r_x - rw, 0), max(r_y - rh, 0), min(r_x + rw, W), min(r_y + rh, H)
        assert boxes[i].tolist() == [y1, x1, y2 - y1, x2 - x1]


def test_minmax_boxes_stay_inside_and_in_range(gen):
    H, W = 40, 50
    boxes = cutmix_boxes_minmax(torch.rand(500, 4, generator=gen, dtype=torch.float64), (0.2, 0.8), H, W)
    top, left, h, w = boxes.unbind(1)
    assert bool(((h >= 8) & (h < 32) & (w >= 10) & (w < 40)).all())
    assert bool(((top >= 0) & (top + h <= H) & (left >= 0) & (left + w <= W)).all())
    assert bool((top + h == H).any()) and bool((top == 0).any())  # corner uniform in [0, size - cut]
    assert h.unique().numel() > 10 and top.unique().numel() > 10
    torch.testing.assert_close(box_lam(boxes, H, W), 1 - (h * w).double() / (H * W))


def test_partners():
    assert flip_permutation(5).tolist() == [4, 3, 2, 1, 0]
    assert roll_permutation(4).tolist() == [3, 0, 1, 2]
    x = torch.arange(6)
    assert torch.equal(x[roll_permutation(6)], x.roll(1, 0))
    assert torch.equal(x[flip_permutation(6)], x.flip(0))
    assert pair_mirror(torch.tensor([10, 11, 12, 13, 14])).tolist() == [10, 11, 12, 11, 10]
    assert flip_permutation(0).numel() == 0 and roll_permutation(0).numel() == 0


# ----------------------------------------------------------------------------- modules


def batch(B=8, K=10, dtype=torch.float32, gen=None, H=16, W=20):
    x = random_images((B, 3, H, W), dtype, generator=gen)
    return x, torch.randint(0, K, (B,), generator=gen)


@pytest.mark.parametrize("make", [
    lambda: MixUp(alpha=0.4, num_classes=10),
    lambda: CutMix(alpha=1.0, num_classes=10),
    lambda: Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", label_smoothing=0.1, num_classes=10),
    lambda: Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="pair", num_classes=10),
    lambda: Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, cutmix_minmax=(0.2, 0.8), mode="batch", num_classes=10),
], ids=["MixUp", "CutMix", "Mixup-elem", "Mixup-pair", "Mixup-batch-minmax"])
@pytest.mark.parametrize("B", [8, 7])
def test_module_replay_determinism_and_label_sums(make, B, gen):
    x, y = batch(B, gen=gen)
    ids = torch.arange(100, 100 + B)
    (out, targets), params = make()(x, y, sample_ids=ids, return_params=True)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert targets.shape == (B, 10) and targets.dtype == torch.float32
    torch.testing.assert_close(targets.sum(1), torch.ones(B))
    again = make()(x, y, sample_ids=ids)  # same seed, same ids: same result
    assert torch.equal(again[0], out) and torch.equal(again[1], targets)
    replay = make()(x, y, params=params)
    assert torch.equal(replay[0], out) and torch.equal(replay[1], targets)
    other = make()(x, y, sample_ids=ids + 1000)
    assert not torch.equal(other[0], out)


def test_mixup_module_semantics(gen):
    x, y = batch(6, gen=gen)
    (out, t), p = MixUp(alpha=0.5, num_classes=10)(x, y, return_params=True)
    lam, perm = p["lam"], p["perm"]
    assert perm.tolist() == [5, 0, 1, 2, 3, 4]  # torchvision's roll(1, 0)
    assert lam.unique().numel() == 6  # one weight per sample
    torch.testing.assert_close(out, F.mixup(x, lam, perm))
    torch.testing.assert_close(t, F.mix_labels(y, lam, perm, 10))
    # same_on_batch: torchvision's one draw per call
    (_, _), p1 = MixUp(alpha=0.5, num_classes=10, same_on_batch=True)(x, y, return_params=True)
    assert p1["lam"].unique().numel() == 1
    # successive calls number samples on: different draws
    m = MixUp(num_classes=10)
    _, pa = m(x, y, return_params=True)
    _, pb = m(x, y, return_params=True)
    assert not torch.equal(pa["lam"], pb["lam"])


def test_cutmix_module_labels_use_the_pasted_area(gen):
    B, H, W = 9, 24, 18
    x = torch.arange(B, dtype=torch.float32).view(B, 1, 1, 1).expand(B, 3, H, W).contiguous() / B
    y = torch.arange(B)
    (out, t), p = CutMix(num_classes=B)(x, y, return_params=True)
    own = (out == x).all(1).double().mean((1, 2))
    torch.testing.assert_close(t[torch.arange(B), y].double(), own, atol=1e-6, rtol=0)
    torch.testing.assert_close(t[torch.arange(B), y.roll(1)].double(), 1 - own, atol=1e-6, rtol=0)


def test_mixup_timm_modes(gen):
    B = 9
    x, y = batch(B, gen=gen)
    # batch: one lam and one box for the whole batch
    m = Mixup(mixup_alpha=1.0, cutmix_alpha=1.0, mode="batch", num_classes=10)
    for seed in range(4):
        m.seed = seed
        (_, _), p = m(x, y, return_params=True)
        assert p["lam"].unique().numel() == 1 and p["boxes"].unique(dim=0).shape[0] == 1
        assert p["perm"].tolist() == list(range(B - 1, -1, -1))
    # pair: i and B - 1 - i share lam and box; the middle sample of an odd batch is its own partner
    m = Mixup(mixup_alpha=1.0, cutmix_alpha=1.0, mode="pair", num_classes=10)
    (out, t), p = m(x, y, return_params=True)
    assert torch.equal(p["lam"], p["lam"].flip(0)) and torch.equal(p["boxes"], p["boxes"].flip(0))
    assert torch.equal(out[B // 2], x[B // 2])
    # elem: independent draws, a mix of cutmix and mixup samples
    m = Mixup(mixup_alpha=1.0, cutmix_alpha=1.0, mode="elem", num_classes=10, switch_prob=0.5)
    _, p = m(*batch(64, gen=gen), return_params=True)
    assert 10 < int(p["use_cutmix"].sum()) < 54 and p["lam"].unique().numel() == 64


def test_mixup_timm_prob_and_correct_lam(gen):
    x, y = batch(8, gen=gen)
    (out, t) = Mixup(mixup_alpha=1.0, prob=0.0, mode="elem", label_smoothing=0.0, num_classes=10)(x, y)
    assert torch.equal(out, x) and torch.equal(t, F.mix_labels(y, 1.0, torch.arange(8), 10))
    m = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, mode="elem", num_classes=10, correct_lam=False,
              label_smoothing=0.0)
    (out, t), p = m(x, y, return_params=True)
    assert bool(p["use_cutmix"].all())
    torch.testing.assert_close(t, F.mix_labels(y, p["lam"], p["perm"], 10))  # uncorrected lam
    m.correct_lam = True
    _, t2 = m(x, y, params=p)
    torch.testing.assert_close(t2, F.mix_labels(y, box_lam(p["boxes"], 16, 20), p["perm"], 10))


def test_mixup_multi_label(gen):
    x, _ = batch(6, gen=gen)
    dense = (torch.rand(6, 5, generator=gen) < 0.3).float()
    (out, t), p = Mixup(mixup_alpha=1.0, mode="elem", num_classes=5, multi_label=True, label_smoothing=0.2)(
        x, dense, return_params=True)
    y = dense * 0.8 + 0.1  # smoothed towards 0.5
    w = p["lam"].float().unsqueeze(1)
    torch.testing.assert_close(t, w * y + (1 - w) * y.flip(0))


def test_mixup_uint8_and_channels_last(gen):
    x = random_images((6, 3, 12, 10), torch.uint8, channels_last=True, generator=gen)
    y = torch.randint(0, 4, (6,), generator=gen)
    out, t = Mixup(mixup_alpha=0.5, cutmix_alpha=0.5, mode="elem", num_classes=4)(x, y)
    assert out.dtype == torch.uint8 and out.is_contiguous(memory_format=torch.channels_last)


def test_module_argument_errors():
    x, y = batch(4)
    with pytest.raises(ValueError, match="alpha"):
        MixUp(alpha=0.0)
    with pytest.raises(ValueError, match="num_classes"):
        CutMix(num_classes=0)
    with pytest.raises(ValueError, match="num_classes"):
        MixUp()(x, y)  # class indices need num_classes
    with pytest.raises(ValueError, match="num_classes"):
        Mixup(num_classes=0)
    with pytest.raises(ValueError, match="labels"):
        Mixup(num_classes=10, multi_label=True)(x, y)
    with pytest.raises(ValueError, match="mode"):
        Mixup(num_classes=3, mode="half")
    with pytest.raises(ValueError, match="prob"):
        Mixup(num_classes=3, prob=1.5)
    with pytest.raises(ValueError, match="cutmix_alpha"):
        Mixup(num_classes=3, mixup_alpha=0.0, cutmix_alpha=0.0)
    with pytest.raises(ValueError, match="cutmix_minmax"):
        Mixup(num_classes=3, cutmix_minmax=(0.9, 0.1))
    with pytest.raises(ValueError, match="label_smoothing"):
        Mixup(num_classes=3, label_smoothing=1.0)
    with pytest.raises(ValueError, match="labels"):
        MixUp(num_classes=10)(x, y[:3])
    with pytest.raises(ValueError, match="images"):
        MixUp(num_classes=10)(x[0], y)


def test_modules_on_an_empty_batch():
    x, y = torch.rand(0, 3, 8, 8), torch.zeros(0, dtype=torch.int64)
    for m in (MixUp(num_classes=3), CutMix(num_classes=3),
              Mixup(mixup_alpha=1.0, cutmix_alpha=1.0, mode="elem", num_classes=3),
              Mixup(mixup_alpha=1.0, mode="batch", num_classes=3), Mixup(cutmix_alpha=1.0, mode="pair", num_classes=3)):
        out, t = m(x, y)
        assert out.shape == (0, 3, 8, 8) and t.shape == (0, 3)
