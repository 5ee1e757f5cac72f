"""Pixel ops API: the functionals (pixel_ops, posterize, equalize, autocontrast,
adjust_sharpness, invert) and PixelOp, broadcasting and apply masks, B = 0, every
documented error (functional, C++ op and Triton launcher), torch.library.opcheck,
and per-sample parity with torchvision (skipped without torchvision).
(Kernels against the reference: test_pixel.py.)
"""
import numpy as np
import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu.functional import PixelOp
from datagen_gpu.testing import random_images

from _backends import HAS_TRITON, run_op, skip_without_value_checks, torchvision_or_skip

OPS = torch.ops.datagen_gpu
SINGLE = {  # functional -> (code, its parameter for 3 samples or None)
    "posterize": (PixelOp.POSTERIZE, torch.tensor([0, 3, 8])),
    "adjust_sharpness": (PixelOp.SHARPNESS, torch.tensor([0.0, 0.5, 2.0])),
    "equalize": (PixelOp.EQUALIZE, None),
    "autocontrast": (PixelOp.AUTOCONTRAST, None),
    "invert": (PixelOp.INVERT, None),
}


def test_pixel_op_codes_are_the_public_api():
    assert [(c.name, int(c)) for c in PixelOp] == [
        ("IDENTITY", 0), ("BRIGHTNESS", 1), ("SATURATION", 2), ("CONTRAST", 3), ("SHARPNESS", 4),
        ("POSTERIZE", 5), ("SOLARIZE", 6), ("AUTOCONTRAST", 7), ("EQUALIZE", 8), ("INVERT", 9),
        ("SOLARIZE_ADD", 10)]
    assert F.PixelOp is PixelOp and PixelOp.__module__ == "datagen_gpu.functional.pixel"


# ------------------------------------------------------------------ functionals


@pytest.mark.parametrize("name", list(SINGLE))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_single_op_functionals_are_pixel_ops(name, dtype):
    code, param = SINGLE[name]
    x = random_images((3, 3, 9, 11), dtype)
    fn = getattr(F, name)
    out = fn(x, param) if param is not None else fn(x)
    m = param.float() if param is not None else torch.zeros(3)
    assert torch.equal(out, F.pixel_ops(x, torch.full((3,), int(code)), m))
    assert torch.equal(out, F.pixel_ops(x, code, m))  # one code for every sample
    half = fn(x, param, out_dtype=torch.float16) if param is not None else fn(x, out_dtype=torch.float16)
    assert half.dtype == torch.float16


@pytest.mark.parametrize("name", ["equalize", "autocontrast", "invert"])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_apply_masks(name, dtype):
    x = random_images((4, 3, 7, 8), dtype, channels_last=True)
    fn = getattr(F, name)
    apply = torch.tensor([True, False, True, False])
    out = fn(x, apply)
    assert torch.equal(out[~apply], x[~apply])  # not applied: exact copies
    assert torch.equal(out[apply], fn(x[apply]))
    assert torch.equal(fn(x, False), x)
    assert torch.equal(fn(x, True), fn(x))
    assert torch.equal(fn(x, torch.tensor(True)), fn(x))


def test_numbers_and_integer_tensors_broadcast():
    x = random_images((3, 3, 6, 7), torch.uint8)
    assert torch.equal(F.posterize(x, 3), F.posterize(x, torch.tensor([3, 3, 3], dtype=torch.int32)))
    assert torch.equal(F.posterize(x, torch.tensor(3)), F.posterize(x, 3))
    assert torch.equal(F.adjust_sharpness(x, 1.5), F.adjust_sharpness(x, torch.full((3,), 1.5)))
    assert torch.equal(F.adjust_sharpness(x, torch.tensor([2, 0, 1])),
                       F.adjust_sharpness(x, torch.tensor([2.0, 0.0, 1.0])))
    op32 = torch.tensor([1, 8, 9], dtype=torch.int32)
    assert torch.equal(F.pixel_ops(x, op32, 1.5), F.pixel_ops(x, op32.long(), torch.full((3,), 1.5)))
    assert torch.equal(F.pixel_ops(x, torch.tensor(9), 0), 255 - x)
    assert torch.equal(F.pixel_ops(x, PixelOp.IDENTITY, 0.0, out_dtype=torch.uint8), x)
    assert torch.equal(F.invert(x), 255 - x)
    assert torch.equal(F.posterize(x, 8), x) and not F.posterize(x, 0).any()


