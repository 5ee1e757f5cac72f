"""RandomErasing with several boxes per sample (timm's min_count / max_count, --recount):
the single-box layout unchanged at max_count=1, the count's distribution, the area split
between the boxes, one launch per box slot with its own noise, replay, and the preset."""
import math

import pytest
import torch
from _backends import skip_unsupported

from datagen_gpu import functional as F
from datagen_gpu import presets
from datagen_gpu import transforms as T
from datagen_gpu.kernels._record import ops_to_launchers
from datagen_gpu.params.erasing import ERASE_DRAWS
from datagen_gpu.testing import random_images


def timm_rule(u, H, W, scale, ratio, p, lo, hi):
    """timm's RandomErasing._erase for one image, in plain Python, its draws replaced by the
    uniforms ``u`` (coin, count, then per box slot 10 tries of (area, log-ratio, top, left)):
    the list of boxes erased (empty: none)."""
    if not u[0] < p:
        return []
    count = lo + int(u[1] * (hi - lo + 1))
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    boxes = []
    for j in range(count):
        tries = u[2 + j * ERASE_DRAWS: 2 + (j + 1) * ERASE_DRAWS]
        for t in range(10):
            a, lr, ut, ul = tries[4 * t: 4 * t + 4]
            target_area = H * W * (scale[0] + (scale[1] - scale[0]) * a) / count
            aspect = math.exp(log_lo + (log_hi - log_lo) * lr)
            h = int(round(math.sqrt(target_area * aspect)))
            w = int(round(math.sqrt(target_area / aspect)))
            if w < W and h < H:
                boxes.append((j, [int(ut * (H - h + 1)), int(ul * (W - w + 1)), h, w]))
                break
    return boxes


@pytest.mark.parametrize("H,W", [(224, 224), (13, 17), (2, 3)])
def test_boxes_follow_timm_rule_on_the_same_uniforms(H, W):
    scale, ratio, p, lo, hi = (0.02, 1 / 3), (0.3, 1 / 0.3), 0.6, 1, 4
    t = T.RandomErasing(p=p, scale=scale, ratio=ratio, min_count=lo, max_count=hi, seed=13)
    ids = torch.arange(800) * 5 + 1
    params = t.make_params(torch.empty(len(ids), 3, H, W), ids)
    u = t.draw(ids, 2 + hi * ERASE_DRAWS)
    for i in range(len(ids)):
        want = timm_rule(u[i].tolist(), H, W, scale, ratio, p, lo, hi)
        got = params["boxes"][i].tolist()
        assert bool(params["apply"][i]) == bool(want), i
        expected = [[0, 0, 0, 0] for _ in range(hi)]
        for j, box in want:
            expected[j] = box
        assert got == expected, i


def test_max_count_one_is_the_single_box_layout(gen):
    x = random_images((16, 3, 40, 50), torch.float32, generator=gen)
    for value in (0.5, "random", "random_channel"):
        a, pa = T.RandomErasing(p=0.7, value=value, seed=3)(x, return_params=True)
        b, pb = T.RandomErasing(p=0.7, value=value, seed=3, min_count=1, max_count=1)(x, return_params=True)
        assert torch.equal(a, b) and pa.keys() == pb.keys()
        assert all(torch.equal(pa[k], pb[k]) for k in pa)
        assert pa["boxes"].shape == (16, 4)


def test_count_distribution_and_area_split():
    """On 224^2 every try practically fits: the number of boxes per erased sample is the
    drawn count, uniform on [min_count, max_count]; a box's mean area fraction is
    E U(0.02, 0.33) / count."""
    n, lo, hi = 30000, 2, 4
    x = torch.zeros(1, 1, 224, 224).expand(n, -1, -1, -1)  # only its shape is read
    t = T.RandomErasing(p=1.0, min_count=lo, max_count=hi, seed=5)
    p = t.make_params(x, torch.arange(n))
    assert p["boxes"].shape == (n, hi, 4) and bool(p["apply"].all())
    area = (p["boxes"][..., 2] * p["boxes"][..., 3]).double() / (224 * 224)
    count = (area > 0).sum(1)
    freq = torch.bincount(count, minlength=hi + 1)[lo:].double() / n
    k = hi - lo + 1
    assert bool(((freq - 1 / k).abs() < 5 * (1 / k * (1 - 1 / k) / n) ** 0.5).all()), freq
    # boxes fill the first `count` slots
    slots = torch.arange(hi).unsqueeze(0) < count.unsqueeze(1)
    assert torch.equal(area > 0, slots)
    for c in range(lo, hi + 1):
        a = area[count == c][:, :c]
        assert abs(a.mean().item() - 0.175 / c) < 0.01 / c, (c, a.mean().item())


