"""Module transforms: randomness contract, replay, per-sample p, validation."""
import pytest
import torch

import datagen_gpu.functional as F
from datagen_gpu import transforms as T
from datagen_gpu.testing import random_images


def _pipeline(seed=0):
    return T.Compose([
        T.RandomHorizontalFlip(0.5),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        T.RandomGrayscale(0.2),
        T.RandomApply([T.GaussianBlur(5)], p=0.5),
        T.RandomSolarize(128, p=0.2),
        T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ], seed=seed)


def test_same_ids_same_output_whatever_the_batch(gen):
    x = random_images((12, 3, 20, 24), torch.uint8, generator=gen)
    ids = torch.arange(100, 112)
    t = _pipeline()
    full = t(x, sample_ids=ids)
    perm = torch.randperm(12, generator=gen)
    assert torch.equal(t(x[perm], sample_ids=ids[perm]), full[perm])
    parts = [t(x[s], sample_ids=ids[s]) for s in (slice(0, 5), slice(5, 6), slice(6, 12))]
    assert torch.equal(torch.cat(parts), full)
    # a fresh module with the same seed agrees; another seed does not
    assert torch.equal(_pipeline()(x, sample_ids=ids), full)
    assert not torch.equal(_pipeline(seed=1)(x, sample_ids=ids), full)


def test_running_counter_and_replay(gen):
    x = random_images((6, 3, 16, 16), torch.uint8, generator=gen)
    t = _pipeline()
    a, pa = t(x, return_params=True)
    b = t(x)
    assert not torch.equal(a, b)  # the counter moved on: new samples, new parameters
    assert torch.equal(t(x, params=pa), a)  # replay
    assert torch.equal(_pipeline()(x, sample_ids=torch.arange(6)), a)


def test_per_sample_p_and_same_on_batch():
    n = 20_000
    x = torch.rand(n, 3, 1, 2)
    flip = T.RandomHorizontalFlip(p=0.3)
    applied = flip.make_params(x, torch.arange(n))["apply"]
    assert abs(applied.float().mean().item() - 0.3) < 0.015
    same = T.RandomHorizontalFlip(p=0.5, same_on_batch=True)
    decisions = []
    for _ in range(20):
        _, p = same(x[:64], return_params=True)
        assert p["apply"].all() or not p["apply"].any()
        decisions.append(bool(p["apply"][0]))
    assert any(decisions) and not all(decisions)
    ra = T.RandomApply([T.RandomGrayscale(p=1.0)], p=0.8)
    y = ra(torch.rand(4000, 3, 2, 2), sample_ids=torch.arange(4000))
    gray = (y[:, 0] == y[:, 1]).all(-1).all(-1) & (y[:, 1] == y[:, 2]).all(-1).all(-1)
    assert abs(gray.float().mean().item() - 0.8) < 0.03


def test_color_jitter_factor_ranges_and_orders():
    t = T.ColorJitter(brightness=0.4, contrast=(0.5, 0.7), saturation=0, hue=0.1)
    p = t.make_params(torch.zeros(50_000, 3, 1, 1), torch.arange(50_000))
    b, c, s, h = p["brightness"], p["contrast"], p["saturation"], p["hue"]
    assert b.min() >= 0.6 and b.max() < 1.4 and abs(b.mean().item() - 1.0) < 0.01
    assert c.min() >= 0.5 and c.max() < 0.7
    assert bool((s == 1.0).all())
    assert h.min() >= -0.1 and h.max() < 0.1
    assert len(torch.unique(p["order"], dim=0)) == 24


def test_streams_are_independent():
    x = torch.rand(32, 3, 8, 8)
    t = T.Compose([T.ColorJitter(0.5), T.ColorJitter(0.5)])
    _, (p0, p1) = t(x, return_params=True)
    assert not torch.equal(p0["brightness"], p1["brightness"])
    inner = T.Compose([T.RandomApply([T.ColorJitter(0.5)]), T.RandomApply([T.ColorJitter(0.5)])])
    _, (q0, q1) = inner(x, return_params=True)
    assert not torch.equal(q0["inner"][0]["brightness"], q1["inner"][0]["brightness"])


