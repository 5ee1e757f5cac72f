"""Learned augmentation policies with per-sample operations: RandAugment, TrivialAugmentWide,
AutoAugment (torchvision v2 names, arguments and operation spaces) and timm's RandAugment.

Every sample draws its own operations, magnitude bins and signs from the counter-based
generator (``datagen_gpu.params.policy``). A policy runs as *slots* (RandAugment: ``num_ops``,
TrivialAugmentWide: 1, AutoAugment: 2); in a slot each sample runs one operation or none,
and the whole batch takes a fixed number of kernel launches whatever the mix:

- one ``affine_warp`` launch for every geometric choice (shear, translate, rotate), with the
  identity map for the samples that drew a pixel operation or none;
- one ``pixel_ops`` call (its statistics pass and its apply pass: see
  ``datagen_gpu.kernels.pixel``) for every pixel choice, with the per-sample operation code
  as data and IDENTITY for the samples that warped.

So RandAugment(num_ops=2) is 2 x (1 + pixel_ops' launches) image launches for any batch
(docs/policies.md), plus the small parameter computations (O(B) elements).

With the same choices, a sample's result is torchvision's: the operation spaces, the
magnitude tables (float32 linspaces) and the argument rules (``int()`` of translations and
posterize bits, ``1 + m`` factors, shears about the top-left corner, rotations about the
centre) are torchvision's. uint8 results are within one level of torchvision's (we round
once where torchvision truncates), floats to float32 rounding.
"""
import enum
import math
import numbers
import re

import torch

from .. import functional as F
from ..params import policy as P
from ._base import RandomTransform


class AutoAugmentPolicy(enum.Enum):
    """torchvision's AutoAugment policies (also accepted: their string values)."""

    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"
    SVHN = "svhn"


def _interpolation(interpolation) -> str:
    mode = str(getattr(interpolation, "value", interpolation)).lower()
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation: expected 'nearest' or 'bilinear', got {interpolation!r}")
    return mode


def _fill(fill):
    """None (torchvision's policies' default: zero padding, bilinear not blended with a
    fill), a number, or one number per channel, in the dtype's value range."""
    if fill is None:
        return None
    if isinstance(fill, numbers.Real) and not isinstance(fill, bool):
        return float(fill)
    if isinstance(fill, (tuple, list)) and all(isinstance(v, numbers.Real) for v in fill):
        return [float(v) for v in fill]
    raise TypeError(f"fill: expected None, a number or a sequence of numbers, got {fill!r}")


def _check_batch(x, name):
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"{name}: expected a (B, C, H, W) batch tensor (ragged lists: crop them first), "
                         f"got {type(x).__name__ if not isinstance(x, torch.Tensor) else tuple(x.shape)}")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"{name}: expected 1 or 3 channels, got {x.shape[1]}")


