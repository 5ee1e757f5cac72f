"""Compose fusion: runs of fusable transforms as one ``fused_augment`` call.

``run_composed`` is Compose's forward when ``fuse=True``. It walks the
transforms in order and groups each maximal *run* of fusable ones:

- fusable: RandomResizedCrop ("crop"), RandomHorizontalFlip ("flip"),
  ColorJitter ("jitter"), RandomGrayscale ("gray"), RandomSolarize
  ("solarize"), Normalize ("normalize"), ToDtype ("dtype") -- exactly these
  classes, not subclasses -- and RandomApply whose inner transforms are all
  fusable and have ``mask_params`` (flip, jitter, gray, solarize): its
  per-sample coin is folded into their parameters, as RandomApply does;
- a run follows fused_augment's stage order: at most one each of crop,
  jitter, gray, solarize, normalize, in that order, crop only before any other
  stage but dtype conversions; flips anywhere after the crop (they commute
  with the pixel-wise stages; two flips compose by xor); ToDtype anywhere if
  it keeps the value scale (``scale=True``, float -> float, or a no-op);
- a transform that does not fit ends the run; the next run starts with it if
  it is fusable. Anything else (GaussianBlur -- its two separable passes --,
  RandomApply of it, unknown transforms, ToDtype that changes the value scale)
  runs op by op in between, as in the unfused path;
- a run of a single transform also runs op by op (its own op is as fast and
  gives the unfused result exactly).

Parameters are drawn exactly as the unfused loop draws them: the same
``make_params`` calls of the same transforms (same streams, same sample ids),
with the run's input as the argument (fusable transforms only read its batch
size, device and, for the crop, which comes first, image sizes). The
returned params list has the unfused structure, and ``params=`` replays.

Semantics (docs/fused.md): a run computes in float32 and rounds once, to the
dtype the run's last transform would produce (Normalize: its out_dtype or
float32; ToDtype: its dtype; else the run's input dtype). It equals the
unfused path within float32 rounding when the unfused intermediates are
float32; with uint8 (or float16 / bfloat16) intermediates the unfused path
rounds after every op and the fused one does not. RandomSolarize's threshold
is in the units of the dtype its input has in the unfused path; it is
converted to [0, 1] units so that the fused comparison matches the unfused
one on the rounded value: uint8 ``level >= t`` becomes
``x >= (ceil(t) - 0.5) / 255`` (x rounds to a level >= ceil(t)), float16 /
bfloat16 thresholds are rounded to that dtype (as the unfused op does).
"""
import math

import torch

from .. import functional as F
from .._color_checks import MAX_VALUE
from .container import RandomApply
from .convert import Normalize, ToDtype
from .image import (ColorJitter, RandomGrayscale, RandomHorizontalFlip, RandomResizedCrop,
                    RandomSolarize)

_KINDS = {RandomResizedCrop: "crop", RandomHorizontalFlip: "flip", ColorJitter: "jitter",
          RandomGrayscale: "gray", RandomSolarize: "solarize", Normalize: "normalize",
          ToDtype: "dtype"}
_RANKS = {"crop": 0, "jitter": 1, "gray": 2, "solarize": 3, "normalize": 4}
_FLOATS = (torch.float32, torch.float16, torch.bfloat16)


def _members(t):
    """[(kind, transform)] of a fusable Compose child (RandomApply: its inner ones), else None."""
    kind = _KINDS.get(type(t))
    if kind is not None:
        return [(kind, t)]
    if type(t) is RandomApply and len(t.transforms) > 0:
        inner = [(_KINDS.get(type(u)), u) for u in t.transforms]
        if all(k is not None and hasattr(u, "mask_params") for k, u in inner):
            return inner
    return None


def _normalized_dtype(t, dtype):
    """The dtype Normalize ``t`` outputs for an input of ``dtype``."""
    return t.out_dtype or (dtype if dtype in _FLOATS else torch.float32)


