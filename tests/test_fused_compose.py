"""Compose fusion: the planner's runs, fused == unfused (same parameters, same
results with float32 intermediates, a measured bound with uint8 ones), the
solarize threshold conversion, replay, ragged input, the Triton launcher path,
and torch.compile(fullgraph=True)."""
import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu import transforms as T
from datagen_gpu.testing import random_images

from _backends import HAS_TRITON, interpreted

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
# uint8 intermediates: the unfused path rounds after every op (and floors the
# grayscale of uint8 images), the fused one rounds once. docs/fused.md: measured
# max 3 levels (of the value before normalize), mean 0.13-0.26.
UINT8_BOUND_LEVELS = 4.0


def simclr(size=12, lead=(), blur=True, **kwargs):
    return T.Compose(list(lead) + [
        T.RandomResizedCrop(size), T.RandomHorizontalFlip(),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8), T.RandomGrayscale(0.2),
    ] + ([T.RandomApply([T.GaussianBlur(5)], p=0.5)] if blur else []) + [
        T.Normalize(MEAN, STD)], seed=7, **kwargs)


def byol(size=12, lead=(), second=False, threshold=128, **kwargs):
    blur = T.RandomApply([T.GaussianBlur(5)], p=0.1) if second else T.GaussianBlur(5)
    return T.Compose(list(lead) + [
        T.RandomResizedCrop(size), T.RandomHorizontalFlip(),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8), T.RandomGrayscale(0.2), blur,
        T.RandomSolarize(threshold, p=0.2 if second else 0.0), T.Normalize(MEAN, STD)],
        seed=11, **kwargs)


def both(make, x, ids, **kwargs):
    """(fused output, fused params, unfused output, unfused params)."""
    a, pa = make(**kwargs)(x, sample_ids=ids, return_params=True)
    b, pb = make(fuse=False, **kwargs)(x, sample_ids=ids, return_params=True)
    return a, pa, b, pb


def assert_same_params(pa, pb):
    assert type(pa) is type(pb)
    if isinstance(pa, dict):
        assert pa.keys() == pb.keys()
        for k in pa:
            assert_same_params(pa[k], pb[k])
    elif isinstance(pa, list):
        assert len(pa) == len(pb)
        for u, v in zip(pa, pb):
            assert_same_params(u, v)
    else:
        assert torch.equal(pa, pb)


FLOAT_LEAD = (T.ToDtype(torch.float32, scale=True),)
PIPELINES = {
    "simclr": lambda **kw: simclr(**kw),
    # RandomSolarize's threshold is in the units of its input's dtype
    "byol1": lambda **kw: byol(threshold=0.5 if kw.get("lead") else 128, **kw),
    "byol2": lambda **kw: byol(second=True, threshold=0.5 if kw.get("lead") else 128, **kw),
}


@pytest.mark.parametrize("name", PIPELINES)
def test_fused_equals_unfused_with_float32_intermediates(name, gen):
    x = random_images((16, 3, 30, 26), torch.uint8, generator=gen)
    ids = torch.arange(100, 116)
    a, pa, b, pb = both(PIPELINES[name], x, ids, lead=FLOAT_LEAD)
    assert_same_params(pa, pb)
    assert a.dtype == b.dtype == torch.float32 and a.shape == b.shape == (16, 3, 12, 12)
    torch.testing.assert_close(a, b, atol=1e-5 / min(STD), rtol=0)


@pytest.mark.parametrize("name", PIPELINES)
def test_fused_vs_unfused_with_uint8_intermediates(name, gen):
    x = random_images((32, 3, 30, 26), torch.uint8, generator=gen)
    a, pa, b, pb = both(PIPELINES[name], x, torch.arange(32))
    assert_same_params(pa, pb)
    levels = (a - b).abs() * torch.tensor(STD).view(1, 3, 1, 1) * 255
    assert levels.max() <= UINT8_BOUND_LEVELS + 1e-3
    assert levels.mean() < 0.5


def _spy(monkeypatch):
    calls = []
    for name in ("fused_augment", "resized_crop", "hflip", "color_jitter", "rgb_to_grayscale",
                 "solarize", "gaussian_blur", "normalize"):
        op = getattr(torch.ops.datagen_gpu, name)
        monkeypatch.setattr(torch.ops.datagen_gpu, name,
                            lambda *args, _op=op, _name=name: calls.append(_name) or _op(*args))
    return calls


class _Crop(T.RandomResizedCrop):
    """A subclass: not fused (it could change apply_params), runs op by op."""


