"""Batch mixing transforms: torchvision v2's MixUp and CutMix, and timm's Mixup.

All are called with ``(images, labels)`` and return ``(images, soft_labels)``,
or with a ``datagen_gpu.data.Batch`` (its labels and sample ids are used) and
return the Batch with mixed images and labels
(plus the parameters with ``return_params=True``; pass them back as
``params=`` to replay). Every sample draws its own mixing weight (and box)
from the counter-based generator keyed by its sample id, with Beta(a, a)
computed from those uniforms (``datagen_gpu.params.mixing``); the whole batch
is mixed by one kernel launch, without Python loops or host syncs.

Partners are positional, as in the libraries these classes copy, and replay
exactly for the same batch: torchvision's classes mix sample i with sample
i - 1 (``roll(1, 0)``), timm's ``Mixup`` with sample B - 1 - i
(``flip(0)``). Odd batch sizes work (the middle sample of a flip is its own
partner and stays unchanged; timm asserts an even batch).

Differences from the originals, by design: torchvision draws one weight per
call (``same_on_batch=True`` here restores that), timm draws with NumPy's
global RNG and loops over samples in ``pair`` / ``elem`` modes; uint8 images
are rounded to nearest after mixing in float32.
"""
import numbers

import torch

from .. import functional as F
from ..params.mixing import (BETA_DRAWS, beta_symmetric, box_lam, cutmix_boxes_minmax, cutmix_boxes_timm,
                             cutmix_boxes_torchvision, flip_permutation, pair_mirror, roll_permutation)
from ._base import RandomTransform
from ._batch import repack, unpack


