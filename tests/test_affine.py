"""The affine warp (affine_warp op; functional affine / rotate / affine_matrix) on every backend.

Op level against reference.affine_warp: odd shapes, every dtype and out_dtype,
both layouts, nearest and bilinear, per-sample mixes of identity / rotation /
translation / shear / scale / centre (0, 0), fill as one number, per channel,
per sample or none, poisoned outputs, no input mutation, exact identity,
empty batches, non-finite maps, bad arguments, several tiles and folded grids;
the C++ fast paths (integer shifts, per-row inside intervals, vector tails, thread
counts).
Functional level against reference.affine / rotate, exact special cases
(integer shifts, rot90, 180), argument forms and errors, no host sync on
(fake) CUDA, opcheck, and torchvision parity when torchvision imports.

Nearest sampling rounds a source coordinate; the kernels evaluate it in float32
(C++: float64) where the reference uses float64, so at a coordinate within
1e-4 pixel of a rounding tie either neighbour is right (``assert_warp_close``).
"""
import enum

import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu.kernels import _common
from datagen_gpu.kernels import affine as K
from datagen_gpu.testing import assert_close_to_reference, poison_outputs, random_images

from _backends import (DTYPES, interpreted, run_op, shape_for, skip_unsupported,
                       skip_without_value_checks, torchvision_or_skip)

MODES = {"nearest": 0, "bilinear": 1}
SHAPES = [(3, 3, 13, 17), (5, 3, 33, 65), (4, 1, 7, 5), (2, 4, 1, 9)]
TIE = 1e-4  # pixels: a nearest coordinate this close to a tie may round either way


# ------------------------------------------------------------------ helpers

def mixed_params(batch, height, width, gen):
    """Per-sample (angle, translate, scale, shear, center) cycling through identity, rotation,
    translation, shear, scale, centre (0, 0) and everything at once."""
    angle = torch.zeros(batch, dtype=torch.float64)
    translate = torch.zeros(batch, 2, dtype=torch.float64)
    scale = torch.ones(batch, dtype=torch.float64)
    shear = torch.zeros(batch, 2, dtype=torch.float64)
    center = torch.tensor([[width / 2, height / 2]], dtype=torch.float64).repeat(batch, 1)
    u = lambda *s: torch.rand(*s, generator=gen, dtype=torch.float64)  # noqa: E731
    for b in range(batch):
        kind = b % 7
        if kind in (1, 6):
            angle[b] = u(()) * 360 - 180
        if kind in (2, 6):
            translate[b] = (u(2) - 0.5) * torch.tensor([width, height]) * 0.6
        if kind in (3, 6):
            shear[b] = (u(2) - 0.5) * 60
        if kind in (4, 6):
            scale[b] = 0.5 + u(()) * 1.2
        if kind == 5:  # torchvision's RandAugment shears about (0, 0)
            center[b] = 0.0
            shear[b, 0] = (u(()) - 0.5) * 50
        if kind == 6:
            center[b] = u(2) * torch.tensor([width, height])
    return angle, translate, scale, shear, center


def make_fill(kind, batch, channels, gen, dtype=torch.float32):
    """(B, C) float32 fill in [0, 1] units; NaN: no fill."""
    nan = float("nan")
    if kind == "none":
        return torch.full((batch, channels), nan)
    if kind == "scalar":
        return torch.full((batch, channels), float(torch.rand((), generator=gen)))
    if kind == "channel":
        return torch.rand(1, channels, generator=gen).expand(batch, channels).contiguous()
    f = torch.rand(batch, channels, generator=gen)  # "sample": per sample, some without fill
    f[1::3] = nan
    return f


def near_tie(matrix, height, width):
    """(B, 1, H, W) bool: pixels whose nearest source coordinate is within TIE of a tie."""
    x, y = R.source_coords(matrix, height, width)
    close = lambda v: ((v - torch.floor(v)) - 0.5).abs() < TIE  # noqa: E731
    return (close(x) | close(y))[:, None]


