"""Audio transforms: torchaudio's mask sampling, SpecAugment policies, shift, mixup; randomness contract."""
import math

import pytest
import torch

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu.transforms import (AudioMixup, FrequencyMasking, FrequencyShift, SpecAugment,
                                    TimeMasking)
from datagen_gpu.transforms.audio import (SPECAUGMENT_POLICIES, axis_mask_bound,
                                          sample_axis_masks)


def expected_masked_length(mask_param, size, grid=1000):
    """E|[start, start + width) ∩ [0, size)| under torchaudio's sampling, by a midpoint rule."""
    u = (torch.arange(grid, dtype=torch.float64) + 0.5) / grid
    value = u[:, None] * mask_param
    min_value = u[None, :] * (size - value)
    start, width = min_value.trunc(), value.trunc()
    end = (start + width).clamp(max=size)
    return (end - start.clamp(min=0)).clamp(min=0).mean().item()


@pytest.mark.parametrize("mask_param,size", [(30, 100), (8, 8), (40, 25)])
def test_time_masking_fraction_matches_definition(mask_param, size):
    """Masked fraction of ones-spectrograms vs the sampling definition, 4 sigma."""
    n = 4000
    specs = torch.ones(n, 1, size)
    out = TimeMasking(mask_param, seed=3)(specs, sample_ids=torch.arange(n))
    masked = (out == 0).double().sum((1, 2))  # masked frames per sample
    expected = expected_masked_length(mask_param, size)
    sigma = masked.std().item() / math.sqrt(n)
    assert abs(masked.mean().item() - expected) < 4 * sigma + 0.02, (masked.mean(), expected)
    assert (out.eq(0) | out.eq(1)).all()
    # frames are masked as whole columns (same interval on every bin)
    assert torch.equal(out.amin(1), out.amax(1))


def test_mask_widths_are_uniform_below_the_bound():
    n, mp = 20000, 10
    start, width = TimeMasking(mp, seed=1).make_params(torch.empty(n, 4, 50), torch.arange(n)).values()
    assert width.shape == (n, 1) and width.min() == 0 and width.max() == mp - 1
    counts = torch.bincount(width[:, 0], minlength=mp).double()
    assert ((counts - n / mp).abs() < 5 * math.sqrt(n / mp)).all(), counts
    assert start.min() >= 0 and (start + width).max() <= 50
    # the start is uniform over the frames that keep the mask inside: mean about (50 - w) / 2
    wide = width[:, 0] == 9
    assert abs(start[wide, 0].double().mean().item() - (50 - 9.5) / 2) < 1.0


def test_sample_axis_masks_is_torchaudio_formula():
    u = torch.tensor([[0.5, 0.25], [0.999, 0.999], [0.0, 0.0], [0.7, 0.9]], dtype=torch.float64)
    start, width = sample_axis_masks(u, 10, 20)
    for i in range(4):
        value = u[i, 0].item() * 10
        min_value = u[i, 1].item() * (20 - value)
        assert width[i, 0] == int(value) and start[i, 0] == int(min_value)
    # mask_param above the size: starts may be negative (torchaudio truncates toward zero)
    start, width = sample_axis_masks(torch.tensor([[0.9, 0.5]], dtype=torch.float64), 40, 10)
    assert width.item() == 36 and start.item() == int(0.5 * (10 - 36.0))


def test_p_caps_the_time_mask_width():
    assert axis_mask_bound(100, 1.0, 50) == 100 and axis_mask_bound(100, 0.05, 200) == 10
    assert axis_mask_bound(70, 0.2, 200) == 40 and axis_mask_bound(5, 0.01, 50) == 0
    n = 3000
    _, width = TimeMasking(100, p=0.05, seed=0).make_params(torch.empty(n, 3, 200),
                                                            torch.arange(n)).values()
    assert width.max() == 9
    _, width = TimeMasking(100, p=0.01, seed=0).make_params(torch.empty(n, 3, 50),
                                                            torch.arange(n)).values()
    assert width.max() == 0  # bound 0: nothing masked, as torchaudio


def test_frequency_masking_masks_bins():
    specs = torch.randn(64, 2, 40, 30)
    mask = FrequencyMasking(12, mask_value="mean", num_masks=3, seed=5)
    out, params = mask(specs, return_params=True)
    assert params["start"].shape == (64, 3) and params["width"].max() <= 11
    ref = R.freq_mask(specs.double(), params["start"], params["width"], None)
    assert torch.allclose(out.double(), ref, atol=1e-5)
    assert torch.equal(mask(specs, params=params), out)  # replay