GROUPING = [
    # the blur (masked per sample) ends the run with normalize as its epilogue
    ("simclr", lambda: simclr().transforms, ["fused_augment"]),
    ("flip after blur", lambda: [T.RandomResizedCrop(9), T.RandomApply([T.GaussianBlur(3)], p=0.5),
                                 T.RandomHorizontalFlip(), T.Normalize(MEAN, STD)],
     ["fused_augment"]),
    ("blur and normalize", lambda: [T.GaussianBlur(3), T.Normalize(MEAN, STD)], ["fused_augment"]),
    ("blur, normalize, uint8", lambda: [T.GaussianBlur(3), T.Normalize(MEAN, STD),
                                        T.ToDtype(torch.uint8, scale=True)], ["fused_augment"]),
    ("byol2", lambda: byol(second=True, threshold=0.5).transforms,
     ["fused_augment", "fused_augment"]),
    ("all in one", lambda: [T.ToDtype(torch.float32, scale=True), T.RandomResizedCrop(9),
                            T.RandomHorizontalFlip(), T.ColorJitter(0.3, 0.3, 0.3, 0.2),
                            T.RandomGrayscale(0.5), T.RandomSolarize(0.5), T.Normalize(MEAN, STD)],
     ["fused_augment"]),
    ("flip before crop", lambda: [T.RandomHorizontalFlip(), T.RandomResizedCrop(9),
                                  T.ColorJitter(0.3)], ["hflip", "fused_augment"]),
    ("second jitter", lambda: [T.ColorJitter(0.3), T.RandomGrayscale(0.5), T.ColorJitter(0.3)],
     ["fused_augment", "color_jitter"]),
    ("out of stage order", lambda: [T.RandomApply([T.RandomGrayscale(0.5), T.ColorJitter(0.3)])],
     ["rgb_to_grayscale", "color_jitter"]),
    ("unscaled dtype", lambda: [T.RandomResizedCrop(9), T.ToDtype(torch.float32),
                                T.Normalize([0.0] * 3, [255.0] * 3)], ["resized_crop", "normalize"]),
    ("flips after normalize", lambda: [T.Normalize(MEAN, STD), T.RandomHorizontalFlip(),
                                       T.RandomHorizontalFlip()], ["fused_augment"]),
    # the op-by-op crop draws its boxes from the fused run's output size, as unfused
    ("subclass after a run", lambda: [T.RandomResizedCrop(12), T.RandomHorizontalFlip(),
                                      _Crop(8, scale=(0.3, 0.6))], ["fused_augment", "resized_crop"]),
]


@pytest.mark.parametrize("case", GROUPING, ids=[c[0] for c in GROUPING])
def test_planner_runs_and_results(case, monkeypatch, gen):
    _, make, expected = case
    x = random_images((8, 3, 16, 14), torch.uint8, generator=gen)
    xf = x.float() / 255
    ids = torch.arange(8)
    unfused = T.Compose(make(), seed=5, fuse=False)
    ref, pref = unfused(xf, sample_ids=ids, return_params=True)
    ref_u8 = unfused(x, sample_ids=ids)
    calls = _spy(monkeypatch)
    fused = T.Compose(make(), seed=5)
    out_u8 = fused(x, sample_ids=ids)
    assert calls == expected
    out, pout = fused(xf, sample_ids=ids, return_params=True)
    assert_same_params(pout, pref)
    assert out.dtype == ref.dtype and out_u8.dtype == ref_u8.dtype
    torch.testing.assert_close(out, ref, atol=1e-5 / min(STD), rtol=0)


