"""A folder of JPEG photos to train and benchmark on, made offline from the built-in samples.

``make_photo_folder`` writes ``root/<class>/<n>.jpg`` (torchvision's
ImageFolder layout): random crops of the built-in sample images (scikit-image's
bundled photos when installed, else procedural images) at random scales,
``min_size``-``max_size`` pixels on the longer side, JPEG quality 90 (4:2:0),
deterministic for a seed. While ``classes`` is at most the number of sample
images, class k holds crops of sample image k (a label a kNN probe can learn).
Needs Pillow (the encoder).
"""
import os
from typing import Tuple

import numpy as np
import torch

from ..sample_data import sample_images


def make_photo_folder(root: str, count: int = 2000, *, classes: int = 4, size: Tuple[int, int] = (300, 1200),
                      quality: int = 90, seed: int = 0, source: str = "auto") -> str:
    """Writes ``count`` JPEGs into ``root/class_<k>/`` and returns ``root``.

    Files already there with the expected names are kept (a second call is free).

    Args:
        root: the folder to fill (created).
        count: number of images, spread evenly over ``classes`` class folders.
        size: (min, max) of the longer side in pixels.
        quality: JPEG quality.
        seed: makes the folder deterministic.
        source: ``"auto"``, ``"skimage"`` or ``"procedural"`` (see ``sample_data``).
    """
    from PIL import Image

    if count < 1 or classes < 1:
        raise ValueError(f"count, classes: expected >= 1, got {count}, {classes}")
    lo, hi = size
    if not 16 <= lo <= hi:
        raise ValueError(f"size: expected 16 <= min <= max, got {size!r}")
    photos, _ = sample_images(source)
    photos = [p.permute(1, 2, 0).contiguous().numpy() for p in photos if p.shape[0] == 3]
    rng = np.random.default_rng(seed)
    for k in range(count):
        cls = k % classes
        path = os.path.join(root, f"class_{cls}", f"{k:06d}.jpg")
        # a class is one source photo (while classes <= photos): labels a kNN probe can learn
        photo = photos[cls % len(photos)] if classes <= len(photos) else photos[int(rng.integers(len(photos)))]
        h, w = photo.shape[:2]
        # a random crop of 50-100% of each side, resized so its longer side is in [lo, hi]
        ch, cw = int(h * rng.uniform(0.5, 1.0)), int(w * rng.uniform(0.5, 1.0))
        top, left = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
        longer = int(rng.integers(lo, hi + 1))
        factor = longer / max(ch, cw)
        out_size = (max(16, round(cw * factor)), max(16, round(ch * factor)))
        if os.path.exists(path):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        img = Image.fromarray(photo[top:top + ch, left:left + cw]).resize(out_size, Image.BICUBIC)
        img.save(path, quality=quality, subsampling=2)
    return root


def load_folder(dataset, limit=None):
    """Decodes a dataset's images into memory: [(3, H, W) uint8] (for augmentation-only benchmarks)."""
    n = len(dataset) if limit is None else min(limit, len(dataset))
    return [dataset[i][0] for i in range(n)], torch.tensor(dataset.labels[:n])
