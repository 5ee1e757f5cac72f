"""RandomErasing: torchvision v2's box distribution, per-sample p, value modes (timm's
const / rand / pixel), replay, batch invariance, Compose (after Normalize, as timm
runs it), RandomApply, ragged inputs, in place, and a torchvision parity test
(skipped without torchvision)."""
import math

import pytest
from _backends import torchvision_or_skip  # noqa: E402

import torch

from datagen_gpu import reference as R
from datagen_gpu import transforms as T
from datagen_gpu.params.erasing import ERASE_DRAWS, erasing_boxes
from datagen_gpu.testing import assert_close_to_reference, random_images

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def torchvision_rule(u, H, W, scale, ratio, p):
    """torchvision v2 RandomErasing.make_params for one sample, in plain Python, with its
    draws replaced by the uniforms ``u`` (coin, then (area, log-ratio, top, left) per try);
    None: not erased (the coin, or no try fits)."""
    if not u[0] < p:
        return None
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for t in range(10):
        a, lr, ut, ul = u[1 + 4 * t: 5 + 4 * t]
        erase_area = H * W * (scale[0] + (scale[1] - scale[0]) * a)
        aspect = math.exp(log_lo + (log_hi - log_lo) * lr)
        h = int(round(math.sqrt(erase_area * aspect)))
        w = int(round(math.sqrt(erase_area / aspect)))
        if not (h < H and w < W):
            continue
        return int(ut * (H - h + 1)), int(ul * (W - w + 1)), h, w  # randint(0, H - h + 1)
    return None


@pytest.mark.parametrize("H,W", [(224, 224), (13, 17), (3, 40), (2, 2), (1, 1)])
@pytest.mark.parametrize("scale,ratio,p", [((0.02, 0.33), (0.3, 3.3), 0.5), ((0.3, 0.9), (0.1, 10.0), 0.9)])
def test_boxes_follow_torchvision_rule_on_the_same_uniforms(H, W, scale, ratio, p):
    t = T.RandomErasing(p=p, scale=scale, ratio=ratio, seed=11)
    ids = torch.arange(1500) * 7 + 3
    x = torch.empty(len(ids), 3, H, W)
    params = t.make_params(x, ids)
    u = t.draw(ids, 1 + ERASE_DRAWS)
    for i in range(len(ids)):
        want = torchvision_rule(u[i].tolist(), H, W, scale, ratio, p)
        got = params["boxes"][i].tolist()
        assert bool(params["apply"][i]) == (want is not None), i
        assert got == (list(want) if want is not None else [0, 0, 0, 0]), i


def test_box_statistics():
    H, W, n = 224, 224, 4000
    t = T.RandomErasing(p=0.5, seed=3)
    params = t.make_params(torch.empty(n, 3, H, W), torch.arange(n))
    apply, boxes = params["apply"], params["boxes"][params["apply"]].double()
    frac = apply.double().mean().item()
    assert abs(frac - 0.5) < 4 * (0.25 / n) ** 0.5  # every try fits on 224^2 with these ranges
    top, left, h, w = boxes.unbind(1)
    assert bool((top >= 0).all() and (left >= 0).all() and (top + h <= H).all() and (left + w <= W).all())
    area = h * w / (H * W)
    assert area.min() >= 0.02 * 0.9 and area.max() <= 0.33 * 1.1  # rounding of h and w
    log_r = torch.log(h / w)
    assert log_r.min() >= math.log(0.3) - 0.1 and log_r.max() <= math.log(3.3) + 0.1
    # area ~ U(0.02, 0.33) (mean 0.175) and log-ratio ~ U(log 0.3, log 3.3) (mean -0.005),
    # slightly thinned at the extremes by the h < H, w < W test
    assert abs(area.mean().item() - 0.175) < 0.01
    assert abs(log_r.mean().item()) < 0.05
    # positions uniform over the valid range: (top / (H - h)) has mean 1/2
    assert abs((top / (H - h).clamp(min=1)).mean().item() - 0.5) < 0.03


