"""Augmentation presets from the self-supervised literature, and TwoViews.

Each preset returns a ``transforms.Compose`` for uint8 (default) or float
batches of (B, 3, H, W) images; the output is a normalized float32 batch.
"""
import copy

import torch
from torch import nn

from . import interop
from . import transforms as T
from .transforms.fused import run_composed_views
from .transforms._base import batch_of
from .transforms.views import same_structure

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _solarize_threshold(dtype):
    return 128 if dtype == torch.uint8 else 0.5


def simclr_view(size=224, *, blur_kernel=23, seed=0, dtype=torch.uint8):
    """SimCLR (Chen et al. 2020) augmentation: crop, flip, color jitter p=0.8, grayscale p=0.2, blur p=0.5."""
    return T.Compose([
        T.RandomResizedCrop(size),
        T.RandomHorizontalFlip(),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.RandomApply([T.GaussianBlur(blur_kernel, sigma=(0.1, 2.0))], p=0.5),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ], seed=seed)


def byol_views(size=224, *, blur_kernel=23, seed=0, dtype=torch.uint8):
    """The two asymmetric BYOL (Grill et al. 2020) views: blur p=1.0 / 0.1, solarize p=0 / 0.2."""
    def view(blur_p, solarize_p, stream_seed):
        steps = [
            T.RandomResizedCrop(size),
            T.RandomHorizontalFlip(),
            T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8),
            T.RandomGrayscale(p=0.2),
            T.RandomApply([T.GaussianBlur(blur_kernel, sigma=(0.1, 2.0))], p=blur_p),
        ]
        if solarize_p > 0:
            steps.append(T.RandomSolarize(_solarize_threshold(dtype), p=solarize_p))
        steps.append(T.Normalize(IMAGENET_MEAN, IMAGENET_STD))
        return T.Compose(steps, seed=stream_seed)
    return view(1.0, 0.0, seed), view(0.1, 0.2, seed)


def moco_v2_view(size=224, *, blur_kernel=23, seed=0, dtype=torch.uint8):
    """MoCo v2 (Chen et al. 2020) augmentation: crop scale (0.2, 1), jitter p=0.8, gray p=0.2, blur p=0.5, flip."""
    return T.Compose([
        T.RandomResizedCrop(size, scale=(0.2, 1.0)),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.RandomApply([T.GaussianBlur(blur_kernel, sigma=(0.1, 2.0))], p=0.5),
        T.RandomHorizontalFlip(),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ], seed=seed)


def _policy(policy, interpolation):
    """The policy transform of an ``imagenet_train`` policy string (timm's names)."""
    if policy is None or policy == "none":
        return None
    if not isinstance(policy, str):
        raise TypeError(f"policy: expected a string or None, got {type(policy).__name__}")
    if policy.startswith("rand"):
        return T.TimmRandAugment.from_config(policy, interpolation=interpolation)
    if policy.startswith("trivial"):
        return T.TrivialAugmentWide(interpolation=interpolation)
    if policy.startswith("augmix"):
        args = {}
        for part in policy.split("-")[1:]:
            key, val = part[:1], part[1:]
            names = {"m": "severity", "w": "mixture_width", "d": "chain_depth", "a": "alpha"}
            if key not in names or not val:
                raise ValueError(f"policy: unknown AugMix section {part!r} in {policy!r}")
            args[names[key]] = float(val) if key == "a" else int(val)
        return T.AugMix(interpolation=interpolation, **args)
    if policy in ("autoaugment", "original", "imagenet"):
        return T.AutoAugment(T.AutoAugmentPolicy.IMAGENET, interpolation=interpolation)
    raise ValueError(f"policy: expected 'rand-...', 'trivial', 'augmix[-...]', 'autoaugment' or None, got {policy!r}")


