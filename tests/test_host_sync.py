"""No host synchronization on the CUDA paths, tested without a GPU (issue 12, defect 3).

Every functional and transform runs on fake CUDA tensors (tests/_fake_cuda.py):
shapes, dtypes and devices are real, the data is not, so a host read of a
device value (``.item()``, ``bool(t)``, ``.tolist()``, a data-dependent shape)
raises. ``HostTransfers`` (datagen_gpu/_checks/sync.py) records every host <->
device copy. The contract held here:

- dense batches: **no** host-to-device copy and no host synchronization, on the
  first call as on a warm one, with explicit ``sample_ids``, with the default
  running counter on the CPU (module on the CPU, inputs on CUDA), and with the
  module moved to the device;
- ragged lists (host-side image sizes): only pinned, ``non_blocking`` copies
  (one for a functional: the per-image layout; two for RandomResizedCrop:
  the sizes its parameters need, then the layout).

The last tests check the detector itself: each kind of synchronization, put
back into the code under test, is reported.
"""
import warnings

import pytest
import torch

import datagen_gpu.functional as F
from _fake_cuda import fake_cuda
from datagen_gpu import transforms as T
from datagen_gpu.functional import _constants
from datagen_gpu.presets import TwoViews, byol_views, imagenet_train, moco_v2_view, simclr_view

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
B = 4

pytestmark = pytest.mark.filterwarnings("ignore:Accessing the data pointer of FakeTensor")


def _dense_inputs():
    """Fake CUDA inputs (call inside fake_cuda())."""
    cuda = dict(device="cuda")
    return dict(
        x=torch.empty(B, 3, 48, 40, dtype=torch.uint8, **cuda),
        xf=torch.empty(B, 3, 48, 40, **cuda).to(memory_format=torch.channels_last),
        f=torch.empty(B, **cuda), coin=torch.empty(B, dtype=torch.bool, **cuda),
        order=torch.empty(B, 4, dtype=torch.int64, **cuda), boxes=torch.empty(B, 4, **cuda),
        ibox=torch.empty(B, 4, dtype=torch.int64, **cuda), perm=torch.empty(B, dtype=torch.int64, **cuda),
        labels=torch.empty(B, dtype=torch.int64, **cuda), spec=torch.empty(B, 16, 50, **cuda),
        starts=torch.empty(B, 2, dtype=torch.int64, **cuda),
    )


