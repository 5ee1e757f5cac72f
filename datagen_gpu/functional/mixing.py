"""Mixing functionals: mixup, cutmix, mix (both at once) and mix_labels.

Sample i is mixed with its partner ``perm[i]`` (any (B,) index tensor; timm
uses ``x.flip(0)``, torchvision ``x.roll(1, 0)``, see
``datagen_gpu.params.mixing.flip_permutation`` / ``roll_permutation``). The
partners are read from the unmodified input, so the result does not depend
on the order in which samples are processed. One kernel launch mixes the
whole batch; CutMix boxes are tested per row and column, no mask is built.
"""
import torch

from .._checks import as_param, check_images, check_range, resolve_out_dtype
from ..params.mixing import box_lam


def _perm(perm, images):
    batch = images.shape[0]
    if not isinstance(perm, torch.Tensor):
        raise TypeError(f"perm: expected an integer tensor of shape ({batch},), got {type(perm).__name__}")
    if perm.dtype.is_floating_point or perm.dtype == torch.bool or perm.dtype.is_complex:
        raise TypeError(f"perm: expected an integer tensor, got {perm.dtype}")
    if perm.shape != (batch,):
        raise ValueError(f"perm: expected shape ({batch},), got {tuple(perm.shape)}")
    if perm.device != images.device:
        raise ValueError(f"perm: expected device {images.device} (the images' device), got {perm.device}")
    perm = perm.to(torch.int64).contiguous()
    check_range(perm, "perm", 0, batch - 1, what="indices of samples in the batch")
    return perm


def _lam(lam, images):
    lam = as_param(lam, images, "lam", torch.float32)
    check_range(lam, "lam", 0.0, 1.0)
    return lam


def _boxes(boxes, images):
    batch = images.shape[0]
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"boxes: expected a ({batch}, 4) tensor, got {type(boxes).__name__}")
    if boxes.shape != (batch, 4):
        raise ValueError(f"boxes: expected shape ({batch}, 4) (top, left, height, width), "
                         f"got {tuple(boxes.shape)}")
    if boxes.dtype == torch.bool or boxes.dtype.is_complex:
        raise TypeError(f"boxes: expected an integer or floating point tensor, got {boxes.dtype}")
    if boxes.device != images.device:
        raise ValueError(f"boxes: expected device {images.device} (the images' device), got {boxes.device}")
    if boxes.dtype.is_floating_point and boxes.device.type == "cpu" and boxes.numel():
        if not bool((boxes == torch.floor(boxes)).all()):
            raise ValueError("boxes: expected integer pixel coordinates")
    boxes = boxes.to(torch.int64).contiguous()
    check_range(boxes[:, 2:], "boxes", 0, None, what="height and width must be non-negative")
    return boxes


def mix(images: torch.Tensor, lam, boxes: torch.Tensor, perm: torch.Tensor, *, out_dtype=None) -> torch.Tensor:
    """Mixup and CutMix in one pass: the general per-sample mix.

    ``out[i] = x[perm[i]]`` inside box i and ``lam[i] * x[i] + (1 - lam[i]) * x[perm[i]]``
    outside it. Mixup is the case of empty boxes, CutMix the case ``lam = 1``;
    timm's per-element mode uses both in one batch. A sample whose partner is
    itself is returned unchanged. Computed in float32 on [0, 1] values; uint8
    outputs are rounded to nearest.

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32, NCHW or channels-last.
        lam: (B,) mixing weights in [0, 1], or a number for every sample.
        boxes: (B, 4) (top, left, height, width) integer pixels; clipped to the image.
        perm: (B,) integer partner index of each sample.
        out_dtype: output dtype (default: the input's); uint8 results are rounded.

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> x = torch.rand(4, 3, 32, 32)
        >>> boxes = torch.tensor([[0, 0, 0, 0], [4, 4, 8, 8], [0, 0, 0, 0], [0, 0, 16, 16]])
        >>> lam = torch.tensor([0.3, 1.0, 0.7, 1.0])
        >>> y = mix(x, lam, boxes, torch.tensor([3, 2, 1, 0]))
    """
    check_images(images)
    out_dtype = resolve_out_dtype(out_dtype, images)
    lam, boxes, perm = _lam(lam, images), _boxes(boxes, images), _perm(perm, images)
    return torch.ops.datagen_gpu.mix(images, lam, boxes, perm, out_dtype)