def test_identity_and_factor_one_are_exact_copies():
    for dtype in (torch.uint8, torch.float16, torch.bfloat16, torch.float32):
        x = random_images((4, 3, 6, 9), dtype)
        op = torch.tensor([0, 1, 4, 2])  # identity, brightness 1, sharpness 1, saturation 1
        assert torch.equal(F.pixel_ops(x, op, torch.tensor([7.0, 1.0, 1.0, 1.0])), x)


def test_numpy_arrays_in_and_out():
    x = random_images((2, 3, 5, 6), torch.uint8)
    out = F.invert(x.numpy())
    assert isinstance(out, np.ndarray) and np.array_equal(out, (255 - x).numpy())
    out = F.pixel_ops(x.numpy(), np.array([5, 9]), np.array([2.0, 0.0], dtype=np.float32))
    assert np.array_equal(out, F.pixel_ops(x, torch.tensor([5, 9]), torch.tensor([2.0, 0.0])).numpy())


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_empty_batch(dtype):
    x = random_images((0, 3, 4, 5), dtype)
    assert F.pixel_ops(x, torch.zeros(0, dtype=torch.int64), torch.zeros(0)).shape == (0, 3, 4, 5)
    assert F.pixel_ops(x, PixelOp.EQUALIZE, 0.0).shape == (0, 3, 4, 5)
    for name, (_, param) in SINGLE.items():
        fn = getattr(F, name)
        out = fn(x, 2) if param is not None else fn(x, out_dtype=torch.float16)
        assert out.shape == (0, 3, 4, 5)


@pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed")
def test_empty_batch_triton():
    x = torch.rand(0, 3, 4, 5)
    out = run_op("triton", "pixel_ops", x, torch.zeros(0, dtype=torch.int64), torch.zeros(0), torch.uint8)
    assert out.shape == (0, 3, 4, 5) and out.dtype == torch.uint8


@pytest.mark.filterwarnings("ignore:Accessing the data pointer of FakeTensor")
def test_no_host_copy_or_sync_on_cuda():
    """On (fake) CUDA tensors: no host read of a value, no host-to-device copy."""
    from _fake_cuda import fake_cuda

    with fake_cuda() as (_, rec):
        x = torch.empty(4, 3, 16, 12, dtype=torch.uint8, device="cuda")
        op = torch.empty(4, dtype=torch.int32, device="cuda")
        m, coin = torch.empty(4, device="cuda"), torch.empty(4, dtype=torch.bool, device="cuda")
        calls = [lambda: F.pixel_ops(x, op, m), lambda: F.pixel_ops(x, PixelOp.EQUALIZE, 0.0),
                 lambda: F.posterize(x, 4), lambda: F.posterize(x, op),
                 lambda: F.adjust_sharpness(x, m), lambda: F.equalize(x, coin),
                 lambda: F.autocontrast(x), lambda: F.invert(x, True)]
        for call in calls:
            rec.clear()
            assert call().shape == x.shape
            assert list(rec.events) == []


# ------------------------------------------------------------------ errors


