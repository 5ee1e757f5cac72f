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


def gaussian_blur(images: torch.Tensor, kernel_size: int, sigma: torch.Tensor, apply=None,
                  mean=None, std=None) -> torch.Tensor:
    """Per sample: reflect-pad by k // 2, then the separable Gaussian along W and along H;
    samples where ``apply`` is false are kept; ``mean``/``std`` normalize the result."""
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
    if apply is not None:
        out = torch.where(torch.as_tensor(apply).view(-1, 1, 1, 1), out, images)
    if mean is not None:
        out = normalize(out, mean, std)
    return out


def normalize(images: torch.Tensor, mean, std) -> torch.Tensor:
    """(x - mean[c]) / std[c] with x in [0, 1]."""
    mean = torch.as_tensor(mean, dtype=torch.float64).reshape(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=torch.float64).reshape(1, -1, 1, 1)
    return (images - mean) / std


# --------------------------------------------------------------------------- fused


def fused_augment(images, boxes=None, size=None, flip=None, antialias=True, brightness=None,
                  contrast=None, saturation=None, hue=None, order=None, grayscale=None,
                  solarize_threshold=None, solarize_apply=None, blur_kernel=None, blur_sigma=None,
                  blur_apply=None, mean=None, std=None, views=1):
    """``functional.fused_augment``, composed from the functions above.

    ``images``: float64 (B, C, H, W) in [0, 1] or a list of (C, Hi, Wi); sample
    ``v * B + i`` of ``views`` views reads image ``i``. Per-sample parameters are
    (V * B,) tensors or None (stage skipped); every intermediate stays float64
    (no rounding, no floored grayscale).
    """
    images = list(images) * views
    if boxes is not None:
        x = resized_crop(images, boxes, size, flip, antialias)
    else:
        x = torch.stack([img.to(torch.float64) for img in images])
        if flip is not None:
            x = hflip(x, flip)
    n = x.shape[0]
    jitter = (brightness, contrast, saturation, hue)
    if any(f is not None for f in jitter) and n > 0:
        ones, zeros = torch.ones(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64)
        b, c, s = (ones if f is None else f for f in jitter[:3])
        h = zeros if hue is None else hue
        o = torch.arange(4).expand(n, 4) if order is None else order
        if x.shape[1] == 3:
            x = color_jitter(x, b, c, s, h, o)
        else:  # brightness and contrast of a single channel, in the sample's order
            outs = []
            for i, img in enumerate(x):
                for op in o[i].tolist():
                    if op == BRIGHTNESS and float(b[i]) != 1.0:
                        img = _brightness_one(img, float(b[i]))
                    elif op == CONTRAST and float(c[i]) != 1.0:
                        img = _contrast_one(img, float(c[i]))
                outs.append(img)
            x = torch.stack(outs)
    if grayscale is not None:
        x = rgb_to_grayscale(x, grayscale)
    if solarize_threshold is not None:
        apply = torch.ones(n, dtype=torch.bool) if solarize_apply is None else solarize_apply
        x = solarize(x, solarize_threshold.to(torch.float64), apply, torch.float64)
    if blur_sigma is not None:
        x = gaussian_blur(x, blur_kernel, blur_sigma, blur_apply)
    if mean is not None:
        x = normalize(x, mean, std)
    return x


# --------------------------------------------------------------------------- audio
# Spectrograms (B, F, T) / (B, C, F, T) and waveforms (B, ...) as float64, not
# limited to [0, 1]. Masks are [start, start + width) clipped to the axis.


def _mask_range(start: int, width: int, size: int) -> range:
    if width <= 0:
        return range(0)
    return range(max(int(start), 0), min(int(start) + int(width), size))


