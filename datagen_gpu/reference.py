"""Plain-PyTorch float64 reference implementations: the oracle for tests.

Every function takes images as float64 (B, C, H, W) tensors with values in
[0, 1] (see ``to_unit``) and per-sample parameters as (B,) tensors, loops
over samples where that is clearest, and returns float64 in the same scale.
They follow torchvision.transforms.v2.functional's definitions; they are
written to be obviously right, not fast.
"""
import math

import torch


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """Any image tensor -> float64 in [0, 1] (uint8 divided by 255)."""
    if images.dtype == torch.uint8:
        return images.to(torch.float64) / 255.0
    return images.to(torch.float64)


# --------------------------------------------------------------------------- geometry


def hflip(images: torch.Tensor, apply: torch.Tensor) -> torch.Tensor:
    out = images.clone()
    for i in range(images.shape[0]):
        if bool(apply[i]):
            out[i] = images[i].flip(-1)
    return out


def _resize_weights(pos, length, in_size, out_size, antialias):
    """(out_size, in_size) float64 matrix of one axis of ``resized_crop`` (see its docstring)."""
    weights = torch.zeros(out_size, in_size, dtype=torch.float64)
    scale = length / out_size
    lo, hi = math.floor(pos), math.ceil(pos + length)  # pixels the box overlaps
    for o in range(out_size):
        if antialias:
            support = max(scale, 1.0)
            center = pos + scale * (o + 0.5)
            first = max(math.floor(center - support + 0.5), lo)
            last = min(math.floor(center + support + 0.5), hi)
            taps = {j: max(0.0, 1.0 - abs(j + 0.5 - center) / support) for j in range(first, last)}
            total = sum(taps.values())
            taps = {j: w / total for j, w in taps.items()}
        else:
            src = min(max(pos + scale * (o + 0.5) - 0.5, lo), hi - 1)
            i0 = math.floor(src)
            lam = src - i0
            taps = {i0: 1.0 - lam}
            i1 = min(i0 + 1, hi - 1)
            taps[i1] = taps.get(i1, 0.0) + lam
        for j, w in taps.items():
            if 0 <= j < in_size:  # pixels outside the image are zeros (torchvision pads the crop)
                weights[o, j] += w
    return weights


def resized_crop(images, boxes, size, flip=None, antialias=True) -> torch.Tensor:
    """Crop box i of sample i, resize it to ``size`` (bilinear), flip where ``flip[i]``.

    ``images``: float64 (B, C, H, W) or a list of (C, Hi, Wi); ``boxes``: (B, 4)
    (top, left, height, width); ``size``: (h, w). The definition, written per
    output index as loops over taps, is the one documented in
    ``datagen_gpu.functional.resized_crop``.
    """
    out_h, out_w = size
    outs = []
    for i, img in enumerate(images):
        top, left, height, width = (float(v) for v in boxes[i])
        wy = _resize_weights(top, height, img.shape[-2], out_h, antialias)
        wx = _resize_weights(left, width, img.shape[-1], out_w, antialias)
        out = wy @ img.to(torch.float64) @ wx.T
        if flip is not None and bool(flip[i]):
            out = out.flip(-1)
        outs.append(out)
    if not outs:
        return torch.zeros(0, images.shape[1] if torch.is_tensor(images) else 0, out_h, out_w,
                           dtype=torch.float64)
    return torch.stack(outs)


# --------------------------------------------------------------------------- color

# torchvision.transforms.v2.functional._color; images are float64 in [0, 1].
# ``quantized=True`` says the images are uint8 levels: torchvision then floors
# the grayscale used by contrast / saturation / rgb_to_grayscale to a level.

GRAY_WEIGHTS = (0.2989, 0.587, 0.114)
BRIGHTNESS, CONTRAST, SATURATION, HUE = 0, 1, 2, 3


def _gray(img: torch.Tensor, quantized: bool = False) -> torch.Tensor:
    """(3, H, W) -> (H, W) luma; quantized: floor of the exact decimal-weighted level."""
    if quantized:
        levels = torch.round(img * 255.0).to(torch.int64)
        s = 2989 * levels[0] + 5870 * levels[1] + 1140 * levels[2]
        return torch.div(s, 10000, rounding_mode="floor").to(torch.float64) / 255.0
    wr, wg, wb = GRAY_WEIGHTS
    return wr * img[0] + wg * img[1] + wb * img[2]


def _blend(img: torch.Tensor, other, ratio: float) -> torch.Tensor:
    return (ratio * img + (1.0 - ratio) * other).clamp(0.0, 1.0)


def _brightness_one(img, f):
    return (f * img).clamp(0.0, 1.0)


def _contrast_one(img, f, quantized=False):
    gray = _gray(img, quantized) if img.shape[0] == 3 else img[0]
    return _blend(img, gray.mean(), f)


def _saturation_one(img, f, quantized=False):
    return _blend(img, _gray(img, quantized), f)