def test_several_boxes_on_the_triton_kernels(gen):
    """The same launches on the Triton kernels: their noise is within float32 rounding of
    the C++ kernel's."""
    skip_unsupported("triton")
    x = random_images((4, 3, 10, 9), torch.float32, generator=gen)
    t = T.RandomErasing(p=1.0, value="random", min_count=2, max_count=2, seed=9)
    with ops_to_launchers():
        y, p = t(x, return_params=True)
    assert bool((p["boxes"][..., 2] * p["boxes"][..., 3] > 0).all())  # both slots erased
    torch.testing.assert_close(y, t(x, params=p), atol=2e-6, rtol=2e-6)


@pytest.mark.parametrize("value", [0.25, "random", "random_channel"])
def test_each_box_is_one_erase_with_its_own_noise(value, gen):
    x = random_images((12, 3, 48, 40), torch.float32, generator=gen)
    t = T.RandomErasing(p=0.8, value=value, min_count=1, max_count=3, seed=9)
    y, p = t(x, return_params=True)
    assert p["boxes"].shape == (12, 3, 4)
    if value == "random_channel":
        assert p["value"].shape == (12, 3, 3)
    expected = x
    boxes = p["boxes"] * p["apply"].view(-1, 1, 1)
    for j in range(3):
        v = p["value"][:, j] if value == "random_channel" else value
        expected = F.erase(expected, boxes[:, j], v, seed=t.seed, sample_ids=p["sample_ids"],
                           op_id=t.noise_op_id + j)
    assert torch.equal(y, expected)
    assert torch.equal(t(x, params=p), y)  # replay
    assert not torch.equal(y, x) and torch.equal(x, x.clone())
    if value == "random":  # the box slots' noise streams differ
        same = torch.tensor([[0, 0, 48, 40]] * 12)
        n0 = F.erase(x, same, "random", seed=t.seed, sample_ids=p["sample_ids"], op_id=t.noise_op_id)
        n1 = F.erase(x, same, "random", seed=t.seed, sample_ids=p["sample_ids"], op_id=t.noise_op_id + 1)
        assert not torch.equal(n0, n1)


def test_several_boxes_in_place_and_batch_invariance(gen):
    x = random_images((10, 3, 30, 30), torch.float32, generator=gen)
    t = T.RandomErasing(p=1.0, value="random", max_count=3, inplace=True, seed=2)
    ref = T.RandomErasing(p=1.0, value="random", max_count=3, seed=2)(x, sample_ids=torch.arange(10))
    y = x.clone()
    out = t(y, sample_ids=torch.arange(10))
    assert out.data_ptr() == y.data_ptr() and torch.equal(out, ref)
    part = T.RandomErasing(p=1.0, value="random", max_count=3, seed=2)(x[4:7], sample_ids=torch.arange(4, 7))
    assert torch.equal(part, ref[4:7])


def test_preset_re_count():
    aug = presets.imagenet_train(64, policy="trivial", re_prob=1.0, re_count=3)
    x = torch.randint(0, 256, (6, 3, 80, 72), dtype=torch.uint8)
    y, params = aug(x, return_params=True)
    assert y.shape == (6, 3, 64, 64) and bool(torch.isfinite(y).all())
    assert params[-1]["boxes"].shape == (6, 3, 4)
    assert torch.equal(aug(x, params=params), y)


@pytest.mark.parametrize("kwargs", [dict(min_count=0), dict(min_count=2, max_count=1), dict(max_count=0),
                                    dict(min_count=True), dict(max_count=2.0), dict(min_count="1")])
def test_count_errors(kwargs):
    with pytest.raises(ValueError, match="count"):
        T.RandomErasing(**kwargs)