def test_same_seed_same_sample_same_masks():
    specs = torch.randn(6, 20, 50)
    a = TimeMasking(20, seed=7)
    b = TimeMasking(20, seed=7)
    ids = torch.tensor([10, 11, 12, 13, 14, 15])
    pa = a.make_params(specs, ids)
    # the same samples in another batch composition and order get the same masks
    pb = b.make_params(specs[:3], ids[[5, 0, 3]])
    assert torch.equal(pb["start"], pa["start"][[5, 0, 3]])
    assert torch.equal(pb["width"], pa["width"][[5, 0, 3]])
    # another seed, or another transform class, draws differently
    pc = TimeMasking(20, seed=8).make_params(specs, ids)
    pf = FrequencyMasking(20, seed=7).make_params(specs[:, :, :20], ids)
    assert not torch.equal(pc["width"], pa["width"]) and not torch.equal(pf["width"], pa["width"])
    # the running counter numbers successive batches: two calls differ
    c = TimeMasking(20, seed=7)
    assert not torch.equal(c(torch.ones(32, 4, 50)), c(torch.ones(32, 4, 50)))


@pytest.mark.parametrize("cls,kwargs", [(TimeMasking, dict(time_mask_param=20)),
                                        (FrequencyMasking, dict(freq_mask_param=8)),
                                        (SpecAugment, dict(policy="LD", mask_value=0.0))])
def test_same_on_batch_and_iid_masks_false(cls, kwargs):
    specs = torch.ones(5, 16, 120)
    for module in (cls(**kwargs, same_on_batch=True), cls(**kwargs, iid_masks=False)):
        out = module(specs, sample_ids=torch.arange(5) * 17)
        assert all(torch.equal(out[0], out[i]) for i in range(5))
    out = cls(**kwargs, seed=2)(specs, sample_ids=torch.arange(5))
    assert not all(torch.equal(out[0], out[i]) for i in range(5))


def test_specaugment_policies():
    assert SPECAUGMENT_POLICIES["LB"] == dict(W=80, F=27, mF=1, T=100, p=1.0, mT=1)
    assert SPECAUGMENT_POLICIES["LD"] == dict(W=80, F=27, mF=2, T=100, p=1.0, mT=2)
    assert SPECAUGMENT_POLICIES["SM"] == dict(W=40, F=15, mF=2, T=70, p=0.2, mT=2)
    assert SPECAUGMENT_POLICIES["SS"] == dict(W=40, F=27, mF=2, T=70, p=0.2, mT=2)
    n = 2000
    specs = torch.empty(n, 80, 150)
    for name, pol in SPECAUGMENT_POLICIES.items():
        params = SpecAugment(name, seed=4).make_params(specs, torch.arange(n))
        assert params["freq_width"].shape == (n, pol["mF"])
        assert params["time_width"].shape == (n, pol["mT"])
        assert params["freq_width"].max() == pol["F"] - 1
        t_bound = axis_mask_bound(pol["T"], pol["p"], 150)  # SM / SS: floor(0.2 * 150) = 30
        assert params["time_width"].max() == t_bound - 1
    aug = SpecAugment("ld", time_mask_param=10, n_freq_masks=0)
    assert (aug.freq_mask_param, aug.n_freq_masks, aug.time_mask_param, aug.n_time_masks) == (27, 0, 10, 2)
    aug = SpecAugment(freq_mask_param=5, n_freq_masks=1, time_mask_param=7, n_time_masks=3)
    assert aug.p == 1.0 and aug.mask_value == "mean"
    with pytest.raises(ValueError, match="policy"):
        SpecAugment("XX")
    with pytest.raises(ValueError, match="time_mask_param"):
        SpecAugment(freq_mask_param=5, n_freq_masks=1, n_time_masks=1)
    with pytest.raises(ValueError, match="p"):
        SpecAugment("LD", p=1.5)
    with pytest.raises(ValueError, match="mask_value"):
        SpecAugment("LD", mask_value="max")


