"""Operation spaces of the learned augmentation policies and their per-sample draws.

A policy (RandAugment, TrivialAugmentWide, AutoAugment, AugMix, timm's RandAugment)
applies a sequence of *slots* to every sample; in each slot a sample runs one
operation of the policy's space (or none). A slot is described per sample by three
tensors, the policy's parameters (returned by ``return_params`` and replayable):

- ``op``    (B,) int64, an index into the space's operations;
- ``value`` (B,) float64, the operation's argument in canonical units (below);
- ``apply`` (B,) bool, False where the sample skips the slot.

Canonical units of ``value`` (what the kernels are given):

=================== =========================================================
geometric
  shear_x / shear_y the shear factor s: torchvision's ``affine(shear=degrees(atan(s)))``
                    about the top-left corner (``center=[0, 0]``)
  translate_x / _y  pixels (torchvision's spaces truncate to an int, as ``int(m)``)
  rotate            degrees, counter-clockwise, about the centre
pixel
  brightness, color (saturation), contrast, sharpness: the ``adjust_*`` factor
  posterize         bits kept (an integer 0..8)
  solarize          the threshold as a fraction of the dtype's maximum (> 1: nothing)
  solarize_add      uint8 levels added below level 128 (timm)
  autocontrast, equalize, invert, identity: unused (0)
=================== =========================================================

The magnitude tables are torchvision's (``transforms.v2._auto_augment``): the same
float32 ``linspace`` / ``arange`` expressions, so a sample that draws the same
operation, bin and sign gets bit-for-bit the argument torchvision would use. timm's
level functions (``timm.data.auto_augment``) are written as vectorized tensor maps.

Everything here is vectorized over the batch (no Python loop over samples, no host
synchronization): operation choices are ``floor(u * n)`` of float64 uniforms from the
counter-based generator.
"""
import functools
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import torch

from ..functional._constants import device_constant

# geometric operation kinds (0 = a pixel operation or none)
NO_WARP, SHEAR_X, SHEAR_Y, TRANSLATE_X, TRANSLATE_Y, ROTATE = range(6)

# pixel operation names -> datagen_gpu.functional.PixelOp member names
_PIXEL = {"identity": "IDENTITY", "brightness": "BRIGHTNESS", "color": "SATURATION",
          "contrast": "CONTRAST", "sharpness": "SHARPNESS", "posterize": "POSTERIZE",
          "solarize": "SOLARIZE", "autocontrast": "AUTOCONTRAST", "equalize": "EQUALIZE",
          "invert": "INVERT", "solarize_add": "SOLARIZE_ADD"}
_GEOM = {"shear_x": SHEAR_X, "shear_y": SHEAR_Y, "translate_x": TRANSLATE_X,
         "translate_y": TRANSLATE_Y, "rotate": ROTATE}
FACTOR_OPS = ("brightness", "color", "contrast", "sharpness")

Magnitudes = Callable[[int, int, int], Optional[torch.Tensor]]  # (num_bins, height, width) -> (num_bins,)


@dataclass(frozen=True)
class PolicyOp:
    """One operation of a space: its kind, torchvision's magnitude table and sign rule."""

    name: str  # torchvision's name (ShearX, Color, ...)
    kind: str  # canonical kind: a key of _GEOM or _PIXEL
    magnitudes: Optional[Magnitudes] = None
    signed: bool = False

    @property
    def geom(self) -> int:
        return _GEOM.get(self.kind, NO_WARP)

    @property
    def pixel(self) -> str:
        return _PIXEL.get(self.kind, "IDENTITY")


def _lin(hi):
    """torchvision's ``torch.linspace(0.0, hi, num_bins)`` (float32)."""
    return lambda n, h, w: torch.linspace(0.0, hi(h, w) if callable(hi) else hi, n)


def _posterize_bins(top, steps):
    return lambda n, h, w: (top - (torch.arange(n) / ((n - 1) / steps))).round().int()


def _solarize_bins(n, h, w):
    return torch.linspace(1.0, 0.0, n)


def _space(shear, translate_x, translate_y, rotate, enhance, posterize, identity=True, invert=False):
    ops = [PolicyOp("Identity", "identity")] if identity else []
    ops += [
        PolicyOp("ShearX", "shear_x", _lin(shear), True),
        PolicyOp("ShearY", "shear_y", _lin(shear), True),
        PolicyOp("TranslateX", "translate_x", _lin(translate_x), True),
        PolicyOp("TranslateY", "translate_y", _lin(translate_y), True),
        PolicyOp("Rotate", "rotate", _lin(rotate), True),
        PolicyOp("Brightness", "brightness", _lin(enhance), True),
        PolicyOp("Color", "color", _lin(enhance), True),
        PolicyOp("Contrast", "contrast", _lin(enhance), True),
        PolicyOp("Sharpness", "sharpness", _lin(enhance), True),
        PolicyOp("Posterize", "posterize", posterize),
        PolicyOp("Solarize", "solarize", _solarize_bins),
        PolicyOp("AutoContrast", "autocontrast"),
        PolicyOp("Equalize", "equalize"),
    ]
    if invert:
        ops.append(PolicyOp("Invert", "invert"))
    return tuple(ops)