class _SlotPolicy(RandomTransform):
    """A policy applied as slots of one operation (or none) per sample.

    Subclasses define ``space`` and ``make_params``; params are ``{"op", "value",
    "apply"}`` tensors of shape (B, slots) (see ``datagen_gpu.params.policy``).
    """

    APPLY_ATTRS = ("interpolation", "fill")
    space = ()

    def __init__(self, *, interpolation="nearest", fill=None, **kwargs):
        super().__init__(**kwargs)
        self.interpolation = _interpolation(interpolation)
        self.fill = _fill(fill)

    def _slot_arguments(self, x, op, value, apply):
        """One slot's kernel arguments: (affine args, pixel op code, pixel magnitude)."""
        geom_t, pixel_t, _ = P.space_codes(self.space, x.device)
        B, _, H, W = x.shape
        geom = torch.where(apply, geom_t[op], P.NO_WARP)
        v = value.to(torch.float64)
        zero = torch.zeros_like(v)
        angle = torch.where(geom == P.ROTATE, -v, zero)  # torchvision's rotate(a) is affine(angle=-a)
        translate = torch.stack([torch.where(geom == P.TRANSLATE_X, v, zero),
                                 torch.where(geom == P.TRANSLATE_Y, v, zero)], dim=1)
        shear_deg = torch.rad2deg(torch.atan(v))
        shear = torch.stack([torch.where(geom == P.SHEAR_X, shear_deg, zero),
                             torch.where(geom == P.SHEAR_Y, shear_deg, zero)], dim=1)
        is_shear = ((geom == P.SHEAR_X) | (geom == P.SHEAR_Y)).unsqueeze(1)
        middle = P.constant([W * 0.5, H * 0.5], x.device, torch.float64)
        center = torch.where(is_shear, torch.zeros_like(middle), middle.expand(B, 2))
        code = torch.where(apply & (geom == P.NO_WARP), pixel_t[op], int(F.PixelOp.IDENTITY))
        bound = 255.0 if x.dtype == torch.uint8 else 1.0
        solarize = code == int(F.PixelOp.SOLARIZE)
        add = code == int(F.PixelOp.SOLARIZE_ADD)
        mag = torch.where(solarize, v * bound, torch.where(add, v * (bound / 255.0), v))
        code = torch.where(solarize & (v > 1.0), int(F.PixelOp.IDENTITY), code)  # threshold above the range
        return (angle, translate, shear, center), code, mag.to(torch.float32)

    def run_slots(self, x, op, value, apply, *, warp=True):
        """Apply every slot (columns of ``op`` / ``value`` / ``apply``) to the batch ``x``."""
        has_warp = warp and any(o.geom != P.NO_WARP for o in self.space)
        fill = self.fill
        if isinstance(fill, list) and len(fill) != x.shape[1] and x.shape[1] == 1:
            fill = sum(fill) / len(fill)  # an RGB fill (timm's mean) on a gray batch: its average
        for s in range(op.shape[1]):
            (angle, translate, shear, center), code, mag = self._slot_arguments(x, op[:, s], value[:, s],
                                                                               apply[:, s])
            if has_warp:
                x = F.affine(x, angle, translate, torch.ones_like(angle), shear,
                             interpolation=self.interpolation, fill=fill, center=center)
            x = F.pixel_ops(x, code, mag)
        return x

    def apply_params(self, x, params):
        _check_batch(x, "images")
        if x.shape[0] == 0:
            return x.clone()
        return self.run_slots(x, params["op"], params["value"], params["apply"])

    def mask_params(self, params, apply):
        """RandomApply's coin folded into the slots (skipped samples run identities)."""
        return {**params, "apply": params["apply"] & apply.view(-1, 1)}

    def _size(self, x):
        _check_batch(x, "images")
        return x.shape[-2], x.shape[-1]


class RandAugment(_SlotPolicy):
    """RandAugment (Cubuk et al. 2019) per sample, torchvision v2's definition.

    Each sample applies ``num_ops`` operations drawn uniformly (with replacement) from
    torchvision's 14-operation space (Identity, ShearX/Y, TranslateX/Y, Rotate, Brightness,
    Color, Contrast, Sharpness, Posterize, Solarize, AutoContrast, Equalize) at the fixed
    magnitude bin ``magnitude`` of ``num_magnitude_bins``, with a random sign for the signed
    operations.

    Args:
        num_ops: operations per sample (slots), >= 0.
        magnitude: the magnitude bin, in [0, num_magnitude_bins).
        num_magnitude_bins: bins of the magnitude tables (>= 2).
        interpolation: "nearest" (torchvision's default) or "bilinear".
        fill: fill of the area a geometric operation uncovers (dtype's range; None = 0).
        seed, same_on_batch: see ``RandomTransform``.

    Shape:
        (B, 1 or 3, H, W) uint8 or float -> the same.

    Example:
        >>> ra = RandAugment(num_ops=2, magnitude=9, seed=0)
        >>> y, params = ra(torch.randint(0, 256, (8, 3, 64, 64), dtype=torch.uint8), return_params=True)
    """

    APPLY_ATTRS = _SlotPolicy.APPLY_ATTRS
    space = P.RAND_AUGMENT_SPACE

    def __init__(self, num_ops=2, magnitude=9, num_magnitude_bins=31, interpolation="nearest", fill=None,
                 **kwargs):
        super().__init__(interpolation=interpolation, fill=fill, **kwargs)
        if not isinstance(num_ops, int) or isinstance(num_ops, bool) or num_ops < 0:
            raise ValueError(f"num_ops: expected a non-negative int, got {num_ops!r}")
        if not isinstance(num_magnitude_bins, int) or num_magnitude_bins < 2:
            raise ValueError(f"num_magnitude_bins: expected an int >= 2, got {num_magnitude_bins!r}")
        if not isinstance(magnitude, int) or not 0 <= magnitude < num_magnitude_bins:
            raise ValueError(f"magnitude: expected an int in [0, {num_magnitude_bins}), got {magnitude!r}")
        self.num_ops, self.magnitude, self.num_magnitude_bins = num_ops, magnitude, num_magnitude_bins

    def make_params(self, x, sample_ids):
        H, W = self._size(x)
        S = self.num_ops
        u = self.draw(sample_ids, 2 * S).view(-1, S, 2)
        op = P.choose(u[..., 0], len(self.space))
        table = P.magnitude_table(self.space, self.num_magnitude_bins, H, W, x.device)
        value = P.torchvision_values(self.space, op, torch.full_like(op, self.magnitude), u[..., 1] <= 0.5,
                                     table)
        return {"op": op, "value": value, "apply": torch.ones_like(op, dtype=torch.bool)}