def assert_warp_close(out, ref, matrix, mode, backend, msg=""):
    """assert_close_to_reference, where a nearest output at a tie may take either neighbour."""
    if mode == "nearest":
        H, W = ref.shape[-2:]
        tie = near_tie(matrix, H, W).expand_as(ref)
        # a sample may tie everywhere (a translation by k + 0.5); most pixels must not
        assert tie.double().mean() < 0.5, "too many ties: the test's maps are degenerate"
        ref = torch.where(tie, R.to_unit(out), ref)
    assert_close_to_reference(out, ref, msg=msg, backend=backend)


def check_layout(out, x, out_dtype):
    assert out.dtype == out_dtype and out.shape == x.shape
    if x.shape[1] > 1:
        assert out.is_contiguous(memory_format=torch.channels_last) == (
            not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last))


def run_warp(backend, x, matrix, fill, mode, out_dtype, gen=None):
    x_before = x.clone()
    with poison_outputs():
        out = run_op(backend, "affine_warp", x, matrix, fill, MODES[mode], out_dtype)
    assert torch.equal(x, x_before), "the input was modified"
    check_layout(out, x, out_dtype)
    return out


# ------------------------------------------------------------------ op vs reference

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("mode", list(MODES))
def test_warp_matches_reference(backend, shape, dtype, channels_last, mode, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    B, C, H, W = shape_for(backend, shape)
    x = random_images((B, C, H, W), dtype, channels_last=channels_last, generator=gen)
    matrix = F.affine_matrix(*mixed_params(B, H, W, gen), H, W)
    fill = make_fill(["none", "scalar", "channel", "sample"][shape[0] % 4], B, C, gen)
    out = run_warp(backend, x, matrix, fill, mode, dtype)
    ref = R.affine_warp(R.to_unit(x), matrix, fill, mode)
    assert_warp_close(out, ref, matrix, mode, backend, msg=f"{mode} {dtype}")


@pytest.mark.parametrize("in_dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("out_dtype", DTYPES)
@pytest.mark.parametrize("mode", list(MODES))
def test_warp_out_dtype(backend, in_dtype, out_dtype, mode, gen):
    skip_unsupported(backend, out_dtype, bfloat16=True)
    B, C, H, W = 4, 3, 9, 11
    x = random_images((B, C, H, W), in_dtype, generator=gen)
    matrix = F.affine_matrix(*mixed_params(B, H, W, gen), H, W)
    fill = make_fill("sample", B, C, gen)
    out = run_warp(backend, x, matrix, fill, mode, out_dtype)
    assert_warp_close(out, R.affine_warp(R.to_unit(x), matrix, fill, mode), matrix, mode, backend)


@pytest.mark.parametrize("fill_kind", ["none", "scalar", "channel", "sample"])
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_warp_fill_kinds(backend, fill_kind, mode, dtype, gen):
    """Zoomed-out, shifted samples: many pixels come from outside and take the fill."""
    B, C, H, W = 5, 3, 11, 14
    x = random_images((B, C, H, W), dtype, generator=gen)
    angle = torch.rand(B, generator=gen) * 90
    matrix = F.affine_matrix(angle, torch.tensor([[3.0, -2.0]]).repeat(B, 1), 0.6, (10.0, 0.0), None, H, W)
    fill = make_fill(fill_kind, B, C, gen)
    out = run_warp(backend, x, matrix, fill, mode, dtype)
    ref = R.affine_warp(R.to_unit(x), matrix, fill, mode)
    assert_warp_close(out, ref, matrix, mode, backend)
    if fill_kind != "none":  # the corner pixel maps far outside: exactly the fill
        expected = torch.nan_to_num(fill[:, :, None, None].expand(B, C, 1, 1), nan=0.0)
        assert_close_to_reference(out[:, :, :1, :1], expected.double(), backend=backend)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("mode", list(MODES))
def test_identity_is_exact(backend, dtype, channels_last, mode, gen):
    """Identity samples (the policies' "no geometric op") copy exactly, next to warped ones."""
    skip_unsupported(backend, dtype, bfloat16=True)
    B, C, H, W = 4, 3, 10, 13
    x = random_images((B, C, H, W), dtype, channels_last=channels_last, generator=gen)
    angle = torch.tensor([0.0, 33.0, 0.0, 360.0])
    matrix = F.affine_matrix(angle, (0.0, 0.0), 1.0, 0.0, None, H, W)
    assert torch.equal(matrix[[0, 2, 3]], torch.tensor([[1.0, 0, 0, 0, 1, 0]]).repeat(3, 1))
    fill = make_fill("sample", B, C, gen)
    out = run_warp(backend, x, matrix, fill, mode, dtype)
    assert torch.equal(out[[0, 2, 3]], x[[0, 2, 3]])
    assert not torch.equal(out[1], x[1])


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_integer_translation_is_an_exact_shift(backend, mode, dtype, gen):
    B, C, H, W = 3, 2, 8, 11
    x = random_images((B, C, H, W), dtype, generator=gen)
    shifts = [(2, -3), (-4, 1), (0, 5)]
    matrix = F.affine_matrix(0.0, torch.tensor(shifts, dtype=torch.float64), 1.0, 0.0, None, H, W)
    fill = torch.full((B, C), 0.4)
    out = run_op(backend, "affine_warp", x, matrix, fill, MODES[mode], dtype)
    level = 102 if dtype == torch.uint8 else 0.4  # round(0.4 * 255) levels
    expected = torch.full_like(x, level)
    for b, (tx, ty) in enumerate(shifts):
        ys, xs = slice(max(ty, 0), H + min(ty, 0)), slice(max(tx, 0), W + min(tx, 0))
        yd, xd = slice(max(-ty, 0), H + min(-ty, 0)), slice(max(-tx, 0), W + min(-tx, 0))
        expected[b, :, ys, xs] = x[b, :, yd, xd]
    assert torch.equal(out, expected)


def test_non_finite_and_huge_maps_read_nothing_outside(backend):
    """Any matrix is memory-safe: NaN, inf and 1e30 coefficients give the fill (or a pixel)."""
    B, C, H, W = 4, 3, 6, 7
    x = torch.rand(B, C, H, W)
    matrix = torch.tensor([[float("nan")] * 6, [1.0, 0, float("inf"), 0, 1, 0],
                           [1e30, 0, 0, 0, 1e30, 0], [1.0, 0, -1e30, 0, 1, 0]])
    for mode in MODES.values():
        out = run_op(backend, "affine_warp", x, matrix, torch.full((B, C), 0.5), mode, torch.float32)
        assert torch.isfinite(out).all()
        assert (out[[0, 1, 3]] == 0.5).all()


@pytest.mark.parametrize("shape", [(0, 3, 5, 7), (2, 3, 0, 4), (2, 0, 3, 3)])
def test_empty(backend, shape):
    B, C, H, W = shape
    x = torch.rand(shape)
    out = run_op(backend, "affine_warp", x, torch.zeros(B, 6), torch.zeros(B, C), 1, torch.uint8)
    assert out.shape == shape and out.dtype == torch.uint8
    y = F.affine(torch.rand(shape), 10.0, (1, 1), 1.0, 0.0) if backend == "cpu" else None
    assert y is None or y.shape == shape


@pytest.mark.parametrize("case", ["matrix shape", "matrix dtype", "fill shape", "fill dtype",
                                  "interpolation", "images dims", "images dtype", "out_dtype"])
def test_op_bad_arguments(backend, case):
    B, C = 2, 3
    x, matrix, fill, mode, out = torch.rand(B, C, 5, 6), torch.zeros(B, 6), torch.zeros(B, C), 0, torch.float32
    name, error = case.split()[0], ValueError
    if case == "matrix shape":
        matrix = torch.zeros(B, 3, 2)
    elif case == "matrix dtype":
        matrix, error = matrix.double(), TypeError
    elif case == "fill shape":
        fill = torch.zeros(B, C + 1)
    elif case == "fill dtype":
        fill, error = fill.half(), TypeError
    elif case == "interpolation":
        mode = 2
    elif case == "images dims":
        x = x[0]
    elif case == "images dtype":
        x, error = x.double(), TypeError
    else:
        out, error = torch.int32, TypeError
    with pytest.raises(error, match=name):
        run_op(backend, "affine_warp", x, matrix, fill, mode, out)


def test_several_tiles_and_folded_grids(backend, monkeypatch, gen):
    """BLOCK = 16 output pixels per program and a grid folded onto axis 1 past 7 programs."""
    skip_unsupported(backend)
    if backend != "triton":
        pytest.skip("Triton tiling")
    monkeypatch.setattr(K, "BLOCK", 16)
    monkeypatch.setattr(_common, "GRID_X_LIMIT", 7)
    grids, real = [], _common.flat_grid
    monkeypatch.setattr(K, "flat_grid", lambda n: grids.append(real(n)) or grids[-1])
    for mode in MODES:
        for cl in (False, True):
            B, C, H, W = 3, 3, 5, 9  # 45 pixels: 3 tiles, the last one partial
            x = random_images((B, C, H, W), torch.uint8, channels_last=cl, generator=gen)
            matrix = F.affine_matrix(*mixed_params(B, H, W, gen), H, W)
            fill = make_fill("sample", B, C, gen)
            out = run_warp(backend, x, matrix, fill, mode, torch.float32)
            assert_warp_close(out, R.affine_warp(R.to_unit(x), matrix, fill, mode), matrix, mode, backend)
    assert grids and all(g == (7, 2) for g in grids)  # 9 programs


# ------------------------------------------------------------------ C++ fast paths
# csrc/affine.cpp: integer shifts as row copies; per row, the inside pixels as one
# interval (affine_rows.h) and float64 taps on vector lanes with scalar tails
# (affine_kernels.h); channel groups of 4; work items of row blocks.

def shift_matrix(shifts):
    """(B, 6) maps x = j + dx, y = i + dy (the output is the image moved by (-dx, -dy))."""
    return torch.tensor([[1.0, 0.0, dx, 0.0, 1.0, dy] for dx, dy in shifts])


def expected_shift(x, dx, dy, fill, dtype):
    """Sample x (C, H, W) moved by (-dx, -dy), the fill (0 where NaN) elsewhere, in ``dtype``."""
    C, H, W = x.shape
    f = torch.nan_to_num(fill, nan=0.0)
    if dtype == torch.uint8:
        f = torch.floor(f * 255 + 0.5)  # store_row's float32 rounding, half up
    out = f.to(dtype)[:, None, None].expand(C, H, W).clone()
    ys, xs = slice(max(-dy, 0), min(H, H - dy)), slice(max(-dx, 0), min(W, W - dx))
    yd, xd = slice(max(dy, 0), min(H, H + dy)), slice(max(dx, 0), min(W, W + dx))
    if ys.start < ys.stop and xs.start < xs.stop:
        out[:, ys, xs] = x[:, yd, xd]
    return out


@pytest.mark.parametrize("dtypes", [(torch.uint8,) * 2, (torch.float32,) * 2, (torch.float16,) * 2,
                                    (torch.bfloat16,) * 2, (torch.uint8, torch.float32),
                                    (torch.float32, torch.uint8)], ids=str)
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("mode", list(MODES))
def test_shifts_next_to_warped_samples(backend, dtypes, channels_last, mode, gen):
    """The identity and integer shifts (in C++ row copies with fill, vertical ones of dense rows
    as one copy per plane: any size, beyond the image too) next to warped samples; 5 channels:
    a group of 4 and one more."""
    in_dtype, out_dtype = dtypes
    skip_unsupported(backend, in_dtype, out_dtype, bfloat16=True)
    B, C, H, W = 11, 5, 9, 13
    x = random_images((B, C, H, W), in_dtype, channels_last=channels_last, generator=gen)
    shifts = [(0, 0), (3, -2), (-13, 0), (40, 1), (0, -9), (-5, 8), (12, 8), (0, 4), (0, -11)]
    matrix = torch.cat([shift_matrix(shifts), shift_matrix([(2.5, 0.0)]),
                        F.affine_matrix(30.0, (1, 2), 1.1, 0.0, None, H, W)])
    fill = make_fill("sample", B, C, gen)
    out = run_warp(backend, x, matrix, fill, mode, out_dtype)
    assert_warp_close(out, R.affine_warp(R.to_unit(x), matrix, fill, mode), matrix, mode, backend)
    # raw copies: exactly the shifted pixels and the fill (the interpreter truncates a
    # bfloat16 fill where the GPU and C++ round it)
    if in_dtype == out_dtype and not (interpreted(backend) and out_dtype == torch.bfloat16):
        for b, (dx, dy) in enumerate(shifts):
            assert torch.equal(out[b], expected_shift(x[b], dx, dy, fill[b], out_dtype)), (b, dx, dy)


def pathological_maps(B, H, W, gen):
    """Maps whose rows are hard to split into fill / border / inside: rounding ties, tiny and
    zero slopes, far zoom out and in, rows grazing the border, flips, quarter turns, huge
    offsets, and random ones."""
    rows = []
    for k in range(B):
        u = torch.rand(4, generator=gen, dtype=torch.float64).tolist()
        kind = k % 9
        if kind == 0:
            m = [1e-9 * (u[0] - 0.5), 1.0, W * u[1] - 3, 1.0, 1e-12 * (u[2] - 0.5), H * u[3] - 2]
        elif kind == 1:  # a half-pixel translation: every coordinate at a tie
            m = [1.0, 0, int(6 * u[0]) - 2.5, 0, 1.0, int(6 * u[1]) - 3.5]
        elif kind == 2:  # scale 2 or 1/2 about the centre: coordinates on the integers
            s = 0.5 if u[0] < 0.5 else 2.0
            m = [s, 0, (W - 1) / 2 * (1 - s), 0, s, (H - 1) / 2 * (1 - s)]
        elif kind == 3:
            m = [-1.0, 0, W - 1 + int(4 * u[0]) - 2, 0, -1.0, H - 1]
        elif kind == 4:
            m = [0.0, 1.0, int(5 * u[0]) - 2 + 0.25 * int(4 * u[3]), -1.0, 0.0, W + int(5 * u[1]) - 3]
        elif kind == 5:
            s = 5 + 20 * u[0]
            m = [s, 0.1, -s * W / 2, -0.2, s, -s * H / 2]
        elif kind == 6:
            s = 0.01 + 0.05 * u[0]
            m = [s, 0.003, W * u[1], -0.002, s, H * u[2]]
        elif kind == 7:  # row i runs along y = -1 + i / 2 (+ a little slope)
            m = [1.0, 0.0, 0.0, 1e-3, 0.5, -1.0 + 1e-3 * (u[1] - 0.5)]
        else:
            m = [(v - 0.5) * s for v, s in zip(u + u[:2], (4, 4, 3 * W, 4, 4, 3 * H))]
        rows.append(m)
    return torch.tensor(rows, dtype=torch.float32)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float16])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("mode", list(MODES))