def test_sampler_no_fit_and_empty_boxes():
    """A 1 x 1 image: only h = w = 0 fits (torchvision accepts it: nothing erased);
    every other try is rejected and the sample is left alone."""
    gen = torch.Generator().manual_seed(7)
    u = torch.rand(500, ERASE_DRAWS, dtype=torch.float64, generator=gen)
    # two rows made to decide: every try's area and ratio at the top of their ranges
    # (h = w = 1: nothing fits), and a first try at the bottom (h = w = 0: fits)
    u[0] = 0.999
    u[1, :4] = 0.0
    boxes, fits = erasing_boxes(u, 1, 1, (0.02, 0.33), (0.3, 3.3))
    assert bool((boxes[:, 2:] == 0).all())
    assert not bool(fits[0]) and bool(fits[1])
    assert bool((boxes[0] == 0).all())


def test_per_sample_p_and_no_op(gen):
    x = random_images((64, 3, 32, 32), torch.float32, generator=gen)
    t0 = T.RandomErasing(p=0.0, value="random")
    out, params = t0(x, return_params=True)
    assert torch.equal(out, x) and not params["apply"].any()
    t1 = T.RandomErasing(p=1.0, value=0.0)
    out, params = t1(x, return_params=True)
    assert params["apply"].all()  # every try fits on 32^2 at least once, practically
    for i in range(64):
        top, left, h, w = params["boxes"][i].tolist()
        assert bool((out[i, :, top:top + h, left:left + w] == 0).all())
        mask = torch.ones(32, 32, dtype=torch.bool)
        mask[top:top + h, left:left + w] = False
        assert torch.equal(out[i][:, mask], x[i][:, mask])
    t = T.RandomErasing(p=0.3, value=0.0, seed=5)
    applied = t.make_params(torch.empty(4000, 3, 32, 32), torch.arange(4000))["apply"].double().mean()
    assert abs(applied.item() - 0.3) < 4 * (0.21 / 4000) ** 0.5


@pytest.mark.parametrize("value", [0.5, (0.1, 0.2, 0.3), "random", "random_channel"])
def test_values_and_replay(value, gen):
    x = random_images((6, 3, 20, 24), torch.float32, generator=gen)
    t = T.RandomErasing(p=1.0, value=value, seed=9)
    ids = torch.tensor([5, 1, 8, 2, 40, 3])
    out, params = t(x, sample_ids=ids, return_params=True)
    assert torch.equal(t(x, params=params), out)
    assert torch.equal(T.RandomErasing(p=1.0, value=value, seed=9)(x, sample_ids=ids), out)
    B, C = x.shape[:2]
    boxes = params["boxes"]
    if value == "random":
        noise = R.erase_noise(9, ids, t.noise_op_id, boxes, C)
        ref = R.erase(x.double(), boxes, torch.zeros(B, C), torch.ones(B, dtype=torch.bool), noise)
    else:
        v = (params["value"] if value == "random_channel"
             else torch.tensor(value if isinstance(value, tuple) else (value,) * C).expand(B, C))
        ref = R.erase(x.double(), boxes, v.double(), None, None)
    assert_close_to_reference(out, ref, rtol=2e-6, msg=str(value))


def test_random_channel_values_are_standard_normal():
    t = T.RandomErasing(p=1.0, value="random_channel", seed=2)
    v = t.make_params(torch.empty(3000, 3, 16, 16), torch.arange(3000))["value"].double()
    assert v.shape == (3000, 3)
    assert abs(v.mean().item()) < 0.05 and abs(v.std().item() - 1.0) < 0.05
    assert abs(torch.corrcoef(v.T)[0, 1].item()) < 0.06  # channels independent


