"""Benchmark inputs: image batches from sample photos, procedural images or a folder; spectrograms.

Every library of a comparison gets the same tensors. Image pipelines start
from a uint8 ``(B, 3, S, S)`` batch with ``S = input_side(size)`` (256 for a
224 output: the usual "resize to 256, crop 224" storage of ImageNet-style
training sets); the mixing pipeline starts from a float32 ``(B, 3, size,
size)`` batch (what it sees after augmentation) and class labels; SpecAugment
from float32 log-mel-like ``(B, 128, 1000)`` spectrograms (10 s at a 10 ms hop;
the values do not change the work).
"""
import os
from dataclasses import dataclass
from typing import Optional

import torch

N_MELS, FRAMES = 128, 1000
NUM_CLASSES = 1000
SOURCES = ("photos", "procedural")


def input_side(size: int) -> int:
    """The stored image side for an output ``size`` (256 for 224)."""
    return int(round(size * 256 / 224))


def check_source(source: Optional[str]) -> str:
    """``None`` -> "photos" when scikit-image's sample photos are installed, else "procedural".

    Raises:
        ValueError: ``source`` is neither a known source nor an existing folder.
        RuntimeError: "photos" without scikit-image.
    """
    from ..sample_data import skimage_images

    if source is None:
        return "photos" if skimage_images(limit=1) else "procedural"
    if source == "photos" and not skimage_images(limit=1):
        raise RuntimeError("--source photos needs scikit-image's bundled sample photos "
                           "(pip install scikit-image, or the 'demo' extra); use --source procedural")
    if source in SOURCES or os.path.isdir(source):
        return source
    raise ValueError(f"--source: expected photos, procedural or an existing folder, got {source!r}")


def _pool(source: str, limit: int):
    """A ragged list of (3, H, W) uint8 images from ``source`` (a folder decodes its first files)."""
    if source in SOURCES:
        from ..sample_data import sample_images

        return sample_images("skimage" if source == "photos" else "procedural")[0]
    from ..data import ImageFolder
    from ..data.photo_folder import load_folder

    dataset = ImageFolder(source)
    if len(dataset) == 0:
        raise ValueError(f"--source {source}: no images found (expected root/<class>/<image files>)")
    return load_folder(dataset, limit)[0]


def image_batch(batch: int, side: int, source: str = "procedural", *, seed: int = 0,
                device="cpu") -> torch.Tensor:
    """A (batch, 3, side, side) uint8 batch: random square crops (50-100% of the shorter side)
    of the source's images, cycled, resized (antialiased) with one ragged ``resized_crop``.

    Args:
        batch: number of images.
        side: output side.
        source: "photos", "procedural" or a folder (its first ``batch`` images, decoded once).
        seed: the crops' generator seed.
        device: where the batch lives.
    """
    from .. import functional as F

    pool = _pool(source, batch)
    images = [pool[i % len(pool)] for i in range(batch)]
    if batch == 0:
        return torch.empty(0, 3, side, side, dtype=torch.uint8, device=device)
    g = torch.Generator().manual_seed(seed)
    short = torch.tensor([min(img.shape[-2:]) for img in images], dtype=torch.float64)
    heights = torch.tensor([img.shape[-2] for img in images], dtype=torch.float64)
    widths = torch.tensor([img.shape[-1] for img in images], dtype=torch.float64)
    crop = (short * (0.5 + 0.5 * torch.rand(batch, generator=g, dtype=torch.float64))).floor()
    top = ((heights - crop) * torch.rand(batch, generator=g, dtype=torch.float64)).floor()
    left = ((widths - crop) * torch.rand(batch, generator=g, dtype=torch.float64)).floor()
    boxes = torch.stack([top, left, crop, crop], 1).float()
    return F.resized_crop(images, boxes, side, antialias=True).to(device)


def unit_batch(batch: int, side: int, source: str = "procedural", *, seed: int = 0,
               device="cpu") -> torch.Tensor:
    """:func:`image_batch` as float32 in [0, 1]."""
    return image_batch(batch, side, source, seed=seed, device=device).float().div_(255)


def spectrograms(batch: int, n_mels: int = N_MELS, frames: int = FRAMES, *, seed: int = 0,
                 device="cpu") -> torch.Tensor:
    """(batch, n_mels, frames) float32 log-mel-like values (dB, around -40)."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, n_mels, frames, generator=g) * 10 - 40).to(device)


def labels(batch: int, *, seed: int = 0, device="cpu") -> torch.Tensor:
    """(batch,) int64 class labels in [0, NUM_CLASSES)."""
    g = torch.Generator().manual_seed(seed + 1)
    return torch.randint(0, NUM_CLASSES, (batch,), generator=g).to(device)


def tensor_bytes(obj) -> int:
    """Bytes of every tensor in ``obj`` (a tensor or nested tuples / lists of them)."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, (tuple, list)):
        return sum(tensor_bytes(o) for o in obj)
    return 0


def shapes(obj):
    """The (shape, dtype) structure of ``obj`` (tensors in nested tuples / lists), for comparisons."""
    if isinstance(obj, torch.Tensor):
        return (tuple(obj.shape), str(obj.dtype).replace("torch.", ""))
    if isinstance(obj, (tuple, list)):
        return tuple(shapes(o) for o in obj)
    return type(obj).__name__


@dataclass
class Inputs:
    """What every library of one pipeline starts from.

    Attributes:
        tensor: the batch (images or spectrograms) on the benchmark's device.
        labels: class labels (mixing pipelines), else None.
        folder: the image folder when the pipeline reads files itself (``--source DIR``).
    """
    tensor: torch.Tensor
    labels: Optional[torch.Tensor] = None
    folder: Optional[str] = None

    @property
    def batch(self) -> int:
        return int(self.tensor.shape[0])

    def cpu_images(self):
        """The batch as a list of (C, H, W) CPU tensors (what a per-image pipeline gets)."""
        return list(self.tensor.cpu().unbind(0))


def describe_source(source: str) -> str:
    """A short label of a source for tables ('photos', 'procedural', 'folder NAME')."""
    return source if source in SOURCES else f"folder {os.path.basename(os.path.normpath(source))}"