def mixup(images: torch.Tensor, lam, perm: torch.Tensor, *, out_dtype=None) -> torch.Tensor:
    """Mixup (Zhang et al., ICLR 2018): ``out[i] = lam[i] * x[i] + (1 - lam[i]) * x[perm[i]]``.

    Computed in float32 on [0, 1] values; uint8 outputs are rounded to nearest
    (torchvision's uint8 path would truncate).

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32, NCHW or channels-last.
        lam: (B,) weights in [0, 1], or a number for every sample.
        perm: (B,) integer partner index of each sample.
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> x = torch.rand(4, 3, 32, 32)
        >>> y = mixup(x, torch.tensor([0.2, 0.5, 0.9, 1.0]), torch.tensor([3, 2, 1, 0]))
    """
    check_images(images)
    boxes = torch.zeros(images.shape[0], 4, dtype=torch.int64, device=images.device)
    return mix(images, lam, boxes, perm, out_dtype=out_dtype)


def cutmix(images: torch.Tensor, boxes: torch.Tensor, perm: torch.Tensor, *, out_dtype=None):
    """CutMix (Yun et al., ICCV 2019): paste box i of ``x[perm[i]]`` into sample i.

    Returns the mixed batch and the corrected ``lam = 1 - area / (H * W)`` of
    the box clipped to the image, the share of sample i's own pixels (what
    timm's ``correct_lam`` and torchvision's ``lam_adjusted`` use for labels).

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32, NCHW or channels-last.
        boxes: (B, 4) (top, left, height, width) integer pixels; parts outside the image are ignored.
        perm: (B,) integer partner index of each sample.
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, C, H, W) -> (mixed (B, C, H, W), lam (B,) float32).

    Example:
        >>> x = torch.rand(2, 3, 32, 32)
        >>> y, lam = cutmix(x, torch.tensor([[8, 8, 16, 16], [24, 24, 16, 16]]), torch.tensor([1, 0]))
        >>> lam
        tensor([0.7500, 0.9375])
    """
    check_images(images)
    boxes = _boxes(boxes, images)
    mixed = mix(images, 1.0, boxes, perm, out_dtype=out_dtype)
    return mixed, box_lam(boxes, images.shape[2], images.shape[3]).to(torch.float32)


def mix_labels(labels: torch.Tensor, lam, perm: torch.Tensor, num_classes=None,
               label_smoothing: float = 0.0) -> torch.Tensor:
    """Soft targets ``lam * y + (1 - lam) * y[perm]`` for mixed samples.

    ``y`` is the one-hot encoding of class indices with timm's label
    smoothing (off = s / K, on = 1 - s + off), or given soft labels with the
    same map ``y * (1 - s) + s / K``. Each row sums to one when ``y``'s rows do.

    Args:
        labels: (B,) integer class indices, or (B, K) soft labels.
        lam: (B,) weights of each sample's own label (e.g. cutmix's corrected lam), or a number.
        perm: (B,) integer partner index of each sample.
        num_classes: K; required for class indices, checked against soft labels.
        label_smoothing: s in [0, 1).

    Shape:
        labels (B,) or (B, K) -> (B, K), float32 (soft labels keep their floating dtype).

    Example:
        >>> mix_labels(torch.tensor([0, 2]), torch.tensor([0.75, 0.5]), torch.tensor([1, 0]), 3)
        tensor([[0.7500, 0.0000, 0.2500],
                [0.5000, 0.0000, 0.5000]])
    """
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels: expected a tensor, got {type(labels).__name__}")
    if labels.dim() not in (1, 2):
        raise ValueError(f"labels: expected class indices (B,) or soft labels (B, K), got shape "
                         f"{tuple(labels.shape)}")
    if not 0.0 <= float(label_smoothing) < 1.0:
        raise ValueError(f"label_smoothing: expected a value in [0, 1), got {label_smoothing!r}")
    batch = labels.shape[0]
    ref = labels.new_empty((batch, 0, 0, 0), dtype=torch.float32)  # batch/device carrier for as_param
    perm = _perm(perm, ref)
    lam = _lam(lam, ref)
    if labels.dim() == 1:
        if labels.dtype.is_floating_point or labels.dtype == torch.bool:
            raise TypeError(f"labels: expected integer class indices, got {labels.dtype}")
        if num_classes is None or int(num_classes) <= 0:
            raise ValueError(f"num_classes: required (a positive int) for class-index labels, got {num_classes!r}")
        K = int(num_classes)
        labels = labels.to(torch.int64)
        check_range(labels, "labels", 0, K - 1, what=f"class indices for num_classes={K}")
        y = torch.zeros(batch, K, dtype=torch.float32, device=labels.device)
        y.scatter_(1, labels.unsqueeze(1), 1.0)
    else:
        K = labels.shape[1]
        if num_classes is not None and int(num_classes) != K:
            raise ValueError(f"num_classes: soft labels have {K} classes, got num_classes={num_classes}")
        y = labels if labels.dtype.is_floating_point else labels.to(torch.float32)
    s = float(label_smoothing)
    if s > 0:
        y = y * (1.0 - s) + s / K
    w = lam.to(y.dtype).unsqueeze(1)
    return w * y + (1.0 - w) * y[perm]
