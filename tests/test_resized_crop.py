"""resized_crop against the float64 reference (C++ and Triton backends) and against
torch.nn.functional.interpolate on the zero-padded crop, torchvision's definition."""
import importlib.util

import pytest
import torch
import torch.nn.functional as TF

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu.functional.geometry import _pack_images
from datagen_gpu.testing import assert_close_to_reference, poison_outputs, random_images

from _backends import DTYPES, SHAPES, run_op, shape_for, skip_unsupported

BOX_KINDS = ["integer", "fractional", "outside"]


def random_boxes(sizes, kind, gen):
    """(B, 4) boxes for images of sizes [(H, W), ...]: from 0.2x to 1.3x the image.

    "integer": integer boxes inside the image; "fractional": sub-pixel boxes inside
    it; "outside": integer boxes that may leave the image on any side.
    """
    rows = []
    for h, w in sizes:
        u = torch.rand(4, generator=gen, dtype=torch.float64).tolist()
        if kind == "outside":
            bh, bw = 1 + u[2] * 1.3 * h, 1 + u[3] * 1.3 * w
            top, left = (u[0] - 0.3) * h, (u[1] - 0.3) * w
        else:
            bh, bw = max(0.2 * h, u[2] * h), max(0.2 * w, u[3] * w)
            top, left = u[0] * (h - bh), u[1] * (w - bw)
        box = [top, left, bh, bw]
        if kind != "fractional":
            box = [float(int(v)) for v in box]
            box[2], box[3] = max(box[2], 1.0), max(box[3], 1.0)
            if kind == "integer":
                box[0], box[1] = min(box[0], h - box[2]), min(box[1], w - box[3])
        rows.append(box)
    return torch.tensor(rows, dtype=torch.float32).reshape(-1, 4)


def op_args(images, boxes, size, flip=None, antialias=True, out_dtype=None):
    """The op-level arguments functional.resized_crop passes for these inputs."""
    src, meta, channels, dtype, _, channels_last = _pack_images(images)
    if flip is None:
        flip = torch.zeros(meta.shape[0], dtype=torch.bool)
    return (src, meta, channels, boxes, flip, size[0], size[1], antialias, out_dtype or dtype,
            channels_last)


def reference(images, boxes, size, flip, antialias):
    unit = [R.to_unit(x) for x in images] if isinstance(images, list) else R.to_unit(images)
    return R.resized_crop(unit, boxes, size, flip, antialias)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("antialias", [True, False])
