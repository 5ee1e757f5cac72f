"""The C++ row kernels are compiled per CPU ISA (csrc/isa.h) and
picked at run time; every level must give bit-identical results."""
import pytest
import torch

import datagen_gpu.functional as F
from datagen_gpu._debug import set_cpu_isa

BEST = set_cpu_isa("best")


@pytest.fixture
def isa_outputs():
    """Runs fn under the baseline and the best ISA; restores the best after."""
    def run(fn):
        outs = {}
        try:
            for name in ("baseline", BEST):
                assert set_cpu_isa(name) == name
                outs[name] = fn()
        finally:
            set_cpu_isa("best")
        return outs["baseline"], outs[BEST]
    return run


def _jitter_args(b, gen):
    return dict(
        brightness=torch.rand(b, generator=gen) * 1.2 + 0.4,
        contrast=torch.rand(b, generator=gen) * 1.2 + 0.4,
        saturation=torch.rand(b, generator=gen) * 1.2 + 0.4,
        hue=torch.rand(b, generator=gen) - 0.5,
        order=torch.stack([torch.randperm(4, generator=gen) for _ in range(b)]),
    )


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float16, torch.float32])
@pytest.mark.parametrize("shape", [(3, 3, 17, 29), (2, 3, 40, 131)])
def test_color_ops_bit_identical_across_isas(isa_outputs, dtype, shape):
    gen = torch.Generator().manual_seed(hash((str(dtype), shape)) % 2**31)
    x = torch.rand(shape, generator=gen)
    x = (x * 255).round().to(torch.uint8) if dtype == torch.uint8 else x.to(dtype)
    a = _jitter_args(shape[0], gen)

    def run():
        return [
            F.color_jitter(x, a["brightness"], a["contrast"], a["saturation"], a["hue"],
                           a["order"]),
            F.adjust_hue(x, a["hue"]),
            F.adjust_contrast(x, a["contrast"]),
            F.adjust_saturation(x, a["saturation"]),
            F.rgb_to_grayscale(x),
        ]

    base, best = isa_outputs(run)
    for u, v in zip(base, best):
        assert torch.equal(u, v)


def test_fused_augment_bit_identical_across_isas(isa_outputs):
    gen = torch.Generator().manual_seed(7)
    x = (torch.rand(4, 3, 45, 61, generator=gen) * 255).to(torch.uint8)
    boxes = torch.tensor([[0.0, 0.0, 45.0, 61.0], [3.5, 2.0, 30.0, 41.0],
                          [10.0, 5.0, 20.0, 20.0], [1.0, 1.0, 44.0, 59.0]])
    a = _jitter_args(4, gen)

    def run():
        return F.fused_augment(x, boxes, (23, 27), flip=torch.tensor([True, False, True, False]),
                               grayscale=torch.tensor([False, True, False, False]),
                               mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
                               blur_kernel=9, blur_sigma=torch.tensor([0.4, 1.0, 2.0, 1.3]),
                               blur_apply=torch.tensor([True, True, False, True]),
                               out_dtype=torch.float32, **a)

    base, best = isa_outputs(run)
    assert torch.equal(base, best)


def test_set_cpu_isa_errors():
    with pytest.raises(ValueError, match="name"):
        set_cpu_isa("avx512")
    with pytest.raises(TypeError, match="name"):
        set_cpu_isa(1)


@pytest.mark.parametrize("out", [(23, 27), (40, 37), (9, 64)])
def test_resample_and_blur_bit_identical_across_isas(isa_outputs, out):
    """The resampling passes (8x8 transposed loads and stores on AVX2) from every
    source kind (uint8 and float32 rows read in place, float16 and strided rows
    converted first) and the blur FIRs (full 32-wide blocks and scalar tails)."""
    gen = torch.Generator().manual_seed(out[0] * 100 + out[1])
    x = (torch.rand(5, 3, 45, 61, generator=gen) * 255).to(torch.uint8)
    wide = torch.rand(2, 3, 30, 101, generator=gen)
    boxes = torch.tensor([[0.0, 0.0, 45.0, 61.0], [3.5, 2.0, 30.0, 41.0], [10.0, 5.0, 20.0, 20.0],
                          [1.0, 1.0, 44.0, 59.0], [-4.0, 50.0, 30.0, 30.0]])
    sigma = torch.tensor([0.3, 1.0, 2.0, 0.7, 1.5])

    def run():
        return [F.resized_crop(x, boxes, out, out_dtype=torch.float32),
                F.resized_crop(x, boxes, out, antialias=False, flip=True),
                F.resized_crop(x.float() / 255, boxes, out),
                F.resized_crop(x.half(), boxes, out, out_dtype=torch.float32),
                F.resized_crop(x.contiguous(memory_format=torch.channels_last), boxes, out),
                F.gaussian_blur(x.float() / 255, 7, sigma),
                F.gaussian_blur(x, 9, sigma),
                F.gaussian_blur(wide, 13, sigma[:2])]

    base, best = isa_outputs(run)
    for u, v in zip(base, best):
        assert torch.equal(u, v)


