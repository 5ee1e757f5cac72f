"""The learned policies applied to batches: per-sample results, launches, replay, containers.

Per-sample results: a policy's batch output equals running each sample alone through the
float64 references of its drawn operations (datagen_gpu.reference: affine / pixel ops),
slot by slot, on the C++ kernels and the Triton interpreter. Against torchvision itself:
tests/test_policy_torchvision.py (skipped without torchvision).
"""
import math

import pytest
import torch

from _backends import interpreted, skip_unsupported
from datagen_gpu import functional as F
from datagen_gpu import presets
from datagen_gpu import reference as R
from datagen_gpu import transforms as T
from datagen_gpu.kernels._record import ops_to_launchers, record_launches
from datagen_gpu.params import policy as P
from datagen_gpu.testing import poison_outputs, tolerance

POLICIES = {
    "rand": lambda **k: T.RandAugment(num_ops=2, magnitude=9, **k),
    "trivial": lambda **k: T.TrivialAugmentWide(**k),
    "auto": lambda **k: T.AutoAugment(T.AutoAugmentPolicy.IMAGENET, **k),
    "timm": lambda **k: T.TimmRandAugment.from_config("rand-m9-mstd0.5-inc1", **k),
    "augmix": lambda **k: T.AugMix(**k),
}


def _images(b, c, h, w, dtype, channels_last=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.uint8:
        x = torch.randint(0, 256, (b, c, h, w), generator=g, dtype=torch.uint8)
    else:
        x = torch.rand(b, c, h, w, generator=g).to(dtype)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def _reference_slots(policy, x, op, value, apply):
    """Each sample alone through the references of its operations, slot by slot (float64, [0, 1])."""
    out = R.to_unit(x)
    for s in range(op.shape[1]):
        args, code, mag = policy._slot_arguments(x, op[:, s], value[:, s], apply[:, s])
        angle, translate, shear, center = args
        out = R.affine(out, angle, translate, torch.ones_like(angle), shear, center=center,
                       fill=_unit_fill(policy.fill, x), interpolation=policy.interpolation)
        if x.dtype == torch.uint8:  # the warp stores uint8 levels
            out = (out * 255.0).round() / 255.0
        out = R.pixel_ops(out, code, mag, input_dtype=x.dtype)
        if x.dtype == torch.uint8:  # every kernel stores uint8 levels between slots
            out = (out * 255.0).round() / 255.0
    return out


def _unit_fill(fill, x):
    """The policy's fill as the reference takes it: None, or (B, C) in [0, 1] units."""
    if fill is None:
        return None
    scale = 255.0 if x.dtype == torch.uint8 else 1.0
    values = torch.tensor(fill if isinstance(fill, list) else [fill] * x.shape[1], dtype=torch.float64)
    return (values / scale).expand(x.shape[0], x.shape[1])


def _run(backend, fn):
    if backend == "triton":
        with ops_to_launchers():
            return fn()
    return fn()


@pytest.mark.parametrize("backend", ["cpu", "triton"])
@pytest.mark.parametrize("name", ["rand", "trivial", "auto", "timm"])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("channels_last", [False, True])
def test_slot_policies_match_reference(backend, name, dtype, channels_last):
    skip_unsupported(backend, dtype)
    b = 6 if interpreted(backend) else 24
    x = _images(b, 3, 13, 17, dtype, channels_last)
    t = POLICIES[name](seed=11)
    with poison_outputs():
        y, p = _run(backend, lambda: t(x, sample_ids=torch.arange(b) * 7, return_params=True))
    assert y.dtype == x.dtype and y.shape == x.shape
    assert y.is_contiguous(memory_format=torch.channels_last) == channels_last or x.shape[-1] == 1
    expected = _reference_slots(t, x, p["op"], p["value"], p["apply"])
    got = R.to_unit(y)
    # two operations in sequence: a float32 bilinear warp (float32 map) followed by an
    # enhance factor up to 1.9 compounds to a few 1e-5; uint8 stays within one level
    atol = tolerance(dtype, backend)[0] + (1e-6 if dtype == torch.uint8 else 2e-4)
    bad = (got - expected).abs() > atol
    # nearest sampling exactly between two pixels may go either way in float32: allow a few pixels
    assert bad.float().mean().item() < 0.002, (name, bad.sum().item(), (got - expected).abs().max().item())


@pytest.mark.parametrize("backend", ["cpu", "triton"])
@pytest.mark.parametrize("dtype, channels_last, width", [(torch.uint8, False, 3), (torch.uint8, True, 1),
                                                         (torch.float32, False, 1), (torch.float32, True, 3),
                                                         (torch.float16, False, 2)])
def test_augmix_matches_reference(backend, dtype, channels_last, width):
    skip_unsupported(backend, dtype)
    b = 3 if interpreted(backend) else 8
    x = _images(b, 3, 11, 14, dtype, channels_last)
    before = x.clone()
    t = T.AugMix(mixture_width=width, seed=2)
    with poison_outputs():
        y, p = _run(backend, lambda: t(x, return_params=True))
    assert torch.equal(x, before)  # the float32 input is read in place, never written
    assert y.dtype == x.dtype and y.shape == x.shape
    assert y.is_contiguous(memory_format=torch.channels_last) == channels_last
    K, D = p["op"].shape[1:]
    chains = torch.stack([_reference_slots(t, x[i:i + 1].repeat(K, 1, 1, 1), p["op"][i], p["value"][i],
                                           p["apply"][i]) for i in range(b)])
    w = p["weights"].to(torch.float64)
    mix = w[:, 0].view(b, 1, 1, 1) * R.to_unit(x) + (w[:, 1:].view(b, K, 1, 1, 1) * chains).sum(1)
    # uint8: each chain within one level of its reference, the mix rounded once more; floats:
    # a chain's D operations each round to the dtype (half an ulp at 1.0), the mix once more
    if dtype == torch.uint8:
        atol = 1.5 / 255
    else:
        atol = tolerance(dtype, backend)[0] + 2e-4 + (D + 1) * torch.finfo(dtype).eps / 2
    assert (R.to_unit(y) - mix).abs().max().item() <= atol


@pytest.mark.parametrize("name", list(POLICIES))
def test_launches_fixed_whatever_the_mix(name):
    """The kernel ops a batch calls do not depend on which operations its samples drew."""
    t = POLICIES[name](seed=0)
    seqs = []
    for ids in (torch.arange(8), torch.arange(1000, 1016), torch.zeros(4, dtype=torch.int64)):
        x = _images(len(ids), 3, 9, 10, torch.uint8)
        with ops_to_launchers() as called:
            t(x, sample_ids=ids)
        seqs.append([c for c in called if c != "random_bits"])
    assert seqs[0] == seqs[1] == seqs[2]
    slots = {"rand": 2, "trivial": 1, "auto": 2, "timm": 2, "augmix": 3}[name]
    # AugMix's mix: the chains and the original to float32, the sum back to uint8 (to_dtype's
    # copy kernel, hflip with no sample flipped), and in-place multiply-adds in between
    mix = ["hflip"] * 3 if name == "augmix" else []
    assert seqs[0] == ["affine_warp", "pixel_ops"] * slots + mix


def test_triton_launch_count_is_documented():
    """The Triton launches per slot (warp + pixel_ops' passes) are a fixed number."""
    counts = []
    for ids in (torch.arange(6), torch.arange(50, 53)):
        x = _images(len(ids), 3, 9, 10, torch.uint8)
        with ops_to_launchers(), record_launches(execute=True) as launches:
            T.RandAugment(num_ops=2, seed=1)(x, sample_ids=ids)
        counts.append([launch.short_name for launch in launches])
    assert counts[0] == counts[1]
    # one launch draws the uniforms; per slot the warp and pixel_ops' statistics, reduction, apply
    slot = ["_affine_warp_kernel", "_pixel_stats_kernel", "_pixel_finish_kernel", "_pixel_ops_kernel"]
    assert counts[0] == ["_random_bits_kernel"] + slot * 2, counts[0]


@pytest.mark.parametrize("name", list(POLICIES))
def test_replay_and_no_mutation(name):
    x = _images(5, 3, 12, 15, torch.uint8)
    before = x.clone()
    t = POLICIES[name](seed=4)
    y, p = t(x, return_params=True)
    assert torch.equal(x, before)
    assert torch.equal(t(x, params=p), y)
    assert torch.equal(POLICIES[name](seed=4)(x, sample_ids=torch.arange(5)), y)


@pytest.mark.parametrize("name", list(POLICIES))
def test_empty_batch_and_gray(name):
    t = POLICIES[name](seed=0)
    assert t(torch.zeros(0, 3, 8, 8, dtype=torch.uint8)).shape == (0, 3, 8, 8)
    g = t(_images(3, 1, 10, 12, torch.uint8))
    assert g.shape == (3, 1, 10, 12)


def test_identity_params_return_the_input():
    x = _images(4, 3, 10, 11, torch.float32)
    t = T.RandAugment(num_ops=2)
    p = t.make_params(x, torch.arange(4))
    p = {**p, "apply": torch.zeros_like(p["apply"])}
    assert torch.equal(t(x, params=p), x)


def test_same_on_batch():
    x = _images(1, 3, 10, 12, torch.uint8).expand(4, 3, 10, 12).contiguous()
    y = T.TrivialAugmentWide(seed=3, same_on_batch=True)(x)
    assert all(torch.equal(y[0], y[i]) for i in range(4))


def test_random_apply_folds_the_coin():
    x = _images(16, 3, 10, 12, torch.uint8)
    ra = T.RandomApply([T.RandAugment(seed=1)], p=0.5, seed=1)
    y, p = ra(x, return_params=True)
    apply = p["apply"]
    assert 0 < int(apply.sum()) < 16
    assert torch.equal(y[~apply], x[~apply])


@pytest.mark.parametrize("policy", ["rand-m9-mstd0.5", "rand-m9-mstd0.5-inc1", "trivial", "augmix",
                                    "augmix-m5-w2-d2", "autoaugment", None])
def test_imagenet_train_preset(policy):
    x = _images(4, 3, 40, 48, torch.uint8)
    aug = presets.imagenet_train(24, policy=policy, re_prob=0.5, seed=3)
    y, p = aug(x, sample_ids=torch.arange(4), return_params=True)
    assert y.shape == (4, 3, 24, 24) and y.dtype == torch.float32
    assert torch.isfinite(y).all()
    assert torch.equal(aug(x, params=p), y)


def test_imagenet_train_color_jitter_without_policy():
    """timm's rule: ColorJitter(color_jitter) only without an auto-augment policy; then crop,
    flip, jitter and normalize run as one fused launch."""
    x = _images(6, 3, 40, 48, torch.uint8)
    aug = presets.imagenet_train(24, policy=None, re_prob=0.0, seed=1)
    jitter = [t for t in aug.transforms if isinstance(t, T.ColorJitter)]
    assert len(jitter) == 1 and jitter[0].brightness == (0.6, 1.4) and jitter[0].hue is None
    with ops_to_launchers() as called:
        y, p = aug(x, return_params=True)
    assert [c for c in called if c != "random_bits"] == ["fused_augment"]
    unfused = T.Compose(list(aug.transforms), fuse=False, seed=1)
    # the unfused path rounds to uint8 after the crop and the jitter: two levels over std 0.224
    torch.testing.assert_close(unfused(x, params=p), y, atol=2 / 255 / 0.224, rtol=0)
    tuple_cj = presets.imagenet_train(24, policy=None, color_jitter=(0.1, 0.2, 0.3, 0.05))
    jitter = [t for t in tuple_cj.transforms if isinstance(t, T.ColorJitter)][0]
    assert jitter.contrast == (0.8, 1.2) and jitter.hue == (-0.05, 0.05)
    for off in (0, None):
        assert not any(isinstance(t, T.ColorJitter)
                       for t in presets.imagenet_train(24, policy=None, color_jitter=off).transforms)
    assert not any(isinstance(t, T.ColorJitter) for t in presets.imagenet_train(24, policy="trivial").transforms)
    for bad in ("0.4", (0.1, 0.2), True):
        with pytest.raises(ValueError, match="color_jitter"):
            presets.imagenet_train(24, policy=None, color_jitter=bad)


def test_imagenet_train_bad_arguments():
    with pytest.raises(ValueError, match="policy"):
        presets.imagenet_train(policy="cutout")
    with pytest.raises(ValueError, match="re_mode"):
        presets.imagenet_train(re_mode="noise")
    with pytest.raises(ValueError, match="policy"):
        presets.imagenet_train(policy="augmix-q3")


def test_ragged_input_rejected():
    with pytest.raises(ValueError, match="images"):
        T.RandAugment()([torch.zeros(3, 8, 8, dtype=torch.uint8)])


def test_slot_arguments_follow_torchvision():
    """Shears about the top-left corner with degrees(atan(s)), rotations and translations about
    the centre, solarize thresholds in the dtype's range, codes per kind."""
    t = T.RandAugment()
    x = torch.zeros(4, 3, 10, 20, dtype=torch.uint8)
    names = ["ShearX", "Rotate", "Solarize", "Brightness"]
    op = torch.tensor([P.space_index(t.space, n) for n in names])
    value = torch.tensor([0.3, -12.0, 0.25, 1.5], dtype=torch.float64)
    (angle, translate, shear, center), code, mag = t._slot_arguments(x, op, value, torch.ones(4, dtype=torch.bool))
    assert shear[0, 0].item() == pytest.approx(math.degrees(math.atan(0.3)))
    assert center[0].tolist() == [0.0, 0.0] and center[1].tolist() == [10.0, 5.0]
    assert angle.tolist() == [0.0, 12.0, 0.0, 0.0]  # rotate(a) = affine(angle=-a)
    assert code.tolist() == [int(F.PixelOp.IDENTITY), int(F.PixelOp.IDENTITY), int(F.PixelOp.SOLARIZE),
                             int(F.PixelOp.BRIGHTNESS)]
    assert mag[2].item() == pytest.approx(0.25 * 255) and mag[3].item() == pytest.approx(1.5)