def test_transforms_call_the_functionals_with_their_params(gen):
    x = random_images((5, 3, 12, 14), torch.uint8, generator=gen)
    cj = T.ColorJitter(0.4, 0.4, 0.4, 0.1)
    y, p = cj(x, return_params=True)
    assert torch.equal(y, F.color_jitter(x, p["brightness"], p["contrast"], p["saturation"], p["hue"], p["order"]))
    blur = T.GaussianBlur(5, sigma=(0.5, 1.5))
    y, p = blur(x, return_params=True)
    assert torch.equal(y, F.gaussian_blur(x, 5, p["sigma"]))
    norm = T.Normalize([0.5] * 3, [0.25] * 3)
    assert norm(x).dtype == torch.float32
    assert T.ToDtype(torch.float32, scale=True)(x).max() <= 1.0
    assert torch.equal(T.ToDtype(torch.uint8, scale=True)(T.ToDtype(torch.float32, scale=True)(x)), x)


def test_constructor_errors():
    with pytest.raises(ValueError, match="p"):
        T.RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="kernel_size"):
        T.GaussianBlur(4)
    with pytest.raises(ValueError, match="sigma"):
        T.GaussianBlur(3, sigma=(2.0, 1.0))
    with pytest.raises(ValueError, match="std"):
        T.Normalize([0.5], [0.0])
    with pytest.raises(TypeError, match="seed"):
        T.RandomGrayscale(seed="x")
    with pytest.raises(TypeError, match="transforms"):
        T.Compose([torch.nn.Identity()])
    with pytest.raises(ValueError, match="sample_ids"):
        T.RandomGrayscale()(torch.rand(2, 3, 4, 4), sample_ids=torch.arange(3))


@pytest.mark.parametrize("fuse", [True, False])
def test_bad_batches_name_images(fuse):
    from datagen_gpu.presets import TwoViews

    pipe = T.Compose([T.RandomHorizontalFlip(0.5), T.RandomGrayscale(0.2)], fuse=fuse)
    with pytest.raises(ValueError, match="images"):
        pipe([])
    with pytest.raises(ValueError, match="images"):
        TwoViews(pipe)([])
    with pytest.raises(TypeError, match="images"):
        pipe("not a batch")
    with pytest.raises(TypeError, match="images"):
        T.RandomGrayscale()(3.0)


def test_presets_and_two_views(gen):
    from datagen_gpu.presets import TwoViews, byol_views, moco_v2_view, simclr_view

    x = random_images((6, 3, 40, 52), torch.uint8, generator=gen)
    ids = torch.arange(6)
    two = TwoViews(simclr_view(24, blur_kernel=5))
    (a, b), (pa, pb) = two(x, sample_ids=ids, return_params=True)
    assert a.shape == b.shape == (6, 3, 24, 24) and a.dtype == torch.float32
    assert not torch.equal(pa[0]["boxes"], pb[0]["boxes"])  # independent streams
    a2, b2 = two(x, params=(pa, pb))
    assert torch.equal(a2, a) and torch.equal(b2, b)
    assert torch.equal(two(x[2:4], sample_ids=ids[2:4])[1], b[2:4])
    va, vb = byol_views(24, blur_kernel=5)
    assert not any(isinstance(t, T.RandomSolarize) for t in va.transforms)
    assert any(isinstance(t, T.RandomSolarize) for t in vb.transforms)
    ya, yb = TwoViews(va, vb)(x)
    assert ya.shape == yb.shape == (6, 3, 24, 24)
    assert moco_v2_view(24, blur_kernel=5)(x).shape == (6, 3, 24, 24)
    with pytest.raises(TypeError, match="pipeline_a"):
        TwoViews(torch.nn.Identity())