def test_cpu_row_spans_and_vector_tails(dtype, channels_last, mode, gen):
    """Every width 1 .. 19 and 31, 33, 65 (vector tails of 2, 4 and 8 lanes) under the
    pathological maps. The C++ kernel evaluates the coordinates as the float64 reference
    does, so nearest is exact even at ties."""
    for W in list(range(1, 20)) + [31, 33, 65]:
        H = (W * 7) % 11 + 1
        B, C = 9, 3 if W % 2 else 4
        x = random_images((B, C, H, W), dtype, channels_last=channels_last, generator=gen)
        matrix = pathological_maps(B, H, W, gen)
        fill = make_fill(["none", "sample", "channel"][W % 3], B, C, gen)
        out = run_warp("cpu", x, matrix, fill, mode, dtype)
        ref = R.affine_warp(R.to_unit(x), matrix, fill, mode)
        assert_close_to_reference(out, ref, msg=f"W={W}", backend="cpu")


def test_cpu_results_do_not_depend_on_threads(gen):
    """Work items are blocks of rows (2 per sample here): any thread count, the same bits."""
    B, C, H, W = 7, 3, 300, 64
    x = random_images((B, C, H, W), torch.uint8, generator=gen)
    matrix = F.affine_matrix(*mixed_params(B, H, W, gen), H, W)
    matrix[1] = shift_matrix([(3, -40)])[0]
    fill = make_fill("sample", B, C, gen)
    threads = torch.get_num_threads()
    try:
        for mode in MODES.values():
            for xi in (x, x.contiguous(memory_format=torch.channels_last)):
                outs = []
                for n in (1, 2, 3, 5):
                    torch.set_num_threads(n)
                    outs.append(torch.ops.datagen_gpu.affine_warp(xi, matrix, fill, mode, torch.uint8))
                assert all(torch.equal(outs[0], o) for o in outs[1:])
    finally:
        torch.set_num_threads(threads)


