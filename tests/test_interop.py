"""NumPy / CuPy interop (datagen_gpu.interop, docs/interop.md): every functional and every
transform takes arrays and returns arrays of the same kind, reading the inputs through
DLPack without a copy and returning the op's output memory, not a copy.

Two tables drive the tests, one entry per public functional and per public transform
class; a coverage test fails when a new public name has no entry. CuPy runs the same
tables on a CUDA machine with CuPy installed (the GPU check); on CPU a stand-in
"cupy" module exercises the same code path."""
import inspect
import sys
import types
import warnings

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

import datagen_gpu.functional as F
from datagen_gpu import interop
from datagen_gpu import transforms as T
from datagen_gpu.interop import array_kind, from_torch, has_arrays, to_torch
from datagen_gpu.presets import TwoViews, simclr_view
from datagen_gpu.transforms.mochi import MoCHi, MoCoQueue

B = 3
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


# ----------------------------------------------------------------------------- inputs

def _images(rng, dtype=np.uint8, shape=(B, 3, 12, 10)):
    if dtype == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.random(shape, dtype=np.float32).astype(dtype)


def _specs(rng):
    return rng.standard_normal((B, 10, 16), dtype=np.float32)


def _factors(rng, low=0.5, high=1.5):
    return rng.uniform(low, high, B).astype(np.float32)


def _coins(rng):
    return np.array([True, False, True])


def _orders(rng):
    return np.stack([rng.permutation(4) for _ in range(B)]).astype(np.int64)


def _boxes(rng):
    return np.array([[0.0, 0.0, 12.0, 10.0], [2.0, 1.0, 7.5, 6.0], [3.0, 2.0, 8.0, 8.0]], np.float32)


def _int_boxes(rng):
    return np.array([[0, 0, 0, 0], [2, 1, 5, 6], [4, 3, 20, 20]], np.int64)


def _perm(rng):
    return np.array([2, 0, 1], np.int64)


def _unit(rng, shape):
    v = rng.standard_normal(shape)
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def _mochi_args(rng):
    K, D, N = 9, 6, 5
    return (_unit(rng, (B, D)), _unit(rng, (K, D)), np.stack([rng.permutation(K)[:N] for _ in range(B)]),
            rng.integers(0, N, (B, 2, 2)), rng.random((B, 2), dtype=np.float32),
            rng.integers(0, N, (B, 3)), (rng.random((B, 3), dtype=np.float32) * 0.5))