def test_op_code_errors():
    x = torch.rand(2, 3, 4, 5)
    for op in (torch.tensor([1, 11]), torch.tensor([-1, 0]), 11, -1):
        with pytest.raises(ValueError, match="op: unknown operation code"):
            F.pixel_ops(x, op, 1.0)
    with pytest.raises(TypeError, match="op"):
        F.pixel_ops(x, torch.tensor([1.0, 2.0]), 1.0)
    with pytest.raises(TypeError, match="op"):
        F.pixel_ops(x, torch.tensor([True, False]), 1.0)
    with pytest.raises(TypeError, match="op"):
        F.pixel_ops(x, 2.0, 1.0)
    # any integer tensor names codes (as the other ops' integer parameters)
    assert torch.equal(F.pixel_ops(x, torch.tensor([1, 2], dtype=torch.int16), 1.0),
                       F.pixel_ops(x, torch.tensor([1, 2]), 1.0))
    with pytest.raises(TypeError, match="op"):
        F.pixel_ops(x, "INVERT", 1.0)
    with pytest.raises(TypeError, match="op"):
        F.pixel_ops(x, True, 1.0)
    with pytest.raises(ValueError, match="op"):
        F.pixel_ops(x, torch.tensor([1, 2, 3]), 1.0)
    with pytest.raises(ValueError, match="op"):
        F.pixel_ops(x, torch.tensor([[1, 2]]), 1.0)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_magnitude_errors(dtype):
    x = random_images((2, 3, 4, 5), dtype)
    top = 255.0 if dtype == torch.uint8 else 1.0
    nan = float("nan")
    bad = [(PixelOp.BRIGHTNESS, -0.5), (PixelOp.SATURATION, -1.0), (PixelOp.CONTRAST, nan),
           (PixelOp.SHARPNESS, -1e-3), (PixelOp.POSTERIZE, 9.0), (PixelOp.POSTERIZE, -1.0),
           (PixelOp.POSTERIZE, 2.5), (PixelOp.SOLARIZE, top * 1.01), (PixelOp.SOLARIZE, nan),
           (PixelOp.SOLARIZE_ADD, -1.0), (PixelOp.SOLARIZE_ADD, top * 1.5)]
    for code, value in bad:
        with pytest.raises(ValueError, match=f"magnitude: {code.name}"):
            F.pixel_ops(x, torch.tensor([int(code), 0]), torch.tensor([value, 0.0]))
    for code in (PixelOp.IDENTITY, PixelOp.AUTOCONTRAST, PixelOp.EQUALIZE, PixelOp.INVERT):
        F.pixel_ops(x, code, nan)  # ignored
    F.pixel_ops(x, PixelOp.SOLARIZE, -3.0)  # any threshold up to the maximum
    F.pixel_ops(x, PixelOp.SOLARIZE_ADD, top)
    with pytest.raises(ValueError, match="magnitude"):
        F.pixel_ops(x, PixelOp.BRIGHTNESS, torch.ones(3))
    with pytest.raises(TypeError, match="magnitude"):
        F.pixel_ops(x, PixelOp.BRIGHTNESS, torch.tensor([True, False]))
    with pytest.raises(TypeError, match="magnitude"):
        F.pixel_ops(x, PixelOp.BRIGHTNESS, "1.5")


def test_single_op_argument_errors():
    x = torch.rand(2, 3, 4, 5)
    for bits in (9, -1, torch.tensor([3, 9])):
        with pytest.raises(ValueError, match="bits"):
            F.posterize(x, bits)
    for bits in (2.0, torch.tensor([2.0, 3.0]), True, torch.tensor([True, False]), "4"):
        with pytest.raises(TypeError, match="bits"):
            F.posterize(x, bits)
    with pytest.raises(ValueError, match="bits"):
        F.posterize(x, torch.tensor([1, 2, 3]))
    assert torch.equal(F.posterize(x, torch.tensor([2, 7], dtype=torch.uint8)),
                       F.posterize(x, torch.tensor([2, 7])))
    with pytest.raises(ValueError, match="factor"):
        F.adjust_sharpness(x, -0.1)
    with pytest.raises(ValueError, match="factor"):
        F.adjust_sharpness(x, torch.tensor([1.0, -2.0]))
    with pytest.raises(ValueError, match="factor"):
        F.adjust_sharpness(x, torch.ones(3))
    for fn in (F.equalize, F.autocontrast, F.invert):
        with pytest.raises(TypeError, match="apply"):
            fn(x, torch.tensor([1, 0]))
        with pytest.raises(ValueError, match="apply"):
            fn(x, torch.tensor([True]))
        with pytest.raises(TypeError, match="images"):
            fn(x.double())
        with pytest.raises(ValueError, match="images"):
            fn(x[0])
        with pytest.raises(TypeError, match="out_dtype"):
            fn(x, out_dtype=torch.int32)