def test_same_ids_same_output_whatever_the_batch(gen):
    x = random_images((8, 3, 16, 20), torch.float32, generator=gen)
    ids = torch.arange(100, 108)
    t = T.RandomErasing(p=0.7, value="random", seed=4)
    full = t(x, sample_ids=ids)
    halves = torch.cat([t(x[4:], sample_ids=ids[4:]), t(x[:4], sample_ids=ids[:4])])
    assert torch.equal(torch.cat([halves[4:], halves[:4]]), full)
    single = t(x[5:6], sample_ids=ids[5:6])
    assert torch.equal(single[0], full[5])


def test_same_on_batch(gen):
    x = random_images((5, 3, 16, 20), torch.float32, generator=gen)
    x[:] = x[0]
    out, params = T.RandomErasing(p=1.0, value="random", same_on_batch=True)(x, return_params=True)
    assert bool((params["boxes"] == params["boxes"][0]).all())
    assert all(torch.equal(out[i], out[0]) for i in range(5))


def test_streams_differ_in_compose(gen):
    x = random_images((4, 3, 24, 24), torch.float32, generator=gen)
    pipe = T.Compose([T.RandomErasing(p=1.0, value="random"), T.RandomErasing(p=1.0, value="random")])
    a, b = pipe.transforms
    assert a.op_id != b.op_id and a.noise_op_id != b.noise_op_id and a.noise_op_id != a.op_id
    _, (pa, pb) = pipe(x, return_params=True)
    assert not torch.equal(pa["boxes"], pb["boxes"])


@pytest.mark.parametrize("value", ["random", (0.0, 0.0, 0.0), "random_channel"])
def test_compose_after_normalize_as_timm(value, gen):
    """uint8 -> float, crop, flip, Normalize (fused, float32) -> RandomErasing op by op: the fused
    and unfused pipelines agree, params replay, outside the boxes the output is the pipeline's."""
    x = random_images((5, 3, 30, 41), torch.uint8, generator=gen)
    ids = torch.arange(5) + 20
    head = [T.ToDtype(torch.float32, scale=True), T.RandomResizedCrop(16), T.RandomHorizontalFlip(),
            T.Normalize(MEAN, STD)]
    pipe = lambda fuse, erase=True: T.Compose(  # noqa: E731
        head + ([T.RandomErasing(p=0.8, value=value)] if erase else []), seed=3, fuse=fuse)
    out, params = pipe(True)(x, sample_ids=ids, return_params=True)
    assert out.dtype == torch.float32 and out.shape == (5, 3, 16, 16)
    torch.testing.assert_close(out, pipe(False)(x, sample_ids=ids), atol=1e-5, rtol=1e-5)
    assert torch.equal(pipe(True)(x, params=params), out)
    plain = pipe(True, erase=False)(x, sample_ids=ids)
    erasing = params[-1]
    for i in range(5):
        top, left, h, w = erasing["boxes"][i].tolist()
        mask = torch.ones(16, 16, dtype=torch.bool)
        mask[top:top + h, left:left + w] = False
        assert torch.equal(out[i][:, mask], plain[i][:, mask])
        if not bool(erasing["apply"][i]):
            assert h == w == 0
    if value == "random":  # inside the boxes: the noise of the transform's stream, as normalized values
        t = pipe(True).transforms[-1]
        noise = R.erase_noise(3, ids, t.noise_op_id, erasing["boxes"], 3)
        ref = R.erase(plain.double(), erasing["boxes"], torch.zeros(5, 3), erasing["apply"], noise)
        assert_close_to_reference(out, ref, rtol=2e-6)


def test_random_apply_folds_its_coin(gen):
    x = random_images((16, 3, 20, 20), torch.float32, generator=gen)
    ra = T.RandomApply([T.RandomErasing(p=1.0, value=-1.0)], p=0.5, seed=8)
    out, params = ra(x, return_params=True)
    inner = params["inner"][0]
    erased = params["apply"] & inner["apply"]
    assert 0 < erased.sum() < 16
    for i in range(16):
        assert torch.equal(out[i], x[i]) != bool(erased[i])