# name -> rng -> (args, kwargs): NumPy wherever the functional takes a tensor.
FUNCTIONAL_CASES = {
    "adjust_brightness": lambda r: ((_images(r), _factors(r)), {}),
    "adjust_contrast": lambda r: ((_images(r, np.float32), _factors(r)), {}),
    "adjust_hue": lambda r: ((_images(r), _factors(r, -0.4, 0.4)), {}),
    "adjust_saturation": lambda r: ((_images(r, np.float16), _factors(r)), {}),
    "color_jitter": lambda r: ((_images(r), _factors(r), _factors(r), _factors(r), _factors(r, -0.1, 0.1),
                                _orders(r)), {}),
    "fused_augment": lambda r: ((_images(r), _boxes(r), (8, 6)), dict(
        flip=_coins(r), brightness=_factors(r), contrast=_factors(r), saturation=_factors(r),
        hue=_factors(r, -0.1, 0.1), order=_orders(r), grayscale=~_coins(r),
        solarize_threshold=_factors(r, 0.3, 0.9), solarize_apply=_coins(r), blur_kernel=3,
        blur_sigma=_factors(r, 0.1, 2.0), blur_apply=_coins(r), mean=np.array(MEAN, np.float32),
        std=np.array(STD, np.float32))),
    "gaussian_blur": lambda r: ((_images(r), 3, _factors(r, 0.1, 2.0), _coins(r)), {}),
    "hflip": lambda r: ((_images(r), _coins(r)), {}),
    "normalize": lambda r: ((_images(r), np.array(MEAN, np.float32), np.array(STD, np.float32)), {}),
    "resized_crop": lambda r: ((_images(r), _boxes(r), (8, 6)), dict(flip=_coins(r))),
    "rgb_to_grayscale": lambda r: ((_images(r), _coins(r)), {}),
    "solarize": lambda r: ((_images(r), np.array([100.0, 128.0, 200.0], np.float32), _coins(r)), {}),
    "to_dtype": lambda r: ((_images(r), torch.float32), dict(scale=True)),
    # per-sample affine warps
    "affine": lambda r: ((_images(r), _factors(r, -30, 30), np.array([[1.0, 2.0], [0, 0], [-3, 1]]),
                          _factors(r, 0.8, 1.2), np.zeros((B, 2))), dict(interpolation="bilinear", fill=[0, 128, 255])),
    "affine_matrix": lambda r: ((_factors(r, -30, 30), (1.0, 2.0), _factors(r, 0.8, 1.2), 5.0, None, 12, 10), {}),
    "rotate": lambda r: ((_images(r), _factors(r, -30, 30)), dict(fill=0)),
    # spectrogram / audio
    "audio_mixup": lambda r: ((_specs(r), np.array([0, 3, 1]), _factors(r, 0.0, 1.0), _perm(r)),
                              dict(soft=True, num_classes=4)),
    "freq_mask": lambda r: ((_specs(r), np.array([0, 3, 5]), np.array([2, 0, 4])), dict(value=-1.0)),
    "freq_shift": lambda r: ((_specs(r), np.array([2, -1, 0])), dict(fill=0.5)),
    "spec_mask": lambda r: ((_specs(r), np.array([1, 2, 3]), np.array([2, 2, 0]), np.array([0, 5, 9]),
                             np.array([3, 1, 6])), {}),
    "time_mask": lambda r: ((_specs(r), np.array([[0, 9], [4, 2], [1, 1]]),
                             np.array([[2, 3], [0, 1], [5, 2]])),
                            dict(value="mean")),
    # mixing
    "cutmix": lambda r: ((_images(r), _int_boxes(r), _perm(r)), {}),
    "mix": lambda r: ((_images(r, np.float32), _factors(r, 0.0, 1.0), _int_boxes(r), _perm(r)), {}),
    "mix_labels": lambda r: ((np.array([0, 4, 2]), _factors(r, 0.0, 1.0), _perm(r), 5),
                             dict(label_smoothing=0.1)),
    "mixup": lambda r: ((_images(r), _factors(r, 0.0, 1.0), _perm(r)), {}),
    "mochi_logits": lambda r: (_mochi_args(r), dict(temperature=0.1)),
    "mochi_negatives": lambda r: (_mochi_args(r), {}),
    # learned policies
    "erase": lambda r: ((_images(r, np.float32), _int_boxes(r), "random"), dict(sample_ids=np.array([4, 5, 6]))),
    # pixel ops
    "adjust_sharpness": lambda r: ((_images(r), _factors(r)), {}),
    "autocontrast": lambda r: ((_images(r, np.float32), _coins(r)), {}),
    "equalize": lambda r: ((_images(r), _coins(r)), {}),
    "invert": lambda r: ((_images(r, np.float16), _coins(r)), {}),
    "pixel_ops": lambda r: ((_images(r), np.array([8, 4, 10]), np.array([0.0, 1.5, 40.0], np.float32)), {}),
    "posterize": lambda r: ((_images(r), np.array([2, 5, 8])), {}),
}


def _labels(rng):
    return np.array([1, 0, 4])


