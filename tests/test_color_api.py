"""Color ops: functional defaults and broadcasting, B = 0, every documented
error (functional, C++ op and Triton launcher), and torch.library.opcheck."""
import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu.testing import random_images

from _backends import HAS_TRITON, run_op, skip_without_value_checks

FACTOR_FUNCS = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue]
OPS = torch.ops.datagen_gpu


def jitter_args(batch):
    order = torch.stack([torch.randperm(4) for _ in range(batch)]) if batch else torch.zeros(0, 4, dtype=torch.int64)
    return (torch.full((batch,), 1.2), torch.full((batch,), 0.8), torch.full((batch,), 1.3),
            torch.full((batch,), 0.1), order)


# ------------------------------------------------------------------ defaults, broadcasting, B = 0


def test_numbers_broadcast_and_match_tensors():
    x = torch.rand(3, 3, 6, 7)
    for fn, v in zip(FACTOR_FUNCS, [1.3, 0.7, 1.6, -0.2]):
        assert torch.equal(fn(x, v), fn(x, torch.full((3,), v)))
        assert torch.equal(fn(x, torch.tensor(v)), fn(x, torch.full((3,), v)))
    assert torch.equal(F.solarize(x, 0.5), F.solarize(x, torch.full((3,), 0.5), True))
    assert torch.equal(F.rgb_to_grayscale(x), F.rgb_to_grayscale(x, torch.ones(3, dtype=torch.bool)))


def test_factor_ops_accept_float64_and_int_factors():
    x = torch.rand(2, 3, 4, 5)
    assert torch.equal(F.adjust_brightness(x, torch.tensor([2, 0])),
                       F.adjust_brightness(x, torch.tensor([2.0, 0.0])))
    assert torch.equal(F.adjust_hue(x, torch.tensor([0.25, -0.1], dtype=torch.float64)),
                       F.adjust_hue(x, torch.tensor([0.25, -0.1])))


def test_color_jitter_defaults_and_order_forms():
    x = torch.rand(2, 3, 5, 6)
    assert torch.equal(F.color_jitter(x), x)
    b, c, s, h, _ = jitter_args(2)
    default = F.color_jitter(x, b, c, s, h)
    assert torch.equal(default, F.color_jitter(x, b, c, s, h, [0, 1, 2, 3]))
    assert torch.equal(default, F.color_jitter(x, b, c, s, h, torch.tensor([0, 1, 2, 3])))
    assert torch.equal(default, F.color_jitter(x, b, c, s, h, torch.tensor([[0, 1, 2, 3]] * 2)))
    rev = F.color_jitter(x, b, c, s, h, [3, 2, 1, 0])
    assert not torch.equal(default, rev)


def test_grayscale_and_solarize_apply_false_copy():
    x = random_images((2, 3, 5, 6), torch.uint8)
    assert torch.equal(F.rgb_to_grayscale(x, False), x)
    assert torch.equal(F.solarize(x, 0.0, False), x)
    assert torch.equal(F.solarize(x, 0.0), 255 - x)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_empty_batch(dtype):
    x = random_images((0, 3, 4, 5), dtype)
    for fn in FACTOR_FUNCS:
        assert fn(x, 1.5 if fn is not F.adjust_hue else 0.1).shape == (0, 3, 4, 5)
    assert F.color_jitter(x, *jitter_args(0)).shape == (0, 3, 4, 5)
    assert F.color_jitter(x, 1.2, 0.8, 1.1, 0.1, [1, 0, 3, 2]).shape == (0, 3, 4, 5)
    assert F.rgb_to_grayscale(x).shape == (0, 3, 4, 5)
    assert F.solarize(x, 0.5).shape == (0, 3, 4, 5)
    out = F.color_jitter(x, out_dtype=torch.float16)
    assert out.dtype == torch.float16


@pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed")
def test_empty_batch_triton():
    x = torch.rand(0, 3, 4, 5)
    assert run_op("triton", "color_jitter", x, *jitter_args(0), torch.float32).shape == (0, 3, 4, 5)
    assert run_op("triton", "adjust_contrast", x, torch.ones(0), torch.float32).shape == (0, 3, 4, 5)
    assert run_op("triton", "solarize", x, torch.ones(0), torch.ones(0, dtype=torch.bool),
                  torch.float32).shape == (0, 3, 4, 5)
    empty_pixels = torch.rand(2, 3, 0, 5)
    assert run_op("triton", "adjust_contrast", empty_pixels, torch.ones(2), torch.float32).shape == (2, 3, 0, 5)
    assert OPS.adjust_contrast(empty_pixels, torch.ones(2), torch.float32).shape == (2, 3, 0, 5)


# ------------------------------------------------------------------ errors


