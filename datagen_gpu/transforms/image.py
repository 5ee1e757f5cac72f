"""torchvision v2 image transforms over whole batches, with per-sample parameters.

Same class names and arguments as torchvision.transforms.v2. Differences,
by design:
- inputs are batches (B, C, H, W) (or ragged lists of (C, H, W) for
  RandomResizedCrop), and every sample draws its own parameters;
- ``p`` is a per-sample probability; ``same_on_batch=True`` restores
  torchvision's one-draw-per-call behaviour;
- ``forward(x, sample_ids=None, params=None, return_params=False)``:
  parameters come from the counter-based generator (seed, sample id) and can
  be returned and replayed.
"""
import numbers

import torch

from .. import functional as F
from .._windowed import WindowedImages
from ..functional._constants import to_device
from ..params import coins, jitter_range, permutations, resized_crop_boxes, uniform_range
from ..params.samplers import CROP_DRAWS
from ._base import RandomTransform, batch_of


def _pair(size, name):
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 2:
        return int(size[0]), int(size[1])
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return int(size[0]), int(size[0])
    raise TypeError(f"{name}: expected an int or a (h, w) pair, got {size!r}")


def _check_p(p):
    if not isinstance(p, numbers.Real) or not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"p: expected a probability in [0, 1], got {p!r}")
    return float(p)


def _where(apply, new, old):
    return torch.where(apply.view(-1, 1, 1, 1), new, old)


class RandomResizedCrop(RandomTransform):
    """Crop a random area and aspect ratio per sample, then resize to ``size``.

    torchvision's RandomResizedCrop distribution (see params.resized_crop_boxes);
    bilinear, antialiased by default. Accepts ragged lists of (C, H, W) images,
    and ``WindowedImages`` (crop-aware decoding): the boxes are drawn from each
    image's full size and mapped into its decoded window (the returned ``boxes``
    are in the window's pixels).
    """

    APPLY_ATTRS = ("size", "antialias")

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interpolation="bilinear",
                 antialias=True, **kwargs):
        super().__init__(**kwargs)
        self.size = _pair(size, "size")
        if self.size[0] <= 0 or self.size[1] <= 0:
            raise ValueError(f"size: expected positive sizes, got {size!r}")
        if len(scale) != 2 or not 0 < scale[0] <= scale[1]:
            raise ValueError(f"scale: expected (min, max) with 0 < min <= max, got {scale!r}")
        if len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f"ratio: expected (min, max) with 0 < min <= max, got {ratio!r}")
        if str(getattr(interpolation, "value", interpolation)).lower() != "bilinear":
            raise ValueError(f"interpolation: only bilinear is supported, got {interpolation!r}")
        self.scale, self.ratio, self.antialias = tuple(scale), tuple(ratio), bool(antialias)

    def make_params(self, x, sample_ids):
        batch, device = batch_of(x)
        # host data (sizes, a window geometry still on the CPU) goes to the device as a pinned,
        # non-blocking copy: the host does not wait (docs/gpu_correctness.md)
        if isinstance(x, WindowedImages):  # crop-aware decoding: windows of larger images
            geometry = x.geometry
            if geometry.device != device:  # DeviceLoader has already moved it
                geometry = to_device(geometry, device)
            heights, widths = geometry[:, 0], geometry[:, 1]
        elif isinstance(x, (list, tuple)):
            hw = to_device(torch.tensor([t.shape[-2:] for t in x], dtype=torch.int64), device)
            heights, widths = hw[:, 0], hw[:, 1]
        else:
            heights = torch.full((batch,), x.shape[-2], device=device)
            widths = torch.full((batch,), x.shape[-1], device=device)
        u = self.draw(sample_ids, CROP_DRAWS)
        boxes = resized_crop_boxes(u, heights, widths, self.scale, self.ratio)
        if isinstance(x, WindowedImages):  # the full-size box, in the window's decoded pixels
            top, left, scale_y, scale_x = geometry[:, 2:].unbind(1)
            boxes = torch.stack([(boxes[:, 0] - top) / scale_y, (boxes[:, 1] - left) / scale_x,
                                 boxes[:, 2] / scale_y, boxes[:, 3] / scale_x], dim=1)
        return {"boxes": boxes.float()}

    def apply_params(self, x, params):
        return F.resized_crop(x, params["boxes"], self.size, antialias=self.antialias)


class RandomHorizontalFlip(RandomTransform):
    """Flip each sample with probability ``p``."""

    APPLY_ATTRS = ()

    def __init__(self, p=0.5, **kwargs):
        super().__init__(**kwargs)
        self.p = _check_p(p)

    def make_params(self, x, sample_ids):
        return {"apply": coins(self.draw(sample_ids, 1, torch.float32)[:, 0], self.p)}

    def apply_params(self, x, params):
        return F.hflip(x, params["apply"])

    def mask_params(self, params, apply):
        return {"apply": params["apply"] & apply}