# ------------------------------------------------------------------ functional

def test_affine_matrix_matches_reference(gen):
    B, H, W = 7, 13, 20
    angle, translate, scale, shear, center = mixed_params(B, H, W, gen)
    for c in (None, center, (3.0, 4.5)):
        m = F.affine_matrix(angle, translate, scale, shear, c, H, W)
        assert m.shape == (B, 6) and m.dtype == torch.float32
        for b in range(B):
            cb = None if c is None else (c[b].tolist() if torch.is_tensor(c) else c)
            ref = R.inverse_affine_matrix(float(angle[b]), translate[b].tolist(), float(scale[b]),
                                          shear[b].tolist(), cb, H, W)
            torch.testing.assert_close(m[b].double(), torch.tensor(ref, dtype=torch.float64),
                                       atol=1e-5, rtol=1e-6)


def test_affine_matrix_argument_forms():
    ref = F.affine_matrix(torch.tensor([10.0, 20.0]), torch.tensor([[1.0, 2.0], [1.0, 2.0]]),
                          torch.tensor([1.5, 1.5]), torch.tensor([[5.0, 0.0], [5.0, 0.0]]), None, 9, 8)
    same = [
        F.affine_matrix(torch.tensor([10.0, 20.0]), (1, 2), 1.5, 5.0, None, 9, 8),
        F.affine_matrix(torch.tensor([10.0, 20.0]), torch.tensor([1.0, 2.0]), torch.tensor(1.5),
                        (5.0, 0.0), None, 9, 8),
        F.affine_matrix(torch.tensor([10, 20]), (torch.ones(2), 2.0), 1.5, [torch.tensor(5.0), 0], None, 9, 8),
    ]
    for m in same:
        torch.testing.assert_close(m, ref, atol=0, rtol=0)
    one = F.affine_matrix(10.0, (1, 2), 1.5, [5.0], (4.0, 4.5), 9, 8)  # a 1-sequence shears both axes
    assert one.shape == (1, 6)
    torch.testing.assert_close(one, F.affine_matrix(10.0, (1, 2), 1.5, (5.0, 5.0), None, 9, 8))


