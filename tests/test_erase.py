"""erase / erase_ against the float64 reference, on every backend.

Boxes inside, at the borders, partly and wholly outside, empty and full-image;
constant, per-channel, per-sample and random (noise) fills, mixed per sample;
every dtype and out_dtype, both layouts, poisoned outputs, no input mutation;
the kernels' noise against the generator's words computed in plain torch
(``reference.erase_noise``) and its mean / std; batch invariance; the in-place
op; every tiling path of the Triton kernel; empty batches; argument errors;
the functional's value forms; opcheck.
"""
import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu.functional.erase import ERASE_OP_ID
from datagen_gpu.params.counter import _key
from datagen_gpu.testing import assert_close_to_reference, poison_outputs, random_images, tolerance

from _backends import (DTYPES, SHAPES, device_of, interpreted, run_op, shape_for, skip_unsupported,
                       value_checks)

SEED, OP_ID = 1234, 0xABCDEF
KEY = _key(SEED, OP_ID)


def random_boxes(B, H, W, gen):
    """(B, 4) int64 boxes cycling through: inside, full image, empty, across a border,
    outside, a single pixel at the bottom-right corner."""
    rows = []
    for i in range(B):
        kind = i % 6
        r = lambda n: int(torch.randint(0, max(n, 1), (1,), generator=gen))  # noqa: E731
        if kind == 0:
            h, w = 1 + r(H), 1 + r(W)
            rows.append([r(H - h + 1), r(W - w + 1), h, w])
        elif kind == 1:
            rows.append([0, 0, H, W])
        elif kind == 2:
            rows.append([r(H), r(W), 0, 1 + r(W)] if i % 2 else [r(H), r(W), 1 + r(H), 0])
        elif kind == 3:
            rows.append([-1 - r(H), W - 1 - r(W), H, W])
        elif kind == 4:
            rows.append([H + r(5), 0, 3, W])
        else:
            rows.append([H - 1, W - 1, 1, 1])
    return torch.tensor(rows, dtype=torch.int64).view(B, 4)


def random_fill(B, C, out_dtype, gen, random=True):
    """(value (B, C) float32 in the output's range, random (B,) bool: every other sample for
    floating outputs)."""
    if out_dtype == torch.uint8:
        value = torch.randint(0, 256, (B, C), generator=gen).float()
        value[::3] += torch.rand(value[::3].shape, generator=gen).clamp(max=0.9)  # fractional levels
        return value.clamp(0, 255), torch.zeros(B, dtype=torch.bool)
    value = torch.rand((B, C), generator=gen) * 4 - 2  # e.g. normalized-space values
    rnd = (torch.arange(B) % 2 == 1) if random else torch.zeros(B, dtype=torch.bool)
    return value, rnd


def expected(x, boxes, value, rnd, ids, out_dtype, seed=SEED, op_id=OP_ID):
    """Reference output in [0, 1] units (uint8 outputs: the rounded level / 255)."""
    if out_dtype == torch.uint8:
        unit = torch.floor(value.double().clamp(0, 255) + 0.5) / 255.0
    else:
        unit = value.to(out_dtype).double()  # the constant as the output dtype holds it
    noise = R.erase_noise(seed, ids, op_id, boxes, x.shape[1], size=x.shape[-2:])
    return R.erase(R.to_unit(x), boxes, unit, rnd, noise)


def check(out, ref, backend, msg=""):
    """The dtype's tolerance, plus 2e-6 relative for float32 noise (|z| up to ~5.8 from
    float32 log / sqrt / cos)."""
    atol, rtol = tolerance(out.dtype, backend)
    assert_close_to_reference(out, ref, atol=atol, rtol=max(rtol, 2e-6), msg=msg, backend=backend)


def check_layout(out, x, out_dtype):
    assert out.dtype == out_dtype and out.shape == x.shape
    if x.shape[1] > 1:
        assert out.is_contiguous(memory_format=torch.channels_last) == (
            not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last))


def inplace_op(backend):
    """erase_ on ``backend`` (its tensors on ``device_of(backend)``)."""
    if backend == "triton":
        from datagen_gpu.kernels import triton_launcher

        return triton_launcher("erase_")
    return torch.ops.datagen_gpu.erase_