class ColorJitter(RandomTransform):
    """Per-sample brightness, contrast, saturation and hue factors in a per-sample random order.

    Arguments as torchvision's ColorJitter: a number v means [max(0, 1 - v), 1 + v]
    (hue: [-v, v], v <= 0.5), a pair means that range; 0 / None disables.
    """

    APPLY_ATTRS = ()

    def __init__(self, brightness=None, contrast=None, saturation=None, hue=None, **kwargs):
        super().__init__(**kwargs)
        self.brightness = jitter_range(brightness, "brightness")
        self.contrast = jitter_range(contrast, "contrast")
        self.saturation = jitter_range(saturation, "saturation")
        self.hue = jitter_range(hue, "hue", center=0.0, bound=(-0.5, 0.5), clip_first_to_zero=False)

    def make_params(self, x, sample_ids):
        u = self.draw(sample_ids, 8, torch.float32)
        out = {}
        for k, (name, identity) in enumerate((("brightness", 1.0), ("contrast", 1.0),
                                              ("saturation", 1.0), ("hue", 0.0))):
            rng = getattr(self, name)
            out[name] = (torch.full_like(u[:, k], identity) if rng is None
                         else uniform_range(u[:, k], rng[0], rng[1]))
        out["order"] = permutations(u[:, 4:8])
        return out

    def apply_params(self, x, params):
        return F.color_jitter(x, params["brightness"], params["contrast"], params["saturation"],
                              params["hue"], params["order"])

    def mask_params(self, params, apply):
        out = dict(params)
        for name, identity in (("brightness", 1.0), ("contrast", 1.0), ("saturation", 1.0), ("hue", 0.0)):
            out[name] = torch.where(apply, params[name], torch.full_like(params[name], identity))
        return out


class RandomGrayscale(RandomTransform):
    """Convert each sample to grayscale (3 channels kept) with probability ``p``."""

    APPLY_ATTRS = ()

    def __init__(self, p=0.1, **kwargs):
        super().__init__(**kwargs)
        self.p = _check_p(p)

    def make_params(self, x, sample_ids):
        return {"apply": coins(self.draw(sample_ids, 1, torch.float32)[:, 0], self.p)}

    def apply_params(self, x, params):
        return F.rgb_to_grayscale(x, params["apply"])

    def mask_params(self, params, apply):
        return {"apply": params["apply"] & apply}


class GaussianBlur(RandomTransform):
    """Gaussian blur with a per-sample ``sigma ~ U(sigma)`` (torchvision's GaussianBlur)."""

    APPLY_ATTRS = ("kernel_size",)

    def __init__(self, kernel_size, sigma=(0.1, 2.0), **kwargs):
        super().__init__(**kwargs)
        k = _pair(kernel_size, "kernel_size")
        if k[0] != k[1] or k[0] <= 0 or k[0] % 2 == 0:
            raise ValueError(f"kernel_size: expected a positive odd size (square), got {kernel_size!r}")
        self.kernel_size = k[0]
        if isinstance(sigma, numbers.Real):
            sigma = (float(sigma), float(sigma))
        if len(sigma) != 2 or not 0 < sigma[0] <= sigma[1]:
            raise ValueError(f"sigma: expected a positive number or (min, max) with 0 < min <= max, got {sigma!r}")
        self.sigma = (float(sigma[0]), float(sigma[1]))

    def make_params(self, x, sample_ids):
        u = self.draw(sample_ids, 1, torch.float32)[:, 0]
        return {"sigma": uniform_range(u, *self.sigma)}

    def apply_params(self, x, params):
        return F.gaussian_blur(x, self.kernel_size, params["sigma"], params.get("apply"))

    def mask_params(self, params, apply):
        """The params that blur only the samples where ``apply`` (RandomApply's coin) is true."""
        if "apply" in params:
            apply = apply & params["apply"]
        return {**params, "apply": apply}


class RandomSolarize(RandomTransform):
    """Invert the pixels >= ``threshold`` of each sample with probability ``p``.

    ``threshold`` is in the input's value range (0..255 for uint8, 0..1 for floats),
    as in torchvision.
    """

    APPLY_ATTRS = ("threshold",)

    def __init__(self, threshold, p=0.5, **kwargs):
        super().__init__(**kwargs)
        self.threshold = float(threshold)
        self.p = _check_p(p)

    def make_params(self, x, sample_ids):
        return {"apply": coins(self.draw(sample_ids, 1, torch.float32)[:, 0], self.p)}

    def apply_params(self, x, params):
        return F.solarize(x, self.threshold, params["apply"])

    def mask_params(self, params, apply):
        return {"apply": params["apply"] & apply}