def _positive(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not float(value) > 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


def _num_classes(value, required=False):
    if value is None and not required:
        return None
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or int(value) <= 0:
        raise ValueError(f"num_classes: expected a positive int, got {value!r}")
    return int(value)


class _MixTransform(RandomTransform):
    """Common forward of the mixing transforms: ``(images, labels) -> (images, labels)``."""

    def forward(self, images, labels=None, sample_ids=None, params=None, return_params=False):
        images, labels, sample_ids, batch = unpack(images, labels, sample_ids)
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            raise ValueError("images: expected a (B, C, H, W) batch")
        if not isinstance(labels, torch.Tensor) or labels.shape[:1] != images.shape[:1]:
            raise ValueError(f"labels: expected a tensor with batch size {images.shape[0]}")
        if params is None:
            params = self.make_params(images, self.resolve_sample_ids(images, sample_ids))
        out = repack(batch, self.apply_params((images, labels), params))
        return (out, params) if return_params else out


class MixUp(_MixTransform):
    """MixUp (Zhang et al., ICLR 2018) with torchvision v2's arguments.

    Sample i becomes ``lam_i * x[i] + (1 - lam_i) * x[i - 1]`` (torchvision's
    roll pairing) with ``lam_i ~ Beta(alpha, alpha)`` per sample; labels
    likewise (one-hot for class indices, or soft labels as given).

    Args:
        alpha: Beta concentration (> 0).
        num_classes: number of classes; required for class-index labels.
        seed, same_on_batch: see RandomTransform (same_on_batch: one lam per batch, as torchvision).

    Example:
        >>> images, labels = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,))
        >>> images, targets = MixUp(alpha=0.2, num_classes=10)(images, labels)
    """

    def __init__(self, alpha: float = 1.0, num_classes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _positive(alpha, "alpha")
        self.num_classes = _num_classes(num_classes)

    def make_params(self, images, sample_ids):
        lam = beta_symmetric(self.draw(sample_ids, BETA_DRAWS), self.alpha)
        return {"lam": lam, "perm": roll_permutation(images.shape[0], images.device)}

    def apply_params(self, inputs, params):
        images, labels = inputs
        mixed = F.mixup(images, params["lam"], params["perm"])
        return mixed, F.mix_labels(labels, params["lam"], params["perm"], self.num_classes)


class CutMix(_MixTransform):
    """CutMix (Yun et al., ICCV 2019) with torchvision v2's arguments and box.

    ``lam ~ Beta(alpha, alpha)`` per sample; the box has half sides
    ``int(0.5 * sqrt(1 - lam) * size)`` around a uniform integer centre,
    clipped to the image, and is filled from sample i - 1 (roll pairing);
    labels use the corrected ``1 - box area / image area``.

    Args:
        alpha: Beta concentration (> 0).
        num_classes: number of classes; required for class-index labels.
        seed, same_on_batch: see RandomTransform (same_on_batch: one box per batch, as torchvision).

    Example:
        >>> images, labels = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,))
        >>> images, targets = CutMix(num_classes=10)(images, labels)
    """

    def __init__(self, alpha: float = 1.0, num_classes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _positive(alpha, "alpha")
        self.num_classes = _num_classes(num_classes)

    def make_params(self, images, sample_ids):
        u = self.draw(sample_ids, BETA_DRAWS + 2)
        lam = beta_symmetric(u[:, :BETA_DRAWS], self.alpha)
        boxes = cutmix_boxes_torchvision(u[:, BETA_DRAWS:], lam, images.shape[2], images.shape[3])
        return {"boxes": boxes, "perm": roll_permutation(images.shape[0], images.device)}

    def apply_params(self, inputs, params):
        images, labels = inputs
        mixed, lam = F.cutmix(images, params["boxes"], params["perm"])
        return mixed, F.mix_labels(labels, lam, params["perm"], self.num_classes)


class Mixup(_MixTransform):
    """timm's ``Mixup``: Mixup and/or CutMix per batch, pair or element, vectorized.

    Same arguments and semantics as ``timm.data.Mixup``: with probability
    ``prob`` a sample (or the batch, or a pair) is mixed; when both alphas
    are > 0, CutMix is chosen with probability ``switch_prob``; ``lam`` ~
    Beta(mixup_alpha) or Beta(cutmix_alpha); CutMix boxes follow timm's
    ``rand_bbox`` (``cutmix_minmax`` -> ``rand_bbox_minmax``, which forces
    ``cutmix_alpha = 1`` and lambda correction); ``correct_lam`` sets the
    label weight of a CutMix sample to its clipped box's area share; targets
    are ``mixup_target`` (one-hot with label smoothing, partner flip(0); with
    ``multi_label``, dense multi-hot targets smoothed towards 0.5). Follows
    timm 1.0 (``rand_bbox`` boxes of exactly ``cut`` pixels before clipping).

    Modes: ``batch`` (one draw for the batch, keyed by its first sample id),
    ``pair`` (sample B - 1 - i reuses sample i's draw, so both get the same
    lam and box, as timm), ``elem`` (one draw per sample).

    Args:
        mixup_alpha, cutmix_alpha, cutmix_minmax, prob, switch_prob, mode,
        correct_lam, label_smoothing, num_classes, multi_label: as timm (same defaults).
        seed: generator seed.

    Example:
        >>> mixer = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", label_smoothing=0.1,
        ...               num_classes=10)
        >>> images, targets = mixer(torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,)))
    """

    N_DRAWS = 2 + 2 * BETA_DRAWS + 4  # apply coin, switch coin, two Beta, box

    def __init__(self, mixup_alpha=1.0, cutmix_alpha=0.0, cutmix_minmax=None, prob=1.0, switch_prob=0.5,
                 mode="batch", correct_lam=True, label_smoothing=0.1, num_classes=1000, multi_label=False, *,
                 seed=0):
        super().__init__(seed=seed)
        self.multi_label = bool(multi_label)
        self.num_classes = _num_classes(num_classes, required=True)
        self.mixup_alpha, self.cutmix_alpha = float(mixup_alpha), float(cutmix_alpha)
        if self.mixup_alpha < 0 or self.cutmix_alpha < 0:
            raise ValueError("mixup_alpha, cutmix_alpha: expected non-negative values")
        self.cutmix_minmax = None
        if cutmix_minmax is not None:
            if len(cutmix_minmax) != 2 or not 0 <= cutmix_minmax[0] < cutmix_minmax[1] <= 1:
                raise ValueError(f"cutmix_minmax: expected (min, max) with 0 <= min < max <= 1, "
                                 f"got {cutmix_minmax!r}")
            self.cutmix_minmax = (float(cutmix_minmax[0]), float(cutmix_minmax[1]))
            self.cutmix_alpha = 1.0  # as timm: minmax forces cutmix on
        if self.mixup_alpha == 0 and self.cutmix_alpha == 0:
            raise ValueError("mixup_alpha, cutmix_alpha: one of them must be > 0 (or cutmix_minmax set)")
        for name, v in (("prob", prob), ("switch_prob", switch_prob)):
            if not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"{name}: expected a probability in [0, 1], got {v!r}")
        self.mix_prob, self.switch_prob = float(prob), float(switch_prob)
        if mode not in ("batch", "pair", "elem"):
            raise ValueError(f"mode: expected 'batch', 'pair' or 'elem', got {mode!r}")
        self.mode = mode
        self.correct_lam = bool(correct_lam)
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(f"label_smoothing: expected a value in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)
        self.mixup_enabled = True  # timm's switch for the training loop

    def resolve_sample_ids(self, images, sample_ids):
        ids = super().resolve_sample_ids(images, sample_ids)
        if self.mode == "batch" and ids.shape[0] > 0:
            return ids[:1].expand(ids.shape[0])
        if self.mode == "pair":
            return pair_mirror(ids)
        return ids

    def make_params(self, images, sample_ids):
        B, _, H, W = images.shape
        u = self.draw(sample_ids, self.N_DRAWS)
        both = self.mixup_alpha > 0 and self.cutmix_alpha > 0
        if both:
            use_cutmix = u[:, 1] < self.switch_prob
        else:
            use_cutmix = torch.full((B,), self.cutmix_alpha > 0, dtype=torch.bool, device=images.device)
        lam_mix = beta_symmetric(u[:, 2:2 + BETA_DRAWS], self.mixup_alpha) if self.mixup_alpha > 0 else None
        if self.cutmix_alpha > 0:
            lam_cut = beta_symmetric(u[:, 2 + BETA_DRAWS:2 + 2 * BETA_DRAWS], self.cutmix_alpha)
            lam_mix = lam_cut if lam_mix is None else torch.where(use_cutmix, lam_cut, lam_mix)
        apply = (u[:, 0] < self.mix_prob) & self.mixup_enabled
        lam = torch.where(apply, lam_mix, torch.ones_like(lam_mix))
        u_box = u[:, 2 + 2 * BETA_DRAWS:]
        if self.cutmix_minmax is not None:
            boxes = cutmix_boxes_minmax(u_box, self.cutmix_minmax, H, W)
        else:
            boxes = cutmix_boxes_timm(u_box, lam, H, W)
        cut = use_cutmix & (lam != 1.0)  # timm mixes only where lam != 1
        boxes = torch.where(cut.unsqueeze(1), boxes, torch.zeros_like(boxes))
        return {"lam": lam, "use_cutmix": cut, "boxes": boxes, "perm": flip_permutation(B, images.device)}

    def apply_params(self, inputs, params):
        images, labels = inputs
        lam, cut, boxes, perm = params["lam"], params["use_cutmix"], params["boxes"], params["perm"]
        mixed = F.mix(images, torch.where(cut, torch.ones_like(lam), lam), boxes, perm)
        if self.correct_lam or self.cutmix_minmax is not None:
            lam = torch.where(cut, box_lam(boxes, images.shape[2], images.shape[3]), lam)
        if self.multi_label:  # dense multi-hot targets, smoothed towards 0.5 (timm)
            if labels.dim() != 2 or labels.shape[1] != self.num_classes:
                raise ValueError(f"labels: multi_label expects dense (B, {self.num_classes}) targets, "
                                 f"got shape {tuple(labels.shape)}")
            dense = labels.float() * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
            return mixed, F.mix_labels(dense, lam, perm)
        targets = F.mix_labels(labels, lam, perm, self.num_classes, self.label_smoothing)
        return mixed, targets