def test_random_resized_crop_dense_and_ragged(gen):
    imgs = [random_images((1, 3, h, w), torch.uint8, generator=gen)[0] for h, w in ((30, 41), (64, 20), (17, 17))]
    t = T.RandomResizedCrop(12, seed=4)
    ids = torch.tensor([7, 8, 9])
    y, p = t(imgs, sample_ids=ids, return_params=True)
    assert y.shape == (3, 3, 12, 12) and y.dtype == torch.uint8
    boxes = p["boxes"]
    sizes = torch.tensor([[30, 41], [64, 20], [17, 17]], dtype=boxes.dtype)
    assert bool((boxes[:, :2] >= 0).all() and (boxes[:, 0] + boxes[:, 2] <= sizes[:, 0]).all()
                and (boxes[:, 1] + boxes[:, 3] <= sizes[:, 1]).all())
    # each sample's box depends only on its id and its own size
    y1, p1 = t(imgs[1:2], sample_ids=ids[1:2], return_params=True)
    assert torch.equal(p1["boxes"][0], boxes[1]) and torch.equal(y1[0], y[1])
    assert torch.equal(y[2], F.resized_crop([imgs[2]], boxes[2:3], 12)[0])
    dense = torch.stack([imgs[2]] * 2)
    assert t(dense).shape == (2, 3, 12, 12)


@pytest.mark.parametrize("preset", ["simclr", "moco_v2"])
@pytest.mark.parametrize("ragged", [False, True])
def test_two_views_stacked_launches_and_equals_separate_views(preset, ragged, monkeypatch, gen):
    """Matching pipelines run as one stacked batch: one fused_augment (views=2, blur
    included) for both views, with the same outputs as running the two views separately."""
    from datagen_gpu import presets

    make = {"simclr": presets.simclr_view, "moco_v2": presets.moco_v2_view}[preset]
    two = presets.TwoViews(make(24, blur_kernel=5))
    assert two.stacked
    if ragged:
        x = [random_images((1, 3, 30 + 3 * i, 41 - 2 * i), torch.uint8, generator=gen)[0]
             for i in range(5)]
    else:
        x = random_images((5, 3, 33, 38), torch.uint8, generator=gen)
    ids = torch.arange(10, 15)
    ref_a = two.view_a(x, sample_ids=ids)
    ref_b = two.view_b(x, sample_ids=ids)
    calls = []
    for name in ("fused_augment", "gaussian_blur", "normalize"):
        op = getattr(torch.ops.datagen_gpu, name)
        monkeypatch.setattr(torch.ops.datagen_gpu, name,
                            lambda *args, _op=op, _name=name: calls.append(_name) or _op(*args))
    (a, b), (pa, pb) = two(x, sample_ids=ids, return_params=True)
    assert calls == ["fused_augment"]
    assert torch.equal(a, ref_a) and torch.equal(b, ref_b)
    a2, b2 = two(x, params=(pa, pb))
    assert torch.equal(a2, a) and torch.equal(b2, b)
    sa, sb = two(x[1:3], sample_ids=ids[1:3])  # a sub-batch: the same samples
    assert torch.equal(sa, a[1:3]) and torch.equal(sb, b[1:3])


def test_two_views_not_stacked_when_pipelines_differ():
    from datagen_gpu.presets import TwoViews, byol_views

    assert not TwoViews(*byol_views(24, blur_kernel=5)).stacked  # view b has a solarize
    a = T.Compose([T.RandomResizedCrop(8), T.GaussianBlur(3)])
    assert TwoViews(a, T.Compose([T.RandomResizedCrop(8, scale=(0.5, 1.0)), T.GaussianBlur(3)])).stacked
    assert not TwoViews(a, T.Compose([T.RandomResizedCrop(9), T.GaussianBlur(3)])).stacked
    assert not TwoViews(a, T.Compose([T.RandomResizedCrop(8), T.GaussianBlur(5)])).stacked
    assert not TwoViews(a, T.Compose([T.RandomResizedCrop(8), T.GaussianBlur(3)], fuse=False)).stacked
