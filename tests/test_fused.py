"""fused_augment against its float64 reference (C++ and Triton backends), and its
identities: no stage == resized_crop, one stage == the single op, two views of
one source, ragged batches, errors, opcheck."""
import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu.functional.geometry import _pack_images
from datagen_gpu.testing import (TOLERANCES, assert_close_to_reference, poison_outputs,
                                 random_images, tolerance)

from _backends import DTYPES, SHAPES, run_op, shape_for, skip_unsupported
from test_resized_crop import BOX_KINDS, random_boxes

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
JITTER = ("brightness", "contrast", "saturation", "hue")


def stage_params(n, channels, gen, stages=("jitter", "gray", "solarize", "normalize")):
    """Random op-level stage arguments for n samples; some factors exactly the identity."""
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=gen)  # noqa: E731
    keep = lambda v, identity: torch.where(torch.rand(n, generator=gen) < 0.25,  # noqa: E731
                                           torch.full_like(v, identity), v)
    p = {}
    if "jitter" in stages:
        p["brightness"] = keep(u(0.5, 1.5), 1.0)
        p["contrast"] = keep(u(0.3, 1.7), 1.0)
        if channels == 3:
            p["saturation"] = keep(u(0.0, 2.0), 1.0)
            p["hue"] = keep(u(-0.5, 0.5), 0.0)
        p["order"] = torch.argsort(torch.rand(n, 4, generator=gen), dim=1)
    if "gray" in stages and channels == 3:
        p["grayscale"] = torch.rand(n, generator=gen) < 0.5
    if "solarize" in stages:
        p["solarize_threshold"] = u(0.2, 0.8)
        p["solarize_apply"] = torch.rand(n, generator=gen) < 0.7
    if "blur" in stages:
        p["blur_kernel"] = 5
        p["blur_sigma"] = u(0.3, 2.0)
        p["blur_apply"] = torch.rand(n, generator=gen) < 0.6
    if "normalize" in stages:
        p["mean"] = torch.tensor((MEAN * 2)[:channels], dtype=torch.float32)
        p["std"] = torch.tensor((STD * 2)[:channels], dtype=torch.float32)
    return p


NAMES = ("brightness", "contrast", "saturation", "hue", "order", "grayscale", "solarize_threshold",
         "solarize_apply", "blur_kernel", "blur_sigma", "blur_apply", "mean", "std")


def op_args(images, boxes, size, flip, p, out_dtype=None, antialias=True, views=1):
    """The op-level arguments of fused_augment (what the functional passes)."""
    src, meta, channels, dtype, _, channels_last = _pack_images(images)
    meta = meta.repeat(views, 1)
    if flip is None:
        flip = torch.zeros(meta.shape[0], dtype=torch.bool)
    return (src, meta, channels, boxes, flip, size[0], size[1], antialias,
            *(p.get(name, 0 if name == "blur_kernel" else None) for name in NAMES),
            out_dtype or dtype, channels_last)


def reference(images, boxes, size, flip, p, antialias=True, views=1):
    """(float64 reference, mask of values within 1e-4 of their solarize threshold).

    Solarize is discontinuous at its threshold: there float32 and float64 may
    legitimately pick different sides, so those elements are not compared."""
    unit = [R.to_unit(x) for x in images] if isinstance(images, list) else R.to_unit(images)
    ref = R.fused_augment(unit, boxes, size, flip, antialias, views=views, **p)
    near = torch.zeros(ref.shape, dtype=torch.bool)
    if p.get("solarize_threshold") is not None:
        pre = {k: v for k, v in p.items() if k not in ("solarize_threshold", "solarize_apply",
                                                        "mean", "std")}
        before = R.fused_augment(unit, boxes, size, flip, antialias, views=views, **pre)
        thr = p["solarize_threshold"].double().view(-1, 1, 1, 1)
        near = (before - thr).abs() < 1e-4
    return ref, near


