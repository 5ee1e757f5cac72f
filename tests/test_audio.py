"""Audio ops (time/freq/spec masks, freq_shift, audio_mixup) against the float64 reference."""
import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu._checks.audio import layout_order
from datagen_gpu.testing import assert_close_to_reference, poison_outputs

from _backends import interpreted, run_op, skip_unsupported, value_checks

SPEC_SHAPES = [(3, 17, 29), (2, 2, 13, 41), (1, 5, 130)]
WAVE_SHAPES = [(3, 257), (2, 2, 77), (2, 3, 5, 19)]
SPEC_DTYPES = [torch.float32, torch.float16, torch.bfloat16]
LAYOUTS = ["contiguous", "time_major", "permuted"]
I64_MAX, I64_MIN = 2**63 - 1, -(2**63)


def spec_shape_for(backend, shape):
    """The Triton interpreter runs one program at a time: keep its shapes small."""
    if not interpreted(backend):
        return shape
    return (min(shape[0], 2),) + tuple(min(s, 4) for s in shape[1:-2]) + (min(shape[-2], 9),
                                                                          min(shape[-1], 37))


def random_specs(shape, dtype, layout, gen):
    """Log-spectrogram-like values (not in [0, 1]) in the requested memory layout."""
    x = (torch.randn(shape, generator=gen) * 4 - 3).to(dtype)
    if layout == "time_major":  # (..., F, T) view of a (..., T, F) tensor
        x = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    elif layout == "permuted":  # channels-last (B, C, F, T); batch innermost (B, F, T)
        if x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        else:
            x = x.permute(1, 2, 0).contiguous().permute(2, 0, 1)
    return x