def test_resized_crop_matches_reference(backend, shape, dtype, channels_last, antialias, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    shape = shape_for(backend, shape)
    B, C, H, W = shape
    x = random_images(shape, dtype, channels_last=channels_last, generator=gen)
    kind = BOX_KINDS[int(torch.randint(0, 3, (1,), generator=gen))]
    boxes = random_boxes([(H, W)] * B, kind, gen)
    flip = torch.rand(B, generator=gen) < 0.5
    size = (H // 2 + 1, W + 7)  # downscale rows, upscale columns (boxes vary the scales)
    x_before, boxes_before = x.clone(), boxes.clone()
    with poison_outputs():
        out = run_op(backend, "resized_crop", *op_args(x, boxes, size, flip, antialias))
    assert out.dtype == dtype and out.shape == (B, C) + size
    assert out.is_contiguous(memory_format=torch.channels_last if channels_last else
                             torch.contiguous_format)
    assert_close_to_reference(out, reference(x, boxes, size, flip, antialias), msg=kind,
                              backend=backend)
    assert torch.equal(x, x_before) and torch.equal(boxes, boxes_before)


@pytest.mark.parametrize("in_dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("out_dtype", DTYPES)
def test_resized_crop_out_dtype(backend, in_dtype, out_dtype, gen):
    skip_unsupported(backend, in_dtype, out_dtype, bfloat16=True)
    x = random_images((2, 3, 13, 11), in_dtype, generator=gen)
    boxes = random_boxes([(13, 11)] * 2, "fractional", gen)
    flip = torch.tensor([True, False])
    with poison_outputs():
        out = run_op(backend, "resized_crop", *op_args(x, boxes, (9, 17), flip, True, out_dtype))
    assert out.dtype == out_dtype
    assert_close_to_reference(out, reference(x, boxes, (9, 17), flip, True), backend=backend)


@pytest.mark.parametrize("hwc", [False, True])
def test_resized_crop_ragged(backend, hwc, gen):
    sizes = [(17, 29), (64, 48), (7, 130), (5, 6), (40, 9)]
    if backend == "triton":
        sizes = [(17, 29), (7, 30), (12, 9)]
    dtype = torch.float32 if backend == "triton" else torch.uint8
    images = [random_images((1, 3) + s, dtype, channels_last=hwc, generator=gen)[0] for s in sizes]
    boxes = torch.cat([random_boxes([s], kind, gen) for s, kind in zip(sizes, BOX_KINDS * 2)])
    flip = torch.rand(len(sizes), generator=gen) < 0.5
    befores = [x.clone() for x in images]
    with poison_outputs():
        out = run_op(backend, "resized_crop",
                     *op_args(images, boxes, (11, 14), flip, True, torch.float32))
    # a list of HWC-strided images gives a channels-last output
    assert out.is_contiguous(memory_format=torch.channels_last) == hwc
    assert_close_to_reference(out, reference(images, boxes, (11, 14), flip, True))
    assert all(torch.equal(x, y) for x, y in zip(images, befores))


def test_resized_crop_ragged_functional_matches_dense(gen):
    x = random_images((3, 3, 20, 24), torch.float32, generator=gen)
    boxes = random_boxes([(20, 24)] * 3, "fractional", gen)
    flip = torch.tensor([True, False, True])
    dense = F.resized_crop(x, boxes, (8, 10), flip=flip)
    ragged = F.resized_crop(list(x.unbind(0)), boxes, (8, 10), flip=flip)
    assert torch.equal(dense, ragged)
    mixed = [x[0], x[1].permute(1, 2, 0).contiguous().permute(2, 0, 1), x[2]]  # one HWC image
    out = F.resized_crop(mixed, boxes, (8, 10), flip=flip)
    assert torch.equal(out, dense) and out.is_contiguous()


def test_resized_crop_strided_view_without_copy(gen):
    base = random_images((2, 3, 30, 40), torch.float32, generator=gen)
    x = base[:, :, 3:25:2, 5:]  # non-contiguous view: read in place through its strides
    boxes = random_boxes([(11, 35)] * 2, "outside", gen)
    out = F.resized_crop(x, boxes, (7, 9), antialias=True)
    assert_close_to_reference(out, reference(x, boxes, (7, 9), None, True))


@pytest.mark.parametrize("antialias", [True, False])
def test_resized_crop_matches_interpolate_on_integer_boxes(antialias, gen):
    """torchvision's resized_crop of a float image is crop (zero-padded outside the
    image) + interpolate(bilinear, align_corners=False, antialias); check it in float64."""
    for trial in range(40):
        H, W = (int(v) for v in torch.randint(1, 40, (2,), generator=gen))
        top, left = (int(v) for v in torch.randint(-4, 30, (2,), generator=gen))
        h, w = (int(v) for v in torch.randint(1, 45, (2,), generator=gen))
        # ATen's antialiased kernel is wrong for an output dimension of 1: avoid it
        oh, ow = (int(v) for v in torch.randint(2, 50, (2,), generator=gen))
        if trial % 10 == 0:
            oh, ow = h, w  # torchvision returns the crop itself
        x = torch.rand(1, 3, H, W, generator=gen)
        padded = torch.zeros(1, 3, h, w, dtype=torch.float64)
        ys, xs = slice(max(top, 0), max(min(top + h, H), 0)), slice(max(left, 0), max(min(left + w, W), 0))
        if ys.stop > ys.start and xs.stop > xs.start:
            padded[..., ys.start - top:ys.stop - top, xs.start - left:xs.stop - left] = x[..., ys, xs]
        expected = TF.interpolate(padded, size=(oh, ow), mode="bilinear", align_corners=False,
                                  antialias=antialias)
        boxes = torch.tensor([[top, left, h, w]], dtype=torch.float32)
        out = F.resized_crop(x, boxes, (oh, ow), antialias=antialias)
        assert_close_to_reference(out, expected, msg=f"{(H, W)} box {(top, left, h, w)} -> {(oh, ow)}")
        out8 = F.resized_crop((x * 255).round().to(torch.uint8), boxes, (oh, ow), antialias=antialias)
        exp8 = TF.interpolate(padded.mul(255).round() / 255, size=(oh, ow), mode="bilinear",
                              antialias=antialias)
        assert_close_to_reference(out8, exp8)


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is None, reason="torchvision not installed")
@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
@pytest.mark.parametrize("antialias", [True, False])
def test_resized_crop_matches_torchvision(dtype, antialias, gen):
    from torchvision.transforms.v2 import functional as TVF

    x = random_images((4, 3, 37, 41), dtype, generator=gen)
    boxes = torch.cat([random_boxes([(37, 41)] * 2, "integer", gen),
                       random_boxes([(37, 41)] * 2, "outside", gen)])
    flip = torch.tensor([True, False, False, True])
    out = F.resized_crop(x, boxes, (23, 30), flip=flip, antialias=antialias)
    for i in range(4):
        t, l, h, w = (int(v) for v in boxes[i])
        if t + h <= 0 or l + w <= 0:
            continue  # torchvision's crop slices from the end for a negative bottom/right
        exp = TVF.resized_crop(x[i], t, l, h, w, [23, 30], antialias=antialias)
        exp = TVF.hflip(exp) if flip[i] else exp
        assert_close_to_reference(out[i], R.to_unit(exp))


def test_resized_crop_semantics_by_hand():
    x = torch.arange(12, dtype=torch.float32).reshape(1, 1, 3, 4) / 16
    same = F.resized_crop(x, torch.tensor([[0.0, 0.0, 3.0, 4.0]]), (3, 4))
    assert torch.equal(same, x)  # identity box and size
    flipped = F.resized_crop(x, torch.tensor([[0.0, 0.0, 3.0, 4.0]]), (3, 4), flip=True)
    assert torch.equal(flipped, x.flip(-1))
    crop = F.resized_crop(x, torch.tensor([[1.0, 1.0, 2.0, 2.0]]), 2)
    assert torch.equal(crop, x[..., 1:3, 1:3])
    # a half-pixel shift at scale 1 averages neighbouring pixels (bilinear, no antialias)
    half = F.resized_crop(x, torch.tensor([[0.0, 0.5, 3.0, 3.0]]), (3, 3), antialias=False)
    torch.testing.assert_close(half, (x[..., :3] + x[..., 1:]) / 2)
    # a box entirely outside the image is all zeros (torchvision pads with zeros)
    assert torch.equal(F.resized_crop(x, torch.tensor([[5.0, 9.0, 2.0, 2.0]]), 3),
                       torch.zeros(1, 1, 3, 3))


def test_resized_crop_extreme_boxes_are_memory_safe(backend):
    skip_unsupported(backend)
    x = random_images((4, 2, 9, 7), torch.float32)
    boxes = torch.tensor([[1e30, -1e30, 1e30, 1e30], [-5e9, 2.0, 1e10, 1e-20],
                          [3.0, 1.0, 1e-30, 3e9], [0.0, 0.0, 9.0, 7.0]], dtype=torch.float32)
    flip = torch.tensor([False, True, False, True])
    for aa in (True, False):
        out = run_op(backend, "resized_crop", *op_args(x, boxes, (5, 6), flip, aa))
        assert torch.isfinite(out).all() and out.abs().max() <= 1
    if backend == "triton":  # the kernel itself, with the checks bypassed
        from datagen_gpu.kernels.geometry import _launch_resized_crop

        bad = torch.tensor([[float("nan"), float("inf"), float("-inf"), -3.0]] * 4)
        args = op_args(x, bad, (5, 6), flip, True)
        out = _launch_resized_crop(*args)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("images", [torch.zeros(0, 3, 8, 8), torch.zeros(0, 3, 8, 8, dtype=torch.uint8)])
def test_resized_crop_empty_batch(backend, images):
    out = run_op(backend, "resized_crop", *op_args(images, torch.zeros(0, 4), (5, 6)))
    assert out.shape == (0, 3, 5, 6) and out.dtype == images.dtype
    assert F.resized_crop(images, torch.zeros(0, 4), (5, 6), flip=True).shape == (0, 3, 5, 6)


def test_resized_crop_errors():
    x = torch.rand(2, 3, 8, 9)
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 2.0, 5.0, 3.0]])
    cases = [
        (ValueError, "images", lambda: F.resized_crop(torch.rand(3, 8, 9), boxes, 4)),
        (TypeError, "images", lambda: F.resized_crop(x.double(), boxes, 4)),
        (TypeError, "images", lambda: F.resized_crop(x.double().numpy(), boxes, 4)),
        (ValueError, "images", lambda: F.resized_crop([], boxes, 4)),
        (ValueError, "images", lambda: F.resized_crop([x[0], torch.rand(8, 9)], boxes, 4)),
        (ValueError, "images", lambda: F.resized_crop([x[0], torch.rand(2, 8, 9)], boxes, 4)),
        (ValueError, "images", lambda: F.resized_crop([x[0], x[1].half()], boxes, 4)),
        (ValueError, "images", lambda: F.resized_crop([x[0], x[1].to("meta")], boxes, 4)),
        (TypeError, "images", lambda: F.resized_crop([x[0].double(), x[1].double()], boxes, 4)),
        (ValueError, "images", lambda: F.resized_crop([x[0], torch.rand(3, 0, 4)], boxes, 4)),
        (ValueError, "boxes", lambda: F.resized_crop(x, boxes[:1], 4)),
        (ValueError, "boxes", lambda: F.resized_crop(x, boxes[:, :3], 4)),
        (TypeError, "boxes", lambda: F.resized_crop(x, boxes > 0, 4)),
        (TypeError, "boxes", lambda: F.resized_crop(x, boxes.tolist(), 4)),
        (ValueError, "boxes", lambda: F.resized_crop(x, boxes.to("meta"), 4)),
        (ValueError, "boxes", lambda: F.resized_crop(x, boxes * torch.tensor([1, 1, 1, 0.0]), 4)),
        (ValueError, "boxes", lambda: F.resized_crop(x, boxes * torch.tensor([1, 1, -1, 1.0]), 4)),
        (ValueError, "boxes", lambda: F.resized_crop(x, boxes * torch.tensor([float("nan"), 1, 1, 1]), 4)),
        (ValueError, "size", lambda: F.resized_crop(x, boxes, 0)),
        (ValueError, "size", lambda: F.resized_crop(x, boxes, (4, -1))),
        (ValueError, "size", lambda: F.resized_crop(x, boxes, (4, 4, 4))),
        (TypeError, "size", lambda: F.resized_crop(x, boxes, (4.0, 4))),
        (TypeError, "size", lambda: F.resized_crop(x, boxes, True)),
        (ValueError, "flip", lambda: F.resized_crop(x, boxes, 4, flip=torch.tensor([True]))),
        (TypeError, "flip", lambda: F.resized_crop(x, boxes, 4, flip=torch.tensor([1.0, 0.0]))),
        (TypeError, "antialias", lambda: F.resized_crop(x, boxes, 4, antialias=None)),
        (TypeError, "out_dtype", lambda: F.resized_crop(x, boxes, 4, out_dtype=torch.int32)),
    ]
    for exc, name, fn in cases:
        with pytest.raises(exc, match=name):
            fn()


