"""Compose fusion: runs of fusable transforms as one ``fused_augment`` call.

``run_composed`` is Compose's forward when ``fuse=True``. It walks the
transforms in order and groups each maximal *run* of fusable ones:

- fusable: RandomResizedCrop ("crop"), RandomHorizontalFlip ("flip"),
  ColorJitter ("jitter"), RandomGrayscale ("gray"), RandomSolarize
  ("solarize"), GaussianBlur ("blur"), Normalize ("normalize"), ToDtype
  ("dtype") -- exactly these classes, not subclasses -- and RandomApply whose
  inner transforms are all fusable and have ``mask_params`` (flip, jitter,
  gray, solarize, blur): its per-sample coin is folded into their parameters,
  as RandomApply does;
- a run follows the stage order crop, jitter, gray, solarize, blur, normalize,
  at most one of each, crop only before any other stage but dtype
  conversions; flips anywhere after the crop (they commute with the
  pixel-wise stages and with the symmetric blur; two flips compose by xor);
  ToDtype anywhere if it keeps the value scale (``scale=True``, float ->
  float, or a no-op);
- a run is one ``fused_augment`` call, its blur stage included (the blurred
  samples finished in a per-thread buffer on the CPU; on CUDA the launcher
  writes a float32 intermediate and runs the blur kernel with normalize as
  its epilogue);
- a transform that does not fit ends the run; the next run starts with it if
  it is fusable. Anything else (unknown transforms, ToDtype that changes the
  value scale) runs op by op in between, as in the unfused path;
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
from .._checks.color import MAX_VALUE
from .random_apply import RandomApply
from ._base import batch_of
from .views import cat_params, stack_views
from .convert import Normalize, ToDtype
from .image import (ColorJitter, GaussianBlur, RandomGrayscale, RandomHorizontalFlip,
                    RandomResizedCrop, RandomSolarize)

_KINDS = {RandomResizedCrop: "crop", RandomHorizontalFlip: "flip", ColorJitter: "jitter",
          RandomGrayscale: "gray", RandomSolarize: "solarize", GaussianBlur: "blur",
          Normalize: "normalize", ToDtype: "dtype"}
_RANKS = {"crop": 0, "jitter": 1, "gray": 2, "solarize": 3, "blur": 4, "normalize": 5}
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


def _run_fused(transforms, run, x, params, views=1):
    """Applies the run's transforms (with their unfused ``params``) as one fused_augment.

    ``views`` > 1: ``x`` is one batch of B images shared by V views and ``params`` hold
    V * B samples (view v's sample i at v * B + i); the output stacks the views."""
    batch, device = batch_of(x)
    batch *= views
    args = {}
    boxes = size = None
    antialias = True
    flip = None
    blur = None  # (transform, params)
    norm = {}
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
            elif kind == "blur":
                blur = (u, q)
            elif kind == "normalize":
                mean, std = u.channel_tensors(device)
                norm = {"mean": mean, "std": std}
                dtype = _normalized_dtype(u, dtype)
            else:
                dtype = u.dtype
    if blur is not None:
        u, q = blur
        args.update(blur_kernel=u.kernel_size, blur_sigma=q["sigma"], blur_apply=q.get("apply"))
    return F.fused_augment(x, boxes, size, flip=flip, antialias=antialias, out_dtype=run.dtype,
                           views=views, **args, **norm)


def run_composed(transforms, x, ids, params=None):
    """Compose's fused forward: (output, params list as the unfused loop returns it)."""
    out, used = run_composed_views([transforms], x, ids, None if params is None else [params])
    return out, used[0]


def run_composed_views(pipelines, x, ids, params=None):
    """V pipelines of the same structure (``views.same_structure``) on one batch.

    Each view draws its own parameters, as its pipeline alone would (same streams,
    same sample ids, from its own input); the views then run stacked, as one batch
    of V * B samples (view v's sample i at v * B + i): the first fused run reads the
    shared input once for all views (``fused_augment(views=V)``), every later launch
    covers all views. Returns (the stacked output, [params list per view]).
    """
    V = len(pipelines)
    transforms = pipelines[0]
    used = [[None] * len(transforms) for _ in range(V)]
    shared = V > 1  # x is still the one input every view reads
    batch = batch_of(x)[0]
    run = None

    def view_slice(v):
        return x[v * batch:(v + 1) * batch]

    def stacked_params(k):
        return used[0][k] if V == 1 else cat_params([used[v][k] for v in range(V)])

    def flush(x, run, shared):
        if run is None:
            return x, shared
        if len(run.children) == 1 and not shared:  # a lone transform: its own op
            k = run.children[0]
            return transforms[k].apply_params(x, stacked_params(k)), False
        merged = {k: stacked_params(k) for k in run.children}
        return _run_fused(transforms, run, x, merged, views=V if shared else 1), False

    for k, t in enumerate(transforms):
        members = _members(t)
        state = None if members is None or run is None else run.extended(members)
        if members is not None and state is None:  # starts a new run
            x, shared = flush(x, run, shared)
            run = _Run(_dtype_of(x))
            state = run.extended(members)
            if state is None:  # e.g. RandomApply([gray, jitter]): out of stage order
                run, members = None, None
        if members is None:  # op by op, on the output of the run before it
            x, shared = flush(x, run, shared)
            run = None
        for v in range(V):
            if params is not None:
                used[v][k] = params[v][k]
            else:
                used[v][k] = pipelines[v][k].make_params(x if shared or V == 1 else view_slice(v), ids)
        if members is None:
            if shared:
                x, shared = stack_views(x, V), False
            x = t.apply_params(x, stacked_params(k))
        else:  # joins the run: its params are drawn from the run's input
            run.children.append(k)
            run.state = state
    x, shared = flush(x, run, shared)
    if shared:  # nothing ran: every view is the input
        x = stack_views(x, V)
    return x, used
