"""The learned policies' parameter draws: spaces, frequencies, magnitudes, signs, weights.

Statistics use 100k samples and bounds far in the tails (chi-square at p ~ 1e-6, binomial
at ~5 sigma), so a correct sampler fails with negligible probability and a wrong one
(a skipped operation, a biased sign) fails surely. The draws are deterministic functions
of the seed, so the tests are not flaky: the same numbers every run.
"""
import json
import math
import os

import pytest
from _backends import torchvision_or_skip  # noqa: E402

import torch

from datagen_gpu import transforms as T
from datagen_gpu.params import policy as P

N = 100_000
HERE = os.path.dirname(os.path.abspath(__file__))


def _images(b=1, h=37, w=53):
    return torch.zeros(b, 3, h, w, dtype=torch.uint8)


def _params(t, n=N, h=37, w=53):
    # make_params only reads the batch's shape and device: an expanded view costs nothing
    x = torch.zeros(1, 3, h, w, dtype=torch.uint8).expand(n, 3, h, w)
    return t.make_params(x, torch.arange(n))


def _chi2_uniform(counts):
    counts = counts.to(torch.float64)
    expected = counts.sum() / counts.numel()
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    k = counts.numel() - 1
    # Wilson-Hilferty: chi2_k quantile at z sigma
    bound = k * (1 - 2 / (9 * k) + 5.0 * math.sqrt(2 / (9 * k))) ** 3
    assert chi2 < bound, f"chi2 {chi2:.1f} over {k} dof exceeds {bound:.1f}: {counts.tolist()}"


def _balanced(flags, p=0.5):
    n = flags.numel()
    assert n > 1000
    mean = flags.to(torch.float64).mean().item()
    assert abs(mean - p) <= 5 * math.sqrt(p * (1 - p) / n), (mean, p, n)


@pytest.fixture(scope="module")
def tv_spaces():
    with open(os.path.join(HERE, "data", "torchvision_policy_spaces.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("key, space, bins", [
    ("ra", P.RAND_AUGMENT_SPACE, 31), ("ta", P.TRIVIAL_AUGMENT_SPACE, 31),
    ("aa", P.AUTO_AUGMENT_SPACE, 10), ("am", P.AUGMIX_SPACE, 10)])
def test_spaces_are_torchvisions(tv_spaces, key, space, bins):
    """Names, order, signs and magnitude tables equal torchvision 0.29's (recorded fixture)."""
    tv = tv_spaces[key]
    assert [o.name for o in space] == list(tv)
    table = P.magnitude_table(space, bins, 37, 53)
    for k, op in enumerate(space):
        mags, signed = tv[op.name]
        assert op.signed == signed
        expected = torch.zeros(bins, dtype=torch.float64) if mags is None else torch.tensor(mags, dtype=torch.float64)
        assert torch.equal(table[k], expected), op.name
    assert [o.name for o in P.AUGMIX_PARTIAL_SPACE] == tv_spaces["am_partial"]


def test_spaces_match_installed_torchvision():
    v2 = torchvision_or_skip("torchvision.transforms.v2")
    for cls, space, bins in [(v2.RandAugment, P.RAND_AUGMENT_SPACE, 31), (v2.TrivialAugmentWide, P.TRIVIAL_AUGMENT_SPACE, 31),
                             (v2.AutoAugment, P.AUTO_AUGMENT_SPACE, 10), (v2.AugMix, P.AUGMIX_SPACE, 10)]:
        assert [o.name for o in space] == list(cls._AUGMENTATION_SPACE)
        table = P.magnitude_table(space, bins, 29, 41)
        for k, op in enumerate(space):
            m = cls._AUGMENTATION_SPACE[op.name][0](bins, 29, 41)
            if m is not None:
                assert torch.equal(table[k], m.to(torch.float64))


def test_auto_augment_sub_policies_match_installed_torchvision():
    v2 = torchvision_or_skip("torchvision.transforms.v2")
    for policy in T.AutoAugmentPolicy:
        ours = T.autoaugment.sub_policies(policy)
        theirs = v2.AutoAugment(v2.AutoAugmentPolicy(policy.value))._policies
        assert [tuple(tuple(op) for op in sp) for sp in ours] == [tuple(tuple(op) for op in sp) for sp in theirs]