def random_masks(gen, batch, count, size):
    """(B, M) starts and widths with edge cases: both edges, overlaps, zero widths, past the edges."""
    start = torch.randint(-3, size + 2, (batch, count), generator=gen)
    width = torch.randint(0, max(2, size // 2), (batch, count), generator=gen)
    if count >= 3 and batch >= 1:
        start[0, :3] = torch.tensor([-2, size - 3, 1])
        width[0, :3] = torch.tensor([5, 10, 0])  # touches the start, runs past the end, empty
    if count >= 2 and batch >= 2:
        start[1, :2] = torch.tensor([2, 4])
        width[1, :2] = torch.tensor([6, 6])  # overlapping
    return start, width


def assert_same_layout(out, x):
    assert out.shape == x.shape
    assert layout_order(out) == layout_order(x), (out.stride(), x.stride())


def mask_args(op, x, gen, counts):
    F_, T = x.shape[-2], x.shape[-1]
    fs, fw = random_masks(gen, x.shape[0], counts[0], F_)
    ts, tw = random_masks(gen, x.shape[0], counts[1], T)
    if op == "time_mask":
        return (ts, tw), lambda x64, v: R.time_mask(x64, ts, tw, v)
    if op == "freq_mask":
        return (fs, fw), lambda x64, v: R.freq_mask(x64, fs, fw, v)
    return (fs, fw, ts, tw), lambda x64, v: R.spec_mask(x64, fs, fw, ts, tw, v)


@pytest.mark.parametrize("op", ["time_mask", "freq_mask", "spec_mask"])
@pytest.mark.parametrize("dtype", SPEC_DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fill", ["value", "mean"])
def test_masks_match_reference(backend, op, dtype, layout, fill, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    for shape, counts in zip(SPEC_SHAPES, [(3, 3), (1, 2), (0, 4)]):
        x = random_specs(spec_shape_for(backend, shape), dtype, layout, gen)
        masks, ref = mask_args(op, x, gen, counts)
        value = torch.randn(x.shape[0], generator=gen) if fill == "value" else None
        x_before = x.clone()
        with poison_outputs():
            out = run_op(backend, op, x, *masks, value, dtype)
        assert out.dtype == dtype
        assert_same_layout(out, x)
        assert_close_to_reference(out, ref(x.double(), value), msg=f"{op} {tuple(x.shape)}", backend=backend)
        assert torch.equal(x, x_before)


@pytest.mark.parametrize("out_dtype", SPEC_DTYPES)
def test_masks_out_dtype(backend, out_dtype, gen):
    skip_unsupported(backend, out_dtype, bfloat16=True)
    x = random_specs((3, 7, 19), torch.float32, "contiguous", gen)
    fs, fw = random_masks(gen, 3, 2, 7)
    ts, tw = random_masks(gen, 3, 3, 19)
    for value in (None, torch.tensor([0.5, -1.0, 2.0])):
        with poison_outputs():
            out = run_op(backend, "spec_mask", x, fs, fw, ts, tw, value, out_dtype)
        assert out.dtype == out_dtype
        assert_close_to_reference(out, R.spec_mask(x.double(), fs, fw, ts, tw, value), backend=backend)


def test_masks_extreme_intervals(backend, gen):
    """Intervals at the int64 limits are clipped without overflow; widths <= 0 mask nothing."""
    x = random_specs((2, 6, 11), torch.float32, "contiguous", gen)
    start = torch.tensor([[I64_MAX, I64_MIN, -5, 3, 4], [0, 10, I64_MIN, -1, 2]])
    width = torch.tensor([[I64_MAX, I64_MAX, I64_MAX, -7, 0], [I64_MAX, 1, 5, 2, I64_MIN]])
    value = torch.tensor([100.0, -100.0])
    for op, ref in (("time_mask", R.time_mask), ("freq_mask", R.freq_mask)):
        with poison_outputs():
            out = run_op(backend, op, x, start, width, value, torch.float32)
        assert_close_to_reference(out, ref(x.double(), start, width, value), msg=op, backend=backend)
    out = run_op(backend, "time_mask", x, start[:, :0], width[:, :0], None, torch.float32)
    assert torch.equal(out, x)  # M = 0: a copy


@pytest.mark.parametrize("threads", [1, 8])  # C++: per-sample tasks, or rows in three phases
def test_mean_fill_is_the_unmasked_sample_mean(backend, threads, gen):
    x = random_specs((3, 2, 8, 33), torch.float32, "contiguous", gen)
    fs, fw = torch.tensor([[0], [2], [7]]), torch.tensor([[8], [3], [1]])
    ts, tw = torch.tensor([[0], [30], [5]]), torch.tensor([[0], [3], [20]])
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        out = run_op(backend, "spec_mask", x, fs, fw, ts, tw, None, torch.float32)
    finally:
        torch.set_num_threads(saved)
    means = x.double().mean(dim=(1, 2, 3))
    assert torch.allclose(out[0].double(), means[0].expand(2, 8, 33), atol=1e-6)  # all masked
    assert torch.allclose(out[1, :, 2:5].double(), means[1].expand(2, 3, 33), atol=1e-6)
    assert torch.allclose(out[2, :, :, 5:25].double(), means[2].expand(2, 8, 20), atol=1e-6)
    assert torch.equal(out[2, :, :7, :5], x[2, :, :7, :5])


def test_spec_mask_is_freq_then_time_mask(gen):
    x = random_specs((4, 2, 12, 40), torch.float32, "contiguous", gen)
    fs, fw = random_masks(gen, 4, 2, 12)
    ts, tw = random_masks(gen, 4, 3, 40)
    out = F.spec_mask(x, fs, fw, ts, tw, value=-1.5)
    assert torch.equal(out, F.time_mask(F.freq_mask(x, fs, fw, -1.5), ts, tw, -1.5))


@pytest.mark.parametrize("dtype", SPEC_DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_freq_shift_matches_reference(backend, dtype, layout, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    for shape in SPEC_SHAPES:
        x = random_specs(spec_shape_for(backend, shape), dtype, layout, gen)
        B, F_ = x.shape[0], x.shape[-2]
        edges = torch.tensor([F_ - 1, -(F_ - 1), F_, 0, I64_MAX, I64_MIN])
        shift = torch.where(torch.rand(B, generator=gen) < 0.5,
                            torch.randint(-F_, F_ + 1, (B,), generator=gen), edges[:B])
        fill = torch.randn(B, generator=gen)
        x_before = x.clone()
        with poison_outputs():
            out = run_op(backend, "freq_shift", x, shift, fill, dtype)
        assert_same_layout(out, x)
        assert_close_to_reference(out, R.freq_shift(x.double(), shift, fill), msg=f"{tuple(x.shape)}",
                                  backend=backend)
        assert torch.equal(x, x_before)


def test_freq_shift_direction():
    x = torch.arange(5.0)[None, :, None].expand(1, 5, 3)
    assert F.freq_shift(x, 2, fill=-1.0)[0, :, 0].tolist() == [-1, -1, 0, 1, 2]
    assert F.freq_shift(x, -1)[0, :, 0].tolist() == [1, 2, 3, 4, 0]
    assert F.freq_shift(x, 7, fill=9.0).eq(9).all()


@pytest.mark.parametrize("dtype", SPEC_DTYPES)
@pytest.mark.parametrize("out_dtype", [None, torch.float32])
def test_audio_mixup_matches_reference(backend, dtype, out_dtype, gen):
    skip_unsupported(backend, dtype, bfloat16=True)
    out_dtype = out_dtype or dtype
    for shape in WAVE_SHAPES:
        x = (torch.randn(shape, generator=gen)).to(dtype)
        if x.dim() >= 3:
            x = x.transpose(-1, -2).contiguous().transpose(-1, -2)
        if interpreted(backend):
            x = x[:2]
        B = x.shape[0]
        lam = torch.rand(B, generator=gen)
        lam[0] = 1.0
        perm = torch.randint(0, B, (B,), generator=gen)
        x_before = x.clone()
        with poison_outputs():
            out = run_op(backend, "audio_mixup", x, lam, perm, out_dtype)
        assert out.dtype == out_dtype
        assert_same_layout(out, x)
        assert_close_to_reference(out, R.audio_mixup(x.double(), lam, perm), msg=f"{tuple(shape)}",
                                  backend=backend)
        assert torch.equal(x, x_before)


def test_audio_mixup_labels():
    x = torch.randn(4, 100)
    lam = torch.tensor([0.9, 0.5, 0.2, 0.0])
    perm = torch.tensor([1, 2, 3, 0])
    labels = torch.tensor([10, 11, 12, 13])
    mixed, y = F.audio_mixup(x, labels, lam, perm)
    assert y.tolist() == [10, 11, 13, 10]
    assert torch.equal(mixed[3], x[0])
    assert torch.allclose(mixed[0], 0.9 * x[0] + 0.1 * x[1], atol=1e-6)
    onehot = torch.nn.functional.one_hot(labels - 10, 4).float()
    _, y_rows = F.audio_mixup(x, onehot, lam, perm)
    assert torch.equal(y_rows, onehot[[0, 1, 3, 0]])
    _, soft = F.audio_mixup(x, labels - 10, lam, perm, soft=True, num_classes=5)
    assert soft.shape == (4, 5) and torch.allclose(soft.sum(1), torch.ones(4))
    assert torch.allclose(soft[0], torch.tensor([0.9, 0.1, 0.0, 0.0, 0.0]))
    assert torch.allclose(soft[1], torch.tensor([0.0, 0.5, 0.5, 0.0, 0.0]))
    _, soft_rows = F.audio_mixup(x, onehot.double(), lam, perm, soft=True)
    assert soft_rows.dtype == torch.float64 and torch.allclose(soft_rows.float(), soft[:, :4])
    same, _ = F.audio_mixup(x, labels, 1.0, torch.arange(4))
    assert torch.equal(same, x)


def test_functional_forms_and_empty():
    # seeded: the global generator's state depends on which tests ran before, and
    # a per-sample mean near 0 once fell outside allclose's absolute tolerance
    x = torch.randn(2, 6, 10, generator=torch.Generator().manual_seed(5))
    a = F.time_mask(x, 3, 2)  # ints broadcast: one mask per sample
    b = F.time_mask(x, torch.tensor([3, 3]), torch.tensor([[2], [2]], dtype=torch.int32))
    assert torch.equal(a, b) and a[:, :, 3:5].eq(0).all() and torch.equal(a[:, :, 5:], x[:, :, 5:])
    # one width for M starts
    c = F.freq_mask(x, torch.tensor([[0, 4], [1, 2]]), 1, value=torch.tensor([7.0, 8.0]))
    assert c[0, [0, 4]].eq(7).all() and c[1, [1, 2]].eq(8).all()
    assert torch.allclose(F.freq_mask(x, 0, 6, "mean"), x.mean((1, 2))[:, None, None].expand_as(x))
    for fn, args in ((F.time_mask, (0, 1)), (F.freq_mask, (0, 1)), (F.freq_shift, (1,)),
                     (F.spec_mask, (0, 1, 0, 1))):
        for shape in ((0, 6, 10), (2, 0, 10), (2, 6, 0)):
            empty = torch.randn(shape)
            params = args if shape[0] else tuple(torch.zeros(0, dtype=torch.int64) for _ in args)
            assert fn(empty, *params).shape == shape
    mixed, y = F.audio_mixup(torch.randn(0, 5), torch.zeros(0, dtype=torch.int64),
                             torch.zeros(0), torch.zeros(0, dtype=torch.int64))
    assert mixed.shape == (0, 5) and y.shape == (0,)
    half = F.time_mask(x, 1, 1, out_dtype=torch.bfloat16)
    assert half.dtype == torch.bfloat16


def test_errors():
    x = torch.randn(2, 6, 10)
    with pytest.raises(ValueError, match="specs"):
        F.time_mask(torch.randn(6, 10), 0, 1)
    with pytest.raises(TypeError, match="specs"):
        F.freq_mask(x.double(), 0, 1)
    with pytest.raises(TypeError, match="specs"):
        F.freq_shift((x * 10).to(torch.uint8), 1)
    with pytest.raises(ValueError, match="start"):
        F.time_mask(x, torch.tensor([1, 2, 3]), 1)
    with pytest.raises(TypeError, match="width"):
        F.time_mask(x, 1, torch.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="start"):
        F.time_mask(x, 1.5, 1)
    with pytest.raises(ValueError, match="width"):
        F.time_mask(x, 1, torch.tensor([2, -1]))
    with pytest.raises(ValueError, match="time_width"):
        F.spec_mask(x, 0, 1, torch.tensor([[1, 2], [3, 4]]), torch.tensor([[1, 2, 3], [1, 2, 3]]))
    with pytest.raises(ValueError, match="value"):
        F.time_mask(x, 1, 1, value="median")
    with pytest.raises(ValueError, match="value"):
        F.time_mask(x, 1, 1, value=torch.zeros(3))
    with pytest.raises(TypeError, match="out_dtype"):
        F.time_mask(x, 1, 1, out_dtype=torch.uint8)
    for shift in (torch.tensor([1.0, 2.0]), torch.tensor([True, False]), 1.5, True, "1"):
        with pytest.raises(TypeError, match="shift"):
            F.freq_shift(x, shift)
    with pytest.raises(ValueError, match="shift"):
        F.freq_shift(x, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="fill"):
        F.freq_shift(x, 1, fill=torch.zeros(5))
    with pytest.raises(ValueError, match="x"):
        F.audio_mixup(torch.randn(5), torch.zeros(5), 0.5, torch.zeros(5, dtype=torch.int64))
    with pytest.raises(ValueError, match="lam"):
        F.audio_mixup(x, torch.zeros(2), 1.5, torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="perm"):
        F.audio_mixup(x, torch.zeros(2), 0.5, torch.tensor([1, 2]))
    with pytest.raises(TypeError, match="perm"):
        F.audio_mixup(x, torch.zeros(2), 0.5, torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="labels"):
        F.audio_mixup(x, torch.zeros(3), 0.5, torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="num_classes"):
        F.audio_mixup(x, torch.tensor([0, 1]), 0.5, torch.tensor([1, 0]), soft=True)
    with pytest.raises(ValueError, match="labels"):
        F.audio_mixup(x, torch.tensor([0, 3]), 0.5, torch.tensor([1, 0]), soft=True, num_classes=3)
    # the C++ ops check their arguments too
    ops = torch.ops.datagen_gpu
    one = torch.ones(2, 1, dtype=torch.int64)
    with pytest.raises(ValueError, match="start"):
        ops.time_mask(x, torch.ones(2, dtype=torch.int64), one, None, torch.float32)
    with pytest.raises(TypeError, match="width"):
        ops.freq_mask(x, one, one.int(), None, torch.float32)
    with pytest.raises(ValueError, match="freq_width"):
        ops.spec_mask(x, one, torch.ones(2, 2, dtype=torch.int64), one, one, None, torch.float32)
    with pytest.raises(TypeError, match="value"):
        ops.time_mask(x, one, one, torch.zeros(2, dtype=torch.float64), torch.float32)
    with pytest.raises(TypeError, match="out_dtype"):
        ops.freq_shift(x, torch.zeros(2, dtype=torch.int64), torch.zeros(2), torch.uint8)
    with pytest.raises(ValueError, match="perm"):
        ops.audio_mixup(x, torch.zeros(2), torch.tensor([0, 2]), torch.float32)
    with pytest.raises(ValueError, match="x"):
        ops.audio_mixup(torch.randn(2, 1, 1, 1, 1), torch.zeros(2), torch.tensor([0, 1]),
                        torch.float32)


@pytest.mark.parametrize("backend_name", ["cpu", "triton"])
def test_op_level_checks(backend_name):
    """The C++ ops and the Triton launchers check their arguments themselves."""
    skip_unsupported(backend_name)
    x = torch.randn(2, 6, 10)
    one = torch.ones(2, 1, dtype=torch.int64)
    with pytest.raises(ValueError, match="width"):
        run_op(backend_name, "time_mask", x, one, torch.ones(2, 2, dtype=torch.int64), None,
               torch.float32)
    with pytest.raises(TypeError, match="specs"):
        run_op(backend_name, "freq_shift", x.double(), one[:, 0], torch.zeros(2), torch.float32)
    if value_checks(backend_name):  # on CPU tensors only
        with pytest.raises(ValueError, match="perm"):
            run_op(backend_name, "audio_mixup", x, torch.zeros(2), torch.tensor([0, 5]), torch.float32)


def _opcheck_inputs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, 5, 9, generator=g)
    xt = torch.randn(2, 7, 11, generator=g).transpose(-1, -2).contiguous().transpose(-1, -2)
    s, w = torch.tensor([[1, 3], [0, 0], [4, 2]]), torch.tensor([[2, 1], [0, 3], [9, 1]])
    v = torch.tensor([0.5, -1.0, 2.0])
    return [
        ("time_mask", (x, s, w, v, torch.float32)),
        ("time_mask", (xt, s[:2], w[:2], None, torch.float16)),
        ("freq_mask", (x, s, w, None, torch.float32)),
        ("spec_mask", (x, s, w, s, w, v, torch.bfloat16)),
        ("spec_mask", (xt, s[:2], w[:2], s[:2, :1].contiguous(), w[:2, :1].contiguous(), None,
                       torch.float32)),
        ("freq_shift", (x, torch.tensor([1, -2, 7]), v, torch.float32)),
        ("audio_mixup", (torch.randn(3, 50, generator=g), v.abs() / 2, torch.tensor([2, 0, 0]),
                         torch.float32)),
        ("audio_mixup", (x, v.abs() / 2, torch.tensor([1, 1, 0]), torch.float16)),
    ]


@pytest.mark.parametrize("case", range(len(_opcheck_inputs())))
def test_opcheck(case):
    name, args = _opcheck_inputs()[case]
    torch.library.opcheck(getattr(torch.ops.datagen_gpu, name).default, args)


def test_autograd_matches_reference(gen):
    x = random_specs((3, 2, 6, 15), torch.float32, "contiguous", gen)
    fs, fw = random_masks(gen, 3, 2, 6)
    ts, tw = random_masks(gen, 3, 3, 15)
    g = torch.randn(x.shape, generator=gen)
    for value in (torch.tensor([0.5, -1.0, 2.0]), None):
        xa = x.clone().requires_grad_()
        va = None if value is None else value.clone().requires_grad_()
        F.spec_mask(xa, fs, fw, ts, tw, "mean" if va is None else va).backward(g)
        xr = x.double().requires_grad_()
        out_r = R.spec_mask(xr, fs, fw, ts, tw, value)
        out_r.backward(g.double())
        assert torch.allclose(xa.grad.double(), xr.grad, atol=1e-5)
        if va is not None:
            masked = (out_r.detach() == value.double()[:, None, None, None]).double()
            assert torch.allclose(va.grad.double(), (g.double() * masked).sum((1, 2, 3)), atol=1e-4)
    shift, fill = torch.tensor([2, -1, 9]), torch.zeros(3, requires_grad=True)
    xa = x.clone().requires_grad_()
    F.freq_shift(xa, shift, fill).backward(g)
    xr = x.double().requires_grad_()
    R.freq_shift(xr, shift, torch.zeros(3)).backward(g.double())
    assert torch.allclose(xa.grad.double(), xr.grad, atol=1e-6)
    vacated = R.freq_shift(torch.zeros_like(x.double()), shift, torch.ones(3))
    assert torch.allclose(fill.grad.double(), (g.double() * vacated).sum((1, 2, 3)), atol=1e-4)
    lam, perm = torch.tensor([0.3, 0.9, 0.5], requires_grad=True), torch.tensor([1, 1, 0])
    xa = x.clone().requires_grad_()
    F.audio_mixup(xa, torch.zeros(3), lam, perm)[0].backward(g)
    xr = x.double().requires_grad_()
    lam_r = lam.detach().double()
    out_r = torch.stack([lam_r[i] * xr[i] + (1 - lam_r[i]) * xr[perm[i]] for i in range(3)])
    out_r.backward(g.double())
    assert torch.allclose(xa.grad.double(), xr.grad, atol=1e-6)
    d_lam = ((x.double() - x.double()[perm]) * g.double()).sum((1, 2, 3))
    assert torch.allclose(lam.grad.double(), d_lam, atol=1e-4)