class Mode(enum.Enum):  # stands in for torchvision's InterpolationMode (an Enum of strings)
    NEAREST = "nearest"
    BILINEAR = "bilinear"


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("interpolation", ["nearest", Mode.BILINEAR])
@pytest.mark.parametrize("fill", [None, 0, 100, [10, 200, 30], "tensor"])
def test_affine_matches_reference(dtype, interpolation, fill, gen):
    B, C, H, W = 7, 3, 12, 15
    x = random_images((B, C, H, W), dtype, generator=gen)
    unit = 255.0 if dtype == torch.uint8 else 1.0
    if fill == "tensor":
        fill = torch.rand(B, C, generator=gen) * unit
    elif fill is not None and dtype != torch.uint8:
        fill = [v / 255.0 for v in fill] if isinstance(fill, list) else fill / 255.0
    params = mixed_params(B, H, W, gen)
    out = F.affine(x, *params[:4], interpolation=interpolation, fill=fill, center=params[4])
    check_layout(out, x, dtype)
    if fill is None:
        f = torch.full((B, C), float("nan"), dtype=torch.float64)
    else:
        f = torch.as_tensor(fill, dtype=torch.float64).expand(B, C) / unit
    mode = getattr(interpolation, "value", interpolation)
    ref = R.affine(R.to_unit(x), *params, fill=f, interpolation=mode)
    matrix = F.affine_matrix(*params, H, W)
    assert_warp_close(out, ref, matrix, mode, "cpu")