def test_auto_augment_sub_policies_shape():
    for policy in T.AutoAugmentPolicy:
        subs = T.autoaugment.sub_policies(policy)
        assert len(subs) == 25
        for sp in subs:
            for name, p, b in sp:
                P.space_index(P.AUTO_AUGMENT_SPACE, name)
                assert 0 <= p <= 1 and (b is None or 0 <= b < 10)
    first = T.autoaugment.sub_policies(T.AutoAugmentPolicy.IMAGENET)[0]
    assert first == (("Posterize", 0.4, 8), ("Rotate", 0.6, 9))


def _signed_mask(space, op):
    return torch.tensor([o.signed for o in space])[op]


@pytest.mark.parametrize("num_ops", [1, 2])
def test_rand_augment_frequencies_magnitudes_signs(num_ops):
    t = T.RandAugment(num_ops=num_ops, magnitude=9, seed=3)
    p = _params(t)
    op, value = p["op"], p["value"]
    assert op.shape == (N, num_ops) and p["apply"].all()
    for s in range(num_ops):
        _chi2_uniform(torch.bincount(op[:, s], minlength=len(t.space)))
    table = P.magnitude_table(t.space, 31, 37, 53)
    mag = table[op, 9]
    # every value is torchvision's argument of the drawn op at bin 9, with either sign
    plus = P.torchvision_values(t.space, op, torch.full_like(op, 9), torch.zeros_like(op, dtype=torch.bool), table)
    minus = P.torchvision_values(t.space, op, torch.full_like(op, 9), torch.ones_like(op, dtype=torch.bool), table)
    assert ((value == plus) | (value == minus)).all()
    signed = _signed_mask(t.space, op) & (mag != 0)
    _balanced((value == minus)[signed])


def test_trivial_augment_bins_uniform_and_values_on_bins():
    t = T.TrivialAugmentWide(seed=5)
    p = _params(t)
    op, value = p["op"][:, 0], p["value"][:, 0]
    _chi2_uniform(torch.bincount(op, minlength=len(t.space)))
    table = P.magnitude_table(t.space, 31, 37, 53)
    rotate = P.space_index(t.space, "Rotate")
    sel = op == rotate
    bins = (value[sel].abs() / (135.0 / 30)).round().to(torch.int64)
    _chi2_uniform(torch.bincount(bins, minlength=31))
    on_bins = (value[sel].abs().unsqueeze(1) == table[rotate].unsqueeze(0)).any(dim=1)
    assert on_bins.all()
    _balanced(value[sel & (value != 0)] < 0)
    post = P.space_index(t.space, "Posterize")
    assert set(value[op == post].unique().tolist()) <= set(range(2, 9))


def test_auto_augment_subpolicy_frequency_and_probabilities():
    t = T.AutoAugment(T.AutoAugmentPolicy.IMAGENET, seed=1)
    p = _params(t)
    subs = T.autoaugment.sub_policies(T.AutoAugmentPolicy.IMAGENET)
    k = P.choose(t.draw(torch.arange(N), 5)[:, 0], len(subs))  # the sub-policy draw
    _chi2_uniform(torch.bincount(k, minlength=len(subs)))
    pairs = torch.tensor([[P.space_index(t.space, n) for n, _, _ in sp] for sp in subs])
    assert torch.equal(p["op"], pairs[k])
    for j in (0, 4, 14):  # apply rates are the sub-policies' probabilities
        for s in range(2):
            _balanced(p["apply"][k == j, s], subs[j][s][1])
    first = k == 0  # (Posterize 0.4 bin 8, Rotate 0.6 bin 9)
    assert set(p["value"][first, 0].unique().tolist()) == {4.0}  # round(8 - 8 / 2.25) = 4 bits
    assert set(p["value"][first, 1].abs().unique().tolist()) == {30.0}
    _balanced(p["value"][first, 1] < 0)