# class name -> (constructor, rng -> (args, kwargs)). MoCoQueue is a buffer (an nn.Module
# without a forward), not a transform: it enters a pipeline as MoCHi's queue, tested so.
TRANSFORM_CASES = {
    "ColorJitter": (lambda: T.ColorJitter(0.4, 0.4, 0.4, 0.1), lambda r: ((_images(r),), {})),
    "Compose": (lambda: T.Compose([T.RandomResizedCrop(8), T.RandomHorizontalFlip(),
                                   T.RandomApply([T.ColorJitter(0.4, 0.4)], p=0.8),
                                   T.Normalize(MEAN, STD)], seed=3),
                lambda r: ((_images(r),), {})),
    "GaussianBlur": (lambda: T.GaussianBlur(3), lambda r: ((_images(r, np.float32),), {})),
    "Normalize": (lambda: T.Normalize(MEAN, STD), lambda r: ((_images(r),), {})),
    "RandomApply": (lambda: T.RandomApply([T.GaussianBlur(3)], p=0.5), lambda r: ((_images(r),), {})),
    "RandomGrayscale": (lambda: T.RandomGrayscale(0.5), lambda r: ((_images(r),), {})),
    "RandomHorizontalFlip": (lambda: T.RandomHorizontalFlip(), lambda r: ((_images(r),), {})),
    "RandomResizedCrop": (lambda: T.RandomResizedCrop((8, 6)), lambda r: ((_images(r),), {})),
    "RandomSolarize": (lambda: T.RandomSolarize(128, p=0.5), lambda r: ((_images(r),), {})),
    "ToDtype": (lambda: T.ToDtype(torch.float16, scale=True), lambda r: ((_images(r),), {})),
    # spectrogram / audio
    "AudioMixup": (lambda: T.AudioMixup(0.4, soft=True, num_classes=5),
                   lambda r: ((_specs(r), _labels(r)), {})),
    "FrequencyMasking": (lambda: T.FrequencyMasking(4), lambda r: ((_specs(r),), {})),
    "FrequencyShift": (lambda: T.FrequencyShift(2), lambda r: ((_specs(r),), {})),
    "SpecAugment": (lambda: T.SpecAugment(freq_mask_param=3, n_freq_masks=1, time_mask_param=4,
                                          n_time_masks=2),
                    lambda r: ((_specs(r),), {})),
    "TimeMasking": (lambda: T.TimeMasking(5), lambda r: ((_specs(r),), {})),
    # mixing
    "CutMix": (lambda: T.CutMix(1.0, num_classes=5), lambda r: ((_images(r), _labels(r)), {})),
    "MixUp": (lambda: T.MixUp(0.4, num_classes=5), lambda r: ((_images(r, np.float32), _labels(r)), {})),
    "Mixup": (lambda: T.Mixup(0.8, 1.0, mode="elem", num_classes=5),
              lambda r: ((_images(r), _labels(r)), {})),
    "MoCHi": (lambda: MoCHi(n_hard=6, n_mix=4, n_mix_query=2),
              lambda r: ((_unit(r, (B, 6)), _unit(r, (B, 6)), _unit(r, (9, 6))), {})),
    "MoCoQueue": (lambda: MoCHi(n_hard=6, n_mix=4, n_mix_query=2, seed=1),
                  lambda r: ((_unit(r, (B, 6)), _unit(r, (B, 6)), MoCoQueue(6, 9, seed=2)), {})),
    # learned policies
    "RandomErasing": (lambda: T.RandomErasing(p=1.0, value="random"), lambda r: ((_images(r, np.float32),), {})),
    "RandAugment": (lambda: T.RandAugment(), lambda r: ((_images(r),), {})),
    "TrivialAugmentWide": (lambda: T.TrivialAugmentWide(), lambda r: ((_images(r),), {})),
    "AutoAugment": (lambda: T.AutoAugment(), lambda r: ((_images(r),), {})),
    "TimmRandAugment": (lambda: T.TimmRandAugment.from_config("rand-m9-mstd0.5"), lambda r: ((_images(r),), {})),
    "AugMix": (lambda: T.AugMix(), lambda r: ((_images(r),), {})),
    # presets
    "TwoViews": (lambda: TwoViews(simclr_view(8, blur_kernel=3)), lambda r: ((_images(r),), {})),
}


# ----------------------------------------------------------------------------- helpers

class _Memory(TorchDispatchMode):
    """Records the data pointers every dispatched op reads (inputs) and produces (outputs)."""

    VIEWS = ("aten.detach", "aten.alias")  # what from_torch itself runs: no new memory

    def __init__(self):
        super().__init__()
        self.read, self.made = set(), set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        for t in tree_leaves((args, kwargs)):
            if isinstance(t, torch.Tensor) and t.numel():
                self.read.add(t.data_ptr())
        out = func(*args, **kwargs)
        if not str(func).startswith(self.VIEWS):
            for t in tree_leaves(out):
                if isinstance(t, torch.Tensor) and t.numel():
                    self.made.add(t.data_ptr())
        return out


def _tree(x, leaf):
    if isinstance(x, (list, tuple)):
        return type(x)(_tree(v, leaf) for v in x)
    if isinstance(x, dict):
        return {k: _tree(v, leaf) for k, v in x.items()}
    return leaf(x)


def _torch_copy(x, device="cpu"):
    """The same inputs as fresh torch tensors (independent of the code under test)."""
    def leaf(v):
        if isinstance(v, np.ndarray):
            return torch.from_numpy(v.copy()).to(device)
        if isinstance(v, torch.nn.Module):
            return v.to(device)
        return v
    return _tree(x, leaf)


