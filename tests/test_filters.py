"""gaussian_blur and normalize against the float64 reference, on every backend."""
import math

import pytest
import torch
import torch.nn.functional as nnf

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu._checks import is_channels_last
from datagen_gpu.testing import assert_close_to_reference, poison_outputs, random_images

from _backends import DTYPES, SHAPES, run_op, shape_for, skip_unsupported, value_checks, torchvision_or_skip

FLOAT_OUT = [torch.float32, torch.float16, torch.bfloat16]
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def _sigmas(n, gen, low=0.1, high=3.0):
    return low + (high - low) * torch.rand(n, generator=gen)


def _blur(backend, x, k, sigma, out_dtype, apply=None, mean=None, std=None):
    x_before = x.clone()
    with poison_outputs():
        out = run_op(backend, "gaussian_blur", x, k, sigma, apply, mean, std, out_dtype)
    assert torch.equal(x, x_before), "input mutated"
    assert out.dtype == out_dtype and out.shape == x.shape
    assert is_channels_last(out) == is_channels_last(x)
    return out


# --------------------------------------------------------------------------- gaussian_blur


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_gaussian_blur_matches_reference(backend, shape, dtype, channels_last, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    shape = shape_for(backend, shape)
    x = random_images(shape, dtype, channels_last=channels_last, generator=gen)
    sigma = _sigmas(shape[0], gen)
    out = _blur(backend, x, 5, sigma, dtype)
    assert_close_to_reference(out, R.gaussian_blur(R.to_unit(x), 5, sigma), msg="gaussian_blur",
                              backend=backend)


@pytest.mark.parametrize("k", [1, 3, 5, 23])
@pytest.mark.parametrize("sigmas", [(1e-3, 0.3), (0.8, 2.5), (7.0, 1e4)], ids=["tiny", "mid", "large"])
def test_gaussian_blur_kernel_sizes_and_sigmas(backend, k, sigmas, gen):
    shape = shape_for(backend, (2, 3, 25, 31))
    x = random_images(shape, torch.float32, channels_last=k == 5, generator=gen)
    sigma = torch.tensor(sigmas, dtype=torch.float32)
    out = _blur(backend, x, k, sigma, torch.float32)
    assert_close_to_reference(out, R.gaussian_blur(R.to_unit(x), k, sigma), msg=f"k={k}", backend=backend)


@pytest.mark.parametrize("in_dtype", DTYPES)
@pytest.mark.parametrize("out_dtype", DTYPES)
def test_gaussian_blur_out_dtype(backend, in_dtype, out_dtype, gen):
    skip_unsupported(backend, in_dtype, out_dtype, bfloat16=True)
    x = random_images((3, 3, 9, 11), in_dtype, generator=gen)
    sigma = _sigmas(3, gen)
    out = _blur(backend, x, 3, sigma, out_dtype)
    assert_close_to_reference(out, R.gaussian_blur(R.to_unit(x), 3, sigma), backend=backend)


def test_gaussian_blur_tiny_sigma_is_identity(backend, gen):
    x = random_images(shape_for(backend, (2, 3, 12, 14)), torch.uint8, generator=gen)
    out = _blur(backend, x, 7, torch.tensor([1e-3, 1e-2]), torch.uint8)
    assert torch.equal(out, x)


def test_gaussian_blur_largest_kernel(backend, gen):
    # k // 2 == H - 1 == W - 1: the largest kernel reflect padding allows.
    x = random_images((2, 1, 4, 4), torch.float32, generator=gen)
    sigma = torch.tensor([0.7, 30.0])
    out = _blur(backend, x, 7, sigma, torch.float32)
    assert_close_to_reference(out, R.gaussian_blur(R.to_unit(x), 7, sigma), backend=backend)


@pytest.mark.parametrize("shape,k", [((1, 1, 300, 41), 23), ((1, 2, 70, 2100), 9), ((2, 1, 5, 33), 9)])
def test_gaussian_blur_row_blocks(shape, k, gen):
    """The C++ kernel splits planes into row blocks (few planes, or wide rows): same result."""
    x = random_images(shape, torch.uint8, generator=gen)
    sigma = _sigmas(shape[0], gen, 1.0, 6.0)
    out = _blur("cpu", x, k, sigma, torch.float32)
    assert_close_to_reference(out, R.gaussian_blur(R.to_unit(x), k, sigma))


def _torchvision_kernel2d(k, sigma):
    """torchvision's _get_gaussian_kernel2d, written out in float64."""
    lim = (k - 1) / (2.0 * math.sqrt(2.0))
    x = torch.linspace(-lim, lim, steps=k, dtype=torch.float64)
    k1 = torch.softmax(-(x / sigma).pow(2), dim=0)
    return k1[:, None] * k1[None, :]


@pytest.mark.parametrize("k", [1, 3, 9, 23])
def test_reference_gaussian_blur_is_torchvision_conv2d(k, gen):
    """The separable float64 reference equals pad(reflect) + conv2d with the 2-D kernel."""
    x = torch.rand(3, 2, 24, 27, dtype=torch.float64, generator=gen)
    sigma = torch.tensor([0.05, 1.7, 40.0])
    ref = R.gaussian_blur(x, k, sigma)
    r = k // 2
    for i in range(3):
        weight = _torchvision_kernel2d(k, float(sigma[i])).expand(2, 1, k, k)
        padded = nnf.pad(x[i : i + 1], [r, r, r, r], mode="reflect")
        expected = nnf.conv2d(padded, weight, groups=2)[0]
        torch.testing.assert_close(ref[i], expected, rtol=0, atol=1e-12)


def test_gaussian_blur_matches_torchvision(gen):
    tvf = torchvision_or_skip("torchvision.transforms.v2.functional")
    sigma = torch.tensor([0.4, 1.1, 3.0])
    for dtype in (torch.float32, torch.uint8):
        x = random_images((3, 3, 30, 41), dtype, generator=gen)
        out = F.gaussian_blur(x, 9, sigma)
        for i in range(3):
            expected = tvf.gaussian_blur(x[i], [9, 9], [float(sigma[i])] * 2)
            diff = (out[i].double() - expected.double()).abs().max()
            assert diff <= (1.0 if dtype == torch.uint8 else 1e-5)


def test_gaussian_blur_functional(gen):
    x = random_images((3, 3, 10, 12), torch.float32, channels_last=True, generator=gen)
    ref = R.gaussian_blur(R.to_unit(x), 5, torch.full((3,), 1.5))
    with poison_outputs():
        out = F.gaussian_blur(x, 5, 1.5)
        assert torch.equal(F.gaussian_blur(x, (5, 5), torch.tensor(1.5)), out)
        assert torch.equal(F.gaussian_blur(x, [5, 5], torch.full((3,), 1.5)), out)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert_close_to_reference(out, ref)
    out_u8 = F.gaussian_blur(x, 5, 1.5, out_dtype=torch.uint8)
    assert out_u8.dtype == torch.uint8
    assert_close_to_reference(out_u8, ref)
    empty = torch.rand(0, 3, 4, 5)
    assert F.gaussian_blur(empty, 23, torch.empty(0)).shape == (0, 3, 4, 5)
    assert run_op("cpu", "gaussian_blur", empty, 3, torch.empty(0), None, None, None, torch.uint8).dtype == torch.uint8


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_gaussian_blur_apply_and_normalize(backend, shape, dtype, gen):
    """Per-sample apply (others copied) and the normalize epilogue, against the reference."""
    skip_unsupported(backend, dtype, bfloat16=True)
    shape = shape_for(backend, shape)
    x = random_images(shape, dtype, generator=gen)
    sigma = _sigmas(shape[0], gen)
    apply = torch.rand(shape[0], generator=gen) < 0.5
    apply[0] = not bool(apply[-1]) if shape[0] > 1 else apply[0]
    k = 5
    out = _blur(backend, x, k, sigma, dtype, apply=apply)
    assert_close_to_reference(out, R.gaussian_blur(R.to_unit(x), k, sigma, apply), msg="apply",
                              backend=backend)
    kept = ~apply
    assert torch.equal(out[kept], x[kept])  # copies are exact
    mean, std = torch.tensor(MEAN), torch.tensor(STD)
    for a in (None, apply):
        out = _blur(backend, x, k, sigma, torch.float32, apply=a, mean=mean, std=std)
        ref = R.gaussian_blur(R.to_unit(x), k, sigma, a, MEAN, STD)
        assert_close_to_reference(out, ref, msg=f"normalize, apply={a}", backend=backend)


def test_gaussian_blur_functional_apply_normalize(gen):
    x = random_images((4, 3, 12, 13), torch.uint8, generator=gen)
    sigma = torch.tensor([0.5, 1.0, 1.5, 2.0])
    apply = torch.tensor([True, False, False, True])
    out = F.gaussian_blur(x, 5, sigma, apply, mean=MEAN, std=STD)
    assert out.dtype == torch.float32
    assert_close_to_reference(out, R.gaussian_blur(R.to_unit(x), 5, sigma, apply, MEAN, STD))
    assert torch.equal(F.gaussian_blur(x, 5, sigma, True), F.gaussian_blur(x, 5, sigma))
    assert torch.equal(F.gaussian_blur(x, 5, sigma, False), x)
    with pytest.raises(ValueError, match="mean, std"):
        F.gaussian_blur(x, 5, sigma, mean=MEAN)
    with pytest.raises(ValueError, match="apply"):
        F.gaussian_blur(x, 5, sigma, torch.tensor([True, False]))
    with pytest.raises(TypeError, match="apply"):
        F.gaussian_blur(x, 5, sigma, torch.ones(4))
    with pytest.raises(ValueError, match="std"):
        F.gaussian_blur(x, 5, sigma, mean=MEAN, std=[0.2, 0.0, 0.2])
    with pytest.raises(TypeError, match="out_dtype"):
        F.gaussian_blur(x, 5, sigma, mean=MEAN, std=STD, out_dtype=torch.uint8)


def test_gaussian_blur_errors():
    x = torch.rand(2, 3, 8, 9)
    s = torch.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="images"):
        F.gaussian_blur(torch.rand(3, 8, 9), 3, 1.0)
    with pytest.raises(TypeError, match="images"):
        F.gaussian_blur(x.double(), 3, 1.0)
    for bad in (0, -3, 4):
        with pytest.raises(ValueError, match="kernel_size"):
            F.gaussian_blur(x, bad, s)
    with pytest.raises(ValueError, match="kernel_size"):
        F.gaussian_blur(x, (3, 5), s)
    with pytest.raises(ValueError, match="kernel_size"):
        F.gaussian_blur(x, (3, 3, 3), s)
    with pytest.raises(TypeError, match="kernel_size"):
        F.gaussian_blur(x, 3.0, s)
    with pytest.raises(TypeError, match="kernel_size"):
        F.gaussian_blur(x, True, s)
    with pytest.raises(ValueError, match="kernel_size"):  # reflect padding needs k // 2 < H, W
        F.gaussian_blur(x, 17, s)
    with pytest.raises(ValueError, match="kernel_size"):
        F.gaussian_blur(torch.rand(2, 3, 20, 5), 11, s)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="sigma"):
            F.gaussian_blur(x, 3, bad)
        with pytest.raises(ValueError, match="sigma"):
            F.gaussian_blur(x, 3, torch.tensor([1.0, bad]))
    with pytest.raises(ValueError, match="sigma"):
        F.gaussian_blur(x, 3, torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="sigma"):
        F.gaussian_blur(x, 3, torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="sigma"):
        F.gaussian_blur(x, 3, torch.ones(2, device="meta"))
    with pytest.raises(TypeError, match="sigma"):
        F.gaussian_blur(x, 3, [1.0, 2.0])
    with pytest.raises(TypeError, match="out_dtype"):
        F.gaussian_blur(x, 3, s, out_dtype=torch.int32)


