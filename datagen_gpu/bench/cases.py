"""The pipelines ``datagen-gpu bench`` compares, defined once for every library.

A :class:`Pipeline` names a training recipe, says how its inputs are made and
how datagen_gpu runs it (the presets and transforms a user would call), and
describes its work in library-neutral terms (:class:`ViewSpec` per view, or
the policy) from which every peer (``peers*.py``) builds its own version:

- ``simclr``: two SimCLR views (Chen et al. 2020) per image;
- ``byol``: BYOL's asymmetric pair (Grill et al. 2020: blur p=1.0 / 0.1,
  solarize p=0 / 0.2, saturation 0.2);
- ``moco``: two MoCo v2 views (crop scale (0.2, 1));
- ``imagenet-trivial`` / ``imagenet-rand`` / ``imagenet-augmix``: one ImageNet
  training view with TrivialAugmentWide, RandAugment (m9, mstd 0.5) or AugMix
  (severity 3, width 3) and RandomErasing p=0.25 (``presets.imagenet_train``;
  skipped when this build has no such preset);
- ``specaugment``: SpecAugment's LD policy (Park et al. 2019) on log-mel
  spectrograms, masks filled with each sample's mean;
- ``mixup``: timm's Mixup/CutMix recipe (mixup 0.8, cutmix 1.0, switch 0.5,
  per-sample ``elem`` mode, label smoothing 0.1) on augmented float32 images.

All image views are uint8 (B, 3, 256, 256) -> float32 (B, 3, 224, 224),
normalized with the ImageNet mean / std (sizes scale with ``--size``).
"""
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

from . import inputs as I

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Unavailable(Exception):
    """A library cannot run a pipeline here (not installed, cannot express it, failed to build)."""


@dataclass(frozen=True)
class ViewSpec:
    """One augmented view: RandomResizedCrop -> flip -> ColorJitter -> grayscale -> blur -> solarize -> normalize.

    Attributes:
        scale: RandomResizedCrop's area range (aspect ratio 3/4..4/3).
        jitter: ColorJitter's (brightness, contrast, saturation, hue), applied with ``jitter_p``.
        gray_p, blur_p, solarize_p: probabilities of grayscale, Gaussian blur
            (sigma in (0.1, 2.0), ``blur_kernel`` taps) and solarize (threshold 0.5).
    """
    scale: Tuple[float, float] = (0.08, 1.0)
    jitter: Tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.1)
    jitter_p: float = 0.8
    gray_p: float = 0.2
    blur_p: float = 0.5
    solarize_p: float = 0.0
    blur_kernel: int = 23


SIMCLR = ViewSpec()
BYOL = (ViewSpec(jitter=(0.4, 0.4, 0.2, 0.1), blur_p=1.0),
        ViewSpec(jitter=(0.4, 0.4, 0.2, 0.1), blur_p=0.1, solarize_p=0.2))
MOCO = ViewSpec(scale=(0.2, 1.0))

# policy name -> (datagen_gpu preset policy, timm auto_augment string)
POLICIES = {"trivial": ("trivial", "rand-n1-m10-mstd101-p1.0-inc1"),
            # mmax9: timm's level is clipped to [0, 9], not [0, 10]; at 10 its PosterizeIncreasing
            # keeps 0 bits, which Pillow >= 13 rejects (the timm peer failed mid-run)
            "rand": ("rand-m9-mstd0.5", "rand-m9-mstd0.5-inc1-mmax9"),
            "augmix": ("augmix", "augmix-m3-w3")}
RE_PROB = 0.25
MIXUP = dict(mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5, mode="elem", label_smoothing=0.1,
             num_classes=I.NUM_CLASSES)


@dataclass
class Settings:
    """One measurement setting (a sweep varies one field).

    Attributes:
        device: "cpu" or "cuda".
        batch: images (or spectrograms) per batch.
        size: output side of image pipelines.
        source: "photos", "procedural" or a folder.
        threads: torch threads, DALI threads and per-image worker processes.
        seed: input and parameter seed.
    """
    device: str = "cpu"
    batch: int = 64
    size: int = 224
    source: str = "procedural"
    threads: int = 1
    seed: int = 0

    @property
    def folder(self) -> Optional[str]:
        """The image folder when ``source`` is one, else None."""
        return None if self.source in I.SOURCES else self.source