def _rgb_to_hsv(img):
    r, g, b = img
    maxc, minc = img.max(dim=0).values, img.min(dim=0).values
    delta = maxc - minc
    s = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, 1.0), 0.0)
    d = torch.where(delta > 0, delta, 1.0)
    h = torch.where(maxc == r, (g - b) / d,
                    torch.where(maxc == g, 2.0 + (b - r) / d, 4.0 + (r - g) / d))
    h = torch.where(delta > 0, torch.remainder(h / 6.0, 1.0), 0.0)
    return h, s, maxc


def _hsv_to_rgb(h, s, v):
    h6 = h * 6.0
    i = torch.floor(h6)
    f = h6 - i
    i = i.to(torch.int64) % 6
    p = (v * (1.0 - s)).clamp(0.0, 1.0)
    q = (v * (1.0 - s * f)).clamp(0.0, 1.0)
    t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0)
    table = {"r": (v, q, p, p, t, v), "g": (t, v, v, q, p, p), "b": (p, p, t, v, v, q)}
    out = []
    for key in ("r", "g", "b"):
        chan = torch.zeros_like(v)
        for k, val in enumerate(table[key]):
            chan = torch.where(i == k, val, chan)
        out.append(chan)
    return torch.stack(out)


def _hue_one(img, f):
    h, s, v = _rgb_to_hsv(img)
    return _hsv_to_rgb(torch.remainder(h + f, 1.0), s, v)


def adjust_brightness(images, factor):
    return torch.stack([_brightness_one(x, float(f)) for x, f in zip(images, factor)])


def adjust_contrast(images, factor, quantized=False):
    return torch.stack([_contrast_one(x, float(f), quantized) for x, f in zip(images, factor)])


def adjust_saturation(images, factor, quantized=False):
    return torch.stack([_saturation_one(x, float(f), quantized) for x, f in zip(images, factor)])


def adjust_hue(images, factor):
    return torch.stack([_hue_one(x, float(f)) for x, f in zip(images, factor)])


def color_jitter(images, brightness, contrast, saturation, hue, order, quantized=False):
    """Per sample, the four adjustments in the order ``order[i]``; identity factors
    (1, 1, 1, 0) are skipped. Only the first applied step sees uint8 levels, so only
    it floors the grayscale when ``quantized``."""
    out = []
    for i, x in enumerate(images):
        applied = False
        for op in order[i].tolist():
            f = float((brightness, contrast, saturation, hue)[op][i])
            if f == (0.0 if op == HUE else 1.0):
                continue
            q = quantized and not applied
            if op == BRIGHTNESS:
                x = _brightness_one(x, f)
            elif op == CONTRAST:
                x = _contrast_one(x, f, q)
            elif op == SATURATION:
                x = _saturation_one(x, f, q)
            else:
                x = _hue_one(x, f)
            applied = True
        out.append(x)
    return torch.stack(out)


def rgb_to_grayscale(images, apply, quantized=False):
    out = images.clone()
    for i in range(images.shape[0]):
        if bool(apply[i]):
            out[i] = _gray(images[i], quantized).expand(3, -1, -1)
    return out


def solarize(images, threshold, apply, input_dtype=torch.float32):
    """``threshold`` in the input dtype's range (0..255 for uint8), compared as
    torchvision compares: uint8 levels against the float threshold, floats
    against the threshold rounded to their dtype."""
    out = images.clone()
    for i in range(images.shape[0]):
        if not bool(apply[i]):
            continue
        t = float(threshold[i])
        if input_dtype == torch.uint8:
            hit = torch.round(images[i] * 255.0) >= t
        else:
            hit = images[i] >= torch.tensor(t, dtype=input_dtype).item()
        out[i] = torch.where(hit, 1.0 - images[i], images[i])
    return out


# --------------------------------------------------------------------------- filters


def gaussian_kernel1d(kernel_size: int, sigma: float) -> torch.Tensor:
    """torchvision's 1-D Gaussian: exp(-0.5 (x / sigma)^2) at x = -(k-1)/2 .. (k-1)/2, sum 1."""
    x = torch.arange(kernel_size, dtype=torch.float64) - (kernel_size - 1) / 2
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def gaussian_blur(images: torch.Tensor, kernel_size: int, sigma: torch.Tensor) -> torch.Tensor:
    """Per sample: reflect-pad by k // 2, then the separable Gaussian along W and along H."""
    import torch.nn.functional as nnf

    B, C, H, W = images.shape
    r = kernel_size // 2
    out = torch.empty_like(images)
    for i in range(B):
        w = gaussian_kernel1d(kernel_size, float(sigma[i]))
        x = nnf.pad(images[i : i + 1], (r, r, r, r), mode="reflect")
        x = sum(w[t] * x[..., :, t : t + W] for t in range(kernel_size))
        x = sum(w[t] * x[..., t : t + H, :] for t in range(kernel_size))
        out[i] = x[0]
    return out


def normalize(images: torch.Tensor, mean, std) -> torch.Tensor:
    """(x - mean[c]) / std[c] with x in [0, 1]."""
    mean = torch.as_tensor(mean, dtype=torch.float64).reshape(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=torch.float64).reshape(1, -1, 1, 1)
    return (images - mean) / std
