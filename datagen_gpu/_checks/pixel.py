"""Operation codes and argument checks of the pixel ops (``pixel_ops`` and the
single-op functionals built on it), shared by the functionals and the Triton
launchers; csrc/pixel.cpp checks the same things for the C++ kernel.

Value checks (known codes, each code's magnitude range, the channel count of
CONTRAST / SATURATION) read the op and magnitude tensors, so they run on CPU
tensors only (``_checks.host_checks``). On CUDA the kernels stay memory-safe
for any value: an unknown code is the identity, POSTERIZE's bits are clamped
to 0..8, CONTRAST / SATURATION on a C other than 1 or 3 are the identity.
"""
import enum

import torch

from . import check_images, check_param, check_tensor, host_checks
from .color import MAX_VALUE


class PixelOp(enum.IntEnum):
    """Codes of the per-sample operations of ``pixel_ops`` (part of the public API)."""

    IDENTITY = 0
    BRIGHTNESS = 1
    SATURATION = 2
    CONTRAST = 3
    SHARPNESS = 4
    POSTERIZE = 5
    SOLARIZE = 6
    AUTOCONTRAST = 7
    EQUALIZE = 8
    INVERT = 9
    SOLARIZE_ADD = 10


NUM_OPS = len(PixelOp)
FACTOR_OPS = (PixelOp.BRIGHTNESS, PixelOp.SATURATION, PixelOp.CONTRAST, PixelOp.SHARPNESS)
OP_DTYPE = torch.int64  # the op-level dtype of the codes


def _first(bad: torch.Tensor) -> int:
    return int(bad.nonzero()[0, 0])


def check_pixel_args(images, op, magnitude, op_name="op", magnitude_name="magnitude"):
    """The op-level arguments of ``pixel_ops``: (B,) int64 codes and (B,) float32
    magnitudes on the images' device; on CPU tensors also their values:

    - every code in 0..10 (``PixelOp``);
    - BRIGHTNESS / SATURATION / CONTRAST / SHARPNESS: a factor >= 0;
    - POSTERIZE: an integer number of bits in 0..8;
    - SOLARIZE: a threshold at most the dtype's maximum (255 for uint8, else 1);
    - SOLARIZE_ADD: an addend in [0, the dtype's maximum];
    - CONTRAST / SATURATION: images of 1 or 3 channels (as torchvision);
    - IDENTITY / AUTOCONTRAST / EQUALIZE / INVERT: the magnitude is ignored.
    """
    check_images(images)
    batch = images.shape[0]
    check_tensor(op, op_name, (batch,), OP_DTYPE, images.device)
    check_param(magnitude, images, magnitude_name, torch.float32)
    if not (host_checks(op) and host_checks(magnitude)) or batch == 0:
        return
    bad = (op < 0) | (op >= NUM_OPS)
    if bool(bad.any()):
        i = _first(bad)
        raise ValueError(f"{op_name}: unknown operation code {int(op[i])} for sample {i} "
                         f"(expected 0..{NUM_OPS - 1}, datagen_gpu.functional.PixelOp)")
    m = magnitude
    nan = torch.isnan(m)
    factor = torch.zeros_like(op, dtype=torch.bool)
    for code in FACTOR_OPS:
        factor |= op == code
    top = MAX_VALUE[images.dtype]
    rules = [
        (factor, nan | (m < 0), "a non-negative factor"),
        (op == PixelOp.POSTERIZE, nan | (m < 0) | (m > 8) | (m != torch.floor(m)),
         "an integer number of bits in 0..8"),
        (op == PixelOp.SOLARIZE, nan | (m > top), f"a threshold at most {top:g} ({images.dtype})"),
        (op == PixelOp.SOLARIZE_ADD, nan | (m < 0) | (m > top),
         f"an addend in [0, {top:g}] ({images.dtype})"),
    ]
    for which, wrong, what in rules:
        bad = which & wrong
        if bool(bad.any()):
            i = _first(bad)
            raise ValueError(f"{magnitude_name}: {PixelOp(int(op[i])).name} expects {what}, got "
                             f"{float(m[i])} for sample {i}")
    channels = images.shape[1]
    if channels not in (1, 3):
        bad = (op == PixelOp.CONTRAST) | (op == PixelOp.SATURATION)
        if bool(bad.any()):
            i = _first(bad)
            raise ValueError(f"images: {PixelOp(int(op[i])).name} (sample {i}) needs 1 or 3 "
                             f"channels, got {channels}")