FUNCTIONALS = {
    "hflip": lambda d: F.hflip(d["x"], d["coin"]),
    "resized_crop": lambda d: F.resized_crop(d["xf"], d["boxes"], 24, flip=d["coin"]),
    "adjust_brightness (number)": lambda d: F.adjust_brightness(d["x"], 1.2),
    "adjust_contrast": lambda d: F.adjust_contrast(d["x"], d["f"]),
    "adjust_saturation": lambda d: F.adjust_saturation(d["x"], d["f"]),
    "adjust_hue": lambda d: F.adjust_hue(d["x"], d["f"]),
    "color_jitter order=None": lambda d: F.color_jitter(d["x"], d["f"], d["f"], d["f"], d["f"]),
    "color_jitter order=[4 ints]": lambda d: F.color_jitter(d["x"], d["f"], 1.1, 0.9, 0.0, [3, 2, 1, 0]),
    "color_jitter order=tensor": lambda d: F.color_jitter(d["x"], d["f"], d["f"], d["f"], d["f"], d["order"]),
    "rgb_to_grayscale": lambda d: F.rgb_to_grayscale(d["x"], d["coin"]),
    "solarize": lambda d: F.solarize(d["x"], 128.0, d["coin"]),
    "gaussian_blur": lambda d: F.gaussian_blur(d["x"], 5, d["f"]),
    "gaussian_blur mean/std lists": lambda d: F.gaussian_blur(d["x"], 5, d["f"], d["coin"], mean=MEAN, std=STD),
    "normalize lists": lambda d: F.normalize(d["x"], MEAN, STD),
    "normalize numbers": lambda d: F.normalize(d["xf"], 0.5, 0.25),
    "to_dtype": lambda d: F.to_dtype(d["x"], torch.float32, scale=True),
    "fused_augment lists": lambda d: F.fused_augment(
        d["x"], d["boxes"], 24, flip=d["coin"], brightness=d["f"], contrast=d["f"], saturation=d["f"],
        hue=d["f"], grayscale=d["coin"], solarize_threshold=0.5, blur_kernel=5, blur_sigma=d["f"],
        blur_apply=d["coin"], mean=MEAN, std=STD),
    "fused_augment order=[4 ints], views=2": lambda d: F.fused_augment(
        d["x"], d["boxes"].repeat(2, 1), 24, brightness=1.2, order=[0, 1, 2, 3], views=2),
    "mix": lambda d: F.mix(d["x"], d["f"], d["ibox"], d["perm"]),
    "mixup": lambda d: F.mixup(d["x"], d["f"], d["perm"]),
    "cutmix": lambda d: F.cutmix(d["x"], d["ibox"], d["perm"]),
    "mix_labels": lambda d: F.mix_labels(d["labels"], d["f"], d["perm"], 10, 0.1),
    "time_mask": lambda d: F.time_mask(d["spec"], d["starts"], d["starts"]),
    "freq_mask mean": lambda d: F.freq_mask(d["spec"], d["starts"], d["starts"], "mean"),
    "spec_mask": lambda d: F.spec_mask(d["spec"], d["starts"], d["starts"], d["starts"], d["starts"]),
    "freq_shift": lambda d: F.freq_shift(d["spec"], d["perm"], -80.0),
    "audio_mixup": lambda d: F.audio_mixup(d["spec"], d["labels"], d["f"], d["perm"]),
    "erase random": lambda d: F.erase(d["xf"], d["ibox"], "random", seed=3),
    "erase levels list": lambda d: F.erase(d["x"], d["ibox"], [124, 116, 104], sample_ids=d["perm"]),
    "erase in place": lambda d: F.erase(d["xf"], d["ibox"], d["f"], inplace=True),
}


def _events(rec, fn):
    rec.clear()
    fn()
    return list(rec.events)


@pytest.mark.parametrize("name", list(FUNCTIONALS))
def test_functional_no_host_copy_or_sync(name):
    with fake_cuda() as (_, rec):
        d = _dense_inputs()
        run = lambda: FUNCTIONALS[name](d)  # noqa: E731
        assert _events(rec, run) == []  # cold: constants are made by fill kernels, not copied
        assert _events(rec, run) == []  # warm: cached


def _image_transforms():
    return {
        "RandomResizedCrop": T.RandomResizedCrop(24),
        "RandomHorizontalFlip": T.RandomHorizontalFlip(),
        "ColorJitter": T.ColorJitter(0.4, 0.4, 0.4, 0.1),
        "RandomGrayscale": T.RandomGrayscale(),
        "GaussianBlur": T.GaussianBlur(5),
        "RandomSolarize": T.RandomSolarize(128),
        "Normalize": T.Normalize(MEAN, STD),
        "ToDtype": T.ToDtype(torch.float32, scale=True),
        "RandomApply(ColorJitter)": T.RandomApply([T.ColorJitter(0.4)], p=0.5),
        "SimCLR Compose": simclr_view(24, blur_kernel=5),
        "SimCLR Compose, unfused": T.Compose(list(simclr_view(24, blur_kernel=5).transforms), fuse=False),
        "MoCo v2 Compose": moco_v2_view(24, blur_kernel=5),
        "TwoViews(SimCLR)": TwoViews(simclr_view(24, blur_kernel=5)),
        "TwoViews(BYOL)": TwoViews(*byol_views(24, blur_kernel=5)),
        "RandomErasing": T.RandomErasing(value=(124, 116, 104)),
        "Normalize + RandomErasing(random)": T.Compose([T.Normalize(MEAN, STD), T.RandomErasing(value="random")]),
        "RandomErasing(random_channel)": T.Compose([T.ToDtype(torch.float32, scale=True),
                                                    T.RandomErasing(value="random_channel")]),
        "RandAugment": T.RandAugment(),
        "TrivialAugmentWide": T.TrivialAugmentWide(),
        "AutoAugment": T.AutoAugment(),
        "TimmRandAugment": T.TimmRandAugment.from_config("rand-m9-mstd0.5-inc1"),
        "AugMix": T.AugMix(),
        "imagenet_train(trivial)": imagenet_train(24, policy="trivial"),
        "imagenet_train(rand, re_count=3)": imagenet_train(24, re_count=3),
    }