@pytest.mark.parametrize("mode", list(MODES))
def test_rotate_matches_reference_and_quarter_turns_are_exact(mode, gen):
    B, C, H, W = 4, 3, 9, 14
    x = random_images((B, C, H, W), torch.uint8, generator=gen)
    angle = torch.tensor([25.0, -130.0, 0.0, 271.0])
    out = F.rotate(x, angle, interpolation=mode, fill=[0, 128, 255], out_dtype=torch.float32)
    ref = R.rotate(R.to_unit(x), angle, fill=torch.tensor([[0, 128, 255.0]]).expand(B, C) / 255,
                   interpolation=mode)
    assert_warp_close(out, ref, F.affine_matrix(-angle, (0, 0), 1.0, 0.0, None, H, W), mode, "cpu")
    sq = random_images((3, C, 11, 11), torch.float32, generator=gen)
    turns = F.rotate(sq, torch.tensor([90.0, 180.0, -90.0]), interpolation=mode)
    for b, k in enumerate((1, 2, 3)):  # torchvision's rotate: torch.rot90 (counter-clockwise)
        assert torch.equal(turns[b], torch.rot90(sq[b], k, dims=(-2, -1)))
    half = F.rotate(x, 180.0, interpolation=mode)  # any size: a flip of both axes
    assert torch.equal(half, x.flip(-1, -2))


