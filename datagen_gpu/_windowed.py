"""Decoded windows of larger images: the geometry crop-aware decoding hands to RandomResizedCrop.

Defined below the transforms (which read it) and the data pipeline (which
makes it), so neither imports the other.
"""
from typing import Sequence

import torch


class WindowedImages(list):
    """A ragged list of decoded windows of larger images (crop-aware decoding).

    ``geometry`` is a ``(B, 6)`` float64 tensor, one row per image:
    ``(full_height, full_width, top, left, scale_y, scale_x)``: image i is the
    window of its full-resolution image whose top-left corner is at
    ``(top, left)`` in full-resolution pixels, decoded at ``1 / scale``
    (``scale`` 1, 2, 4 or 8: a decoded pixel covers ``scale x scale`` full
    pixels). A full-resolution edge coordinate ``y`` is decoded coordinate
    ``(y - top) / scale_y``. ``RandomResizedCrop`` draws its boxes
    from the full size and maps them into the window, so the crop is the same
    function of (seed, sample id, image size) as without the window.
    """

    def __init__(self, images: Sequence[torch.Tensor], geometry: torch.Tensor):
        super().__init__(images)
        if not isinstance(geometry, torch.Tensor) or geometry.shape != (len(self), 6):
            raise ValueError(f"geometry: expected a ({len(self)}, 6) tensor")
        self.geometry = geometry.to(torch.float64)

    def to(self, *args, **kwargs) -> "WindowedImages":
        images = [t.to(*args, **kwargs) for t in self]
        device = images[0].device if images else self.geometry.device
        return WindowedImages(images, self.geometry.to(device))

    def __reduce__(self):
        return (WindowedImages, (list(self), self.geometry))
