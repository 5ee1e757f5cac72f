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
from ..params.policy import choose
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
    uint8 value).

    Several boxes per sample (timm's ``min_count`` / ``max_count``, its ``--recount``):
    an erased sample draws a count uniform in [min_count, max_count] and that many
    boxes, each from its own tries with the target area divided by the count; a box
    that does not fit is skipped. The batch then runs ``max_count`` erase launches
    (box j of every sample in launch j; samples with fewer boxes erase nothing there),
    each box with its own noise. timm's ``num_splits`` is not supported.

    Args:
        p: per-sample probability of erasing.
        scale: (min, max) fraction of the image area, 0 <= min <= max <= 1.
        ratio: (min, max) aspect ratio (height / width), 0 < min <= max.
        value: see above.
        min_count, max_count: boxes per erased sample (max_count None: min_count).
        inplace: write into the input batch and return it (only the boxes' pixels
            are written: no copy of the rest). The caller's tensor is modified, as
            with torchvision's ``inplace=True``; inside Compose the input of a
            transform is usually the previous transform's fresh output.
        seed, same_on_batch: see ``RandomTransform``.

    Inputs are (B, C, H, W) batch tensors; a ragged list of images of different
    sizes is rejected (ValueError): resize or crop them to one size first.
    ``forward(..., return_params=True)`` returns ``boxes`` (B, 4) int64 (top, left,
    h, w; empty where not erased; (B, max_count, 4) when max_count > 1), ``apply``
    (B,) bool (erased), ``sample_ids`` (the noise's ids) and, for
    ``"random_channel"``, ``value`` (B, C) float32 ((B, max_count, C));
    ``params=`` replays them (the noise stream is this transform's seed and
    stream). Inside Compose it runs op by op after the fused runs (works on the
    float32 output of Normalize, as timm runs it). Two views are never stacked
    into one launch with it (no ``APPLY_ATTRS``: each view's noise is its own).
    """

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, inplace=False, *,
                 min_count=1, max_count=None, **kwargs):
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
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"min_count: expected an int >= 1, got {min_count!r}")
        max_count = min_count if max_count is None else max_count
        if isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < min_count:
            raise ValueError(f"max_count: expected None or an int >= min_count ({min_count}), got {max_count!r}")
        self.min_count, self.max_count = min_count, max_count
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
        B, C, H, W = x.shape
        K = self.max_count
        extra = 2 * C if self.value == "random_channel" else 0
        if K == 1:  # one box: draws [coin, tries, channel values]
            u = self.draw(sample_ids, 1 + ERASE_DRAWS + extra)
            per_box, count = u[:, 1:].unsqueeze(1), None
        else:  # draws [coin, count, K x (tries, channel values)]
            u = self.draw(sample_ids, 2 + K * (ERASE_DRAWS + extra))
            count = self.min_count + choose(u[:, 1], K - self.min_count + 1)
            per_box = u[:, 2:].view(B, K, ERASE_DRAWS + extra)
        boxes, fits = erasing_boxes(per_box[..., :ERASE_DRAWS].reshape(B * K, ERASE_DRAWS), H, W,
                                    self.scale, self.ratio,
                                    None if count is None else count.repeat_interleave(K))
        boxes, fits = boxes.view(B, K, 4), fits.view(B, K)
        if count is not None:
            fits = fits & (torch.arange(K, device=fits.device) < count.unsqueeze(1))
        apply = coins(u[:, 0], self.p) & fits.any(dim=1)
        boxes = boxes * (fits & apply.unsqueeze(1)).unsqueeze(2)
        params = {"boxes": boxes[:, 0] if K == 1 else boxes, "apply": apply, "sample_ids": sample_ids}
        if extra:
            value = standard_normals(per_box[..., ERASE_DRAWS:].reshape(B * K, extra)).to(torch.float32)
            params["value"] = value.view(B, C) if K == 1 else value.view(B, K, C)
        return params

    def apply_params(self, x, params):
        self._check_input(x)
        boxes = params["boxes"]
        multi = boxes.dim() == 3
        boxes = (boxes if multi else boxes.unsqueeze(1)) * params["apply"].view(-1, 1, 1)  # a folded coin
        value = params["value"] if self.value == "random_channel" else self.value
        out = x
        for j in range(boxes.shape[1]):  # box j of every sample: one launch, its own noise stream
            v = value[:, j] if multi and self.value == "random_channel" else value
            out = F.erase(out, boxes[:, j], v, seed=self.seed, sample_ids=params["sample_ids"],
                          op_id=self.noise_op_id + j, inplace=self.inplace or j > 0)
        return out

    def mask_params(self, params, apply):
        """The params that erase only where ``apply`` (RandomApply's coin) is also true."""
        return {**params, "apply": params["apply"] & apply}

    def extra_repr(self) -> str:
        count = "" if self.max_count == 1 else f", min_count={self.min_count}, max_count={self.max_count}"
        return (f"p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value!r}, "
                f"inplace={self.inplace}{count}")