def test_functional_bad_arguments():
    x = torch.rand(2, 3, 5, 6)
    ok = dict(angle=0.0, translate=(0, 0), scale=1.0, shear=0.0)

    def call(**kw):
        args = {**ok, **kw}
        extra = {k: args.pop(k) for k in ("interpolation", "fill", "center") if k in args}
        return F.affine(x, args["angle"], args["translate"], args["scale"], args["shear"], **extra)

    cases = [
        (ValueError, "scale", dict(scale=0.0)),
        (ValueError, "scale", dict(scale=torch.tensor([1.0, -1.0]))),
        (ValueError, "interpolation", dict(interpolation="bicubic")),
        (TypeError, "interpolation", dict(interpolation=2)),
        (ValueError, "fill", dict(fill=[1, 2])),
        (ValueError, "fill", dict(fill=torch.zeros(3, 3))),
        (TypeError, "fill", dict(fill="white")),
        (ValueError, "angle", dict(angle=torch.zeros(3))),
        (TypeError, "angle", dict(angle="10")),
        (ValueError, "translate", dict(translate=(1, 2, 3))),
        (ValueError, "translate", dict(translate=torch.zeros(3, 2))),
        (TypeError, "translate", dict(translate=1.0)),
        (ValueError, "shear", dict(shear=(1, 2, 3))),
        (ValueError, "center", dict(center=torch.zeros(2, 3))),
        (TypeError, "angle", dict(angle=torch.tensor([True, False]))),
    ]
    for error, name, kw in cases:
        with pytest.raises(error, match=name):
            call(**kw)
    with pytest.raises(ValueError, match="images"):
        F.affine(x[0], 0.0, (0, 0), 1.0, 0.0)
    with pytest.raises(TypeError, match="out_dtype"):
        F.rotate(x, 1.0, out_dtype=torch.int32)
    with pytest.raises(ValueError, match="translate"):
        F.affine_matrix(torch.zeros(2), torch.zeros(3, 2), 1.0, 0.0, None, 4, 4)