def run_erase(backend, x, boxes, value, rnd, ids, out_dtype, key=KEY):
    with poison_outputs():
        return run_op(backend, "erase", x, boxes, value, rnd, ids, key, out_dtype)


# ------------------------------------------------------------------ the op vs the reference


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_erase_matches_reference(backend, shape, dtype, channels_last, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    B, C, H, W = shape = shape_for(backend, shape)
    B = max(B, 6 if not interpreted(backend) else 3)
    x = random_images((B, C, H, W), dtype, channels_last=channels_last, generator=gen)
    boxes = random_boxes(B, H, W, gen)
    value, rnd = random_fill(B, C, dtype, gen)
    ids = torch.randint(0, 2**40, (B,), generator=gen)
    x_before = x.clone()
    out = run_erase(backend, x, boxes, value, rnd, ids, dtype)
    check_layout(out, x, dtype)
    check(out, expected(x, boxes, value, rnd, ids, dtype), backend, "erase")
    assert torch.equal(x, x_before)


@pytest.mark.parametrize("in_dtype", [torch.uint8, torch.float32, torch.bfloat16])
@pytest.mark.parametrize("out_dtype", DTYPES)
def test_erase_out_dtype(backend, in_dtype, out_dtype, gen):
    skip_unsupported(backend, in_dtype, out_dtype, bfloat16=True)
    B, C, H, W = 4, 3, 9, 13
    x = random_images((B, C, H, W), in_dtype, generator=gen)
    boxes = random_boxes(B, H, W, gen)
    value, rnd = random_fill(B, C, out_dtype, gen)
    ids = torch.arange(B) + 100
    out = run_erase(backend, x, boxes, value, rnd, ids, out_dtype)
    check_layout(out, x, out_dtype)
    check(out, expected(x, boxes, value, rnd, ids, out_dtype), backend, "erase out_dtype")


@pytest.mark.parametrize("channels", [1, 2, 4])
def test_erase_other_channel_counts(backend, channels, gen):
    x = random_images((3, channels, 7, 11), torch.float32, channels_last=channels > 1, generator=gen)
    boxes = random_boxes(3, 7, 11, gen)
    value, rnd = random_fill(3, channels, torch.float32, gen)
    ids = torch.tensor([3, 1, 2])
    out = run_erase(backend, x, boxes, value, rnd, ids, torch.float32)
    check(out, expected(x, boxes, value, rnd, ids, torch.float32), backend, f"C={channels}")


def test_boxes_clipped_to_the_image(backend, gen):
    """Borders, corners, boxes partly or wholly outside, empty, huge coordinates: every
    box is intersected with the image (the noise is indexed in the clipped box)."""
    H, W = 6, 9
    boxes = torch.tensor([[0, 0, H, W], [0, 0, H + 5, W + 5], [-3, -4, 5, 6], [H - 2, W - 3, 10, 10],
                          [H, 0, 2, W], [0, W, H, 2], [-5, -5, 5, 5], [2, 3, 0, 4], [2, 3, 4, 0],
                          [2**39, 2**39, 2**39, 3], [-(2**39), -(2**39), 2**40, 2**40], [H - 1, 0, 1, W]])
    B = boxes.shape[0]
    x = random_images((B, 3, H, W), torch.float32, generator=gen)
    value, rnd = random_fill(B, 3, torch.float32, gen)
    ids = torch.arange(B)
    out = run_erase(backend, x, boxes, value, rnd, ids, torch.float32)
    check(out, expected(x, boxes, value, rnd, ids, torch.float32), backend, "clipped boxes")
    for i in (4, 5, 6, 7, 8, 9):  # nothing inside the image: the sample is copied exactly
        assert torch.equal(out[i], x[i])


def test_uint8_levels_round_half_up_exactly(backend):
    """A uint8 output holds the level floor(v + 0.5) of a fractional value, on every backend."""
    values = torch.tensor([[0.0, 0.49, 0.5], [127.5, 254.49, 255.0], [12.3, 200.5, 254.5]])
    x = torch.full((3, 3, 2, 3), 7, dtype=torch.uint8)
    boxes = torch.tensor([[0, 0, 2, 3]] * 3)
    out = run_erase(backend, x, boxes, values, torch.zeros(3, dtype=torch.bool), torch.arange(3),
                    torch.uint8)
    levels = torch.floor(values + 0.5).to(torch.uint8)
    assert torch.equal(out, levels.view(3, 3, 1, 1).expand(3, 3, 2, 3))


# ------------------------------------------------------------------ the noise


def test_noise_is_the_generators(backend):
    """Each pixel's noise is words (2d, 2d + 1) of its sample's generator stream, with
    d = (c * h + dy) * w + dx in the clipped box; standard normal statistics."""
    side = 19 if interpreted(backend) else 64
    B, C = 2, 3
    x = torch.zeros((B, C, side, side + 3))
    boxes = torch.tensor([[0, 0, side, side + 3], [-2, 5, side, side // 2]])
    ids = torch.tensor([2**33 + 5, 17])
    rnd = torch.ones(B, dtype=torch.bool)
    out = run_erase(backend, x, boxes, torch.zeros(B, C), rnd, ids, torch.float32)
    ref = expected(x, boxes, torch.zeros(B, C), rnd, ids, torch.float32)
    check(out, ref, backend, "noise")
    z = out[0].double().flatten()
    n = z.numel()
    assert abs(z.mean().item()) < 5 / n**0.5
    assert abs(z.std().item() - 1) < 5 / (2 * n) ** 0.5
    assert z.abs().max() < 6.0  # u1 >= 2^-24: |z| <= sqrt(2 * 24 ln 2) = 5.77


def test_cpu_noise_polynomials_accuracy():
    """The C++ kernel computes ln and cos as float32 polynomials (csrc/normal_noise.h):
    over 2^20 values, within 1e-6 of the float64 formula on the same bits, the tail
    included (|z| up to sqrt(2 * 24 ln 2) = 5.77). (Measured 6.4e-7, from the float32
    angle times r <= 5.77; the plain float32 formula, cos(float32(2 pi) u2), is 1.6e-6.)"""
    H, W = 1024, 1024
    x = torch.zeros((1, 1, H, W))
    boxes = torch.tensor([[0, 0, H, W]])
    ids = torch.tensor([123456789])
    rnd = torch.ones(1, dtype=torch.bool)
    out = run_erase("cpu", x, boxes, torch.zeros(1, 1), rnd, ids, torch.float32).double()
    ref = expected(x, boxes, torch.zeros(1, 1), rnd, ids, torch.float32)
    err = (out - ref).abs()
    assert float(err.max()) < 1e-6
    assert float(err.mean()) < 1e-7
    assert ref.abs().max() > 4.5  # the tail was reached


def test_noise_same_on_cpu_and_triton(gen):
    skip_unsupported("triton")
    B, C, H, W = 3, 3, 11, 17
    x = random_images((B, C, H, W), torch.float32, generator=gen)
    boxes = torch.tensor([[0, 0, H, W], [2, 3, 5, 9], [-1, 4, 6, 20]])
    rnd = torch.ones(B, dtype=torch.bool)
    ids = torch.tensor([7, 2**40 + 3, 0])
    cpu = run_erase("cpu", x, boxes, torch.zeros(B, C), rnd, ids, torch.float32)
    tri = run_erase("triton", x, boxes, torch.zeros(B, C), rnd, ids, torch.float32)
    torch.testing.assert_close(cpu, tri, atol=2e-6, rtol=2e-6)


def test_noise_independent_of_the_batch(backend, gen):
    """A sample's noise depends on its id, not on its batch, position or batch size."""
    H, W = 9, 13
    x = random_images((4, 3, H, W), torch.float32, generator=gen)
    boxes = torch.tensor([[1, 2, 6, 8]] * 4)
    ids = torch.tensor([40, 41, 42, 43])
    rnd = torch.ones(4, dtype=torch.bool)
    full = run_erase(backend, x, boxes, torch.zeros(4, 3), rnd, ids, torch.float32)
    part = run_erase(backend, x[[2, 0]], boxes[:2], torch.zeros(2, 3), rnd[:2], ids[[2, 0]],
                     torch.float32)
    assert torch.equal(part[0], full[2]) and torch.equal(part[1], full[0])
    other_key = run_erase(backend, x, boxes, torch.zeros(4, 3), rnd, ids, torch.float32,
                          key=_key(SEED + 1, OP_ID))
    assert not torch.equal(other_key[:, :, 1:7, 2:10], full[:, :, 1:7, 2:10])


# ------------------------------------------------------------------ in place


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float16, torch.float32])
@pytest.mark.parametrize("channels_last", [False, True])
def test_inplace_writes_only_the_boxes(backend, dtype, channels_last, gen):
    B, C, H, W = 4, 3, 9, 13
    x = random_images((B, C, H, W), dtype, channels_last=channels_last, generator=gen)
    boxes = random_boxes(B, H, W, gen)
    value, rnd = random_fill(B, C, dtype, gen)
    ids = torch.arange(B)
    out = run_erase(backend, x, boxes, value, rnd, ids, dtype)
    y = x.clone().to(device_of(backend))
    assert inplace_op(backend)(y, *[t.to(y.device) for t in (boxes, value, rnd, ids)], KEY) is None
    y = y.cpu()
    assert torch.equal(y, out)  # the same values, and every pixel outside the boxes untouched
    assert y.is_contiguous(memory_format=torch.channels_last) == channels_last or C == 1


def test_inplace_rejects_overlapping_memory():
    x = torch.rand(1, 3, 4, 5).expand(2, 3, 4, 5)
    args = (torch.zeros(2, 4, dtype=torch.int64), torch.zeros(2, 3), torch.zeros(2, dtype=torch.bool),
            torch.arange(2), 0)
    with pytest.raises(ValueError, match="images"):
        torch.ops.datagen_gpu.erase_(x, *args)
    with pytest.raises(ValueError, match="images"):
        F.erase(x, args[0], 0.5, inplace=True)


# ------------------------------------------------------------------ tiling, empty batches


def test_triton_tiling_paths(monkeypatch, gen):
    """Several column blocks per row (ROW_BLOCK 16, W = 37) and a grid folded past
    GRID_X_LIMIT onto axis 1, out of place and in place."""
    skip_unsupported("triton")
    from datagen_gpu.kernels import _common, erase

    monkeypatch.setattr(erase, "ROW_BLOCK", 16)
    monkeypatch.setattr(_common, "GRID_X_LIMIT", 7)
    grids, real = [], erase.flat_grid
    monkeypatch.setattr(erase, "flat_grid", lambda n: grids.append(real(n)) or grids[-1])
    B, C, H, W = 3, 3, 5, 37
    x = random_images((B, C, H, W), torch.float32, channels_last=True, generator=gen)
    boxes = torch.tensor([[1, 3, 3, 30], [0, 15, 5, 2], [-1, -1, 9, 40]])
    value, rnd = random_fill(B, C, torch.float32, gen)
    rnd = torch.tensor([True, False, True])
    ids = torch.arange(B)
    out = run_erase("triton", x, boxes, value, rnd, ids, torch.float32)
    check(out, expected(x, boxes, value, rnd, ids, torch.float32), "triton", "tiled")
    assert grids[-1][0] == 7 and len(grids[-1]) == 2  # B * C * H * 3 = 135 programs, folded
    y = x.clone().to(device_of("triton"))
    erase.erase_(y, *[t.to(y.device) for t in (boxes, value, rnd, ids)], KEY)
    assert torch.equal(y.cpu(), out)


@pytest.mark.parametrize("inplace", [False, True])
def test_empty_batch(backend, inplace):
    for shape in ((0, 3, 5, 7), (2, 3, 0, 7), (2, 3, 5, 0)):
        B, C = shape[:2]
        x = torch.rand(shape)
        args = (torch.zeros(B, 4, dtype=torch.int64), torch.zeros(B, C), torch.zeros(B, dtype=torch.bool),
                torch.arange(B), KEY)
        if not inplace:
            out = run_op(backend, "erase", x, *args, torch.float16)
            assert out.shape == shape and out.dtype == torch.float16
        else:
            x = x.to(device_of(backend))
            inplace_op(backend)(x, *[a.to(x.device) if torch.is_tensor(a) else a for a in args])
    assert F.erase(torch.rand(0, 3, 4, 4), torch.zeros(0, 4, dtype=torch.int64), "random").shape == (0, 3, 4, 4)


# ------------------------------------------------------------------ argument errors


def _op_args(B=2, C=3):
    return dict(images=torch.rand(B, C, 4, 5), boxes=torch.zeros(B, 4, dtype=torch.int64),
                value=torch.zeros(B, C), random=torch.zeros(B, dtype=torch.bool),
                sample_ids=torch.arange(B), key=KEY, out_dtype=torch.float32)


BAD_OP_ARGS = [
    ("images", torch.rand(3, 4, 5), ValueError),
    ("images", torch.zeros(2, 3, 4, 5, dtype=torch.int32), TypeError),
    ("boxes", torch.zeros(2, 3, dtype=torch.int64), ValueError),
    ("boxes", torch.zeros(2, 4), TypeError),
    ("value", torch.zeros(2, 2), ValueError),
    ("value", torch.zeros(2), ValueError),
    ("value", torch.zeros(2, 3, dtype=torch.float64), TypeError),
    ("value", torch.zeros(3, 2).t(), ValueError),  # not contiguous
    ("random", torch.zeros(2), TypeError),
    ("random", torch.zeros(3, dtype=torch.bool), ValueError),
    ("sample_ids", torch.arange(2, dtype=torch.int32), TypeError),
    ("key", 2**32, ValueError),
    ("key", -1, ValueError),
    ("out_dtype", torch.float64, TypeError),
]


@pytest.mark.parametrize("name,bad,exc", BAD_OP_ARGS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(BAD_OP_ARGS)])
def test_bad_op_arguments(backend, name, bad, exc):
    args = _op_args()
    args[name] = bad
    with pytest.raises(exc, match=name if name != "out_dtype" else "out_dtype"):
        run_op(backend, "erase", *args.values())


@pytest.mark.parametrize("name,bad", [("value", torch.tensor([[0.0, 256.0, 1.0], [0.0, 0.0, 0.0]])),
                                      ("value", torch.tensor([[-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])),
                                      ("value", torch.full((2, 3), float("nan"))),
                                      ("random", torch.tensor([False, True]))])
def test_uint8_output_rejects_noise_and_out_of_range_levels(backend, name, bad):
    if not value_checks(backend):
        pytest.skip("value checks run on CPU tensors only (no host sync on CUDA)")
    args = _op_args()
    args.update({name: bad, "out_dtype": torch.uint8})
    with pytest.raises(ValueError, match=name):
        run_op(backend, "erase", *args.values())


# ------------------------------------------------------------------ the functional


def test_functional_value_forms(gen):
    B, C, H, W = 3, 3, 6, 8
    x = random_images((B, C, H, W), torch.float32, generator=gen)
    boxes = torch.tensor([[1, 1, 3, 4], [0, 0, 6, 8], [2, 5, 9, 9]])
    forms = {
        0.25: torch.full((B, C), 0.25),
        (0.1, 0.2, 0.3): torch.tensor([0.1, 0.2, 0.3]).expand(B, C),
        (-1.5,): torch.full((B, C), -1.5),
    }
    per_sample = torch.tensor([1.0, -2.0, 3.0])
    per_channel = torch.rand(B, C, generator=gen)
    for value, want in list(forms.items()) + [(per_sample, per_sample[:, None].expand(B, C)),
                                             (per_channel, per_channel), (torch.tensor(0.5), torch.full((B, C), 0.5))]:
        out = F.erase(x, boxes, value)
        ref = R.erase(x.double(), boxes, want.double(), None, None)
        assert_close_to_reference(out, ref, msg=f"value={value!r}")
    noisy = F.erase(x, boxes, "random", seed=5, sample_ids=torch.tensor([9, 8, 7]))
    noise = R.erase_noise(5, torch.tensor([9, 8, 7]), ERASE_OP_ID, boxes, C, size=(H, W))
    ref = R.erase(x.double(), boxes, torch.zeros(B, C), torch.ones(B, dtype=torch.bool), noise)
    check(noisy, ref, "cpu", "value='random'")
    assert not torch.equal(noisy, F.erase(x, boxes, "random", seed=6, sample_ids=torch.tensor([9, 8, 7])))
    assert not torch.equal(noisy, F.erase(x, boxes, "random", seed=5, sample_ids=torch.tensor([9, 8, 7]),
                                          op_id=1))
    assert torch.equal(F.erase(x, boxes, "random"), F.erase(x, boxes, "random", sample_ids=torch.arange(B)))


def test_functional_uint8_and_out_dtype(gen):
    x = random_images((2, 3, 7, 6), torch.uint8, generator=gen)
    boxes = torch.tensor([[0, 0, 2, 3], [1, 1, 4, 5]])
    out = F.erase(x, boxes, (124, 116, 104))  # ImageNet mean levels, as torchvision takes them
    assert out.dtype == torch.uint8 and torch.equal(out[0, :, 0, 0], torch.tensor([124, 116, 104], dtype=torch.uint8))
    f = F.erase(x, boxes, "random", out_dtype=torch.float32)
    assert f.dtype == torch.float32
    assert_close_to_reference(f[:, :, 5:, :], R.to_unit(x)[:, :, 5:, :])
    with pytest.raises(TypeError, match="value.*uint8"):
        F.erase(x, boxes, "random")
    with pytest.raises(TypeError, match="value.*uint8"):
        F.erase(x.float(), boxes, "random", out_dtype=torch.uint8)


def test_functional_inplace(gen):
    x = random_images((2, 3, 5, 6), torch.float32, generator=gen)
    boxes = torch.tensor([[0, 0, 2, 3], [1, 1, 4, 5]])
    want = F.erase(x, boxes, "random", seed=2)
    y = x.clone()
    assert F.erase(y, boxes, "random", seed=2, inplace=True) is y
    assert torch.equal(y, want)
    with pytest.raises(ValueError, match="out_dtype"):
        F.erase(y, boxes, 0.0, inplace=True, out_dtype=torch.float16)


@pytest.mark.parametrize("kwargs,exc,name", [
    (dict(value="noise"), ValueError, "value"),
    (dict(value=True), TypeError, "value"),
    (dict(value=(1.0, 2.0)), ValueError, "value"),
    (dict(value=[1.0, "a", 2.0]), ValueError, "value"),
    (dict(value=torch.zeros(2, 2)), ValueError, "value"),
    (dict(value=torch.zeros(2, dtype=torch.bool)), TypeError, "value"),
    (dict(value=object()), TypeError, "value"),
    (dict(boxes=torch.tensor([[0, 0, -1, 2], [0, 0, 1, 1]])), ValueError, "boxes"),
    (dict(boxes=torch.tensor([[0.5, 0, 1, 2], [0, 0, 1, 1]])), ValueError, "boxes"),
    (dict(boxes=torch.zeros(3, 4, dtype=torch.int64)), ValueError, "boxes"),
    (dict(sample_ids=torch.arange(3)), ValueError, "sample_ids"),
    (dict(sample_ids=torch.zeros(2)), TypeError, "sample_ids"),
    (dict(seed=1.5), TypeError, "seed"),
    (dict(op_id="x"), TypeError, "op_id"),
    (dict(out_dtype=torch.int32), TypeError, "out_dtype"),
])
def test_functional_bad_arguments(kwargs, exc, name):
    args = dict(images=torch.rand(2, 3, 4, 5), boxes=torch.zeros(2, 4, dtype=torch.int64), value=0.0)
    args.update(kwargs)
    with pytest.raises(exc, match=name):
        F.erase(args.pop("images"), args.pop("boxes"), args.pop("value"), **args)


def test_opcheck(gen):
    x = random_images((3, 3, 5, 7), torch.float32, channels_last=True, generator=gen)
    args = (torch.tensor([[0, 0, 2, 3], [1, 2, 9, 9], [0, 0, 0, 0]]), torch.rand(3, 3, generator=gen),
            torch.tensor([True, False, True]), torch.arange(3), KEY)
    torch.library.opcheck(torch.ops.datagen_gpu.erase.default, (x, *args, torch.bfloat16))
    torch.library.opcheck(torch.ops.datagen_gpu.erase_.default, (x.clone(), *args))
    xu = random_images((2, 1, 4, 4), torch.uint8, generator=gen)
    torch.library.opcheck(torch.ops.datagen_gpu.erase.default,
                          (xu, args[0][:2], torch.full((2, 1), 9.0), torch.zeros(2, dtype=torch.bool),
                           torch.arange(2), 0, torch.uint8))