def test_image_errors():
    x = torch.rand(2, 3, 4, 5)
    for fn in FACTOR_FUNCS:
        with pytest.raises(ValueError, match="images"):
            fn(torch.rand(3, 4, 5), 1.0 if fn is not F.adjust_hue else 0.0)
        with pytest.raises(TypeError, match="images"):
            fn(x.double(), 1.0 if fn is not F.adjust_hue else 0.0)
        with pytest.raises(TypeError, match="images"):
            fn(x.double().numpy(), 1.0)  # NumPy is accepted; float64 is not
    for fn in [F.adjust_saturation, F.adjust_hue]:
        with pytest.raises(ValueError, match="images"):
            fn(torch.rand(2, 1, 4, 5), 0.0)
        with pytest.raises(ValueError, match="images"):
            fn(torch.rand(2, 4, 4, 5), 0.0)
    with pytest.raises(ValueError, match="images"):
        F.adjust_contrast(torch.rand(2, 2, 4, 5), 1.0)
    with pytest.raises(ValueError, match="images"):
        F.adjust_contrast(torch.rand(2, 4, 4, 5), 1.0)
    with pytest.raises(ValueError, match="images"):
        F.color_jitter(torch.rand(2, 1, 4, 5))
    with pytest.raises(ValueError, match="images"):
        F.rgb_to_grayscale(torch.rand(2, 4, 4, 5))
    with pytest.raises(ValueError, match="images"):
        F.solarize(torch.rand(4, 5), 0.5)
    with pytest.raises(TypeError, match="out_dtype"):
        F.adjust_brightness(x, 1.0, out_dtype=torch.int32)
    with pytest.raises(TypeError, match="out_dtype"):
        F.solarize(x, 0.5, out_dtype="float")


def test_factor_errors():
    x = torch.rand(2, 3, 4, 5)
    for fn in FACTOR_FUNCS:
        with pytest.raises(ValueError, match="factor"):
            fn(x, torch.zeros(3))
        with pytest.raises(ValueError, match="factor"):
            fn(x, torch.zeros(2, 1))
        with pytest.raises(TypeError, match="factor"):
            fn(x, torch.tensor([True, False]))
        with pytest.raises(TypeError, match="factor"):
            fn(x, "1.0")
        with pytest.raises(ValueError, match="factor"):
            fn(x, torch.tensor([float("nan"), 0.0]))
        with pytest.raises(ValueError, match="factor"):
            fn(x, torch.zeros(2, device="meta"))
    for fn in [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation]:
        with pytest.raises(ValueError, match="factor"):
            fn(x, torch.tensor([1.0, -0.1]))
    with pytest.raises(ValueError, match="factor"):
        F.adjust_hue(x, torch.tensor([0.5, 0.51]))
    with pytest.raises(ValueError, match="factor"):
        F.adjust_hue(x, -0.6)


def test_color_jitter_errors():
    x = torch.rand(2, 3, 4, 5)
    for name in ["brightness", "contrast", "saturation"]:
        with pytest.raises(ValueError, match=name):
            F.color_jitter(x, **{name: torch.tensor([1.0, -1.0])})
        with pytest.raises(ValueError, match=name):
            F.color_jitter(x, **{name: torch.ones(3)})
        with pytest.raises(TypeError, match=name):
            F.color_jitter(x, **{name: torch.ones(2, dtype=torch.bool)})
    with pytest.raises(ValueError, match="hue"):
        F.color_jitter(x, hue=torch.tensor([0.0, 0.7]))
    with pytest.raises(ValueError, match="order"):
        F.color_jitter(x, order=torch.tensor([[0, 1, 2, 3], [0, 1, 1, 3]]))
    with pytest.raises(ValueError, match="order"):
        F.color_jitter(x, order=torch.tensor([[0, 1, 2, 4], [0, 1, 2, 3]]))
    with pytest.raises(ValueError, match="order"):
        F.color_jitter(x, order=torch.tensor([[0, 1, 2], [0, 1, 2]]))
    with pytest.raises(ValueError, match="order"):
        F.color_jitter(x, order=torch.zeros(3, 4, dtype=torch.int64))
    with pytest.raises(TypeError, match="order"):
        F.color_jitter(x, order=torch.tensor([[0.0, 1, 2, 3]] * 2))
    with pytest.raises(TypeError, match="order"):
        F.color_jitter(x, order=torch.tensor([[0, 1, 2, 3]] * 2, dtype=torch.int32))
    with pytest.raises(TypeError, match="order"):
        F.color_jitter(x, order="0123")


def test_solarize_and_grayscale_errors():
    x = torch.rand(2, 3, 4, 5)
    with pytest.raises(ValueError, match="threshold"):
        F.solarize(x, torch.zeros(3))
    with pytest.raises(ValueError, match="threshold"):
        F.solarize(x, 1.5)  # floats: at most 1
    with pytest.raises(ValueError, match="threshold"):
        F.solarize(random_images((2, 3, 4, 5), torch.uint8), 256.0)
    F.solarize(random_images((2, 3, 4, 5), torch.uint8), 255.0)  # the maximum is allowed
    with pytest.raises(TypeError, match="threshold"):
        F.solarize(x, torch.tensor([True, False]))
    with pytest.raises(ValueError, match="apply"):
        F.solarize(x, 0.5, torch.tensor([True]))
    with pytest.raises(TypeError, match="apply"):
        F.solarize(x, 0.5, torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="apply"):
        F.rgb_to_grayscale(x, torch.tensor([True, False, True]))
    with pytest.raises(TypeError, match="apply"):
        F.rgb_to_grayscale(x, torch.tensor([1, 0]))