def test_specaugment_output_and_mean_fill():
    g = torch.Generator().manual_seed(0)
    specs = torch.randn(8, 2, 64, 200, generator=g) * 3 + 1
    aug = SpecAugment("LD", seed=9)
    out, p = aug(specs, return_params=True)
    ref = R.spec_mask(specs.double(), p["freq_start"], p["freq_width"], p["time_start"],
                      p["time_width"], None)
    assert torch.allclose(out.double(), ref, atol=1e-5)
    zero = SpecAugment("LD", seed=9, mask_value=0.0)(specs, params=p)
    masked = zero == 0
    assert torch.allclose(out[masked].double(),
                          specs.double().mean((1, 2, 3))[:, None, None, None].expand_as(out)[masked],
                          atol=1e-5)


def test_frequency_shift():
    n = 6000
    shift = FrequencyShift(3, seed=1).make_params(torch.empty(n, 10, 4), torch.arange(n))["shift"]
    assert shift.dtype == torch.int64 and shift.min() == -3 and shift.max() == 3
    counts = torch.bincount(shift + 3).double()
    assert ((counts - n / 7).abs() < 5 * math.sqrt(n / 7)).all()
    specs = torch.randn(4, 12, 9)
    out, p = FrequencyShift(5, fill=-2.0, seed=0)(specs, return_params=True)
    assert torch.equal(out, F.freq_shift(specs, p["shift"], -2.0))
    assert torch.equal(FrequencyShift(0)(specs), specs)
    with pytest.raises(ValueError, match="max_shift"):
        FrequencyShift(-1)
    with pytest.raises(TypeError, match="max_shift"):
        FrequencyShift(1.5)


def test_audio_mixup_transform():
    n = 4000
    mix = AudioMixup(alpha=0.4, seed=3)
    x = torch.randn(n, 1, 5)
    params = mix.make_params(x, torch.arange(n))
    lam, perm = params["lam"], params["perm"]
    assert lam.dtype == torch.float32 and lam.min() >= 0 and lam.max() <= 1
    # Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1))
    var = 1 / (4 * (2 * 0.4 + 1))
    assert abs(lam.double().mean().item() - 0.5) < 5 * math.sqrt(var / n)
    assert abs(lam.double().var().item() - var) < 0.01
    assert torch.equal(torch.sort(perm).values, torch.arange(n))
    labels = torch.arange(n)
    (mixed, y), p2 = mix(x, labels, params=params, return_params=True)
    assert p2 is params
    assert torch.equal(y, torch.where(lam >= 0.5, labels, labels[perm]))
    assert torch.allclose(mixed, lam[:, None, None] * x + (1 - lam[:, None, None]) * x[perm], atol=1e-6)
    soft = AudioMixup(alpha=1.0, soft=True, num_classes=n, seed=3)
    _, y_soft = soft(x[:8], labels[:8])
    assert y_soft.shape == (8, n) and torch.allclose(y_soft.sum(1), torch.ones(8))
    batch = AudioMixup(alpha=1.0, same_on_batch=True, seed=3)
    p = batch.make_params(x[:6], batch.resolve_sample_ids(x[:6], None))
    assert torch.equal(p["perm"], torch.arange(5, -1, -1)) and (p["lam"] == p["lam"][0]).all()
    with pytest.raises(ValueError, match="alpha"):
        AudioMixup(alpha=0.0)


def test_audio_mixup_on_spectrograms_keeps_samples_independent_of_batch():
    """lam is a function of the sample id alone; the partner depends on the batch."""
    mix = AudioMixup(alpha=2.0, seed=11)
    x = torch.randn(10, 3, 8, 20)
    ids = torch.arange(100, 110)
    lam_all = mix.make_params(x, ids)["lam"]
    lam_part = mix.make_params(x[4:7], ids[4:7])["lam"]
    assert torch.equal(lam_part, lam_all[4:7])


def test_transform_argument_errors():
    with pytest.raises(TypeError, match="time_mask_param"):
        TimeMasking(2.5)
    with pytest.raises(ValueError, match="time_mask_param"):
        TimeMasking(-1)
    with pytest.raises(ValueError, match="p"):
        TimeMasking(10, p=-0.1)
    with pytest.raises(ValueError, match="mask_value"):
        FrequencyMasking(10, mask_value="avg")
    with pytest.raises(TypeError, match="num_masks"):
        FrequencyMasking(10, num_masks=None)
    with pytest.raises(ValueError, match="specs"):
        TimeMasking(10)(torch.randn(10, 20))
