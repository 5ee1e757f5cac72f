"""mix (Mixup + CutMix kernel), cutmix's corrected lambda and mix_labels against the reference."""
import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu.testing import assert_close_to_reference, poison_outputs, random_images

from _backends import DTYPES, HAS_TRITON, SHAPES, run_op, shape_for, skip_unsupported


def random_mix_params(B, H, W, gen):
    """Weights (some exactly 0 or 1), partners (with repeats), boxes: empty, inside, partly or fully outside."""
    lam = torch.rand(B, generator=gen)
    lam[torch.rand(B, generator=gen) < 0.2] = 1.0
    lam[torch.rand(B, generator=gen) < 0.1] = 0.0
    perm = torch.randint(0, B, (B,), generator=gen)
    top = torch.randint(-H // 2, H, (B,), generator=gen)
    left = torch.randint(-W // 2, W, (B,), generator=gen)
    h = torch.randint(0, H + 2, (B,), generator=gen)
    w = torch.randint(0, W + 2, (B,), generator=gen)
    boxes = torch.stack([top, left, h, w], 1)
    boxes[torch.rand(B, generator=gen) < 0.2] = 0
    return lam, boxes, perm


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_mix_matches_reference(backend, shape, dtype, channels_last, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    shape = shape_for(backend, shape)
    B, _, H, W = shape
    x = random_images(shape, dtype, channels_last=channels_last, generator=gen)
    lam, boxes, perm = random_mix_params(B, H, W, gen)
    x_before = x.clone()
    with poison_outputs():
        out = run_op(backend, "mix", x, lam, boxes, perm, dtype)
    assert out.dtype == dtype and out.shape == x.shape
    assert out.is_contiguous(memory_format=torch.channels_last) == channels_last
    assert_close_to_reference(out, R.mix(R.to_unit(x), lam, boxes, perm), msg="mix", backend=backend)
    assert torch.equal(x, x_before)


@pytest.mark.parametrize("out_dtype", DTYPES)
def test_mix_out_dtype(backend, out_dtype, gen):
    skip_unsupported(backend, out_dtype, bfloat16=True)
    x = random_images((3, 3, 9, 11), torch.uint8, generator=gen)
    lam, boxes, perm = random_mix_params(3, 9, 11, gen)
    with poison_outputs():
        out = run_op(backend, "mix", x, lam, boxes, perm, out_dtype)
    assert out.dtype == out_dtype
    assert_close_to_reference(out, R.mix(R.to_unit(x), lam, boxes, perm), backend=backend)


def test_mixup_and_cutmix_functionals(gen):
    x = random_images((4, 3, 13, 17), torch.float32, generator=gen)
    perm = torch.tensor([3, 2, 1, 0])
    lam = torch.tensor([0.0, 0.25, 0.5, 1.0])
    assert_close_to_reference(F.mixup(x, lam, perm), R.mixup(R.to_unit(x), lam, perm))
    assert torch.equal(F.mixup(x, 1.0, perm), x)  # lam = 1: the sample itself, exactly
    assert torch.equal(F.mixup(x, 0.0, perm), x[perm])  # lam = 0: the partner, exactly
    boxes = torch.tensor([[2, 3, 5, 4], [-3, -3, 6, 6], [10, 12, 9, 9], [0, 0, 13, 17]])
    mixed, lam_c = F.cutmix(x, boxes, perm)
    ref, ref_lam = R.cutmix(R.to_unit(x), boxes, perm)
    assert torch.equal(mixed, ref.float())  # copies only
    torch.testing.assert_close(lam_c, ref_lam.float())
    assert lam_c.tolist() == pytest.approx([1 - 20 / 221, 1 - 9 / 221, 1 - 15 / 221, 0.0])
    # float boxes with integer values and uint8 out_dtype
    mixed_u8, _ = F.cutmix(x, boxes.double(), perm, out_dtype=torch.uint8)
    assert mixed_u8.dtype == torch.uint8


@pytest.mark.parametrize("channels_last", [False, True])
def test_cutmix_lam_is_the_pasted_area(channels_last, gen):
    """Corrected lam == share of pixels that still come from the sample itself."""
    B, H, W = 6, 19, 23
    x = torch.arange(B, dtype=torch.float32).view(B, 1, 1, 1).expand(B, 3, H, W) / B
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    perm = (torch.arange(B) + 1) % B
    for _ in range(5):
        _, boxes, _ = random_mix_params(B, H, W, gen)
        mixed, lam = F.cutmix(x, boxes, perm)
        own = (mixed == x).all(dim=1).double().mean(dim=(1, 2))
        from_partner = (mixed == x[perm]).all(dim=1).double().mean(dim=(1, 2))
        torch.testing.assert_close(lam.double(), own, rtol=0, atol=1e-7)
        torch.testing.assert_close(1 - lam.double(), from_partner, rtol=0, atol=1e-7)


def test_mix_empty_batch_and_identity_partner():
    empty = torch.rand(0, 3, 4, 5)
    z = torch.zeros(0, dtype=torch.int64)
    assert F.mix(empty, torch.zeros(0), torch.zeros(0, 4, dtype=torch.int64), z).shape == (0, 3, 4, 5)
    assert F.mixup(empty, 0.5, z).shape == (0, 3, 4, 5)
    x = random_images((3, 3, 8, 8), torch.uint8)
    same = torch.arange(3)
    assert torch.equal(F.mixup(x, 0.3, same), x)  # mixing with itself changes nothing (uint8 exact)


def test_mix_errors():
    x = torch.rand(2, 3, 4, 5)
    perm = torch.tensor([1, 0])
    boxes = torch.zeros(2, 4, dtype=torch.int64)
    with pytest.raises(ValueError, match="images"):
        F.mixup(torch.rand(3, 4, 5), 0.5, perm)
    with pytest.raises(TypeError, match="images"):
        F.mixup(x.double(), 0.5, perm)
    with pytest.raises(ValueError, match="lam"):
        F.mixup(x, torch.tensor([0.5, 0.5, 0.5]), perm)
    with pytest.raises(ValueError, match="lam"):
        F.mixup(x, 1.5, perm)
    with pytest.raises(TypeError, match="perm"):
        F.mixup(x, 0.5, torch.tensor([1.0, 0.0]))
    with pytest.raises(TypeError, match="perm"):
        F.mixup(x, 0.5, [1, 0])
    with pytest.raises(ValueError, match="perm"):
        F.mixup(x, 0.5, torch.tensor([1, 0, 0]))
    with pytest.raises(ValueError, match="perm"):
        F.mixup(x, 0.5, torch.tensor([2, 0]))
    with pytest.raises(ValueError, match="boxes"):
        F.cutmix(x, torch.zeros(2, 3, dtype=torch.int64), perm)
    with pytest.raises(ValueError, match="boxes"):
        F.cutmix(x, torch.tensor([[0, 0, -1, 2], [0, 0, 1, 1]]), perm)
    with pytest.raises(ValueError, match="boxes"):
        F.cutmix(x, torch.tensor([[0.5, 0, 1, 2], [0, 0, 1, 1]]), perm)
    with pytest.raises(TypeError, match="boxes"):
        F.cutmix(x, torch.zeros(2, 4, dtype=torch.bool), perm)
    with pytest.raises(TypeError, match="out_dtype"):
        F.mix(x, 0.5, boxes, perm, out_dtype=torch.int32)
    # the op itself checks too (C++ and Triton)
    lam = torch.full((2,), 0.5)
    for backend in ["cpu"] + (["triton"] if HAS_TRITON else []):
        with pytest.raises(TypeError, match="lam"):
            run_op(backend, "mix", x, lam.double(), boxes, perm, torch.float32)
        with pytest.raises(ValueError, match="boxes"):
            run_op(backend, "mix", x, lam, boxes[:1], perm, torch.float32)
        with pytest.raises(TypeError, match="boxes"):
            run_op(backend, "mix", x, lam, boxes.int(), perm, torch.float32)
        with pytest.raises(TypeError, match="perm"):
            run_op(backend, "mix", x, lam, boxes, perm.int(), torch.float32)


def test_mix_kernel_clamps_out_of_range_partners():
    """Values are only validated on CPU in Python; the kernels stay memory-safe for any value."""
    x = torch.rand(3, 3, 4, 4)
    out = torch.ops.datagen_gpu.mix(x, torch.zeros(3), torch.zeros(3, 4, dtype=torch.int64),
                                    torch.tensor([-5, 1, 99]), torch.float32)
    assert torch.equal(out, x[torch.tensor([0, 1, 2])])


def test_mix_opcheck():
    x = torch.rand(2, 3, 5, 7)
    boxes = torch.tensor([[1, 1, 2, 3], [0, 0, 0, 0]])
    args = (x, torch.tensor([1.0, 0.3]), boxes, torch.tensor([1, 0]), torch.float32)
    torch.library.opcheck(torch.ops.datagen_gpu.mix.default, args)
    xu = random_images((3, 3, 4, 6), torch.uint8, channels_last=True)
    args = (xu, torch.tensor([0.5, 1.0, 0.2]), torch.tensor([[0, 0, 2, 2], [1, 1, 9, 9], [0, 0, 0, 0]]),
            torch.tensor([2, 0, 1]), torch.uint8)
    torch.library.opcheck(torch.ops.datagen_gpu.mix.default, args)


# ----------------------------------------------------------------------------- labels


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_mix_labels_matches_reference(smoothing, gen):
    B, K = 7, 5
    labels = torch.randint(0, K, (B,), generator=gen)
    lam = torch.rand(B, generator=gen)
    perm = torch.randperm(B, generator=gen)
    out = F.mix_labels(labels, lam, perm, K, smoothing)
    assert out.dtype == torch.float32 and out.shape == (B, K)
    torch.testing.assert_close(out.double(), R.mix_labels(labels, lam, perm, K, smoothing), atol=1e-6, rtol=0)
    torch.testing.assert_close(out.sum(1), torch.ones(B))
    if smoothing:
        assert float(out.min()) >= smoothing / K - 1e-7
    soft = torch.softmax(torch.randn(B, K, generator=gen, dtype=torch.float64), 1)
    out_soft = F.mix_labels(soft, lam, perm, label_smoothing=smoothing)
    assert out_soft.dtype == torch.float64
    torch.testing.assert_close(out_soft, R.mix_labels(soft, lam, perm, K, smoothing))
    torch.testing.assert_close(out_soft.sum(1), torch.ones(B, dtype=torch.float64))


def test_mix_labels_timm_formula():
    # timm: off = s / K, on = 1 - s + off, target = lam * y + (1 - lam) * y.flip(0)
    out = F.mix_labels(torch.tensor([0, 1, 2]), 0.7, torch.tensor([2, 1, 0]), 4, 0.2)
    off, on = 0.05, 0.85
    expected = torch.tensor([[0.7 * on + 0.3 * off, off, 0.7 * off + 0.3 * on, off],
                             [off, on, off, off],
                             [0.7 * off + 0.3 * on, off, 0.7 * on + 0.3 * off, off]])
    torch.testing.assert_close(out, expected)


def test_mix_labels_errors():
    perm = torch.tensor([1, 0])
    with pytest.raises(ValueError, match="num_classes"):
        F.mix_labels(torch.tensor([0, 1]), 0.5, perm)
    with pytest.raises(ValueError, match="labels"):
        F.mix_labels(torch.tensor([0, 3]), 0.5, perm, 3)
    with pytest.raises(TypeError, match="labels"):
        F.mix_labels(torch.tensor([0.0, 1.0]), 0.5, perm, 3)
    with pytest.raises(ValueError, match="labels"):
        F.mix_labels(torch.zeros(2, 3, 1), 0.5, perm, 3)
    with pytest.raises(ValueError, match="num_classes"):
        F.mix_labels(torch.zeros(2, 3), 0.5, perm, 4)
    with pytest.raises(ValueError, match="label_smoothing"):
        F.mix_labels(torch.tensor([0, 1]), 0.5, perm, 3, label_smoothing=1.0)
    with pytest.raises(ValueError, match="perm"):
        F.mix_labels(torch.tensor([0, 1]), 0.5, torch.tensor([0]), 3)
    with pytest.raises(ValueError, match="lam"):
        F.mix_labels(torch.tensor([0, 1]), -0.5, perm, 3)