VALUE = "value"  # a value check: runs on CPU tensors only (no host sync on CUDA)
BACKEND_ERROR_CASES = [
    # (op, args builder, exception, name in message[, VALUE])
    ("adjust_brightness", lambda x: (x, torch.ones(3), torch.float32), ValueError, "factor"),
    ("adjust_brightness", lambda x: (x, torch.ones(2, dtype=torch.float64), torch.float32), TypeError, "factor"),
    ("adjust_brightness", lambda x: (x, torch.tensor([1.0, -1.0]), torch.float32), ValueError, "factor",
     VALUE),
    ("adjust_contrast", lambda x: (x[:, :2], torch.ones(2), torch.float32), ValueError, "images"),
    ("adjust_saturation", lambda x: (x[:, :1], torch.ones(2), torch.float32), ValueError, "images"),
    ("adjust_hue", lambda x: (x, torch.tensor([0.0, 0.6]), torch.float32), ValueError, "factor", VALUE),
    ("adjust_hue", lambda x: (x.double(), torch.zeros(2), torch.float32), TypeError, "images"),
    ("adjust_hue", lambda x: (x, torch.zeros(2), torch.int32), TypeError, "out_dtype"),
    ("color_jitter", lambda x: (x, *jitter_args(2)[:4], torch.zeros(2, 4, dtype=torch.int64),
                                torch.float32), ValueError, "order", VALUE),
    ("color_jitter", lambda x: (x, *jitter_args(2)[:4], torch.zeros(2, 3, dtype=torch.int64),
                                torch.float32), ValueError, "order"),
    ("color_jitter", lambda x: (x, *jitter_args(2)[:4], jitter_args(2)[4].int(),
                                torch.float32), TypeError, "order"),
    ("color_jitter", lambda x: (x, torch.ones(2), torch.ones(2), torch.full((2,), -1.0),
                                torch.zeros(2), jitter_args(2)[4], torch.float32), ValueError, "saturation",
     VALUE),
    ("rgb_to_grayscale", lambda x: (x, torch.ones(2), torch.float32), TypeError, "apply"),
    ("solarize", lambda x: (x, torch.full((2,), 2.0), torch.ones(2, dtype=torch.bool),
                            torch.float32), ValueError, "threshold", VALUE),
    ("solarize", lambda x: (x, torch.ones(3), torch.ones(2, dtype=torch.bool), torch.float32),
     ValueError, "threshold"),
]


@pytest.mark.parametrize("case", range(len(BACKEND_ERROR_CASES)))
def test_op_level_errors(backend, case):
    """The C++ ops and the Triton launchers check their arguments like the functionals."""
    if backend == "triton" and not HAS_TRITON:
        pytest.skip("triton is not installed")
    op, build, exc, name, *kind = BACKEND_ERROR_CASES[case]
    if kind == [VALUE]:
        skip_without_value_checks(backend)
    with pytest.raises(exc, match=name):
        run_op(backend, op, *build(torch.rand(2, 3, 4, 5)))


# ------------------------------------------------------------------ opcheck


def _opcheck_samples():
    x = torch.rand(2, 3, 5, 7)
    xu = random_images((3, 3, 4, 6), torch.uint8, channels_last=True)
    b, c, s, h, order = jitter_args(3)
    return [
        ("adjust_brightness", (x, torch.tensor([0.5, 1.5]), torch.float32)),
        ("adjust_brightness", (xu, torch.tensor([0.5, 1.0, 2.0]), torch.uint8)),
        ("adjust_contrast", (x, torch.tensor([0.5, 1.5]), torch.float16)),
        ("adjust_contrast", (xu[:, :1].contiguous(), torch.tensor([0.5, 1.0, 2.0]), torch.uint8)),
        ("adjust_saturation", (xu, torch.tensor([0.0, 1.0, 2.0]), torch.float32)),
        ("adjust_hue", (x, torch.tensor([-0.5, 0.3]), torch.float32)),
        ("adjust_hue", (xu, torch.tensor([-0.1, 0.0, 0.5]), torch.uint8)),
        ("color_jitter", (xu, b, c, s, h, order, torch.uint8)),
        ("color_jitter", (xu.float() / 255, b, c, s, h, order, torch.bfloat16)),
        ("rgb_to_grayscale", (x, torch.tensor([True, False]), torch.float32)),
        ("rgb_to_grayscale", (xu, torch.tensor([True, False, True]), torch.uint8)),
        ("solarize", (x, torch.tensor([0.5, 0.2]), torch.tensor([True, False]), torch.float32)),
        ("solarize", (xu, torch.tensor([128.0, 0.0, 255.0]), torch.tensor([True, True, False]),
                      torch.uint8)),
    ]


@pytest.mark.parametrize("sample", range(len(_opcheck_samples())))
def test_opcheck(sample):
    name, args = _opcheck_samples()[sample]
    torch.library.opcheck(getattr(OPS, name).default, args)
