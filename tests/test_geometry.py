"""hflip against the float64 reference, on every backend (resized_crop: test_resized_crop.py)."""
import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu.testing import assert_close_to_reference, poison_outputs, random_images

from _backends import DTYPES, SHAPES, run_op, shape_for, skip_unsupported


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_hflip_matches_reference(backend, shape, dtype, channels_last, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    shape = shape_for(backend, shape)
    x = random_images(shape, dtype, channels_last=channels_last, generator=gen)
    apply = torch.rand(shape[0], generator=gen) < 0.5
    x_before = x.clone()
    with poison_outputs():
        out = run_op(backend, "hflip", x, apply, dtype)
    assert out.dtype == dtype and out.shape == x.shape
    assert out.is_contiguous(memory_format=torch.channels_last) == channels_last or shape[1] == 1
    assert_close_to_reference(out, R.hflip(R.to_unit(x), apply), msg="hflip", backend=backend)
    assert torch.equal(x, x_before)


@pytest.mark.parametrize("out_dtype", DTYPES)
def test_hflip_out_dtype(backend, out_dtype, gen):
    skip_unsupported(backend, out_dtype, bfloat16=True)
    x = random_images((3, 3, 9, 11), torch.uint8, generator=gen)
    apply = torch.tensor([True, False, True])
    with poison_outputs():
        out = run_op(backend, "hflip", x, apply, out_dtype)
    assert out.dtype == out_dtype
    assert_close_to_reference(out, R.hflip(R.to_unit(x), apply), backend=backend)


def test_hflip_functional_defaults_and_empty():
    x = torch.rand(2, 3, 4, 5)
    assert torch.equal(F.hflip(x), x.flip(-1))
    assert torch.equal(F.hflip(x, False), x)
    empty = torch.rand(0, 3, 4, 5)
    assert F.hflip(empty).shape == (0, 3, 4, 5)


def test_hflip_errors():
    x = torch.rand(2, 3, 4, 5)
    with pytest.raises(ValueError, match="images"):
        F.hflip(torch.rand(3, 4, 5))
    with pytest.raises(TypeError, match="images"):
        F.hflip(x.double())
    with pytest.raises(ValueError, match="apply"):
        F.hflip(x, torch.tensor([True, False, True]))
    with pytest.raises(TypeError, match="apply"):
        F.hflip(x, torch.tensor([1.0, 0.0]))
    with pytest.raises(TypeError, match="out_dtype"):
        F.hflip(x, out_dtype=torch.int32)
    with pytest.raises(ValueError, match="apply"):  # the C++ op checks too
        torch.ops.datagen_gpu.hflip(x, torch.tensor([True]), torch.float32)


def test_hflip_opcheck():
    x = torch.rand(2, 3, 5, 7)
    torch.library.opcheck(torch.ops.datagen_gpu.hflip.default, (x, torch.tensor([True, False]), torch.float32))
    xu = random_images((3, 3, 4, 6), torch.uint8, channels_last=True)
    torch.library.opcheck(torch.ops.datagen_gpu.hflip.default, (xu, torch.tensor([True, False, True]), torch.uint8))