class _Run:
    """The transforms of one run and the stage state that decides what may join."""

    def __init__(self, dtype):
        self.children = []  # Compose indices
        # last pixel stage's rank, whether a stage other than dtype conversions
        # was added, and the dtype the unfused path has at the end of the run
        self.state = (-1, False, dtype)

    def extended(self, members):
        """The state after adding ``members``, or None when they do not fit."""
        rank, pixel, dtype = self.state
        for kind, t in members:
            if kind == "dtype":
                keeps_scale = t.scale or t.dtype == dtype or (dtype in _FLOATS and t.dtype in _FLOATS)
                if not keeps_scale:
                    return None
                dtype = t.dtype
            elif kind == "flip":
                pixel = True
            elif (kind == "crop" and pixel) or _RANKS[kind] <= rank:
                return None
            else:
                rank, pixel = _RANKS[kind], True
                if kind == "normalize":
                    dtype = _normalized_dtype(t, dtype)
        return rank, pixel, dtype

    @property
    def dtype(self):
        return self.state[2]


def _solarize_threshold(t, dtype, batch, device):
    """RandomSolarize's threshold (units of ``dtype``) in [0, 1] units, as a (B,) tensor."""
    if t > MAX_VALUE[dtype]:
        raise ValueError(f"threshold: expected values in (-inf, {MAX_VALUE[dtype]}] "
                         f"(the value range of {dtype}), got {t}")
    if dtype == torch.uint8:  # level >= t  <=>  level >= ceil(t)  <=>  round(255 x) >= ceil(t)
        return torch.full((batch,), (math.ceil(t) - 0.5) / 255.0, dtype=torch.float32, device=device)
    # floats compare against the threshold rounded to their dtype
    return torch.full((batch,), t, dtype=dtype, device=device).to(torch.float32)


def _dtype_of(x):
    return x[0].dtype if isinstance(x, (list, tuple)) else x.dtype


def _run_fused(transforms, run, x, params):
    """Applies the run's transforms (with their unfused ``params``) as one fused_augment."""
    batch, device = (len(x), x[0].device) if isinstance(x, (list, tuple)) else (x.shape[0], x.device)
    args = {}
    boxes = size = None
    antialias = True
    flip = None
    dtype = _dtype_of(x)
    for k in run.children:
        t, p = transforms[k], params[k]
        if type(t) is RandomApply:
            members = [(u, u.mask_params(q, p["apply"])) for u, q in zip(t.transforms, p["inner"])]
        else:
            members = [(t, p)]
        for u, q in members:
            kind = _KINDS[type(u)]
            if kind == "crop":
                boxes, size, antialias = q["boxes"], u.size, u.antialias
            elif kind == "flip":
                flip = q["apply"] if flip is None else flip ^ q["apply"]
            elif kind == "jitter":
                for name in ("brightness", "contrast", "saturation", "hue", "order"):
                    args[name] = q[name]
            elif kind == "gray":
                args["grayscale"] = q["apply"]
            elif kind == "solarize":
                args["solarize_threshold"] = _solarize_threshold(u.threshold, dtype, batch, device)
                args["solarize_apply"] = q["apply"]
            elif kind == "normalize":
                args["mean"], args["std"] = u.mean, u.std
                dtype = _normalized_dtype(u, dtype)
            else:
                dtype = u.dtype
    return F.fused_augment(x, boxes, size, flip=flip, antialias=antialias, out_dtype=run.dtype,
                           **args)


def run_composed(transforms, x, ids, params=None):
    """Compose's fused forward: (output, params list as the unfused loop returns it)."""
    used = [None] * len(transforms)
    run = None

    def flush(x, run):
        if run is None:
            return x
        if len(run.children) == 1:  # a lone transform: its own op
            k = run.children[0]
            return transforms[k].apply_params(x, used[k])
        return _run_fused(transforms, run, x, used)

    for k, t in enumerate(transforms):
        members = _members(t)
        state = None if members is None or run is None else run.extended(members)
        if members is not None and state is None:  # starts a new run
            x = flush(x, run)
            run = _Run(_dtype_of(x))
            state = run.extended(members)
            if state is None:  # e.g. RandomApply([gray, jitter]): out of stage order
                run, members = None, None
        if members is None:  # op by op, on the output of the run before it
            x = flush(x, run)
            run = None
        used[k] = t.make_params(x, ids) if params is None else params[k]
        if members is None:
            x = t.apply_params(x, used[k])
        else:  # joins the run: its params are drawn from the run's input
            run.children.append(k)
            run.state = state
    return flush(x, run), used
