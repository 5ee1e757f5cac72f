"""Single-op cases: every image op with per-sample parameters, ours and the float64 reference.

Used by the demo (its grid and per-op table), ``benchmarks/bench_ops.py``
and ``benchmarks/compare.py`` (with torchvision's per-sample loop from
:func:`.peers_torchvision.op_loops`). Parameters are drawn on the CPU from one
seeded ``torch.Generator`` (so a seed gives the same parameters on every
device) with the ranges of common ImageNet recipes, or wider ones
(``visible=True``) that make each op's effect visible in the demo's grid.
"""
import math

import torch

from .. import functional as F
from .cases import IMAGENET_MEAN, IMAGENET_STD

CROP = 224  # resized_crop's output side
KERNEL = 23  # gaussian_blur's kernel size
OPS = ("resized_crop", "hflip", "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
       "color_jitter", "rgb_to_grayscale", "solarize", "gaussian_blur", "normalize")


def random_resized_crop_boxes(heights, widths, generator, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                              attempts=10):
    """RandomResizedCrop boxes for every sample, drawn without a Python loop.

    Follows torchvision's ``RandomResizedCrop.get_params`` per sample: up to
    ``attempts`` tries of an area fraction in ``scale`` and a log-uniform
    aspect ratio in ``ratio``, integer height / width / top / left; the first
    try that fits is used, else a centre crop with the aspect ratio clamped
    to ``ratio``.

    Args:
        heights, widths: (B,) int64 image sizes.
        generator: a CPU ``torch.Generator``.

    Returns:
        (B, 4) float32 boxes (top, left, height, width), integer-valued.
    """
    heights = torch.as_tensor(heights, dtype=torch.int64)
    widths = torch.as_tensor(widths, dtype=torch.int64)
    b = heights.shape[0]
    h_img, w_img = heights.view(b, 1).double(), widths.view(b, 1).double()
    u = torch.rand(b, 2, attempts, generator=generator, dtype=torch.float64)
    target = h_img * w_img * (scale[0] + (scale[1] - scale[0]) * u[:, 0])
    log_r = (math.log(ratio[0]), math.log(ratio[1]))
    aspect = torch.exp(log_r[0] + (log_r[1] - log_r[0]) * u[:, 1])
    w = torch.sqrt(target * aspect).round()
    h = torch.sqrt(target / aspect).round()
    ok = (w > 0) & (h > 0) & (w <= w_img) & (h <= h_img)
    first = torch.where(ok.any(1), ok.double().argmax(1), torch.full((b,), -1, dtype=torch.int64))
    u_top, u_left = torch.rand(2, b, generator=generator, dtype=torch.float64)
    pick = first.clamp(min=0).view(b, 1)
    h_sel, w_sel = h.gather(1, pick).view(b), w.gather(1, pick).view(b)
    top = (u_top * (heights - h_sel + 1)).floor().clamp(max=heights - h_sel)
    left = (u_left * (widths - w_sel + 1)).floor().clamp(max=widths - w_sel)
    # Fallback: centre crop with the aspect ratio clamped into `ratio`.
    in_ratio = widths.double() / heights.double()
    fb_w = torch.where(in_ratio > ratio[1], (heights * ratio[1]).round(), widths.double())
    fb_h = torch.where(in_ratio < ratio[0], (widths / ratio[0]).round(), heights.double())
    fb_top, fb_left = ((heights - fb_h) / 2).floor(), ((widths - fb_w) / 2).floor()
    use = first >= 0
    boxes = torch.stack([torch.where(use, top, fb_top), torch.where(use, left, fb_left),
                         torch.where(use, h_sel, fb_h), torch.where(use, w_sel, fb_w)], dim=1)
    return boxes.float()