def spec_mask(specs: torch.Tensor, freq_start: torch.Tensor, freq_width: torch.Tensor,
              time_start: torch.Tensor, time_width: torch.Tensor, value) -> torch.Tensor:
    """Frequency masks (B, MF) and time masks (B, MT); value (B,) or None (sample mean)."""
    out = specs.clone()
    F, T = specs.shape[-2], specs.shape[-1]
    for i in range(specs.shape[0]):
        v = specs[i].mean() if value is None else float(value[i])
        for m in range(freq_start.shape[1]):
            for f in _mask_range(freq_start[i, m], freq_width[i, m], F):
                out[i, ..., f, :] = v
        for m in range(time_start.shape[1]):
            for t in _mask_range(time_start[i, m], time_width[i, m], T):
                out[i, ..., t] = v
    return out


def time_mask(specs, start, width, value):
    none = torch.zeros((specs.shape[0], 0), dtype=torch.int64)
    return spec_mask(specs, none, none, start, width, value)


def freq_mask(specs, start, width, value):
    none = torch.zeros((specs.shape[0], 0), dtype=torch.int64)
    return spec_mask(specs, start, width, none, none, value)


def freq_shift(specs: torch.Tensor, shift: torch.Tensor, fill) -> torch.Tensor:
    out = torch.empty_like(specs)
    F = specs.shape[-2]
    for i in range(specs.shape[0]):
        for f in range(F):
            src = f - int(shift[i])
            out[i, ..., f, :] = specs[i, ..., src, :] if 0 <= src < F else float(fill[i])
    return out


