"""RandomErasing (Zhong et al., "Random Erasing Data Augmentation", AAAI 2020), per sample.

torchvision v2's RandomErasing over a batch: every sample draws its own coin,
box and (``value="random_channel"``) colour from the counter-based generator,
and one ``functional.erase`` launch erases the batch.
"""
import numbers
import zlib

import torch

from .. import functional as F
from ..params.erasing import ERASE_DRAWS, erasing_boxes, standard_normals
from ..params.samplers import coins
from ._base import RandomTransform

_MODES = ("random", "random_channel")


class RandomErasing(RandomTransform):
    """Erase a random rectangle of each sample with probability ``p`` (per sample).

    The box distribution is torchvision v2 ``RandomErasing``'s, exactly (see
    ``datagen_gpu.params.erasing``): up to 10 tries of an area fraction in ``scale``
    and a log-uniform aspect ratio in ``ratio``, ``h = round(sqrt(area * ratio))``,
    ``w = round(sqrt(area / ratio))``, the first try with ``h < H and w < W`` wins,
    at a uniform position; when no try fits the sample is left unchanged.

    ``value``:

    - a number, or a sequence of C numbers (one per channel), in the images'
      value range: uint8 levels for uint8 images, any float for float images
      (e.g. a normalized-space mean when erasing after Normalize);
    - ``"random"``: a standard normal per pixel (torchvision's ``value='random'``,
      timm's ``mode='pixel'``), drawn inside the kernel from the generator: a pure
      function of (seed, sample id, channel, position in the box) -- see
      ``functional.erase``;
    - ``"random_channel"``: one standard normal per channel per sample (timm's
      ``mode='rand'``); timm's ``mode='const'`` is ``value=0``.

    The random modes need floating images (TypeError for uint8: noise is not a
    uint8 value). timm's ``min_count`` / ``max_count`` (several boxes) and
    ``num_splits`` are not supported (one box per sample).

    Args:
        p: per-sample probability of erasing.
        scale: (min, max) fraction of the image area, 0 <= min <= max <= 1.
        ratio: (min, max) aspect ratio (height / width), 0 < min <= max.
        value: see above.
        inplace: write into the input batch and return it (only the boxes' pixels
            are written: no copy of the rest). The caller's tensor is modified, as
            with torchvision's ``inplace=True``; inside Compose the input of a
            transform is usually the previous transform's fresh output.
        seed, same_on_batch: see ``RandomTransform``.

    Inputs are (B, C, H, W) batch tensors; a ragged list of images of different
    sizes is rejected (ValueError): resize or crop them to one size first.
    ``forward(..., return_params=True)`` returns ``boxes`` (B, 4) int64 (top, left,
    h, w; empty where not erased), ``apply`` (B,) bool (erased), ``sample_ids``
    (the noise's ids) and, for ``"random_channel"``, ``value`` (B, C) float32;
    ``params=`` replays them (the noise stream is this transform's seed and
    stream). Inside Compose it runs op by op after the fused runs (works on the
    float32 output of Normalize, as timm runs it). Two views are never stacked
    into one launch with it (no ``APPLY_ATTRS``: each view's noise is its own).
    """

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, inplace=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p: expected a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.scale = self._range(scale, "scale", 0.0, 1.0)
        self.ratio = self._range(ratio, "ratio", 0.0, float("inf"))
        if self.ratio[0] <= 0:
            raise ValueError(f"ratio: expected positive aspect ratios, got {ratio!r}")
        self.value = self._value(value)
        self.inplace = bool(inplace)
        self._noise_class_id = zlib.crc32(b"RandomErasing.noise")

    @staticmethod
    def _range(value, name, low, high):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
            raise TypeError(f"{name}: expected a (min, max) sequence, got {value!r}")
        lo, hi = float(value[0]), float(value[1])
        if not low <= lo <= hi <= high:
            raise ValueError(f"{name}: expected (min, max) with {low} <= min <= max <= {high}, got {value!r}")
        return lo, hi

    @staticmethod
    def _value(value):
        if isinstance(value, str):
            if value not in _MODES:
                raise ValueError(f"value: expected a number, a sequence of numbers, 'random' or "
                                 f"'random_channel', got {value!r}")
            return value
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, (tuple, list)) and len(value) > 0 and all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value):
            return tuple(float(v) for v in value)
        raise TypeError(f"value: expected a number, a sequence of numbers, 'random' or 'random_channel', "
                        f"got {value!r}")

    @property
    def noise_op_id(self) -> int:
        """The generator op id of the per-pixel noise (distinct from ``op_id``, the box draws')."""
        return self._noise_class_id + (self.stream << 32)

    def _check_input(self, x):
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"{type(self).__name__}: expected a (B, C, H, W) batch tensor, got a "
                             f"{type(x).__name__}; ragged batches (images of different sizes) are not "
                             "supported: crop or resize them to one size first (e.g. RandomResizedCrop)")
        if x.dim() != 4:
            raise ValueError(f"images: expected a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
        C = x.shape[1]
        if isinstance(self.value, tuple) and len(self.value) not in (1, C):
            raise ValueError(f"value: expected 1 or {C} values (one per channel), got {len(self.value)}")
        if isinstance(self.value, str) and not x.is_floating_point():
            raise TypeError(f"value: {self.value!r} writes standard-normal noise, which {x.dtype} images "
                            "cannot hold; erase float images (e.g. after ToDtype(torch.float32, "
                            "scale=True) or Normalize)")

    def make_params(self, x, sample_ids):
        self._check_input(x)
        _, C, H, W = x.shape
        extra = 2 * C if self.value == "random_channel" else 0
        u = self.draw(sample_ids, 1 + ERASE_DRAWS + extra)
        boxes, fits = erasing_boxes(u[:, 1 : 1 + ERASE_DRAWS], H, W, self.scale, self.ratio)
        apply = coins(u[:, 0], self.p) & fits
        params = {"boxes": boxes * apply.unsqueeze(1), "apply": apply, "sample_ids": sample_ids}
        if extra:
            params["value"] = standard_normals(u[:, 1 + ERASE_DRAWS:]).to(torch.float32)
        return params

    def apply_params(self, x, params):
        self._check_input(x)
        boxes = params["boxes"] * params["apply"].unsqueeze(1)  # a folded RandomApply coin
        value = params["value"] if self.value == "random_channel" else self.value
        return F.erase(x, boxes, value, seed=self.seed, sample_ids=params["sample_ids"],
                       op_id=self.noise_op_id, inplace=self.inplace)

    def mask_params(self, params, apply):
        """The params that erase only where ``apply`` (RandomApply's coin) is also true."""
        return {**params, "apply": params["apply"] & apply}

    def extra_repr(self) -> str:
        return f"p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value!r}, inplace={self.inplace}"
