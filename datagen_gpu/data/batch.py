"""The batch type the data pipeline passes around, and the collate function that builds it."""
from typing import Any, List, NamedTuple, Optional, Sequence, Union

import torch

from .._windowed import WindowedImages

Images = Union[torch.Tensor, List[torch.Tensor]]


class Skipped(NamedTuple):
    """Stands for an item whose file failed under ``on_error="skip"``; ``collate`` drops it."""

    index: int
    path: str
    error: str


class EncodedImages(list):
    """A batch of undecoded files (1-D uint8 tensors of their bytes): ``decode="gpu"`` items."""


class Batch(NamedTuple):
    """A training batch: images, labels and the sample ids their augmentation is keyed by.

    Attributes:
        images: a ``(B, C, H, W)`` tensor when all images have one size, else a
            ragged list of ``(C, Hi, Wi)`` tensors; after ``DeviceLoader``'s
            transform, its output (a tuple of views for ``TwoViews``).
        labels: ``(B,)`` int64 (soft ``(B, num_classes)`` after Mixup / CutMix).
        sample_ids: ``(B,)`` int64: the dataset indices (``DeviceLoader`` adds
            ``epoch * len(dataset)``), the key of every sample's random draws.
    """

    images: Any
    labels: torch.Tensor
    sample_ids: torch.Tensor


def _as_image(x, k):
    if isinstance(x, torch.Tensor):
        return x
    try:
        return torch.as_tensor(x)
    except Exception as e:  # noqa: BLE001
        raise TypeError(f"items[{k}]: expected an image tensor or array, got {type(x).__name__}") from e


def _in_worker() -> bool:
    return torch.utils.data.get_worker_info() is not None


def pack_shared(images: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """The images copied into ONE shared-memory buffer (views of it, each in its own memory order).

    In a DataLoader worker every tensor of a batch is moved to shared memory to reach the
    main process: one new segment, one copy and one file descriptor per image. Packed,
    a ragged batch is one segment and one copy (as ``default_collate`` does for stacks).
    """
    dtype = images[0].dtype
    flats, shapes = [], []
    for t in images:
        if t.dim() == 3 and t.shape[0] > 1 and not t.is_contiguous() and t.permute(1, 2, 0).is_contiguous():
            flats.append(t.permute(1, 2, 0))  # HWC memory: keep it
            shapes.append(True)
        else:
            flats.append(t.contiguous())
            shapes.append(False)
    total = sum(f.numel() for f in flats)
    storage = torch.empty(0, dtype=dtype).untyped_storage()._new_shared(total * images[0].element_size())
    buf = torch.empty(0, dtype=dtype).set_(storage)
    out, off = [], 0
    for f, hwc in zip(flats, shapes):
        view = buf[off:off + f.numel()].view(f.shape)
        view.copy_(f)
        out.append(view.permute(2, 0, 1) if hwc else view)
        off += f.numel()
    return out


def stack_if_uniform(images: Sequence[torch.Tensor]) -> Images:
    """One stacked tensor when every image has the same shape and dtype, else the list.

    In a DataLoader worker the result is built in shared memory directly (one segment per batch).
    """
    first = images[0]
    if all(t.shape == first.shape and t.dtype == first.dtype for t in images[1:]):
        if _in_worker():
            return torch.stack(pack_shared(images))
        return torch.stack(list(images))
    return pack_shared(images) if _in_worker() else list(images)


def collate(items: Sequence[Sequence[Any]]) -> Batch:
    """Collates dataset items ``(image, label, index[, geometry])`` into a :class:`Batch`.

    Images of one size are stacked into a ``(B, C, H, W)`` tensor, others stay a
    ragged list (the kernels take ragged lists in one launch); crop-aware items
    (with a geometry row) give a ``WindowedImages`` list, ``decode="gpu"`` items
    (1-D tensors of file bytes) an :class:`EncodedImages` list. :class:`Skipped`
    items are dropped (the batch is smaller; it can be empty). Labels and indices
    become ``(B,)`` int64 tensors. Pass it as ``collate_fn`` of the
    ``torch.utils.data.DataLoader`` that feeds ``DeviceLoader``.
    """
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"items: expected a list of (image, label, index) items, got {type(items).__name__}")
    items = [it for it in items if not isinstance(it, Skipped)]
    if len(items) == 0:
        empty = torch.zeros(0, dtype=torch.int64)
        return Batch([], empty, empty.clone())
    width = len(items[0])
    if width not in (3, 4) or any(len(it) != width for it in items):
        raise ValueError("items: expected (image, label, index) or (image, label, index, geometry) tuples")
    images = [_as_image(it[0], k) for k, it in enumerate(items)]
    labels = torch.as_tensor([int(it[1]) for it in items], dtype=torch.int64)
    ids = torch.as_tensor([int(it[2]) for it in items], dtype=torch.int64)
    if width == 4:
        geometry = torch.stack([torch.as_tensor(it[3], dtype=torch.float64) for it in items])
        return Batch(WindowedImages(pack_shared(images) if _in_worker() else images, geometry), labels, ids)
    if images[0].dim() == 1 and images[0].dtype == torch.uint8:
        return Batch(EncodedImages(images), labels, ids)
    return Batch(stack_if_uniform(images), labels, ids)


def batch_size(images: Optional[Images]) -> int:
    return len(images) if isinstance(images, (list, tuple)) else int(images.shape[0])