class TrivialAugmentWide(_SlotPolicy):
    """TrivialAugment Wide (Müller & Hutter 2021) per sample, torchvision v2's definition.

    One operation per sample from torchvision's wide space (as RandAugment's, with wider
    ranges: shear 0.99, translate 32 px, rotate 135 degrees, enhance 0.99, posterize down
    to 2 bits), a uniformly drawn magnitude bin and a random sign.

    Args:
        num_magnitude_bins: bins of the magnitude tables (>= 2).
        interpolation, fill, seed, same_on_batch: as RandAugment.

    Example:
        >>> y = TrivialAugmentWide(seed=0)(torch.randint(0, 256, (8, 3, 64, 64), dtype=torch.uint8))
    """

    APPLY_ATTRS = _SlotPolicy.APPLY_ATTRS
    space = P.TRIVIAL_AUGMENT_SPACE

    def __init__(self, num_magnitude_bins=31, interpolation="nearest", fill=None, **kwargs):
        super().__init__(interpolation=interpolation, fill=fill, **kwargs)
        if not isinstance(num_magnitude_bins, int) or num_magnitude_bins < 2:
            raise ValueError(f"num_magnitude_bins: expected an int >= 2, got {num_magnitude_bins!r}")
        self.num_magnitude_bins = num_magnitude_bins

    def make_params(self, x, sample_ids):
        H, W = self._size(x)
        u = self.draw(sample_ids, 3)
        op = P.choose(u[:, :1], len(self.space))
        bins = P.choose(u[:, 1:2], self.num_magnitude_bins)
        table = P.magnitude_table(self.space, self.num_magnitude_bins, H, W, x.device)
        value = P.torchvision_values(self.space, op, bins, u[:, 2:3] <= 0.5, table)
        return {"op": op, "value": value, "apply": torch.ones_like(op, dtype=torch.bool)}


# torchvision's sub-policies: ((name, probability, magnitude bin or None), (...)), 10 bins
_AUTO_POLICIES = {
    AutoAugmentPolicy.IMAGENET: """
        Posterize .4 8 Rotate .6 9 | Solarize .6 5 AutoContrast .6 - | Equalize .8 - Equalize .6 -
        Posterize .6 7 Posterize .6 6 | Equalize .4 - Solarize .2 4 | Equalize .4 - Rotate .8 8
        Solarize .6 3 Equalize .6 - | Posterize .8 5 Equalize 1 - | Rotate .2 3 Solarize .6 8
        Equalize .6 - Posterize .4 6 | Rotate .8 8 Color .4 0 | Rotate .4 9 Equalize .6 -
        Equalize 0 - Equalize .8 - | Invert .6 - Equalize 1 - | Color .6 4 Contrast 1 8
        Rotate .8 8 Color 1 2 | Color .8 8 Solarize .8 7 | Sharpness .4 7 Invert .6 -
        ShearX .6 5 Equalize 1 - | Color .4 0 Equalize .6 - | Equalize .4 - Solarize .2 4
        Solarize .6 5 AutoContrast .6 - | Invert .6 - Equalize 1 - | Color .6 4 Contrast 1 8
        Equalize .8 - Equalize .6 -""",
    AutoAugmentPolicy.CIFAR10: """
        Invert .1 - Contrast .2 6 | Rotate .7 2 TranslateX .3 9 | Sharpness .8 1 Sharpness .9 3
        ShearY .5 8 TranslateY .7 9 | AutoContrast .5 - Equalize .9 - | ShearY .2 7 Posterize .3 7
        Color .4 3 Brightness .6 7 | Sharpness .3 9 Brightness .7 9 | Equalize .6 - Equalize .5 -
        Contrast .6 7 Sharpness .6 5 | Color .7 7 TranslateX .5 8 | Equalize .3 - AutoContrast .4 -
        TranslateY .4 3 Sharpness .2 6 | Brightness .9 6 Color .2 8 | Solarize .5 2 Invert 0 -
        Equalize .2 - AutoContrast .6 - | Equalize .2 - Equalize .6 - | Color .9 9 Equalize .6 -
        AutoContrast .8 - Solarize .2 8 | Brightness .1 3 Color .7 0 | Solarize .4 5 AutoContrast .9 -
        TranslateY .9 9 TranslateY .7 9 | AutoContrast .9 - Solarize .8 3 | Equalize .8 - Invert .1 -
        TranslateY .7 9 AutoContrast .9 -""",
    AutoAugmentPolicy.SVHN: """
        ShearX .9 4 Invert .2 - | ShearY .9 8 Invert .7 - | Equalize .6 - Solarize .6 6
        Invert .9 - Equalize .6 - | Equalize .6 - Rotate .9 3 | ShearX .9 4 AutoContrast .8 -
        ShearY .9 8 Invert .4 - | ShearY .9 5 Solarize .2 6 | Invert .9 - AutoContrast .8 -
        Equalize .6 - Rotate .9 3 | ShearX .9 4 Solarize .3 3 | ShearY .8 8 Invert .7 -
        Equalize .9 - TranslateY .6 6 | Invert .9 - Equalize .6 - | Contrast .3 3 Rotate .8 4
        Invert .8 - TranslateY 0 2 | ShearY .7 6 Solarize .4 8 | Invert .6 - Rotate .8 4
        ShearY .3 7 TranslateX .9 3 | ShearX .1 6 Invert .6 - | Solarize .7 2 TranslateY .6 7
        ShearY .8 4 Invert .8 - | ShearX .7 9 TranslateY .8 3 | ShearY .8 5 AutoContrast .7 -
        ShearX .7 2 Invert .1 -""",
}