def audio_mixup(x: torch.Tensor, lam: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        w = float(lam[i])
        out[i] = w * x[i] + (1.0 - w) * x[int(perm[i])]
    return out


def spec_mask_vectorized(specs, freq_start, freq_width, time_start, time_width, value,
                         fused: bool = True):
    """Batch-vectorized pure-torch masks in the input's dtype (benchmark baseline, second oracle).

    ``fused=True``: one boolean (B, 1, F, T) mask and one ``torch.where``;
    ``fused=False``: one ``torch.where`` pass per mask, as torchaudio's
    ``mask_along_axis_iid`` applied once per mask.
    """
    B, F, T = specs.shape[0], specs.shape[-2], specs.shape[-1]
    x = specs if specs.dim() == 4 else specs[:, None]
    fill = x.mean(dim=(1, 2, 3)) if value is None else value.to(x.dtype)
    fill = fill.to(x.dtype).view(B, 1, 1, 1)

    def hits(start, width, size):  # (B, M, size): [start, start + max(width, 0))
        i = torch.arange(size, device=specs.device)
        s, w = start[:, :, None], width.clamp(min=0)[:, :, None]
        return (i >= s) & (i < s + w)

    f_hit = hits(freq_start, freq_width, F)
    t_hit = hits(time_start, time_width, T)
    if fused:
        mask = f_hit.any(1)[:, None, :, None] | t_hit.any(1)[:, None, None, :]
        out = torch.where(mask, fill, x)
    else:
        out = x
        for m in range(f_hit.shape[1]):
            out = torch.where(f_hit[:, m, None, :, None], fill, out)
        for m in range(t_hit.shape[1]):
            out = torch.where(t_hit[:, m, None, None, :], fill, out)
    return out.reshape(specs.shape)


# --------------------------------------------------------------------------- mixing


def clip_box(box, height: int, width: int):
    """(y0, y1, x0, x1): box (top, left, height, width) intersected with the image."""
    top, left, h, w = (int(v) for v in box)
    y0, x0 = min(max(top, 0), height), min(max(left, 0), width)
    y1 = min(max(top + max(h, 0), y0), height)
    x1 = min(max(left + max(w, 0), x0), width)
    return y0, y1, x0, x1


def mix(images: torch.Tensor, lam: torch.Tensor, boxes: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Pixels in box i come from sample perm[i]; the others are lam[i] * x[i] + (1 - lam[i]) * x[perm[i]]."""
    out = torch.empty_like(images)
    H, W = images.shape[-2:]
    for i in range(images.shape[0]):
        j, w = int(perm[i]), float(lam[i])
        out[i] = w * images[i] + (1.0 - w) * images[j]
        y0, y1, x0, x1 = clip_box(boxes[i], H, W)
        out[i, :, y0:y1, x0:x1] = images[j, :, y0:y1, x0:x1]
    return out


def mixup(images: torch.Tensor, lam: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Mixup (Zhang et al., 2018): out[i] = lam[i] * x[i] + (1 - lam[i]) * x[perm[i]]."""
    return mix(images, lam, torch.zeros(images.shape[0], 4, dtype=torch.int64), perm)


def cutmix(images: torch.Tensor, boxes: torch.Tensor, perm: torch.Tensor):
    """CutMix (Yun et al., 2019): (mixed, lam) with lam = 1 - clipped box area / image area."""
    H, W = images.shape[-2:]
    lam = []
    for i in range(images.shape[0]):
        y0, y1, x0, x1 = clip_box(boxes[i], H, W)
        lam.append(1.0 - (y1 - y0) * (x1 - x0) / (H * W))
    mixed = mix(images, torch.ones(images.shape[0], dtype=torch.float64), boxes, perm)
    return mixed, torch.tensor(lam, dtype=torch.float64)


def mix_labels(labels: torch.Tensor, lam: torch.Tensor, perm: torch.Tensor, num_classes=None,
               label_smoothing: float = 0.0) -> torch.Tensor:
    """Soft targets lam * y + (1 - lam) * y[perm], y one-hot (timm: on = 1 - s + s / K, off = s / K)
    or the given soft labels (with the same smoothing map y * (1 - s) + s / K)."""
    if labels.dim() == 1:
        y = torch.zeros(labels.shape[0], num_classes, dtype=torch.float64)
        for i in range(labels.shape[0]):
            y[i, int(labels[i])] = 1.0
    else:
        y = labels.to(torch.float64)
    K = y.shape[1]
    y = y * (1.0 - label_smoothing) + label_smoothing / K
    out = torch.empty_like(y)
    for i in range(y.shape[0]):
        w = float(lam[i])
        out[i] = w * y[i] + (1.0 - w) * y[int(perm[i])]
    return out


def mochi_negatives(query, negatives, hard_index, pair_index, alpha, query_index, beta):
    """MoCHi synthetic negatives (Kalantidis et al., 2020), materialized: (B, s + s', D).

    Vectorized plain torch in the promoted dtype of the inputs (tests pass
    float64; the benchmark passes float32 as the baseline a user would write).
    """
    dtype = torch.promote_types(query.dtype, negatives.dtype)
    q, neg = query.detach().to(dtype), negatives.detach().to(dtype)
    first = neg[hard_index.gather(1, pair_index[..., 0])]          # (B, s, D)
    second = neg[hard_index.gather(1, pair_index[..., 1])]         # (B, s, D)
    a = alpha.to(dtype).unsqueeze(-1)
    pair_mix = a * first + (1 - a) * second
    other = neg[hard_index.gather(1, query_index)]                 # (B, s', D)
    b = beta.to(dtype).unsqueeze(-1)
    query_mix = b * q.unsqueeze(1) + (1 - b) * other
    return torch.nn.functional.normalize(torch.cat([pair_mix, query_mix], dim=1), dim=-1, eps=1e-12)


def mochi_logits(query, negatives, hard_index, pair_index, alpha, query_index, beta, temperature):
    """query[b] . h[b, t] / temperature with h from mochi_negatives (a constant for autograd)."""
    h = mochi_negatives(query, negatives, hard_index, pair_index, alpha, query_index, beta)
    dtype = h.dtype
    return torch.bmm(h, query.to(dtype).unsqueeze(-1)).squeeze(-1) / temperature


# The learned policies' operations (AutoAugment / RandAugment / TrivialAugment / AugMix /
# RandomErasing), one module per kernel family.
from .affine import *  # noqa: E402,F401,F403
from .erase import *  # noqa: E402,F401,F403
from .pixel import *  # noqa: E402,F401,F403