@pytest.mark.parametrize("w", [17, 40, 131])
def test_pixel_ops_uint8_bit_identical_across_isas(isa_outputs, w):
    """pixel_ops on uint8: SHARPNESS's integer sums (16-pixel AVX2 steps, 4-pixel
    baseline steps, scalar tails) and the 256-entry tables (vpshufb blocks, 8-level
    words), into uint8 and float32, NCHW and channels-last."""
    gen = torch.Generator().manual_seed(w)
    x = (torch.rand(22, 3, 9, w, generator=gen) * 255).round().to(torch.uint8)
    op = torch.arange(22) % 11
    m = torch.where(op == 5, 3.0, torch.where(op == 6, 100.0, 0.7 + torch.rand(22, generator=gen)))

    def run():
        return [F.pixel_ops(v, op, m, out_dtype=d)
                for v in (x, x.contiguous(memory_format=torch.channels_last))
                for d in (torch.uint8, torch.float32)]

    base, best = isa_outputs(run)
    for u, v in zip(base, best):
        assert torch.equal(u, v)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float16, torch.float32])
@pytest.mark.parametrize("channels_last", [False, True])
def test_affine_bit_identical_across_isas(isa_outputs, dtype, channels_last):
    """The affine warp's float64 taps (4 or 2 lanes) and bilinear blend (8 or 4 lanes, uint8
    bytes written by the kernel) at widths with every tail, with and without fill."""
    gen = torch.Generator().manual_seed(17)
    outs = []
    for h, w in ((13, 29), (7, 37), (20, 3)):
        x = torch.rand(6, 3, h, w, generator=gen)
        x = (x * 255).round().to(torch.uint8) if dtype == torch.uint8 else x.to(dtype)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        angle = torch.rand(6, generator=gen) * 360 - 180
        shear = (torch.rand(6, 2, generator=gen) - 0.5) * 40
        outs.append((x, F.affine_matrix(angle, (1.5, -2), 0.8, shear, None, h, w),
                     torch.rand(6, 3, generator=gen).masked_fill(torch.arange(6)[:, None] % 2 == 0,
                                                                 float("nan"))))

    def run():
        return [torch.ops.datagen_gpu.affine_warp(x, m, f, mode, od)
                for x, m, f in outs for mode in (0, 1) for od in (dtype, torch.float32)]

    base, best = isa_outputs(run)
    for u, v in zip(base, best):
        assert torch.equal(u, v)


def test_erase_noise_bit_identical_across_isas(isa_outputs):
    """erase's per-pixel normal noise (hash, polynomial ln / cos, vectorized rows of
    odd widths) and constant fills, NCHW and channels-last."""
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(6, 3, 37, 41, generator=gen)
    boxes = torch.tensor([[0, 0, 37, 41], [3, 4, 9, 13], [-2, -3, 40, 7], [5, 30, 3, 20],
                          [10, 1, 1, 1], [1, 1, 30, 37]])
    value = torch.rand(6, 3, generator=gen)
    rnd = torch.tensor([True, True, True, False, True, True])
    ids = torch.tensor([0, 1, 2**35 + 7, 3, 99, 1000])

    def run():
        return [torch.ops.datagen_gpu.erase(v, boxes, value, rnd, ids, 0xDEADBEEF, torch.float32)
                for v in (x, x.contiguous(memory_format=torch.channels_last))]

    base, best = isa_outputs(run)
    for u, v in zip(base, best):
        assert torch.equal(u, v)