# torchvision v2's spaces (same order, so op indices match torchvision's dict order)
RAND_AUGMENT_SPACE = _space(0.3, lambda h, w: 150.0 / 331.0 * w, lambda h, w: 150.0 / 331.0 * h,
                            30.0, 0.9, _posterize_bins(8, 4))
TRIVIAL_AUGMENT_SPACE = _space(0.99, 32.0, 32.0, 135.0, 0.99, _posterize_bins(8, 6))
AUTO_AUGMENT_SPACE = _space(0.3, lambda h, w: 150.0 / 331.0 * w, lambda h, w: 150.0 / 331.0 * h,
                            30.0, 0.9, _posterize_bins(8, 4), identity=False, invert=True)
_AUGMIX_ALL = _space(0.3, lambda h, w: w / 3.0, lambda h, w: h / 3.0, 30.0, 0.9, _posterize_bins(4, 4),
                     identity=False)
# torchvision's AugMix order: the partial space (geometric, posterize, solarize, autocontrast,
# equalize) first, then brightness, color, contrast, sharpness
AUGMIX_PARTIAL_SPACE = tuple(op for op in _AUGMIX_ALL if op.kind not in FACTOR_OPS)
AUGMIX_SPACE = AUGMIX_PARTIAL_SPACE + tuple(op for op in _AUGMIX_ALL if op.kind in FACTOR_OPS)


def space_index(space: Sequence[PolicyOp], name: str) -> int:
    for k, op in enumerate(space):
        if op.name == name:
            return k
    raise KeyError(name)


def constant(values, device, dtype) -> torch.Tensor:
    """A small host table on ``device``: a CPU tensor, or a cached device constant (no
    host-to-device copy, no host sync: ``functional._constants.device_constant``)."""
    device = torch.device("cpu" if device is None else device)
    if device.type == "cpu":
        return torch.tensor(list(values), dtype=dtype)
    return device_constant(list(values), device, dtype)


@functools.lru_cache(maxsize=64)
def _host_magnitudes(space: Tuple[PolicyOp, ...], num_bins: int, height: int, width: int) -> tuple:
    """torchvision's magnitude expressions evaluated on the host, as Python floats (row-major).

    Evaluated with any active dispatch mode (fake tensors, a transfer recorder, tracing)
    set aside: these are host constants of the policy, not data of the batch."""
    from torch.utils._python_dispatch import _disable_current_modes

    with _disable_current_modes():
        rows = []
        for op in space:
            m = op.magnitudes(num_bins, height, width) if op.magnitudes is not None else None
            rows.append([0.0] * num_bins if m is None else m.to(torch.float64).tolist())
    return tuple(v for row in rows for v in row)


def magnitude_table(space: Sequence[PolicyOp], num_bins: int, height: int, width: int,
                    device=None) -> torch.Tensor:
    """(len(space), num_bins) float64: torchvision's magnitudes (0 for operations without)."""
    values = _host_magnitudes(tuple(space), int(num_bins), int(height), int(width))
    return constant(values, device, torch.float64).view(len(space), num_bins)