def _batch_transforms():
    return {
        "MixUp": T.MixUp(1.0, num_classes=10), "CutMix": T.CutMix(1.0, num_classes=10),
        "Mixup (timm, batch)": T.Mixup(0.8, 1.0, num_classes=10),
        "Mixup (timm, elem)": T.Mixup(0.8, 1.0, mode="elem", num_classes=10),
        "Mixup (timm, pair)": T.Mixup(0.8, 1.0, mode="pair", num_classes=10),
        "Mixup (timm, minmax)": T.Mixup(0.8, cutmix_minmax=(0.2, 0.8), num_classes=10),
        "AudioMixup": T.AudioMixup(0.4),
    }


def _spec_transforms():
    return {"TimeMasking": T.TimeMasking(10), "FrequencyMasking": T.FrequencyMasking(5),
            "SpecAugment": T.SpecAugment("LD"), "FrequencyShift": T.FrequencyShift(3)}


def _call(kind, t, d, **kw):
    if kind == "image":
        return t(d["x"], **kw)
    if kind == "batch":
        return t(d["spec"] if isinstance(t, T.AudioMixup) else d["x"], d["labels"], **kw)
    return t(d["spec"], **kw)


ALL = ([("image", n) for n in _image_transforms()] + [("batch", n) for n in _batch_transforms()]
       + [("spec", n) for n in _spec_transforms()])


def _make(kind, name):
    return {"image": _image_transforms, "batch": _batch_transforms, "spec": _spec_transforms}[kind]()[name]


@pytest.mark.parametrize("kind,name", ALL, ids=[n for _, n in ALL])
def test_transform_no_host_copy_or_sync(kind, name):
    """Explicit sample_ids; the default counter with the module on the CPU; the module on the device."""
    t = _make(kind, name)  # built outside the fake mode: its counter is a real CPU tensor
    with fake_cuda() as (_, rec):
        d = _dense_inputs()
        ids = torch.empty(B, dtype=torch.int64, device="cuda")
        for how, kw in (("sample_ids", {"sample_ids": ids}), ("CPU counter", {})):
            assert _events(rec, lambda: _call(kind, t, d, **kw)) == [], how
            assert _events(rec, lambda: _call(kind, t, d, **kw)) == [], how + ", warm"
        t.to("cuda")  # moving the module copies its buffers once; then its calls copy nothing
        assert _events(rec, lambda: _call(kind, t, d)) == [], "device counter"


@pytest.mark.parametrize("name", ["resized_crop", "fused_augment", "RandomResizedCrop", "SimCLR Compose"])
def test_ragged_lists_copy_only_pinned_and_async(name):
    """Ragged lists carry their sizes on the host: copied from pinned memory, non_blocking."""
    modules = {"RandomResizedCrop": T.RandomResizedCrop(24), "SimCLR Compose": simclr_view(24, blur_kernel=5)}
    with fake_cuda() as (_, rec):
        images = [torch.empty(3, 40 + 4 * i, 50 - 2 * i, dtype=torch.uint8, device="cuda") for i in range(B)]
        boxes = torch.empty(B, 4, device="cuda")
        ids = torch.empty(B, dtype=torch.int64, device="cuda")
        run = {
            "resized_crop": lambda: F.resized_crop(images, boxes, 24),
            "fused_augment": lambda: F.fused_augment(images, boxes, 24, brightness=1.1, mean=MEAN, std=STD),
        }.get(name) or (lambda: modules[name](images, sample_ids=ids))
        for _ in range(2):
            events = _events(rec, run)
            assert all(e["kind"] == "h2d" and e["async"] for e in events), events
            # the per-image layout (B, 6); the crop's parameters also need the sizes (B, 2)
            expected = [(B, 6)] if name in ("resized_crop", "fused_augment") else [(B, 2), (B, 6)]
            assert sorted(e["shape"] for e in events) == expected