def test_ragged_inputs_rejected_clearly(gen):
    imgs = [random_images((1, 3, 20, 30), torch.float32, generator=gen)[0],
            random_images((1, 3, 25, 17), torch.float32, generator=gen)[0]]
    with pytest.raises(ValueError, match="ragged"):
        T.RandomErasing()(imgs)
    for fuse in (True, False):
        with pytest.raises(ValueError, match="ragged"):
            T.Compose([T.RandomErasing()], fuse=fuse)(imgs)
        out = T.Compose([T.RandomResizedCrop(12), T.RandomErasing(p=1.0, value="random")], fuse=fuse)(imgs)
        assert out.shape == (2, 3, 12, 12)


def test_uint8_images(gen):
    x = random_images((4, 3, 16, 16), torch.uint8, generator=gen)
    out, params = T.RandomErasing(p=1.0, value=(124, 116, 104))(x, return_params=True)
    top, left, h, w = params["boxes"][0].tolist()
    assert out.dtype == torch.uint8 and out[0, :, top, left].tolist() == [124, 116, 104]
    for value in ("random", "random_channel"):
        with pytest.raises(TypeError, match="uint8"):
            T.RandomErasing(value=value)(x)


def test_inplace(gen):
    x = random_images((4, 3, 16, 16), torch.float32, generator=gen)
    want = T.RandomErasing(p=1.0, value="random", seed=1)(x, sample_ids=torch.arange(4))
    y = x.clone()
    got = T.RandomErasing(p=1.0, value="random", seed=1, inplace=True)(y, sample_ids=torch.arange(4))
    assert got is y and torch.equal(y, want)


@pytest.mark.parametrize("kwargs,exc", [
    (dict(p=1.5), ValueError), (dict(p=True), ValueError), (dict(scale=(0.5, 0.2)), ValueError),
    (dict(scale=(0.0, 1.5)), ValueError), (dict(scale=0.3), TypeError), (dict(ratio=(0.0, 1.0)), ValueError),
    (dict(ratio=(2.0, 1.0)), ValueError), (dict(value="pixel"), ValueError), (dict(value=None), TypeError),
    (dict(value=()), TypeError), (dict(value=True), TypeError),
])
def test_constructor_errors(kwargs, exc):
    name = next(iter(kwargs))
    with pytest.raises(exc, match=name):
        T.RandomErasing(**kwargs)


def test_value_length_checked_against_channels():
    with pytest.raises(ValueError, match="value"):
        T.RandomErasing(value=(1.0, 2.0))(torch.rand(2, 3, 8, 8))
    T.RandomErasing(value=(1.0,))(torch.rand(2, 3, 8, 8))


def test_torchvision_parity(gen):
    """Our boxes and values (and noise) fed to torchvision's F.erase per sample."""
    tvF = torchvision_or_skip("torchvision.transforms.v2.functional")
    x = random_images((6, 3, 20, 26), torch.float32, generator=gen)
    for value in (0.25, (0.1, 0.2, 0.3), "random", "random_channel"):
        t = T.RandomErasing(p=0.8, value=value, seed=7)
        out, params = t(x, return_params=True)
        for i in range(6):
            top, left, h, w = params["boxes"][i].tolist()
            if not bool(params["apply"][i]):
                assert torch.equal(out[i], x[i])
                continue
            if value == "random":
                v = R.erase_noise(7, params["sample_ids"][i:i + 1], t.noise_op_id,
                                  params["boxes"][i:i + 1], 3)[0].float()
            elif value == "random_channel":
                v = params["value"][i][:, None, None]
            else:
                v = torch.tensor(value if isinstance(value, tuple) else (value,))[:, None, None]
            want = tvF.erase(x[i], top, left, h, w, v)
            torch.testing.assert_close(out[i], want, atol=2e-5, rtol=2e-6)