def test_timm_rand_augment_config_and_draws():
    t = T.TimmRandAugment.from_config("rand-m9-mstd0.5-inc1", seed=2)
    assert (t.magnitude, t.num_ops, t.magnitude_std, t.increasing) == (9.0, 2, 0.5, True)
    assert len(t.space) == 15 and t.space[4].name == "PosterizeIncreasing"
    p = _params(t)
    _chi2_uniform(torch.bincount(p["op"].flatten(), minlength=15))
    _balanced(p["apply"].flatten(), 0.5)
    rot = p["op"] == P.space_index(t.space, "Rotate")
    level = p["value"][rot].abs() / 3.0  # rotate = level / 10 * 30
    assert abs(level.mean().item() - 9.0) < 0.02 and abs(level.std().item() - 0.5) < 0.05
    assert T.TimmRandAugment.from_config("rand-m7-n3-mstd101").magnitude_std == math.inf
    t = T.TimmRandAugment.from_config("rand-n1-m10-mstd101-p1.0-inc1-mmax9")
    assert (t.num_ops, t.magnitude, t.prob, t.magnitude_max, t.increasing) == (1, 10.0, 1.0, 9.0, True)
    assert bool(_params(t)["apply"].all())  # p1.0: every op applies
    with pytest.raises(ValueError, match="config_str"):
        T.TimmRandAugment.from_config("rand-m9-w0")
    with pytest.raises(ValueError, match="config_str"):
        T.TimmRandAugment.from_config("augmix-m3")


def test_augmix_weights_depths_ops():
    t = T.AugMix(seed=4)
    p = _params(t, n=20_000)
    w = p["weights"]
    assert w.shape == (20_000, 4) and (w >= 0).all()
    assert torch.allclose(w.sum(dim=1), torch.ones(20_000, dtype=torch.float64))
    m = w[:, 0]  # Beta(1, 1) = U(0, 1): mean 1/2, variance 1/12
    assert abs(m.mean().item() - 0.5) < 0.01 and abs(m.var().item() - 1 / 12) < 0.004
    chains = w[:, 1:] / (1 - m).unsqueeze(1)  # Dirichlet(1, 1, 1): marginal mean 1/3, var 2/36
    assert torch.allclose(chains.mean(0), torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.01)
    assert torch.allclose(chains.var(0), torch.full((3,), 2 / 36, dtype=torch.float64), atol=0.004)
    depth = p["apply"].sum(dim=2)
    _chi2_uniform(torch.bincount(depth.flatten(), minlength=4)[1:])
    assert p["apply"][..., 0].all()  # every chain has at least one operation
    _chi2_uniform(torch.bincount(p["op"].flatten(), minlength=len(t.space)))
    fixed = T.AugMix(chain_depth=2, mixture_width=2, all_ops=False).make_params(_images(5), torch.arange(5))
    assert fixed["apply"].shape == (5, 2, 2) and fixed["apply"].all()
    assert int(fixed["op"].max()) < len(P.AUGMIX_PARTIAL_SPACE)


@pytest.mark.parametrize("make", [lambda: T.RandAugment(seed=7), lambda: T.TrivialAugmentWide(seed=7),
                                  lambda: T.AutoAugment(seed=7), lambda: T.AugMix(seed=7),
                                  lambda: T.TimmRandAugment(magnitude_std=0.5, seed=7)])
def test_params_are_per_sample_pure_functions(make):
    """A sample's parameters depend on (seed, sample id) only: not on its batch or position."""
    t = make()
    full = t.make_params(_images(10), torch.arange(100, 110))
    part = t.make_params(_images(4), torch.tensor([107, 102, 109, 100]))
    rows = torch.tensor([7, 2, 9, 0])
    for k in full:
        assert torch.equal(full[k][rows], part[k]), k


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_ops"):
        T.RandAugment(num_ops=-1)
    with pytest.raises(ValueError, match="magnitude"):
        T.RandAugment(magnitude=31)
    with pytest.raises(ValueError, match="num_magnitude_bins"):
        T.TrivialAugmentWide(num_magnitude_bins=1)
    with pytest.raises(ValueError, match="policy"):
        T.AutoAugment("imagenet21k")
    with pytest.raises(ValueError, match="interpolation"):
        T.RandAugment(interpolation="bicubic")
    with pytest.raises(TypeError, match="fill"):
        T.RandAugment(fill="black")
    with pytest.raises(ValueError, match="severity"):
        T.AugMix(severity=11)
    with pytest.raises(ValueError, match="alpha"):
        T.AugMix(alpha=0)
    with pytest.raises(ValueError, match="images"):
        T.RandAugment().make_params([torch.zeros(3, 4, 4)], torch.arange(1))
    with pytest.raises(ValueError, match="channels"):
        T.TrivialAugmentWide().make_params(torch.zeros(2, 4, 5, 5), torch.arange(2))