def test_solarize_threshold_in_the_input_dtype_units(gen):
    """uint8 ``level >= t`` becomes ``x >= (ceil(t) - 0.5) / 255`` on the unrounded
    value: the same decisions on uint8 input, and within one level after a crop (the unfused
    path compares the rounded crop) except where the crop is within float32
    rounding of a half level (either side is right there)."""
    x = random_images((16, 3, 12, 11), torch.uint8, generator=gen)
    ids = torch.arange(16)
    for t in (-3.0, 0.0, 60.0, 127.3, 200.7, 255.0):
        make = lambda fuse: T.Compose([T.RandomSolarize(t, p=0.7),  # noqa: E731
                                       T.ToDtype(torch.float32, scale=True)], fuse=fuse)
        # the same pixels are inverted (1 - L / 255 vs (255 - L) / 255: float32 rounding)
        torch.testing.assert_close(make(True)(x, sample_ids=ids), make(False)(x, sample_ids=ids),
                                   atol=1e-6, rtol=0)
        make = lambda fuse: T.Compose([T.RandomResizedCrop(9), T.RandomSolarize(t, p=1.0)],  # noqa: E731
                                      fuse=fuse)
        a, params = make(True)(x, sample_ids=ids, return_params=True)
        b = make(False)(x, sample_ids=ids)
        crop = F.resized_crop(x, params[0]["boxes"], 9, out_dtype=torch.float32) * 255
        tie = ((crop - crop.floor()) - 0.5).abs() < 1e-3
        diff = torch.where(tie, 0, (a.int() - b.int()).abs())
        assert a.dtype == torch.uint8 and diff.max() <= 1, t
    half = x.to(torch.float16) / 255
    make = lambda fuse: T.Compose([T.RandomSolarize(0.2999, p=1.0),  # noqa: E731
                                   T.ToDtype(torch.float32)], fuse=fuse)
    # float16 compares against float16(0.2999); the unfused path also rounds 1 - x to float16
    torch.testing.assert_close(make(True)(half, sample_ids=ids), make(False)(half, sample_ids=ids),
                               atol=2.0**-11, rtol=0)
    for fuse in (True, False):
        with pytest.raises(ValueError, match="threshold"):
            T.Compose([T.RandomSolarize(256.0), T.Normalize(MEAN, STD)], fuse=fuse)(x)


def test_fused_replay(gen):
    x = random_images((6, 3, 20, 18), torch.uint8, generator=gen)
    t = byol(second=True)
    a, pa = t(x, return_params=True)
    assert not torch.equal(t(x), a)  # the running counter moved on
    assert torch.equal(t(x, params=pa), a)
    _, pb = byol(second=True, fuse=False)(x, sample_ids=torch.arange(6), return_params=True)
    assert torch.equal(t(x, params=pb), a)  # unfused params replay in the fused path


def test_fused_ragged_input(gen):
    sizes = [(20, 18), (31, 12), (9, 25), (16, 16)]
    images = [random_images((1, 3) + s, torch.float32, generator=gen)[0] for s in sizes]
    ids = torch.arange(4)
    a, _, b, _ = both(simclr, images, ids, blur=False)
    assert a.shape == (4, 3, 12, 12)
    torch.testing.assert_close(a, b, atol=1e-5 / min(STD), rtol=0)


@pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed")
@pytest.mark.parametrize("name", ["simclr", "byol2"])
def test_fused_triton_launcher_path(name, monkeypatch, gen):
    """The Compose's fused_augment calls on the Triton launcher (interpreter) equal the C++ op."""
    if not interpreted():  # on a CUDA machine the launcher takes CUDA tensors (the cuda backend's tests)
        pytest.skip("the Triton launcher runs CPU tensors only under TRITON_INTERPRET=1")
    from datagen_gpu.kernels import triton_launcher

    x = random_images((2, 3, 18, 20), torch.uint8, generator=gen)
    ids = torch.arange(2)
    make = lambda **kw: PIPELINES[name](size=10, lead=FLOAT_LEAD, **kw)  # noqa: E731
    cpu, pcpu = make()(x, sample_ids=ids, return_params=True)
    unfused = make(fuse=False)(x, sample_ids=ids)
    calls = []
    launcher = triton_launcher("fused_augment")
    monkeypatch.setattr(torch.ops.datagen_gpu, "fused_augment",
                        lambda *args: calls.append(1) or launcher(*args))
    tri, ptri = make()(x, sample_ids=ids, return_params=True)
    assert calls
    assert_same_params(ptri, pcpu)
    torch.testing.assert_close(tri, cpu, atol=1e-5 / min(STD), rtol=0)
    torch.testing.assert_close(tri, unfused, atol=1e-5 / min(STD), rtol=0)


@pytest.mark.parametrize("name,lead", [("byol2", ()), ("simclr", FLOAT_LEAD)])
def test_compose_compiles_without_graph_breaks(name, lead, gen):
    """fullgraph=True fails on any graph break. The aot_eager backend traces the
    whole graph (dynamo, functionalization, the ops' fake kernels) without
    inductor's C++ code generation, which takes many minutes on a small CPU."""
    x = random_images((4, 3, 20, 18), torch.uint8, generator=gen)
    t = PIPELINES[name](size=10, lead=lead)
    compiled = torch.compile(t, fullgraph=True, backend="aot_eager")
    for start in (0, 4):  # the running counter (a buffer) advances inside the graph
        expected = PIPELINES[name](size=10, lead=lead)(x, sample_ids=torch.arange(start, start + 4))
        torch.testing.assert_close(compiled(x), expected, atol=1e-5 / min(STD), rtol=0)