@pytest.mark.parametrize("backend_name", ["cpu", "triton"])
def test_gaussian_blur_op_level_errors(backend_name):
    """The C++ op and the Triton launcher check their arguments themselves."""
    skip_unsupported(backend_name)
    x = torch.rand(2, 3, 8, 9)
    s = torch.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="kernel_size"):
        run_op(backend_name, "gaussian_blur", x, 4, s, None, None, None, torch.float32)
    with pytest.raises(ValueError, match="kernel_size"):
        run_op(backend_name, "gaussian_blur", x, 17, s, None, None, None, torch.float32)
    if value_checks(backend_name):  # on CPU tensors only
        with pytest.raises(ValueError, match="sigma"):
            run_op(backend_name, "gaussian_blur", x, 3, torch.tensor([1.0, 0.0]), None, None, None,
                   torch.float32)
    with pytest.raises(ValueError, match="sigma"):
        run_op(backend_name, "gaussian_blur", x, 3, torch.tensor([1.0]), None, None, None, torch.float32)
    with pytest.raises(TypeError, match="sigma"):
        run_op(backend_name, "gaussian_blur", x, 3, s.double(), None, None, None, torch.float32)
    with pytest.raises(TypeError, match="out_dtype"):
        run_op(backend_name, "gaussian_blur", x, 3, s, None, None, None, torch.int32)