def test_contrast_and_saturation_need_one_or_three_channels():
    for channels in (2, 4):
        x = torch.rand(2, channels, 4, 5)
        for code in (PixelOp.CONTRAST, PixelOp.SATURATION):
            with pytest.raises(ValueError, match=f"images: {code.name}"):
                F.pixel_ops(x, torch.tensor([0, int(code)]), 1.5)
        others = [c for c in PixelOp if c not in (PixelOp.CONTRAST, PixelOp.SATURATION)]
        F.pixel_ops(x.repeat(5, 1, 1, 1)[:len(others)], torch.tensor([int(c) for c in others]), 1.0)


VALUE = "value"  # a value check: runs on CPU tensors only (no host sync on CUDA)
I64 = torch.int64
BACKEND_ERROR_CASES = [
    # (args builder, exception, name in message[, VALUE])
    (lambda x: (x, torch.tensor([1, 2], dtype=torch.int32), torch.ones(2), torch.float32), TypeError, "op"),
    (lambda x: (x, torch.tensor([1, 2, 3]), torch.ones(2), torch.float32), ValueError, "op"),
    (lambda x: (x, torch.tensor([1, 2]), torch.ones(2, dtype=torch.float64), torch.float32), TypeError,
     "magnitude"),
    (lambda x: (x, torch.tensor([1, 2]), torch.ones(3), torch.float32), ValueError, "magnitude"),
    (lambda x: (x.double(), torch.tensor([1, 2]), torch.ones(2), torch.float32), TypeError, "images"),
    (lambda x: (x, torch.tensor([1, 2]), torch.ones(2), torch.int32), TypeError, "out_dtype"),
    (lambda x: (x, torch.tensor([1, 12]), torch.ones(2), torch.float32), ValueError, "op", VALUE),
    (lambda x: (x, torch.tensor([5, 0]), torch.tensor([9.0, 0.0]), torch.float32), ValueError, "magnitude",
     VALUE),
    (lambda x: (x, torch.tensor([1, 4]), torch.tensor([1.0, -1.0]), torch.float32), ValueError, "magnitude",
     VALUE),
    (lambda x: (x, torch.tensor([6, 0]), torch.tensor([1.5, 0.0]), torch.float32), ValueError, "magnitude",
     VALUE),
    (lambda x: (x, torch.tensor([10, 0]), torch.tensor([-0.5, 0.0]), torch.float32), ValueError,
     "magnitude", VALUE),
    (lambda x: (x[:, :2].contiguous(), torch.tensor([3, 0]), torch.ones(2), torch.float32), ValueError,
     "images", VALUE),
]


@pytest.mark.parametrize("case", range(len(BACKEND_ERROR_CASES)))
def test_op_level_errors(backend, case):
    """The C++ op and the Triton launcher check their arguments like the functionals."""
    if backend == "triton" and not HAS_TRITON:
        pytest.skip("triton is not installed")
    build, exc, name, *kind = BACKEND_ERROR_CASES[case]
    if kind == [VALUE]:
        skip_without_value_checks(backend)
    with pytest.raises(exc, match=name):
        run_op(backend, "pixel_ops", *build(torch.rand(2, 3, 4, 5)))


# ------------------------------------------------------------------ opcheck


def _opcheck_samples():
    x = torch.rand(3, 3, 5, 7)
    xu = random_images((4, 3, 4, 6), torch.uint8, channels_last=True)
    x1 = random_images((2, 1, 6, 5), torch.uint8)
    return [
        (x, torch.tensor([1, 4, 8]), torch.tensor([1.5, 0.5, 0.0]), torch.float32),
        (xu, torch.tensor([2, 3, 5, 6]), torch.tensor([0.5, 1.5, 3.0, 100.0]), torch.uint8),
        (xu, torch.tensor([7, 9, 10, 0]), torch.tensor([0.0, 0.0, 40.0, 0.0]), torch.bfloat16),
        (x1, torch.tensor([3, 8]), torch.tensor([0.3, 0.0]), torch.float16),
    ]