def test_window_geometry_on_the_cpu_is_copied_pinned_and_async():
    from datagen_gpu._windowed import WindowedImages

    geometry = torch.tensor([[60.0, 80.0, 5.0, 7.0, 1.5, 1.5]] * B, dtype=torch.float64)
    crop = T.RandomResizedCrop(24)
    with fake_cuda() as (_, rec):
        images = WindowedImages([torch.empty(3, 30, 40, dtype=torch.uint8, device="cuda")] * B, geometry)
        ids = torch.empty(B, dtype=torch.int64, device="cuda")
        events = _events(rec, lambda: crop(images, sample_ids=ids))
        assert events and all(e["kind"] == "h2d" and e["async"] for e in events), events
        assert (B, 6) in [e["shape"] for e in events]


@pytest.mark.parametrize("kind,name", [("image", "SimCLR Compose"), ("batch", "Mixup (timm, elem)"),
                                       ("spec", "SpecAugment")], ids=["Compose", "Mixup", "SpecAugment"])
def test_sample_ids_on_the_cpu_are_copied_pinned_and_async(kind, name):
    """CPU sample ids with CUDA inputs (e.g. a Batch collated on the CPU): one pinned, async copy."""
    t = _make(kind, name)
    ids = torch.arange(B)
    with fake_cuda() as (_, rec):
        d = _dense_inputs()
        events = _events(rec, lambda: _call(kind, t, d, sample_ids=ids))
        assert len(events) == 1 and events[0]["kind"] == "h2d" and events[0]["async"], events


def test_cpu_counter_refuses_cuda_graph_capture(monkeypatch):
    """A captured CPU counter would replay the same ids forever: capture raises instead."""
    t = T.RandomHorizontalFlip()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_current_stream_capturing", lambda: True)
    monkeypatch.setattr(_constants, "_capturing", lambda device: False)
    with fake_cuda():
        x = torch.empty(B, 3, 8, 8, dtype=torch.uint8, device="cuda")
        with pytest.raises(RuntimeError, match="CUDA graph"):
            t(x)
        t(x, sample_ids=torch.empty(B, dtype=torch.int64, device="cuda"))  # explicit ids: fine


# ---------------------------------------------------------------- device constants


def test_device_constant_values_and_cache():
    for values, dtype in (([0.485, 0.456, 0.406], torch.float32), ((3, 2, 1, 0), torch.int64),
                          ([1e-8, 3.3e38, -0.0], torch.float32), ([], torch.float32)):
        got = _constants.device_constant(values, "cpu", dtype)
        want = torch.tensor(values, dtype=dtype)
        assert got.dtype == dtype and got.is_contiguous() and torch.equal(got, want)
        assert _constants.device_constant(values, "cpu", dtype) is got  # cached
    a = _constants.device_constant([1, 2], "cpu", torch.float32)
    assert _constants.device_constant([1.0, 2.0], "cpu", torch.float32) is not a  # int vs float keys
    with fake_cuda():
        fake = _constants.device_constant([0.5, 0.25], "cuda", torch.float32)
        assert fake.device.type == "cuda" and fake is _constants.device_constant((0.5, 0.25), "cuda:0",
                                                                                  torch.float32)
    with fake_cuda():  # another fake mode: its own cache, never the first mode's tensors
        assert _constants.device_constant([0.5, 0.25], "cuda", torch.float32) is not fake


def test_device_constant_cache_is_bounded():
    first = _constants.device_constant([12345.0], "cpu", torch.float32)
    for k in range(_constants._MAX_ENTRIES + 1):
        _constants.device_constant([float(k), -1.0], "cpu", torch.float32)
    assert len(_constants._CACHE) <= _constants._MAX_ENTRIES
    assert _constants.device_constant([12345.0], "cpu", torch.float32) is not first