def _arrays(x):
    return [v for v in tree_leaves(_tree(x, lambda v: v)) if isinstance(v, np.ndarray)]


def _ptr(a):
    return a.ctypes.data if isinstance(a, np.ndarray) else a.data.ptr  # NumPy / CuPy


def _assert_matches(got, expected, kind_type, memory, host=np.asarray):
    """``got`` has ``expected``'s structure, with arrays of ``kind_type`` (equal values, same
    dtype) in place of tensors, each one the memory of a tensor an op produced."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(got, kind_type), type(got)
        want = expected.detach().cpu().numpy()
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(host(got), want)
        if got.size:
            assert _ptr(got) in memory.made, "the result is a copy, not the op's output"
    elif isinstance(expected, (list, tuple)):
        assert type(got) is type(expected) and len(got) == len(expected)
        for g, e in zip(got, expected):
            _assert_matches(g, e, kind_type, memory, host)
    else:
        assert got == expected


def _assert_torch_tree(params):
    """Parameters returned with return_params stay torch (no array anywhere)."""
    for v in tree_leaves(params):
        assert not isinstance(v, np.ndarray), "params must stay torch tensors"


# ----------------------------------------------------------------------------- coverage

def test_tables_cover_every_public_name():
    assert set(FUNCTIONAL_CASES) == set(F.__all__)
    public = {name for name in T.__all__ if name not in ("RandomTransform", "AutoAugmentPolicy")} | {"TwoViews"}
    assert set(TRANSFORM_CASES) == public
    for name in sorted(public - {"TwoViews"}):  # RandomTransform.__call__ converts: every transform must be one
        cls = getattr(T, name)
        assert issubclass(cls, T.RandomTransform) or name == "MoCoQueue", name


def test_wrapping_keeps_names_docs_signatures_and_the_undecorated_originals():
    for name in F.__all__:
        wrapped = getattr(F, name)
        original = wrapped.__wrapped__
        assert sys.modules[original.__module__].__dict__[name] is original  # internal calls: no wrapper
        assert not hasattr(original, "__wrapped__")
        assert wrapped.__name__ == name and wrapped.__doc__ == original.__doc__
        assert inspect.signature(wrapped) == inspect.signature(original)


# ----------------------------------------------------------------------------- NumPy: every op

@pytest.mark.parametrize("name", sorted(FUNCTIONAL_CASES))
def test_functional_numpy_in_numpy_out(name):
    args, kwargs = FUNCTIONAL_CASES[name](np.random.default_rng(0))
    before = [a.copy() for a in _arrays((args, kwargs))]
    expected = getattr(F, name)(*_torch_copy(args), **_torch_copy(kwargs))
    with _Memory() as memory:
        got = getattr(F, name)(*args, **kwargs)
    _assert_matches(got, expected, np.ndarray, memory)
    assert args[0].ctypes.data in memory.read, "the input was copied before the op read it"
    for a, b in zip(_arrays((args, kwargs)), before):  # inputs untouched
        np.testing.assert_array_equal(a, b)


def _call_transform(name, convert=lambda x: x, device="cpu"):
    ctor, build = TRANSFORM_CASES[name]
    args, kwargs = build(np.random.default_rng(0))
    expected = ctor().to(device)(*_torch_copy(args, device), **_torch_copy(kwargs, device))
    module = ctor().to(device)
    args, kwargs = convert(args), convert(kwargs)
    return module, args, kwargs, expected


@pytest.mark.parametrize("name", sorted(TRANSFORM_CASES))
def test_transform_numpy_in_numpy_out(name):
    module, args, kwargs, expected = _call_transform(name)
    before = [a.copy() for a in _arrays((args, kwargs))]
    with _Memory() as memory:
        got = module(*args, **kwargs)
    _assert_matches(got, expected, np.ndarray, memory)
    assert args[0].ctypes.data in memory.read, "the input was copied before the op read it"
    for a, b in zip(_arrays((args, kwargs)), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(TRANSFORM_CASES))
def test_transform_numpy_params_stay_torch_and_replay(name):
    ctor, build = TRANSFORM_CASES[name]
    args, kwargs = build(np.random.default_rng(1))
    module = ctor()
    out, params = module(*args, return_params=True, **kwargs)
    assert all(isinstance(v, np.ndarray) for v in tree_leaves(out))
    _assert_torch_tree(params)
    replay = module(*args, params=params, **kwargs)
    for a, b in zip(tree_leaves(out), tree_leaves(replay)):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- zero copy, layouts

def test_to_torch_and_from_torch_share_memory():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = to_torch(x)
    assert isinstance(t, torch.Tensor) and t.data_ptr() == x.ctypes.data
    out = torch.ones(5, requires_grad=True) * 2
    a = from_torch(out, "numpy")
    assert isinstance(a, np.ndarray) and a.ctypes.data == out.data_ptr()
    nested = from_torch((out, [out, {"k": out}], 7, None), "numpy")
    assert isinstance(nested[1][1]["k"], np.ndarray) and nested[2:] == (7, None)
    assert from_torch(out, None) is out
    ts = to_torch([x, (x, {"a": x}), 1.5, np.float32(0.5), np.bool_(True), "mean", None])
    assert ts[1][1]["a"].data_ptr() == x.ctypes.data
    assert ts[2:] == [1.5, 0.5, True, "mean", None] and type(ts[4]) is bool
    assert to_torch(out) is out


def test_read_only_array():
    x = _images(np.random.default_rng(2))
    x.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "non-writable" warning leaks
        t = to_torch(x)
        y = F.adjust_brightness(x, 1.3)
        z = T.Compose([T.RandomResizedCrop(8), T.Normalize(MEAN, STD)])(x, sample_ids=np.arange(B))
    assert t.data_ptr() == x.ctypes.data
    np.testing.assert_array_equal(y, F.adjust_brightness(torch.from_numpy(x.copy()), 1.3).numpy())
    assert z.dtype == np.float32 and z.flags.writeable  # a new output
    same = T.Compose([])(x)  # returns its input: stays read-only
    assert np.shares_memory(same, x) and not same.flags.writeable


def test_read_only_array_when_numpy_cannot_export_it(monkeypatch):
    """Older NumPy refuses to export read-only arrays through DLPack: torch.from_numpy, no copy."""
    real = torch.from_dlpack

    def refusing(x):
        if isinstance(x, np.ndarray) and not x.flags.writeable:
            raise BufferError("Cannot export readonly array")
        return real(x)
    monkeypatch.setattr(torch, "from_dlpack", refusing)
    x = _images(np.random.default_rng(3))
    x.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = to_torch(x)
        y = F.hflip(x)
    assert t.data_ptr() == x.ctypes.data
    np.testing.assert_array_equal(y, x[..., ::-1])


def test_channels_last_numpy_batch():
    rng = np.random.default_rng(4)
    nhwc = _images(rng, shape=(B, 12, 10, 3))
    x = nhwc.transpose(0, 3, 1, 2)  # (B, C, H, W) view of channels-last memory: not C-contiguous
    assert not x.flags.c_contiguous
    ref = torch.from_numpy(nhwc.copy()).permute(0, 3, 1, 2)
    cases = [
        lambda v: F.color_jitter(v, 1.2, 0.8, 1.1, 0.05, np.arange(4)),
        lambda v: F.normalize(v, MEAN, STD),
        lambda v: T.RandomResizedCrop(8)(v, sample_ids=torch.arange(B)),
    ]
    for fn in cases:
        with _Memory() as memory:
            got = fn(x)
        assert x.ctypes.data in memory.read and got.ctypes.data in memory.made
        expected = fn(ref)
        assert expected.is_contiguous(memory_format=torch.channels_last)
        np.testing.assert_array_equal(got, expected.numpy())
        assert got.transpose(0, 2, 3, 1).flags.c_contiguous  # the layout came back as it went in


def test_ragged_list_of_numpy_images():
    rng = np.random.default_rng(5)
    images = [_images(rng, shape=(3, h, w)) for h, w in [(12, 10), (9, 14), (16, 8)]]
    boxes = np.array([[0, 0, 12, 10], [1, 2, 6, 9], [3, 0, 10, 8]], np.float32)
    tensors = [torch.from_numpy(i.copy()) for i in images]
    with _Memory() as memory:
        got = F.resized_crop(images, boxes, (8, 6), flip=_coins(rng))
    assert all(i.ctypes.data in memory.read for i in images) and got.ctypes.data in memory.made
    np.testing.assert_array_equal(got, F.resized_crop(tensors, torch.from_numpy(boxes), (8, 6),
                                                      flip=torch.from_numpy(_coins(rng))).numpy())
    with _Memory() as memory:
        got = T.RandomResizedCrop(8)(images)
    assert all(i.ctypes.data in memory.read for i in images) and isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, T.RandomResizedCrop(8)(tensors).numpy())
    got = T.Compose([T.RandomResizedCrop(8), T.Normalize(MEAN, STD)])(images)
    assert isinstance(got, np.ndarray) and got.shape == (3, 3, 8, 8)


# ----------------------------------------------------------------------------- kinds and errors

class _FakeCupyArray:
    """A DLPack producer whose type lives in a module named cupy (CPU memory underneath)."""
    __module__ = "cupy._core.core"

    def __init__(self, a):
        self.a = a
        self.data = types.SimpleNamespace(ptr=a.ctypes.data)
        self.dtype, self.shape, self.size = a.dtype, a.shape, a.size

    def __dlpack__(self, **kwargs):
        return self.a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


def test_array_kind_first_array_decides():
    x, t = np.zeros((2, 3, 4, 4), np.uint8), torch.zeros(2)
    assert array_kind((x, t), {}) == "numpy"
    assert array_kind((t, x), {}) is None
    assert array_kind((3, [x, x]), {}) == "numpy"
    assert array_kind((), {"images": x}) == "numpy"
    assert array_kind((1.0, "mean"), {}) is None
    assert array_kind((_FakeCupyArray(x),), {}) == "cupy"
    other = type("Array", (), {"__dlpack__": lambda self: None, "__module__": "jax"})()
    assert array_kind((other,), {}) is None  # read, but the result stays torch
    assert has_arrays((t, 1.0), {"flip": np.bool_(True)}) and has_arrays(([x],), {})
    assert not has_arrays((t, [t], [1.0, 2.0], (), None, "x", torch.float32), {"a": {"k": x}})


def test_mixed_kinds_follow_the_images():
    rng = np.random.default_rng(6)
    x, factor = _images(rng), _factors(rng)
    expected = F.adjust_brightness(torch.from_numpy(x), torch.from_numpy(factor))
    a = F.adjust_brightness(torch.from_numpy(x), factor)  # torch images, NumPy params: torch
    b = F.adjust_brightness(x, torch.from_numpy(factor))  # NumPy images, torch params: NumPy
    assert isinstance(a, torch.Tensor) and isinstance(b, np.ndarray)
    assert torch.equal(a, expected) and np.array_equal(b, expected.numpy())
    flip = T.RandomHorizontalFlip()
    assert isinstance(flip(torch.from_numpy(x), sample_ids=np.arange(B)), torch.Tensor)
    assert isinstance(flip(x, sample_ids=torch.arange(B)), np.ndarray)


def test_cupy_code_path_with_a_stand_in(monkeypatch):
    """The CuPy branch (kind detection, from_dlpack both ways) without CuPy or a GPU."""
    made = []

    def from_dlpack(t):
        made.append(t)
        return _FakeCupyArray(np.from_dlpack(t))
    monkeypatch.setitem(sys.modules, "cupy", types.SimpleNamespace(from_dlpack=from_dlpack))
    x = _images(np.random.default_rng(7))
    with _Memory() as memory:
        got = F.hflip(_FakeCupyArray(x), _FakeCupyArray(_coins(None)))
    assert isinstance(got, _FakeCupyArray) and x.ctypes.data in memory.read
    assert got.data.ptr == made[0].data_ptr() and got.data.ptr in memory.made
    out, params = T.RandomHorizontalFlip()(_FakeCupyArray(x), return_params=True)
    assert isinstance(out, _FakeCupyArray) and isinstance(params["apply"], torch.Tensor)
    a, b = TwoViews(simclr_view(8, blur_kernel=3))(_FakeCupyArray(x))
    assert isinstance(a, _FakeCupyArray) and isinstance(b, _FakeCupyArray)


def test_bad_numpy_input_names_the_argument():
    rng = np.random.default_rng(8)
    with pytest.raises(TypeError, match="images"):
        F.hflip(_images(rng, np.float64))
    with pytest.raises(TypeError, match="images"):
        T.RandomHorizontalFlip()(_images(rng, np.float64))
    with pytest.raises(TypeError, match="images"):
        F.hflip(np.empty((2, 3, 4, 4), dtype=object))
    with pytest.raises(TypeError, match="apply"):
        F.hflip(_images(rng), apply=np.empty(B, dtype=object))
    with pytest.raises(ValueError, match="images"):
        F.hflip(np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(TypeError, match="specs"):
        T.TimeMasking(3)(rng.standard_normal((2, 4, 5)))
    with pytest.raises(ValueError, match="labels"):
        F.mix_labels(np.zeros((2, 2, 2)), 0.5, np.array([1, 0]), 3)


def test_bfloat16_results_raise_for_numpy():
    x = _images(np.random.default_rng(9))
    with pytest.raises(TypeError, match="bfloat16"):
        F.to_dtype(x, torch.bfloat16, scale=True)
    with pytest.raises(TypeError, match="bfloat16"):
        T.Normalize(MEAN, STD, out_dtype=torch.bfloat16)(x)
    assert F.to_dtype(torch.from_numpy(x), torch.bfloat16, scale=True).dtype == torch.bfloat16


# ----------------------------------------------------------------------------- the tensor path

def test_tensor_calls_take_the_fast_path(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("tensor calls must not convert")
    monkeypatch.setattr(interop, "_convert_call", fail)
    x = torch.randint(0, 256, (B, 3, 12, 10), dtype=torch.uint8)
    F.hflip(x, torch.tensor([True, False, True]))
    F.resized_crop([x[0], x[1, :, :9]], torch.tensor([[0.0, 0, 8, 8], [1, 1, 6, 6]]), 4)
    F.normalize(x, MEAN, STD)
    T.Compose([T.RandomResizedCrop(8), T.Normalize(MEAN, STD)])(x, return_params=True)
    TwoViews(simclr_view(8, blur_kernel=3))(x)


def test_module_hooks_see_tensors_and_still_run():
    seen = []
    flip = T.RandomHorizontalFlip()
    flip.register_forward_pre_hook(lambda m, args: seen.append(type(args[0])))
    flip(_images(np.random.default_rng(10)))
    flip(torch.zeros(B, 3, 4, 4))
    assert seen == [torch.Tensor, torch.Tensor]


def test_compiles_without_graph_breaks_through_the_wrappers():
    x = torch.randint(0, 256, (B, 3, 12, 10), dtype=torch.uint8)
    ids = torch.arange(B)
    flip = torch.compile(T.RandomHorizontalFlip(), fullgraph=True, backend="eager")
    assert torch.equal(flip(x, sample_ids=ids), T.RandomHorizontalFlip()(x, sample_ids=ids))
    f = torch.compile(lambda v: F.solarize(v, 100.0), fullgraph=True, backend="eager")
    assert torch.equal(f(x), F.solarize(x, 100.0))
    inner = T.RandomHorizontalFlip()  # a module called inside a compiled function
    g = torch.compile(lambda v: inner(v, sample_ids=ids), fullgraph=True, backend="eager")
    assert torch.equal(g(x), T.RandomHorizontalFlip()(x, sample_ids=ids))


# ----------------------------------------------------------------------------- CuPy (GPU check)

def _cupy():
    cupy = pytest.importorskip("cupy")
    if not torch.cuda.is_available():
        pytest.skip("CuPy tests need CUDA")
    return cupy


def _to_cupy(cupy, x):
    return _tree(x, lambda v: cupy.asarray(v) if isinstance(v, np.ndarray)
                 else v.to("cuda") if isinstance(v, torch.nn.Module) else v)


@pytest.mark.parametrize("name", sorted(FUNCTIONAL_CASES))
def test_functional_cupy_in_cupy_out(name):
    cupy = _cupy()
    args, kwargs = FUNCTIONAL_CASES[name](np.random.default_rng(0))
    expected = getattr(F, name)(*_torch_copy(args, "cuda"), **_torch_copy(kwargs, "cuda"))
    cargs, ckwargs = _to_cupy(cupy, args), _to_cupy(cupy, kwargs)
    with _Memory() as memory:
        got = getattr(F, name)(*cargs, **ckwargs)
    _assert_matches(got, expected, cupy.ndarray, memory, host=cupy.asnumpy)
    assert cargs[0].data.ptr in memory.read


@pytest.mark.parametrize("name", sorted(TRANSFORM_CASES))
def test_transform_cupy_in_cupy_out(name):
    cupy = _cupy()
    module, args, kwargs, expected = _call_transform(name, lambda x: _to_cupy(cupy, x), "cuda")
    with _Memory() as memory:
        got, params = module(*args, return_params=True, **kwargs)
    _assert_matches(got, expected, cupy.ndarray, memory, host=cupy.asnumpy)
    _assert_torch_tree(params)
    assert all(not isinstance(v, cupy.ndarray) for v in tree_leaves(params))
