"""The policies against torchvision itself: each sample's drawn operations replayed through
torchvision v2's own ``_apply_image_or_video_transform`` (skipped without torchvision).

Bounds: one operation per sample (TrivialAugmentWide): uint8 within one level (we round
where torchvision truncates), float32 to float32 rounding. Two operations in sequence: the
first one's one-level rounding difference can cross a threshold of the second (posterize,
solarize, equalize, or a contrast mean) on a few pixels: measured 0.3-3% of the pixels
beyond one level against torchvision 0.29 (docs/policies.md); bounded here at 5%.
"""
import pytest
import torch

from _backends import torchvision_or_skip
from datagen_gpu import transforms as T
from datagen_gpu.params import policy as P

v2 = torchvision_or_skip("torchvision.transforms.v2")


def torchvision_magnitude(op: P.PolicyOp, value: float) -> float:
    """Our canonical value -> the magnitude torchvision's ``_apply_image_or_video_transform`` takes."""
    return value - 1.0 if op.kind in P.FACTOR_OPS else value


def torchvision_slots(tv_policy, space, x, op, value, apply):
    out = []
    for i in range(x.shape[0]):
        img = x[i]
        for s in range(op.shape[1]):
            if not bool(apply[i, s]):
                continue
            o = space[int(op[i, s])]
            img = tv_policy._apply_image_or_video_transform(
                img, o.name, torchvision_magnitude(o, float(value[i, s])),
                interpolation=tv_policy.interpolation, fill=tv_policy._fill)
        out.append(img)
    return torch.stack(out)


@pytest.mark.parametrize("ours, theirs, bound", [
    (lambda: T.TrivialAugmentWide(seed=5), lambda: v2.TrivialAugmentWide(), 0.0),
    (lambda: T.TrivialAugmentWide(interpolation="bilinear", seed=5),
     lambda: v2.TrivialAugmentWide(interpolation=v2.InterpolationMode.BILINEAR), 0.0),
    (lambda: T.RandAugment(num_ops=2, magnitude=9, seed=5), lambda: v2.RandAugment(2, 9), 0.05),
    (lambda: T.AutoAugment(T.AutoAugmentPolicy.IMAGENET, seed=5), lambda: v2.AutoAugment(), 0.05),
    (lambda: T.AutoAugment(T.AutoAugmentPolicy.SVHN, seed=5), lambda: v2.AutoAugment(v2.AutoAugmentPolicy.SVHN), 0.05),
])
def test_policy_equals_torchvision_per_sample(ours, theirs, bound):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (64, 3, 23, 31), generator=g, dtype=torch.uint8)
    t = ours()
    y, p = t(x, return_params=True)
    expected = torchvision_slots(theirs(), t.space, x, p["op"], p["value"], p["apply"])
    diff = (y.to(torch.int16) - expected.to(torch.int16)).abs()
    assert (diff > 1).float().mean().item() <= bound, diff.max()


def test_float_policy_equals_torchvision():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(64, 3, 23, 31, generator=g)
    t = T.TrivialAugmentWide(seed=3)
    y, p = t(x, return_params=True)
    expected = torchvision_slots(v2.TrivialAugmentWide(), t.space, x, p["op"], p["value"], p["apply"])
    assert (y - expected).abs().max().item() < 1e-5