def draw_params(batch, generator, size=256, visible=False):
    """Per-sample parameters of every op for (batch, 3, size, size) images, drawn on the CPU.

    Args:
        batch: number of samples.
        generator: a CPU ``torch.Generator``.
        size: the images' side (for the crop boxes).
        visible: wide ranges (brightness / contrast 0.4-1.6, saturation 0-2,
            hue +-0.5, sigma 0.5-4) instead of ColorJitter(0.4, 0.4, 0.4, 0.1)'s.
    """
    def uniform(lo, hi):
        return lo + (hi - lo) * torch.rand(batch, generator=generator)

    def coin(p=0.5):
        return torch.rand(batch, generator=generator) < p

    full = torch.full((batch,), size, dtype=torch.int64)
    wide = {"brightness": (0.4, 1.6), "contrast": (0.4, 1.6), "saturation": (0.0, 2.0), "hue": (-0.5, 0.5),
            "sigma": (0.5, 4.0)}
    narrow = {"brightness": (0.6, 1.4), "contrast": (0.6, 1.4), "saturation": (0.6, 1.4), "hue": (-0.1, 0.1),
              "sigma": (0.1, 2.0)}
    r = wide if visible else narrow
    return {
        "boxes": random_resized_crop_boxes(full, full, generator),
        "crop_flip": coin(),
        "flip": coin(),
        **{k: uniform(*r[k]) for k in ("brightness", "contrast", "saturation", "hue")},
        "order": torch.argsort(torch.rand(batch, 4, generator=generator), dim=1),
        "gray": coin(),
        "threshold": uniform(64.0, 224.0).round(),  # uint8 range, as torchvision
        "solarize": coin(0.75 if visible else 0.5),
        "sigma": uniform(*r["sigma"]),
    }


def op_calls(x, p):
    """op -> zero-argument callable applying our op to the uint8 batch ``x`` with parameters ``p``."""
    jitter = (p["brightness"], p["contrast"], p["saturation"], p["hue"])
    return {
        "resized_crop": lambda: F.resized_crop(x, p["boxes"], CROP, flip=p["crop_flip"], antialias=True,
                                               out_dtype=torch.float32),
        "hflip": lambda: F.hflip(x, p["flip"]),
        "adjust_brightness": lambda: F.adjust_brightness(x, p["brightness"]),
        "adjust_contrast": lambda: F.adjust_contrast(x, p["contrast"]),
        "adjust_saturation": lambda: F.adjust_saturation(x, p["saturation"]),
        "adjust_hue": lambda: F.adjust_hue(x, p["hue"]),
        "color_jitter": lambda: F.color_jitter(x, *jitter, p["order"]),
        "rgb_to_grayscale": lambda: F.rgb_to_grayscale(x, p["gray"]),
        "solarize": lambda: F.solarize(x, p["threshold"], p["solarize"]),
        "gaussian_blur": lambda: F.gaussian_blur(x, KERNEL, p["sigma"]),
        "normalize": lambda: F.normalize(x, IMAGENET_MEAN, IMAGENET_STD),
    }


def reference_calls(x, p):
    """op -> zero-argument callable of the float64 reference (``datagen_gpu.reference``) on ``x``."""
    from .. import reference as R

    u = R.to_unit(x)
    jitter = (p["brightness"], p["contrast"], p["saturation"], p["hue"])
    mean, std = (torch.tensor(v, dtype=torch.float64) for v in (IMAGENET_MEAN, IMAGENET_STD))
    return {
        "resized_crop": lambda: R.resized_crop(list(u.unbind(0)), p["boxes"], (CROP, CROP), p["crop_flip"], True),
        "hflip": lambda: R.hflip(u, p["flip"]),
        "adjust_brightness": lambda: R.adjust_brightness(u, p["brightness"]),
        "adjust_contrast": lambda: R.adjust_contrast(u, p["contrast"]),
        "adjust_saturation": lambda: R.adjust_saturation(u, p["saturation"]),
        "adjust_hue": lambda: R.adjust_hue(u, p["hue"]),
        "color_jitter": lambda: R.color_jitter(u, *jitter, p["order"]),
        "rgb_to_grayscale": lambda: R.rgb_to_grayscale(u, p["gray"]),
        "solarize": lambda: R.solarize(u, p["threshold"] / 255.0, p["solarize"]),
        "gaussian_blur": lambda: R.gaussian_blur(u, KERNEL, p["sigma"]),
        "normalize": lambda: R.normalize(u, mean, std),
    }


def head(params, n):
    """The parameters of the first ``n`` samples."""
    return {k: v[:n] for k, v in params.items()}