def test_gaussian_blur_opcheck(gen):
    op = torch.ops.datagen_gpu.gaussian_blur.default
    x = torch.rand(2, 3, 9, 11, generator=gen)
    torch.library.opcheck(op, (x, 5, torch.tensor([0.5, 2.0]), None, None, None, torch.float32))
    torch.library.opcheck(op, (x, 5, torch.tensor([0.5, 2.0]), torch.tensor([True, False]),
                               torch.tensor(MEAN), torch.tensor(STD), torch.float32))
    xu = random_images((3, 3, 7, 10), torch.uint8, channels_last=True, generator=gen)
    torch.library.opcheck(op, (xu, 3, torch.tensor([0.3, 1.0, 9.0]), None, None, None, torch.float16))


# --------------------------------------------------------------------------- normalize


def _normalize(backend, x, mean, std, out_dtype):
    x_before = x.clone()
    with poison_outputs():
        out = run_op(backend, "normalize", x, mean, std, out_dtype)
    assert torch.equal(x, x_before), "input mutated"
    assert out.dtype == out_dtype and out.shape == x.shape
    return out


@pytest.mark.parametrize("shape", SHAPES + [(3, 1, 9, 11), (2, 4, 10, 13)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_normalize_matches_reference(backend, shape, dtype, channels_last, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    shape = shape_for(backend, shape)
    x = random_images(shape, dtype, channels_last=channels_last, generator=gen)
    mean = torch.rand(shape[1], generator=gen)
    std = 0.1 + torch.rand(shape[1], generator=gen)
    out = _normalize(backend, x, mean, std, torch.float32)
    if channels_last and shape[1] > 1:
        assert out.is_contiguous(memory_format=torch.channels_last)
    assert_close_to_reference(out, R.normalize(R.to_unit(x), mean, std), msg="normalize", backend=backend)


@pytest.mark.parametrize("in_dtype", DTYPES)
@pytest.mark.parametrize("out_dtype", FLOAT_OUT)
@pytest.mark.parametrize("channels_last", [False, True])
def test_normalize_out_dtype(backend, in_dtype, out_dtype, channels_last, gen):
    skip_unsupported(backend, in_dtype, out_dtype, bfloat16=True)
    x = random_images((3, 3, 9, 11), in_dtype, channels_last=channels_last, generator=gen)
    mean, std = torch.tensor(MEAN), torch.tensor(STD)
    out = _normalize(backend, x, mean, std, out_dtype)
    assert_close_to_reference(out, R.normalize(R.to_unit(x), mean, std), backend=backend)


def test_normalize_functional(gen):
    x = random_images((2, 3, 5, 6), torch.uint8, generator=gen)
    ref = R.normalize(R.to_unit(x), MEAN, STD)
    with poison_outputs():
        out = F.normalize(x, MEAN, STD)
        assert out.dtype == torch.float32
        assert torch.equal(F.normalize(x, tuple(MEAN), torch.tensor(STD)), out)
        assert torch.equal(F.normalize(x, torch.tensor(MEAN, dtype=torch.float64), STD), out)
        half = F.normalize(x, MEAN, STD, out_dtype=torch.float16)
        bf16 = F.normalize(x, MEAN, STD, out_dtype=torch.bfloat16)
        scalar = F.normalize(x, 0.5, 0.25)
        single = F.normalize(x, [0.5], torch.tensor(0.25))
    assert_close_to_reference(out, ref)
    assert_close_to_reference(half, ref)
    assert_close_to_reference(bf16, ref)
    assert torch.equal(scalar, single)
    assert_close_to_reference(scalar, R.normalize(R.to_unit(x), [0.5] * 3, [0.25] * 3))
    assert scalar.abs().max() > 1.0  # not clamped
    xf = random_images((2, 3, 5, 6), torch.float32, generator=gen)
    assert_close_to_reference(F.normalize(xf, MEAN, STD), R.normalize(R.to_unit(xf), MEAN, STD))
    empty = torch.empty(0, 3, 4, 5, dtype=torch.uint8)
    out_empty = F.normalize(empty, MEAN, STD)
    assert out_empty.shape == (0, 3, 4, 5) and out_empty.dtype == torch.float32


def test_normalize_errors():
    x = torch.rand(2, 3, 4, 5)
    with pytest.raises(ValueError, match="images"):
        F.normalize(torch.rand(3, 4, 5), MEAN, STD)
    with pytest.raises(TypeError, match="images"):
        F.normalize(x.to(torch.int32), MEAN, STD)
    with pytest.raises(ValueError, match="std"):
        F.normalize(x, MEAN, [0.2, 0.0, 0.2])
    with pytest.raises(ValueError, match="std"):
        F.normalize(x, MEAN, 0.0)
    with pytest.raises(ValueError, match="mean"):
        F.normalize(x, [0.5, 0.5], STD)
    with pytest.raises(ValueError, match="std"):
        F.normalize(x, MEAN, torch.ones(4))
    with pytest.raises(ValueError, match="mean"):
        F.normalize(x, torch.ones(3, device="meta"), STD)
    with pytest.raises(TypeError, match="mean"):
        F.normalize(x, "0.5", STD)
    with pytest.raises(TypeError, match="std"):
        F.normalize(x, MEAN, torch.ones(3, dtype=torch.bool))
    for bad in (torch.uint8, torch.int32, torch.float64, "float32"):
        with pytest.raises(TypeError, match="out_dtype"):
            F.normalize(x, MEAN, STD, out_dtype=bad)


@pytest.mark.parametrize("backend_name", ["cpu", "triton"])
def test_normalize_op_level_errors(backend_name):
    skip_unsupported(backend_name)
    x = torch.rand(2, 3, 4, 5)
    mean, std = torch.tensor(MEAN), torch.tensor(STD)
    with pytest.raises(ValueError, match="mean"):
        run_op(backend_name, "normalize", x, mean[:2], std, torch.float32)
    with pytest.raises(TypeError, match="std"):
        run_op(backend_name, "normalize", x, mean, std.double(), torch.float32)
    if value_checks(backend_name):  # on CPU tensors only
        with pytest.raises(ValueError, match="std"):
            run_op(backend_name, "normalize", x, mean, torch.tensor([1.0, 0.0, 1.0]), torch.float32)
    with pytest.raises(TypeError, match="out_dtype"):
        run_op(backend_name, "normalize", x, mean, std, torch.uint8)


def test_normalize_opcheck(gen):
    op = torch.ops.datagen_gpu.normalize.default
    mean, std = torch.tensor(MEAN), torch.tensor(STD)
    xu = random_images((2, 3, 5, 7), torch.uint8, channels_last=True, generator=gen)
    torch.library.opcheck(op, (xu, mean, std, torch.float32))
    x = torch.rand(3, 3, 4, 6, generator=gen)
    torch.library.opcheck(op, (x, mean, std, torch.bfloat16))