def assert_fused_close(out, ref, near, p, msg="", backend=None):
    atol = None
    if out.dtype == torch.uint8:  # stored as round(clamp(255 x, 0, 255))
        ref = ref.clamp(0.0, 1.0)
    elif p.get("std") is not None:  # normalize scales the errors by 1 / std
        atol = tolerance(out.dtype, backend)[0] / float(p["std"].min())
    got = R.to_unit(out)
    assert_close_to_reference(out, torch.where(near, got, ref), atol=atol, msg=msg, backend=backend)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_fused_matches_reference(backend, shape, dtype, channels_last, gen):
    shape = shape_for(backend, shape)
    B, C, H, W = shape
    out_dtype = DTYPES[int(torch.randint(0, 4, (1,), generator=gen))]
    skip_unsupported(backend, dtype, out_dtype, bfloat16=True)
    x = random_images(shape, dtype, channels_last=channels_last, generator=gen)
    kind = BOX_KINDS[int(torch.randint(0, 3, (1,), generator=gen))]
    boxes = random_boxes([(H, W)] * B, kind, gen)
    flip = torch.rand(B, generator=gen) < 0.5
    antialias = bool(torch.rand(1, generator=gen) < 0.7)
    p = stage_params(B, C, gen)
    size = (H // 2 + 1, W + 3)
    before = x.clone()
    with poison_outputs():
        out = run_op(backend, "fused_augment",
                     *op_args(x, boxes, size, flip, p, out_dtype, antialias))
    assert out.dtype == out_dtype and out.shape == (B, C) + size
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    assert out.is_contiguous(memory_format=fmt)
    ref, near = reference(x, boxes, size, flip, p, antialias)
    assert_fused_close(out, ref, near, p, msg=f"{kind} antialias={antialias}", backend=backend)
    assert torch.equal(x, before)


@pytest.mark.parametrize("in_dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("out_dtype", DTYPES)
def test_fused_out_dtype(backend, in_dtype, out_dtype, gen):
    skip_unsupported(backend, in_dtype, out_dtype, bfloat16=True)
    x = random_images((2, 3, 13, 11), in_dtype, generator=gen)
    boxes = random_boxes([(13, 11)] * 2, "fractional", gen)
    flip = torch.tensor([True, False])
    p = stage_params(2, 3, gen, ("jitter", "gray", "solarize"))
    with poison_outputs():
        out = run_op(backend, "fused_augment", *op_args(x, boxes, (9, 17), flip, p, out_dtype))
    assert out.dtype == out_dtype
    assert_fused_close(out, *reference(x, boxes, (9, 17), flip, p), p, backend=backend)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("channels_last", [False, True])
def test_fused_without_crop(backend, channels, channels_last, gen):
    """boxes=None: the image itself, flipped where asked; C != 3 takes brightness,
    contrast (C = 1), solarize and normalize."""
    x = random_images((3, channels, 9, 14), torch.float32, channels_last=channels_last, generator=gen)
    flip = torch.tensor([True, False, True])
    p = stage_params(3, channels, gen)
    if channels == 4:
        p.pop("contrast")
    with poison_outputs():
        out = run_op(backend, "fused_augment", *op_args(x, None, (9, 14), flip, p))
    assert out.dtype == torch.float32
    assert out.is_contiguous(memory_format=torch.channels_last if channels_last and channels > 1
                             else torch.contiguous_format)
    assert_fused_close(out, *reference(x, None, (9, 14), flip, p), p)


@pytest.mark.parametrize("hwc", [False, True])
def test_fused_ragged(backend, hwc, gen):
    sizes = [(17, 29), (64, 48), (7, 130), (5, 6), (40, 9)]
    if backend == "triton":
        sizes = [(17, 29), (7, 30), (12, 9)]
    dtype = torch.float32 if backend == "triton" else torch.uint8
    images = [random_images((1, 3) + s, dtype, channels_last=hwc, generator=gen)[0] for s in sizes]
    boxes = torch.cat([random_boxes([s], kind, gen) for s, kind in zip(sizes, BOX_KINDS * 2)])
    flip = torch.rand(len(sizes), generator=gen) < 0.5
    p = stage_params(len(sizes), 3, gen)
    befores = [x.clone() for x in images]
    with poison_outputs():
        out = run_op(backend, "fused_augment", *op_args(images, boxes, (11, 14), flip, p))
    assert out.is_contiguous(memory_format=torch.channels_last) == hwc
    assert_fused_close(out, *reference(images, boxes, (11, 14), flip, p), p)
    assert all(torch.equal(x, y) for x, y in zip(images, befores))


def test_fused_two_views_of_one_source(backend, gen):
    """meta rows i and i + B point at image i: two differently augmented views, no copy."""
    B = 2 if backend == "triton" else 3
    x = random_images((B, 3, 15, 18), torch.uint8, generator=gen)
    boxes = torch.cat([random_boxes([(15, 18)] * B, "fractional", gen),
                       random_boxes([(15, 18)] * B, "outside", gen)])
    flip = torch.rand(2 * B, generator=gen) < 0.5
    p = stage_params(2 * B, 3, gen)
    args = op_args(x, boxes, (10, 12), flip, p, torch.float32, views=2)
    assert args[0].data_ptr() == x.data_ptr() and args[1].shape == (2 * B, 6)
    with poison_outputs():
        out = run_op(backend, "fused_augment", *args)
    assert out.shape == (2 * B, 3, 10, 12)
    assert_fused_close(out, *reference(x, boxes, (10, 12), flip, p, views=2), p)
    # the same parameters for both views give the same image twice
    same = {k: (v if k in ("mean", "std") else torch.cat([v[:B], v[:B]])) for k, v in p.items()}
    twice = run_op(backend, "fused_augment",
                   *op_args(x, torch.cat([boxes[:B], boxes[:B]]), (10, 12),
                            torch.cat([flip[:B], flip[:B]]), same, torch.float32, views=2))
    assert torch.equal(twice[:B], twice[B:])


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("antialias", [True, False])
def test_identity_stages_equal_resized_crop(backend, dtype, antialias, gen):
    """No pixel stage, or only identity ones, is resized_crop bit for bit."""
    x = random_images((3, 3, 16, 21), dtype, generator=gen)
    boxes = random_boxes([(16, 21)] * 3, "outside", gen)
    flip = torch.tensor([False, True, True])
    crop = run_op(backend, "resized_crop", x, _pack_images(x)[1], 3, boxes, flip, 8, 25, antialias,
                  dtype, False)
    out = run_op(backend, "fused_augment", *op_args(x, boxes, (8, 25), flip, {}, None, antialias))
    assert torch.equal(out, crop)
    identity = {"brightness": torch.ones(3), "contrast": torch.ones(3), "saturation": torch.ones(3),
                "hue": torch.zeros(3), "order": torch.arange(4).repeat(3, 1),
                "grayscale": torch.zeros(3, dtype=torch.bool), "solarize_threshold": torch.zeros(3),
                "solarize_apply": torch.zeros(3, dtype=torch.bool),
                "mean": torch.zeros(3), "std": torch.ones(3)}
    out = run_op(backend, "fused_augment",
                 *op_args(x, boxes, (8, 25), flip, identity, None, antialias))
    assert torch.equal(out, crop)


def test_single_stages_equal_single_ops(gen):
    """On float32 images without a crop, each stage alone is the single op."""
    x = random_images((4, 3, 12, 10), torch.float32, generator=gen)
    p = stage_params(4, 3, gen)
    jit = {k: p[k] for k in JITTER + ("order",)}
    tol = dict(atol=2e-6, rtol=0)
    torch.testing.assert_close(F.fused_augment(x, **jit), F.color_jitter(x, **jit), **tol)
    torch.testing.assert_close(F.fused_augment(x, grayscale=p["grayscale"]),
                               F.rgb_to_grayscale(x, p["grayscale"]), **tol)
    torch.testing.assert_close(
        F.fused_augment(x, solarize_threshold=p["solarize_threshold"],
                        solarize_apply=p["solarize_apply"]),
        F.solarize(x, p["solarize_threshold"], p["solarize_apply"]), **tol)
    torch.testing.assert_close(F.fused_augment(x, mean=MEAN, std=STD), F.normalize(x, MEAN, STD),
                               **tol)
    flip = torch.tensor([True, False, False, True])
    assert torch.equal(F.fused_augment(x, flip=flip), F.hflip(x, flip))


def test_fused_contrast_means_do_not_depend_on_threads(gen):
    x = random_images((4, 3, 40, 33), torch.uint8, generator=gen)
    boxes = random_boxes([(40, 33)] * 4, "fractional", gen)
    p = stage_params(4, 3, gen)
    args = op_args(x, boxes, (70, 31), None, p, torch.float32)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = torch.ops.datagen_gpu.fused_augment(*args)
        torch.set_num_threads(max(threads, 2))
        many = torch.ops.datagen_gpu.fused_augment(*args)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, many)


def test_fused_empty_batch(backend):
    x = torch.zeros(0, 3, 8, 8, dtype=torch.uint8)
    p = stage_params(0, 3, torch.Generator().manual_seed(0))
    out = run_op(backend, "fused_augment",
                 *op_args(x, torch.zeros(0, 4), (5, 6), None, p, torch.float32))
    assert out.shape == (0, 3, 5, 6) and out.dtype == torch.float32


def _error_cases():
    """(description, argument overrides, exception, message)."""
    B = 2
    bad_order = torch.tensor([[0, 1, 2, 2], [0, 1, 2, 3]])
    return [
        ("dtype", {"src": torch.zeros(2, 3, 8, 8, dtype=torch.int32)}, TypeError, "images"),
        ("size", {"out_h": 0}, ValueError, "size"),
        ("meta", {"src_meta": torch.zeros(B, 5, dtype=torch.int64)}, ValueError, "src_meta"),
        ("boxes shape", {"boxes": torch.zeros(B, 3)}, ValueError, "boxes"),
        ("boxes height", {"boxes": torch.tensor([[0.0, 0.0, 0.0, 4.0]] * B)}, ValueError, "boxes"),
        ("no boxes, other size", {"boxes": None}, ValueError, "size"),
        ("flip", {"flip": torch.zeros(B + 1, dtype=torch.bool)}, ValueError, "flip"),
        ("brightness", {"brightness": torch.tensor([-1.0, 1.0])}, ValueError, "brightness"),
        ("contrast dtype", {"contrast": torch.ones(B, dtype=torch.float64)}, TypeError, "contrast"),
        ("hue", {"hue": torch.tensor([0.7, 0.0])}, ValueError, "hue"),
        ("order", {"order": bad_order}, ValueError, "order"),
        ("grayscale", {"grayscale": torch.ones(B)}, TypeError, "grayscale"),
        ("threshold", {"solarize_threshold": torch.ones(B + 1)}, ValueError, "solarize_threshold"),
        ("apply alone", {"solarize_threshold": None}, ValueError, "solarize_apply"),
        ("mean alone", {"std": None}, ValueError, "mean"),
        ("std zero", {"std": torch.tensor([0.2, 0.0, 0.2])}, ValueError, "std"),
        ("mean shape", {"mean": torch.zeros(2)}, ValueError, "mean"),
        ("rgb", {"src": torch.zeros(2, 4, 8, 8), "channels": 4, "mean": None, "std": None},
         ValueError, "saturation"),
        ("out_dtype", {"out_dtype": torch.int64}, TypeError, "out_dtype"),
        ("blur kernel", {"blur_kernel": 4, "blur_sigma": torch.ones(B)}, ValueError, "blur_kernel"),
        ("blur too wide", {"blur_kernel": 11, "blur_sigma": torch.ones(B)}, ValueError,
         "blur_kernel"),
        ("blur sigma", {"blur_kernel": 3, "blur_sigma": torch.tensor([1.0, 0.0])}, ValueError,
         "blur_sigma"),
        ("blur apply alone", {"blur_apply": torch.ones(B, dtype=torch.bool)}, ValueError,
         "blur_apply"),
        ("blur apply dtype", {"blur_kernel": 3, "blur_sigma": torch.ones(B),
                              "blur_apply": torch.ones(B)}, TypeError, "blur_apply"),
    ]


@pytest.mark.parametrize("case", _error_cases(), ids=lambda c: c[0] if isinstance(c, tuple) else "")
def test_fused_errors(backend, case, gen):
    _, overrides, exc, match = case
    x = random_images((2, 3, 8, 8), torch.float32, generator=gen)
    p = stage_params(2, 3, gen)
    names = ("src", "src_meta", "channels", "boxes", "flip", "out_h", "out_w", "antialias") + NAMES + \
        ("out_dtype", "channels_last")
    args = dict(zip(names, op_args(x, torch.tensor([[0.0, 0.0, 6.0, 6.0]] * 2), (5, 5), None, p)))
    args.update(overrides)
    if "src" in overrides:
        args["src_meta"] = _pack_images(overrides["src"].float())[1]
    with pytest.raises(exc, match=match):
        run_op(backend, "fused_augment", *args.values())


def test_functional_fused_augment(gen):
    x = random_images((2, 3, 12, 16), torch.uint8, generator=gen)
    boxes = torch.tensor([[1.0, 2.0, 8.0, 9.0], [0.0, 0.0, 12.0, 16.0]])
    y = F.fused_augment(x, boxes, 6, brightness=1.2, hue=torch.tensor([0.1, -0.1]),
                        order=[3, 2, 1, 0], mean=0.5, std=0.25)
    assert y.shape == (2, 3, 6, 6) and y.dtype == torch.float32  # normalize: float32 by default
    assert F.fused_augment(x, boxes, (6, 7)).dtype == torch.uint8
    two = F.fused_augment(x, torch.cat([boxes, boxes]), 6, views=2, grayscale=True)
    assert torch.equal(two[:2], two[2:]) and torch.equal(two[:, 0], two[:, 1])
    assert torch.equal(F.fused_augment(x), x)  # nothing to do: a copy
    with pytest.raises(ValueError, match="size"):
        F.fused_augment(x, boxes)
    with pytest.raises(ValueError, match="size"):
        F.fused_augment(x, size=5)
    with pytest.raises(ValueError, match="views"):
        F.fused_augment(x, views=0)
    with pytest.raises(ValueError, match="brightness"):
        F.fused_augment(x, brightness=-0.5)
    with pytest.raises(ValueError, match="mean"):
        F.fused_augment(x, mean=[0.5] * 3)


def test_fused_opcheck(gen):
    x = random_images((2, 3, 10, 12), torch.uint8, generator=gen)
    boxes = random_boxes([(10, 12)] * 2, "fractional", gen)
    p = stage_params(2, 3, gen)
    torch.library.opcheck(torch.ops.datagen_gpu.fused_augment,
                          op_args(x, boxes, (7, 9), torch.tensor([True, False]), p, torch.float32))
    cl = random_images((2, 3, 7, 9), torch.float32, channels_last=True, generator=gen)
    torch.library.opcheck(torch.ops.datagen_gpu.fused_augment, op_args(cl, None, (7, 9), None, {}))


@pytest.mark.parametrize("contrast", [False, True])
@pytest.mark.parametrize("out_dtype", [torch.float32, torch.uint8])
def test_fused_blur_matches_reference(backend, contrast, out_dtype, gen):
    """The blur stage (after the color stages, before normalize) for the picked samples:
    finished in a per-thread buffer on the CPU, a float32 intermediate + blur on Triton."""
    shape = shape_for(backend, (5, 3, 30, 27))
    B, C, H, W = shape
    x = random_images(shape, torch.uint8, channels_last=bool(contrast), generator=gen)
    boxes = random_boxes([(H, W)] * B, "fractional", gen)
    flip = torch.rand(B, generator=gen) < 0.5
    stages = ("jitter", "gray", "blur") + (("normalize",) if out_dtype == torch.float32 else ())
    p = stage_params(B, C, gen, stages)
    if not contrast:
        p["contrast"] = torch.ones(B)
    size = (H // 2 + 3, W // 2 + 5)
    with poison_outputs():
        out = run_op(backend, "fused_augment", *op_args(x, boxes, size, flip, p, out_dtype))
    ref, near = reference(x, boxes, size, flip, p)
    assert_fused_close(out, ref, near, p, msg=f"blur, contrast={contrast}")
    # the samples not picked equal the same call without the blur
    p_none = {k: v for k, v in p.items() if not k.startswith("blur")}
    plain = run_op(backend, "fused_augment", *op_args(x, boxes, size, flip, p_none, out_dtype))
    kept = ~p["blur_apply"]
    assert torch.equal(out[kept], plain[kept])


def test_functional_fused_augment_blur(gen):
    x = random_images((3, 3, 20, 22), torch.uint8, generator=gen)
    boxes = torch.tensor([[1.0, 2.0, 15.0, 16.0], [0.0, 0.0, 20.0, 22.0], [3.0, 1.0, 9.0, 12.0]])
    sigma = torch.tensor([0.5, 1.0, 2.0])
    y = F.fused_augment(x, boxes, 12, blur_kernel=5, blur_sigma=sigma,
                        blur_apply=torch.tensor([True, False, True]), mean=MEAN, std=STD)
    unit = R.to_unit(x)
    ref = R.fused_augment(unit, boxes, (12, 12), blur_kernel=5, blur_sigma=sigma,
                          blur_apply=torch.tensor([True, False, True]), mean=MEAN, std=STD)
    assert_close_to_reference(y, ref, atol=TOLERANCES[torch.float32][0] / min(STD))
    assert torch.equal(F.fused_augment(x, boxes, 12, blur_kernel=(5, 5), blur_sigma=1.0),
                       F.fused_augment(x, boxes, 12, blur_kernel=5, blur_sigma=torch.ones(3)))
    with pytest.raises(ValueError, match="blur_kernel"):
        F.fused_augment(x, boxes, 12, blur_kernel=5)
    with pytest.raises(ValueError, match="blur_kernel"):
        F.fused_augment(x, boxes, 4, blur_kernel=9, blur_sigma=1.0)
    with pytest.raises(ValueError, match="blur_sigma"):
        F.fused_augment(x, boxes, 12, blur_kernel=5, blur_sigma=0.0)
