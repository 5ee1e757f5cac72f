"""Plain-PyTorch float64 reference implementations: the oracle for tests.

Every function takes images as float64 (B, C, H, W) tensors with values in
[0, 1] (see ``to_unit``) and per-sample parameters as (B,) tensors, loops
over samples where that is clearest, and returns float64 in the same scale.
They follow torchvision.transforms.v2.functional's definitions; they are
written to be obviously right, not fast.
"""
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