def sub_policies(policy: AutoAugmentPolicy):
    """torchvision's sub-policies of ``policy``: a list of ((name, p, bin or None), (name, p, bin or None))."""
    w = _AUTO_POLICIES[policy].replace("|", " ").split()  # 6 words per sub-policy
    op = lambda i: (w[i], float(w[i + 1]), None if w[i + 2] == "-" else int(w[i + 2]))  # noqa: E731
    return [(op(i), op(i + 3)) for i in range(0, len(w), 6)]


class AutoAugment(_SlotPolicy):
    """AutoAugment (Cubuk et al. 2018) per sample with torchvision v2's learned policies.

    Each sample draws one of the policy's 25 sub-policies; each of its two operations
    runs with its probability, at its magnitude bin (of 10), with a random sign where
    signed.

    Args:
        policy: AutoAugmentPolicy.IMAGENET (default), CIFAR10 or SVHN (or their strings).
        interpolation, fill, seed, same_on_batch: as RandAugment.

    Example:
        >>> y = AutoAugment(AutoAugmentPolicy.IMAGENET)(torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8))
    """

    APPLY_ATTRS = _SlotPolicy.APPLY_ATTRS
    space = P.AUTO_AUGMENT_SPACE

    def __init__(self, policy=AutoAugmentPolicy.IMAGENET, interpolation="nearest", fill=None, **kwargs):
        super().__init__(interpolation=interpolation, fill=fill, **kwargs)
        try:
            self.policy = AutoAugmentPolicy(getattr(policy, "value", policy))
        except ValueError:
            raise ValueError(f"policy: expected one of {[p.value for p in AutoAugmentPolicy]}, got {policy!r}") \
                from None
        subs = sub_policies(self.policy)
        self._sp_op = [P.space_index(self.space, n) for sp in subs for n, _, _ in sp]  # (25 * 2,) flat
        self._sp_p = [p for sp in subs for _, p, _ in sp]
        self._sp_bin = [b or 0 for sp in subs for _, _, b in sp]

    def make_params(self, x, sample_ids):
        H, W = self._size(x)
        dev = x.device
        u = self.draw(sample_ids, 5)
        k = P.choose(u[:, 0], len(self._sp_op) // 2)
        table = lambda v, dtype: P.constant(v, dev, dtype).view(-1, 2)[k]  # noqa: E731
        op, prob, bins = table(self._sp_op, torch.int64), table(self._sp_p, torch.float64), \
            table(self._sp_bin, torch.int64)
        apply = u[:, 1:3] <= prob  # torchvision skips an operation unless rand() <= p
        table = P.magnitude_table(self.space, 10, H, W, dev)
        value = P.torchvision_values(self.space, op, bins, u[:, 3:5] <= 0.5, table)
        return {"op": op, "value": value, "apply": apply}


class TimmRandAugment(_SlotPolicy):
    """timm's RandAugment (``rand_augment_transform``), per sample on tensors.

    timm's 15-operation space (AutoContrast, Equalize, Invert, Rotate, Posterize, Solarize,
    SolarizeAdd, Color, Contrast, Brightness, Sharpness, ShearX/Y, TranslateX/YRel; the
    ``Increasing`` variants with ``increasing=True``), ``num_ops`` choices with
    replacement, each applied with probability ``prob``; the magnitude of each
    application is ``N(magnitude, magnitude_std)`` (``U(0, magnitude)`` for an infinite
    std) clipped to [0, magnitude_max], mapped by timm's level functions. Build it from
    timm's config string with :meth:`from_config`: ``"rand-m9-mstd0.5-inc1"``.

    Differences from timm (which runs PIL on one image): the geometric operations use the
    same affine maps on tensors (shears and translations about the top-left corner, as
    PIL's ``Image.transform``; rotations about the centre) with ``interpolation``
    (timm picks bilinear or bicubic at random; bicubic is not offered) and ``fill`` (timm:
    the dataset mean in uint8 levels, (124, 116, 104) for ImageNet).
    """

    APPLY_ATTRS = _SlotPolicy.APPLY_ATTRS

    def __init__(self, magnitude=9.0, num_ops=2, magnitude_std=0.0, magnitude_max=10.0, increasing=False,
                 prob=0.5, interpolation="bilinear", fill=(124, 116, 104), **kwargs):
        super().__init__(interpolation=interpolation, fill=fill, **kwargs)
        if not isinstance(num_ops, int) or num_ops < 0:
            raise ValueError(f"num_ops: expected a non-negative int, got {num_ops!r}")
        if not 0.0 <= float(prob) <= 1.0:
            raise ValueError(f"prob: expected a probability in [0, 1], got {prob!r}")
        if float(magnitude_std) < 0:
            raise ValueError(f"magnitude_std: expected >= 0, got {magnitude_std!r}")
        self.magnitude, self.num_ops = float(magnitude), num_ops
        self.magnitude_std = math.inf if float(magnitude_std) > 100 else float(magnitude_std)
        self.magnitude_max, self.prob, self.increasing = float(magnitude_max), float(prob), bool(increasing)
        self.space = P.TIMM_RAND_INCREASING_SPACE if increasing else P.TIMM_RAND_SPACE

    @classmethod
    def from_config(cls, config_str: str, **kwargs):
        """timm's config string: ``rand`` then ``-m<int>``, ``-n<int>``, ``-mstd<float>``,
        ``-mmax<int>``, ``-inc<0|1>``, ``-p<float>`` (each op's probability) (``-w`` / ``-t``,
        op weights and op lists, are not supported)."""
        parts = str(config_str).split("-")
        if parts[0] != "rand":
            raise ValueError(f"config_str: expected timm's 'rand-...' RandAugment string, got {config_str!r}")
        args = {}
        for part in parts[1:]:
            m = re.fullmatch(r"(mstd|mmax|inc|m|n|p)(\d.*)", part)
            if not m:
                raise ValueError(f"config_str: unknown or unsupported section {part!r} in {config_str!r}")
            key, val = m.groups()
            args[{"m": "magnitude", "n": "num_ops", "mstd": "magnitude_std", "mmax": "magnitude_max",
                  "inc": "increasing", "p": "prob"}[key]] = (int(val) if key in ("n", "m", "mmax") else
                                                             bool(int(val)) if key == "inc" else float(val))
        return cls(**{**args, **kwargs})

    def make_params(self, x, sample_ids):
        H, W = self._size(x)
        S = self.num_ops
        u = self.draw(sample_ids, 4 * S).view(-1, S, 4)
        op = P.choose(u[..., 0], len(self.space))
        apply = u[..., 1] < self.prob
        if math.isinf(self.magnitude_std):
            level = u[..., 2] * self.magnitude
        elif self.magnitude_std > 0:
            level = self.magnitude + self.magnitude_std * P.normal_from_uniform(u[..., 2])
        else:
            level = torch.full_like(u[..., 2], self.magnitude)
        level = level.clamp(0.0, self.magnitude_max)
        value = P.timm_values(self.space, op, level, u[..., 3] > 0.5, H, W)
        # posterize to 8 bits or more is timm's no-op; keep bits in the kernels' 0..8
        return {"op": op, "value": value.clamp(max=8.0).where(self._is(op, "posterize"), value),
                "apply": apply}

    def _is(self, op, kind):
        return P.constant([o.kind == kind for o in self.space], op.device, torch.bool)[op]