def test_opcheck(gen):
    x = random_images((3, 3, 6, 7), torch.uint8, channels_last=True, generator=gen)
    matrix = F.affine_matrix(*mixed_params(3, 6, 7, gen), 6, 7)
    for mode in (0, 1):
        torch.library.opcheck(torch.ops.datagen_gpu.affine_warp.default,
                              (x, matrix, make_fill("sample", 3, 3, gen), mode, torch.float32))


def test_no_host_copy_or_sync_on_cuda():
    """Fake CUDA tensors: numbers, pairs and fill lists are made on the device (tests/_fake_cuda.py)."""
    from _fake_cuda import fake_cuda

    with fake_cuda() as (_, rec):
        x = torch.empty(4, 3, 20, 24, dtype=torch.uint8, device="cuda")
        a, t2 = torch.empty(4, device="cuda"), torch.empty(4, 2, device="cuda")
        calls = [lambda: F.affine(x, a, t2, 1.1, (5.0, 1.0), fill=[1, 2, 3], center=(0, 0)),
                 lambda: F.affine(x, a, (a, 0.0), a, t2, fill=None, center=t2, interpolation="bilinear"),
                 lambda: F.rotate(x, a, fill=torch.empty(4, 3, device="cuda"))]
        for call in calls:
            for _ in range(2):  # cold and warm
                rec.clear()
                call()
                assert list(rec.events) == []


# ------------------------------------------------------------------ torchvision parity

@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("mode", list(MODES))
def test_torchvision_parity(dtype, mode, gen):
    """torchvision's affine / rotate per sample. Nearest: torchvision computes the grid in
    float32 through normalized coordinates, so a few pixels at rounding ties differ."""
    TF = torchvision_or_skip("torchvision.transforms.v2.functional")
    B, C, H, W = 7, 3, 15, 18
    x = random_images((B, C, H, W), dtype, generator=gen)
    angle, translate, scale, shear, center = mixed_params(B, H, W, gen)
    fill = [40, 90, 200] if dtype == torch.uint8 else [0.2, 0.4, 0.8]
    out = F.affine(x, angle, translate, scale, shear, interpolation=mode, fill=fill, center=center)
    rot = F.rotate(x, angle, interpolation=mode, fill=None)
    differ = 0
    for b in range(B):
        tv = TF.affine(x[b], angle=float(angle[b]), translate=translate[b].tolist(), scale=float(scale[b]),
                       shear=shear[b].tolist(), interpolation=TF.InterpolationMode(mode), fill=fill,
                       center=center[b].tolist())
        tv_rot = TF.rotate(x[b], float(angle[b]), interpolation=TF.InterpolationMode(mode))
        for got, want in ((out[b], tv), (rot[b], tv_rot)):
            d = (R.to_unit(got) - R.to_unit(want)).abs()
            if mode == "nearest":
                differ += int((d > 0).any(0).sum())
            else:
                # uint8: rounding half up vs half to even; float32: torchvision's float32 grid
                assert d.max() <= (1.0 / 255 + 1e-6 if dtype == torch.uint8 else 5e-5)
    assert differ <= 0.01 * 2 * B * H * W, f"{differ} nearest pixels differ from torchvision"