def _color_jitter(value):
    """timm's ``color_jitter`` argument as a ColorJitter (None when off)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value == 0:
            return None
        return T.ColorJitter(float(value), float(value), float(value))
    if isinstance(value, (tuple, list)) and len(value) in (3, 4) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return T.ColorJitter(*(float(v) for v in value))
    raise ValueError(f"color_jitter: expected a number, a (brightness, contrast, saturation[, hue]) "
                     f"sequence or None, got {value!r}")


def imagenet_train(size=224, policy="rand-m9-mstd0.5", re_prob=0.25, *, re_mode="pixel", re_count=1, hflip=0.5,
                   color_jitter=0.4, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interpolation="bilinear",
                   mean=IMAGENET_MEAN, std=IMAGENET_STD, seed=0):
    """timm's ImageNet training recipe (``timm.data.create_transform(is_training=True)``) per sample.

    RandomResizedCrop(size, scale, ratio) -> RandomHorizontalFlip(hflip) -> the policy on
    uint8 at the output size (without a policy: ColorJitter(color_jitter), as timm) ->
    Normalize (float32) -> RandomErasing(re_prob) on the normalized batch. The crop and
    flip run as one fused launch, the policy in its fixed number of launches
    (docs/policies.md), Normalize as one launch, erasing as one per box slot. Without a
    policy, crop, flip, jitter and normalize are one fused launch.

    Args:
        size: output size (int or (h, w)).
        policy: timm's ``auto_augment`` string: ``"rand-m9-mstd0.5"`` (any timm RandAugment
            string, e.g. ``"rand-m9-mstd0.5-inc1"``), ``"trivial"`` (TrivialAugmentWide),
            ``"augmix"`` / ``"augmix-m3-w3-d-1"`` (AugMix: severity, width, depth, alpha),
            ``"autoaugment"`` (AutoAugment ImageNet policy), or None.
        re_prob: random erasing probability (timm's ``--reprob``; 0 disables it).
        re_mode: timm's ``--remode``: "pixel" (per-pixel normal noise, timm's train.py
            default), "rand" (one normal per channel) or "const" (zeros).
        re_count: timm's ``--recount``: up to this many boxes per erased sample (a count
            drawn from 1..re_count, the area split between them).
        hflip: horizontal flip probability.
        color_jitter: timm's ``--color-jitter``, used when ``policy`` is None (timm turns it
            off under an auto-augment policy): brightness = contrast = saturation = the
            number, or a (brightness, contrast, saturation[, hue]) sequence; 0 or None: off.
        scale, ratio: the crop's ranges (timm's defaults).
        interpolation: the policy's geometric interpolation ("bilinear" as timm's
            default; "nearest").
        mean, std: normalization (ImageNet's).
        seed: the generator seed.

    Returns:
        A ``transforms.Compose`` taking uint8 (B, 3, H, W) batches (or ragged lists) and
        returning float32 (B, 3, size, size).

    Example:
        >>> aug = imagenet_train(224, policy="trivial")
        >>> y = aug(torch.randint(0, 256, (8, 3, 256, 256), dtype=torch.uint8))
    """
    if re_mode not in ("pixel", "rand", "const"):
        raise ValueError(f"re_mode: expected 'pixel', 'rand' or 'const', got {re_mode!r}")
    if not 0.0 <= float(re_prob) <= 1.0:
        raise ValueError(f"re_prob: expected a probability in [0, 1], got {re_prob!r}")
    steps = [T.RandomResizedCrop(size, scale=scale, ratio=ratio)]
    if hflip > 0:
        steps.append(T.RandomHorizontalFlip(hflip))
    chosen = _policy(policy, interpolation)
    if chosen is not None:
        steps.append(chosen)
    else:
        jitter = _color_jitter(color_jitter)
        if jitter is not None:
            steps.append(jitter)
    steps.append(T.Normalize(mean, std, out_dtype=torch.float32))
    if re_prob > 0:
        value = {"pixel": "random", "rand": "random_channel", "const": 0}[re_mode]
        # in place: its input is Normalize's fresh output, so only the boxes are written
        steps.append(T.RandomErasing(p=re_prob, scale=(0.02, 1.0 / 3.0), ratio=(0.3, 1.0 / 0.3), value=value,
                                     inplace=True, max_count=re_count))
    return T.Compose(steps, seed=seed)


class TwoViews(nn.Module):
    """Two independently augmented views of one batch from one call.

    ``TwoViews(a)`` uses a copy of ``a`` for the second view; ``TwoViews(a, b)``
    uses ``b`` (e.g. BYOL's asymmetric pair). Both views see the same sample
    ids but draw from different random streams, so their parameters are
    independent and still a pure function of (seed, sample id).

    ``forward(x, sample_ids=None, params=None, return_params=False)`` returns
    ``(view_a, view_b)`` (and ``(params_a, params_b)`` with return_params).

    When both pipelines are fusing Composes of the same structure (the same
    transforms with the same apply-time arguments; only ``p``, ranges and
    streams differ, as in SimCLR's and MoCo's symmetric pairs), both views run
    as one stacked batch: one ``fused_augment`` launch reads each image once
    for both views (``views=2``) and every later launch covers both. Otherwise
    (e.g. BYOL's pair, whose second view has an extra solarize) the views run
    one after the other. The outputs are the same either way.

    NumPy / CuPy input returns the two views as arrays of the same kind (the
    parameters stay tensors); see ``datagen_gpu.interop``.
    """

    def __init__(self, pipeline_a, pipeline_b=None):
        super().__init__()
        if not isinstance(pipeline_a, T.RandomTransform):
            raise TypeError(f"pipeline_a: expected a datagen_gpu transform, got {type(pipeline_a).__name__}")
        if pipeline_b is None:
            pipeline_b = copy.deepcopy(pipeline_a)
        elif not isinstance(pipeline_b, T.RandomTransform):
            raise TypeError(f"pipeline_b: expected a datagen_gpu transform, got {type(pipeline_b).__name__}")
        self.view_a, self.view_b = pipeline_a, pipeline_b
        self.view_a.assign_stream(1)
        self.view_b.assign_stream(2)

    @property
    def stacked(self) -> bool:
        """Whether the two views run as one stacked batch (see the class doc)."""
        a, b = self.view_a, self.view_b
        return (isinstance(a, T.Compose) and a.fuse and same_structure(a, b))

    def __call__(self, *args, **kwargs):
        return interop.call_module(super().__call__, self.forward, args, kwargs)

    def forward(self, x, sample_ids=None, params=None, return_params=False):
        if self.stacked:
            ids = self.view_a.resolve_sample_ids(x, sample_ids) if params is None else None
            out, (pa, pb) = run_composed_views(
                [self.view_a.transforms, self.view_b.transforms], x, ids,
                None if params is None else list(params))
            n = batch_of(x)[0]
            a, b = out[:n], out[n:]
        elif params is None:
            ids = self.view_a.resolve_sample_ids(x, sample_ids)
            a, pa = self.view_a(x, sample_ids=ids, return_params=True)
            b, pb = self.view_b(x, sample_ids=ids, return_params=True)
        else:
            pa, pb = params
            a, b = self.view_a(x, params=pa), self.view_b(x, params=pb)
        return ((a, b), (pa, pb)) if return_params else (a, b)
