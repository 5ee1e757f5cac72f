"""Crop-aware decoding: each sample's crop boxes, drawn before the image is decoded.

A ``RandomResizedCrop``'s box for a sample is a pure function of (seed, sample
id, op id, image size), and a header gives the size. So a loader worker can
draw the boxes of every view (``TwoViews``: both) from the file's header,
decode only their bounding window at the coarsest DCT scale that still gives
each box at least the output resolution, and hand the window on with its
geometry. The transform then draws the very same boxes from the full size
(``WindowedImages``) and maps them into the window: the views are the same
function of the sample id as with a full decode; only the pixels the resize
reads come from a scaled (1/2, 1/4, 1/8) DCT decode instead of the full one
(the difference is bounded in docs/data.md and tested).
"""
import math
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch

from ..params import random_bits
from ..params.samplers import CROP_DRAWS, CROP_TRIES
from .. import transforms as T
from .decode import scale_for

MARGIN = 2  # full-resolution pixels decoded around the boxes


def _uniforms53(bits: List[int]) -> List[float]:
    """``counter.uniform(..., float64)`` from its 2n random words (27 + 26 bits per value)."""
    return [((bits[2 * k] >> 5) * 67108864.0 + (bits[2 * k + 1] >> 6)) * 2.0**-53 for k in range(len(bits) // 2)]


def _one_box(bits, H, W, scale, ratio):
    """``params.resized_crop_boxes`` for one sample, in Python floats (see CropPlan.boxes)."""
    u = _uniforms53(bits)
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for t in range(CROP_TRIES):
        area = H * W * (scale[0] + (scale[1] - scale[0]) * u[4 * t])
        aspect = math.exp(log_lo + (log_hi - log_lo) * u[4 * t + 1])
        w, h = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if 0 < w <= W and 0 < h <= H:
            return (float(math.floor(u[4 * t + 2] * (H - h + 1))), float(math.floor(u[4 * t + 3] * (W - w + 1))),
                    float(h), float(w))
    in_ratio = W / H
    if in_ratio < min(ratio):
        w, h = W, round(W / min(ratio))
    elif in_ratio > max(ratio):
        w, h = round(H * max(ratio)), H
    else:
        w, h = W, H
    return float(math.floor((H - h) / 2)), float(math.floor((W - w) / 2)), float(h), float(w)


class CropSpec(NamedTuple):
    """What a worker needs of one RandomResizedCrop to draw its boxes (plain, picklable)."""

    seed: int
    op_id: int
    scale: Tuple[float, float]
    ratio: Tuple[float, float]
    size: Tuple[int, int]


def _leading_crop(t) -> Optional[T.RandomResizedCrop]:
    """The RandomResizedCrop ``t`` applies first to the raw images, if any."""
    if type(t) is T.RandomResizedCrop:
        return t
    if isinstance(t, T.Compose) and len(t.transforms) > 0 and not t.same_on_batch:
        return _leading_crop(t.transforms[0])
    return None


class CropPlan:
    """The crop boxes of every view of a transform, as a function of (sample id, image size).

    Build it with :meth:`from_transform`; ``None`` when the transform does not start
    with a ``RandomResizedCrop`` in every view (then crop-aware decoding is off).
    """

    def __init__(self, specs: Sequence[CropSpec]):
        if len(specs) == 0:
            raise ValueError("specs: expected at least one crop")
        self.specs = list(specs)

    @classmethod
    def from_transform(cls, transform) -> Optional["CropPlan"]:
        views = [getattr(transform, "view_a", None), getattr(transform, "view_b", None)]
        views = [v for v in views if v is not None] or [transform]
        crops = [_leading_crop(v) for v in views]
        if any(c is None or c.same_on_batch for c in crops):
            return None
        return cls([CropSpec(c.seed, c.op_id, c.scale, c.ratio, c.size) for c in crops])

    def boxes(self, sample_id: int, height: int, width: int) -> List[Tuple[float, float, float, float]]:
        """Every view's (top, left, height, width) for this sample, as the transform draws them.

        The same draws (``random_bits``, exact) and the same formulas as
        ``params.resized_crop_boxes``, in Python floats for one sample (~20x faster
        than the batched tensor code on one sample, and the GIL is held far less in
        a decoding thread). Python's libm ``exp`` / ``sqrt`` may differ from torch's
        in the last ulp, which can move a box by a pixel in rare cases: ``window``
        adds ``MARGIN`` pixels around the boxes for that.
        """
        ids = torch.tensor([int(sample_id)], dtype=torch.int64)
        return [_one_box(random_bits(s.seed, ids, s.op_id, 2 * CROP_DRAWS)[0].tolist(), height, width,
                         s.scale, s.ratio) for s in self.specs]

    def window(self, sample_id: int, height: int, width: int):
        """(bounding window (top, left, height, width), DCT scale) of this sample's boxes."""
        boxes = self.boxes(sample_id, height, width)
        # MARGIN pixels around the boxes: the transform redraws them on its own device,
        # whose float64 exp / sqrt may differ in the last ulp (a box 1 pixel off)
        top = max(0.0, min(b[0] for b in boxes) - MARGIN)
        left = max(0.0, min(b[1] for b in boxes) - MARGIN)
        bottom = min(float(height), max(b[0] + b[2] for b in boxes) + MARGIN)
        right = min(float(width), max(b[1] + b[3] for b in boxes) + MARGIN)
        scale = min(scale_for([b], s.size) for b, s in zip(boxes, self.specs))
        return (top, left, bottom - top, right - left), scale