@dataclass(frozen=True)
class Pipeline:
    """A benchmarked pipeline.

    Attributes:
        name: the ``--pipeline`` name.
        kind: "views" (uint8 images -> normalized views), "policy" (ImageNet
            training view with a learned policy), "spectrogram", "mixing".
        title: one line for tables.
        views: the view specs (kind "views").
        policy: a key of :data:`POLICIES` (kind "policy").
        ours: ``ours(settings) -> transform``; called as ``transform(tensor)``
            (or ``(tensor, labels)`` for mixing).
    """
    name: str
    kind: str
    title: str
    ours: Callable[[Settings], Callable]
    views: Tuple[ViewSpec, ...] = field(default_factory=tuple)
    policy: Optional[str] = None

    @property
    def reads_files(self) -> bool:
        """Whether ``--source DIR`` runs this pipeline from the files (through each library's loader)."""
        return self.kind in ("views", "policy")

    def make_inputs(self, s: Settings) -> I.Inputs:
        """The inputs every library gets (on ``s.device``)."""
        if self.kind == "spectrogram":
            return I.Inputs(I.spectrograms(s.batch, seed=s.seed, device=s.device))
        if self.kind == "mixing":
            return I.Inputs(I.unit_batch(s.batch, s.size, s.source, seed=s.seed, device=s.device),
                            labels=I.labels(s.batch, seed=s.seed, device=s.device))
        return I.Inputs(I.image_batch(s.batch, I.input_side(s.size), s.source, seed=s.seed, device=s.device),
                        folder=s.folder)


# ---------------------------------------------------------------- datagen_gpu's side


def _two_views(preset):
    def build(s: Settings):
        from .. import presets

        views = getattr(presets, preset)(s.size, seed=s.seed)
        return presets.TwoViews(*views) if isinstance(views, tuple) else presets.TwoViews(views)
    return build


def _imagenet(policy):
    def build(s: Settings):
        from .. import presets

        make = getattr(presets, "imagenet_train", None)
        if make is None:
            raise Unavailable("presets.imagenet_train is not in this build of datagen_gpu")
        return make(size=s.size, policy=POLICIES[policy][0], re_prob=RE_PROB, seed=s.seed)
    return build


def _specaugment(s: Settings):
    from ..transforms import SpecAugment

    return SpecAugment("LD", seed=s.seed)


def _mixup(s: Settings):
    from ..transforms import Mixup

    return Mixup(**MIXUP, seed=s.seed)


PIPELINES = {p.name: p for p in (
    Pipeline("simclr", "views", "SimCLR, two views", _two_views("simclr_view"), views=(SIMCLR, SIMCLR)),
    Pipeline("byol", "views", "BYOL, asymmetric pair", _two_views("byol_views"), views=BYOL),
    Pipeline("moco", "views", "MoCo v2, two views", _two_views("moco_v2_view"), views=(MOCO, MOCO)),
    Pipeline("imagenet-trivial", "policy", "ImageNet, TrivialAugmentWide + erasing", _imagenet("trivial"),
             policy="trivial"),
    Pipeline("imagenet-rand", "policy", "ImageNet, RandAugment m9 + erasing", _imagenet("rand"), policy="rand"),
    Pipeline("imagenet-augmix", "policy", "ImageNet, AugMix (severity 3, width 3) + erasing", _imagenet("augmix"),
             policy="augmix"),
    Pipeline("specaugment", "spectrogram", "SpecAugment LD, 128 mel x 1000 frames", _specaugment),
    Pipeline("mixup", "mixing", "Mixup/CutMix per sample (timm elem)", _mixup),
)}
GROUPS = {"imagenet": ("imagenet-trivial", "imagenet-rand"), "all": tuple(PIPELINES)}
CHOICES = ("simclr", "byol", "moco", "imagenet", "imagenet-trivial", "imagenet-rand", "imagenet-augmix", "specaugment",
           "mixup", "all")


def select(spec: str):
    """Comma-separated pipeline names / groups -> list of :class:`Pipeline` (each once, in order).

    Raises:
        ValueError: an unknown name (the message lists the choices).
    """
    names = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part not in PIPELINES and part not in GROUPS:
            raise ValueError(f"--pipeline: unknown pipeline {part!r}; choose from {', '.join(CHOICES)}")
        for n in GROUPS.get(part, (part,)):
            if n not in names:
                names.append(n)
    if not names:
        raise ValueError(f"--pipeline: no pipeline given; choose from {', '.join(CHOICES)}")
    return [PIPELINES[n] for n in names]


def call(transform, inputs: I.Inputs):
    """One batch through ``transform`` the way its pipeline calls it."""
    if inputs.labels is not None:
        return transform(inputs.tensor, inputs.labels)
    return transform(inputs.tensor)