def test_sequences_still_checked():
    x = torch.zeros(2, 3, 8, 8)
    with pytest.raises(ValueError, match="std"):
        F.normalize(x, MEAN, [0.2, 0.0, 0.2])
    with pytest.raises(ValueError, match="std"):
        F.normalize(x, MEAN, 0.0)
    with pytest.raises(ValueError, match="order"):
        F.color_jitter(x, order=[0, 1, 2])
    with pytest.raises(ValueError, match="order"):
        F.color_jitter(x, order=[0, 1, 1, 3])
    rows = [[3, 2, 1, 0], [0, 1, 2, 3]]  # per-sample rows as lists: accepted (a pinned copy on CUDA)
    assert torch.equal(F.color_jitter(x, 1.2, order=rows), F.color_jitter(x, 1.2, order=torch.tensor(rows)))


# ---------------------------------------------------------------- the detector detects


def _with_sync(kind):
    """A function of the fake inputs that synchronizes in one way."""
    return {
        "pageable copy of a list": lambda d: F.normalize(d["x"], torch.tensor(MEAN, device="cuda"),
                                                         torch.tensor(STD, device="cuda")),
        "non_blocking copy from pageable memory": lambda d: torch.zeros(3).to("cuda", non_blocking=True),
        "blocking copy from pinned memory": lambda d: torch.zeros(3).pin_memory().to("cuda"),
        "device to host": lambda d: d["f"].cpu(),
        "0-dim CPU tensor operand": lambda d: torch.where(d["coin"], d["f"], torch.tensor(1.0)),
    }[kind]


@pytest.mark.parametrize("kind", ["pageable copy of a list", "non_blocking copy from pageable memory",
                                  "blocking copy from pinned memory", "device to host",
                                  "0-dim CPU tensor operand"])
def test_detector_reports_blocking_transfers(kind):
    with fake_cuda() as (_, rec):
        d = _dense_inputs()
        _with_sync(kind)(d)
        assert rec.blocking, rec.events
    with fake_cuda() as (_, rec):  # and a pinned, non_blocking copy is not blocking
        torch.zeros(3).pin_memory().to("cuda", non_blocking=True)
        assert rec.h2d and not rec.blocking


@pytest.mark.parametrize("read", [lambda t: t.sum().item(), lambda t: bool(t.sum() > 0), lambda t: t.tolist(),
                                  lambda t: t.nonzero()], ids=["item", "bool", "tolist", "nonzero"])
def test_host_reads_of_device_values_raise(read):
    with fake_cuda():
        with pytest.raises(Exception) as info, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            read(torch.empty(B, device="cuda"))
    assert "DataDependent" in type(info.value).__name__ or "DynamicOutputShape" in type(info.value).__name__


def test_detector_catches_the_old_code(monkeypatch):
    """The syncs this file guards against, put back: each test above would fail."""
    from datagen_gpu.functional import color, filters
    from datagen_gpu.transforms import _base

    def old_constant(values, device, dtype):  # the former torch.tensor(list, device=...)
        return torch.tensor(list(values), dtype=dtype, device=device)

    def old_running_ids(self, batch, device):  # the former counter.to(device)
        return self._next_id.to(device) + torch.arange(batch, dtype=torch.int64, device=device)

    monkeypatch.setattr(filters, "device_constant", old_constant)
    monkeypatch.setattr(color, "device_constant", old_constant)
    monkeypatch.setattr(_base.RandomTransform, "_running_ids", old_running_ids)
    t = T.RandomHorizontalFlip()
    with fake_cuda() as (_, rec):
        d = _dense_inputs()
        for name in ("normalize lists", "color_jitter order=None", "fused_augment lists"):
            assert [e for e in _events(rec, lambda: FUNCTIONALS[name](d)) if not e["async"]], name
        assert [e for e in _events(rec, lambda: t(d["x"])) if not e["async"]]