def space_codes(space: Sequence[PolicyOp], device=None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(geometric kind, PixelOp code, signed) per operation of the space, as int64/bool tensors."""
    from ..functional import PixelOp  # the pixel kernels' codes

    geom = constant([op.geom for op in space], device, torch.int64)
    pixel = constant([int(PixelOp[op.pixel]) for op in space], device, torch.int64)
    signed = constant([op.signed for op in space], device, torch.bool)
    return geom, pixel, signed


def _kind_mask(space, op: torch.Tensor, kinds) -> torch.Tensor:
    return constant([o.kind in kinds for o in space], op.device, torch.bool)[op]


def choose(u: torch.Tensor, n: int) -> torch.Tensor:
    """Uniform integers in [0, n) from uniforms in [0, 1): ``floor(u * n)`` (int64)."""
    return torch.clamp((u.to(torch.float64) * n).floor(), max=n - 1).to(torch.int64)


def torchvision_values(space, op: torch.Tensor, bins: torch.Tensor, negate: torch.Tensor,
                       table: torch.Tensor) -> torch.Tensor:
    """torchvision's argument of each sample's operation, in canonical units.

    ``magnitude = table[op, bin]``, negated where the op is signed and ``negate``, then
    as ``_apply_image_or_video_transform`` uses it: enhance factors ``1 + m``, posterize
    ``int(m)``, translations ``int(m)`` (truncation toward zero).
    """
    m = table[op, bins]
    signed = constant([o.signed for o in space], op.device, torch.bool)[op]
    m = torch.where(signed & negate, -m, m)
    m = torch.where(_kind_mask(space, op, FACTOR_OPS), 1.0 + m, m)
    return torch.where(_kind_mask(space, op, ("posterize", "translate_x", "translate_y")), torch.trunc(m), m)


# --------------------------------------------------------------------------- timm's RandAugment

TIMM_LEVEL_DENOM = 10.0


def _timm_space(increasing: bool):
    inc = "Increasing" if increasing else ""
    names = ["AutoContrast", "Equalize", "Invert", "Rotate", "Posterize" + inc, "Solarize" + inc,
             "SolarizeAdd", "Color" + inc, "Contrast" + inc, "Brightness" + inc, "Sharpness" + inc,
             "ShearX", "ShearY", "TranslateXRel", "TranslateYRel"]
    kinds = {"AutoContrast": "autocontrast", "Equalize": "equalize", "Invert": "invert", "Rotate": "rotate",
             "Posterize": "posterize", "Solarize": "solarize", "SolarizeAdd": "solarize_add", "Color": "color",
             "Contrast": "contrast", "Brightness": "brightness", "Sharpness": "sharpness",
             "ShearX": "shear_x", "ShearY": "shear_y", "TranslateXRel": "translate_x",
             "TranslateYRel": "translate_y"}
    signed = ("Rotate", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel")
    return tuple(PolicyOp(n, kinds[n.replace("Increasing", "")],
                          signed=n in signed or (increasing and n.replace("Increasing", "") in
                                                 ("Color", "Contrast", "Brightness", "Sharpness")))
                 for n in names)


TIMM_RAND_SPACE = _timm_space(False)
TIMM_RAND_INCREASING_SPACE = _timm_space(True)


def timm_values(space, op: torch.Tensor, level: torch.Tensor, negate: torch.Tensor, height: int,
                width: int) -> torch.Tensor:
    """timm's level-to-argument maps (``LEVEL_TO_ARG``), in canonical units, vectorized.

    ``level`` is the magnitude after noise and clipping to [0, magnitude_max]; ``negate``
    is timm's ``_randomly_negate`` coin.
    """
    f = level.to(torch.float64) / TIMM_LEVEL_DENOM
    sign = torch.where(negate, -1.0, 1.0).to(torch.float64)
    names = [o.name for o in space]
    out = torch.zeros_like(f)

    def where(name, value):
        nonlocal out
        if name in names:
            out = torch.where(op == names.index(name), value, out)

    where("Rotate", sign * f * 30.0)
    where("Posterize", torch.floor(f * 4.0))
    where("PosterizeIncreasing", 4.0 - torch.floor(f * 4.0))
    # PIL solarizes levels >= thresh; as a fraction of 255 (thresh 256: nothing)
    where("Solarize", torch.floor(f * 256.0) / 255.0)
    where("SolarizeIncreasing", (256.0 - torch.floor(f * 256.0)) / 255.0)
    where("SolarizeAdd", torch.floor(f * 110.0))
    for e in ("Color", "Contrast", "Brightness", "Sharpness"):
        where(e, f * 1.8 + 0.1)
        where(e + "Increasing", torch.clamp(1.0 + sign * f * 0.9, min=0.1))
    where("ShearX", sign * f * 0.3)
    where("ShearY", sign * f * 0.3)
    where("TranslateXRel", sign * f * 0.45 * width)
    where("TranslateYRel", sign * f * 0.45 * height)
    return out


def normal_from_uniform(u: torch.Tensor) -> torch.Tensor:
    """Standard normal draws from uniforms in [0, 1) by the inverse CDF (float64)."""
    return torch.special.ndtri(u.to(torch.float64) + 2.0**-54)


def dirichlet(u: torch.Tensor, alpha: float, k: int) -> torch.Tensor:
    """(B, k) Dirichlet(alpha, ..., alpha) rows from (B, k * GAMMA_DRAWS) uniforms."""
    from .mixing import GAMMA_DRAWS, log_gamma_sample

    logs = torch.stack([log_gamma_sample(u[:, i * GAMMA_DRAWS:(i + 1) * GAMMA_DRAWS], alpha)
                        for i in range(k)], dim=1)
    return torch.softmax(logs, dim=1)  # exp(log g_i) / sum_j exp(log g_j), stable for small alpha
