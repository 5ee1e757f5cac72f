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