@pytest.mark.parametrize("sample", range(len(_opcheck_samples())))
def test_opcheck(sample):
    torch.library.opcheck(OPS.pixel_ops.default, _opcheck_samples()[sample])


# ------------------------------------------------------------------ torchvision parity


def _torchvision_sample(TF, x, code, m):
    """torchvision.transforms.v2.functional's op of ``code`` on one (C, H, W) image
    (SOLARIZE_ADD: timm's lookup table, written out)."""
    factor = {PixelOp.BRIGHTNESS: ("adjust_brightness", "brightness_factor"),
              PixelOp.SATURATION: ("adjust_saturation", "saturation_factor"),
              PixelOp.CONTRAST: ("adjust_contrast", "contrast_factor"),
              PixelOp.SHARPNESS: ("adjust_sharpness", "sharpness_factor")}
    if code in factor:
        name, kw = factor[code]
        return getattr(TF, name)(x, **{kw: m})
    if code == PixelOp.POSTERIZE:
        return TF.posterize(x, int(m))
    if code == PixelOp.SOLARIZE:
        return TF.solarize(x, m)
    if code == PixelOp.AUTOCONTRAST:
        return TF.autocontrast(x)
    if code == PixelOp.EQUALIZE:
        return TF.equalize(x)
    if code == PixelOp.INVERT:
        return TF.invert(x)
    if code == PixelOp.SOLARIZE_ADD:
        top = 255 if x.dtype == torch.uint8 else 1.0
        added = (x.float() + m).clamp(0, top).to(x.dtype)
        return torch.where(x < (128 if x.dtype == torch.uint8 else 0.5), added, x)
    return x


# largest |ours - torchvision| allowed, in [0, 1] units: uint8 one level where torchvision
# truncates (0 for the integer ops); float16 / bfloat16 a few ulps of torchvision's
# computing in that dtype
PARITY_ATOL = {torch.uint8: 1.0 / 255.0 + 1e-9, torch.float32: 2e-6, torch.float16: 4 * 2.0**-10,
               torch.bfloat16: 4 * 2.0**-7}
EXACT_CODES = {PixelOp.IDENTITY, PixelOp.POSTERIZE, PixelOp.SOLARIZE, PixelOp.EQUALIZE,
               PixelOp.INVERT, PixelOp.SOLARIZE_ADD}


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("channels", [1, 3])
def test_torchvision_parity(dtype, channels, gen):
    TF = torchvision_or_skip("torchvision.transforms.v2.functional")
    codes = [c for c in PixelOp if channels == 3 or c != PixelOp.SATURATION]
    B = 2 * len(codes)
    x = random_images((B, channels, 13, 17), dtype, generator=gen)
    if dtype in (torch.float16, torch.bfloat16):  # torchvision's equalize wraps 1.0 to level 0
        x = x.clamp(max=0.99)
    x[1::4] = x[1::4, :, :1, :1]  # some constant images
    op = torch.tensor([int(c) for c in codes] * 2)
    top = 255.0 if dtype == torch.uint8 else 1.0
    u = torch.rand(B, generator=gen)
    m = torch.where(op == PixelOp.POSTERIZE, torch.arange(B).float() % 9, u * 2.0)
    m = torch.where(op == PixelOp.SOLARIZE, u * top, m)
    m = torch.where(op == PixelOp.SOLARIZE_ADD, (u * 110).round() / (1.0 if top == 255.0 else 255.0), m)
    out = F.pixel_ops(x, op, m)
    for i in range(B):
        code = PixelOp(int(op[i]))
        expected = _torchvision_sample(TF, x[i], code, float(m[i]))
        scale = 255.0 if dtype == torch.uint8 else 1.0
        err = float((out[i].double() - expected.double()).abs().max()) / scale
        atol = 0.0 if dtype == torch.uint8 and code in EXACT_CODES else PARITY_ATOL[dtype]
        assert err <= atol, f"{code.name} sample {i} ({dtype}): {err:.3g} > {atol:.3g}"