def test_resized_crop_op_level_errors(backend):
    """The op (C++ kernel / Triton launcher) checks its own arguments, src_meta included."""
    skip_unsupported(backend)
    if backend == "cuda":
        pytest.skip("op-level value checks run on CPU tensors")
    x = torch.rand(2, 3, 8, 9)
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 2.0, 5.0, 3.0]])
    args = op_args(x, boxes, (4, 5))

    def with_(i, value):
        a = list(args)
        a[i] = value
        return a

    meta = args[1]
    bad_offset = meta.clone()
    bad_offset[1, 0] = x.numel()
    bad_stride = meta.clone()
    bad_stride[0, 5] = -1
    cases = [
        (ValueError, "src_meta", with_(1, bad_offset)),
        (ValueError, "src_meta", with_(1, bad_stride)),
        (ValueError, "src_meta", with_(1, meta[:, :5].contiguous())),
        (TypeError, "src_meta", with_(1, meta.int())),
        (ValueError, "boxes", with_(3, boxes[:1])),
        (TypeError, "boxes", with_(3, boxes.double())),
        (ValueError, "boxes", with_(3, boxes * torch.tensor([1, 1, 0, 1.0]))),
        (ValueError, "boxes", with_(3, boxes * torch.tensor([1, float("inf"), 1, 1]))),
        (ValueError, "flip", with_(4, torch.tensor([True]))),
        (TypeError, "flip", with_(4, torch.tensor([1, 0]))),
        (ValueError, "size", with_(5, 0)),
        (TypeError, "out_dtype", with_(8, torch.float64)),
        (TypeError, "images", [x.double()] + list(args[1:])),
    ]
    for exc, name, a in cases:
        with pytest.raises(exc, match=name):
            run_op(backend, "resized_crop", *a)


def test_resized_crop_opcheck(gen):
    op = torch.ops.datagen_gpu.resized_crop.default
    x = random_images((2, 3, 9, 11), torch.uint8, channels_last=True, generator=gen)
    boxes = random_boxes([(9, 11)] * 2, "fractional", gen)
    torch.library.opcheck(op, op_args(x, boxes, (5, 7), torch.tensor([True, False]), True))
    images = [random_images((1, 3, h, w), torch.float32, generator=gen)[0] for h, w in [(6, 9), (10, 4)]]
    boxes = random_boxes([(6, 9), (10, 4)], "outside", gen)
    torch.library.opcheck(op, op_args(images, boxes, (4, 3), None, False, torch.bfloat16))
