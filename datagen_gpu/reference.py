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
