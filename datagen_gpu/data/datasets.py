"""Map-style datasets over image files: ImageFolder (torchvision's layout) and ImageFiles.

An item is ``(image, label, index)``: ``image`` a uint8 ``(3, H, W)`` tensor at
the file's own size (RGB, EXIF orientation applied; HWC memory), ``label`` an
int, ``index`` the item's position in the dataset (the key of its random
augmentation). Two other item forms, chosen by the loader:

- ``decode="gpu"``: the worker only reads the file; ``image`` is its bytes as a
  1-D uint8 tensor, decoded on the device by
  ``DeviceLoader`` in one batched call;
- crop-aware (``set_crop_plan``): ``(window, label, index, geometry)`` with only
  the part of the image the sample's crops read, decoded at the coarsest scale
  that keeps their resolution (see ``crop_plan.py``).

``on_error="skip"`` replaces an unreadable or undecodable file by a
:class:`Skipped` marker that ``collate`` drops; ``num_skipped`` counts them
across worker processes and each one is reported with a warning naming the
file. The default, ``on_error="raise"``, raises :class:`DecodeError` naming it.
"""
import multiprocessing
import os
import warnings
from typing import List, Optional, Sequence

import torch
from torch.utils.data import Dataset

from .batch import Skipped
from .crop_plan import CropPlan
from .decode import DecodeError, decode, decode_window, probe, resolve_decoder

# torchvision.datasets.folder.IMG_EXTENSIONS
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise DecodeError(f"{path}: cannot read the file ({e.strerror or e})") from e


def decode_item(data, label: int, index: int, *, name: str, mode: str, decoder: str,
                crop_plan: Optional[CropPlan] = None, sample_id: int = 0):
    """One dataset item from a file's bytes (``ImageFiles`` and ``TarShards`` alike).

    ``mode="gpu"``: ``(bytes tensor, label, index)`` after a header probe; with a crop
    plan: ``(window, label, index, geometry)`` for the boxes of ``sample_id``; else
    ``(image, label, index)``. Raises :class:`DecodeError` naming ``name``.
    """
    if mode == "gpu":
        probe(data, name=name)  # a file that is not an image fails here, in the worker
        return torch.frombuffer(bytearray(data), dtype=torch.uint8), label, index
    if crop_plan is not None:
        info = probe(data, name=name)
        window, scale = crop_plan.window(sample_id, info.height, info.width)
        image, geometry = decode_window(data, info, window, scale, decoder, name=name)
        return image, label, index, torch.tensor(geometry, dtype=torch.float64)
    return decode(data, decoder, name=name), label, index


def skip_item(counter, index: int, name: str, error: Exception) -> Skipped:
    """``on_error="skip"``: counts the failure in ``counter`` (shared), warns naming it, marks the item."""
    with counter.get_lock():
        counter.value += 1
    warnings.warn(f"skipped {error}", RuntimeWarning, stacklevel=3)
    return Skipped(index, name, str(error))


def checked_crop_plan(plan: Optional[CropPlan], decode: str) -> Optional[CropPlan]:
    """``plan`` if a dataset decoding with ``decode`` can use it (CPU decoding only)."""
    if plan is not None and not isinstance(plan, CropPlan):
        raise TypeError(f"plan: expected a CropPlan or None, got {type(plan).__name__}")
    if plan is not None and decode != "cpu":
        raise ValueError("crop-aware decoding needs decode='cpu' (the GPU decoder decodes whole files)")
    return plan


class ImageFiles(Dataset):
    """A dataset over a list of image files.

    Args:
        paths: image file paths.
        labels: one int per path (default: all 0).
        decode: ``"cpu"`` (workers decode) or ``"gpu"`` (workers read bytes,
            ``DeviceLoader`` decodes the batch on its device).
        decoder: the CPU decoder (``datagen_gpu.data.available_decoders()``);
            None picks the fastest installed one.
        on_error: ``"raise"`` (default) or ``"skip"`` (see the module doc).

    Example:
        >>> ds = ImageFiles(["a.jpg", "b.png"], labels=[0, 1])
        >>> image, label, index = ds[1]
    """

    def __init__(self, paths: Sequence[str], labels: Optional[Sequence[int]] = None, *,
                 decode: str = "cpu", decoder: Optional[str] = None, on_error: str = "raise"):
        if isinstance(paths, (str, bytes)) or not isinstance(paths, Sequence):
            raise TypeError(f"paths: expected a sequence of file paths, got {type(paths).__name__}")
        self.paths: List[str] = [os.fspath(p) for p in paths]
        if labels is None:
            labels = [0] * len(self.paths)
        if len(labels) != len(self.paths):
            raise ValueError(f"labels: expected {len(self.paths)} labels (one per path), got {len(labels)}")
        self.labels: List[int] = [int(v) for v in labels]
        if decode not in ("cpu", "gpu"):
            raise ValueError(f"decode: expected 'cpu' or 'gpu', got {decode!r}")
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error: expected 'raise' or 'skip', got {on_error!r}")
        self.decode, self.on_error = decode, on_error
        self.decoder = resolve_decoder(decoder)
        self.crop_plan: Optional[CropPlan] = None
        self.epoch = 0
        # shared with the DataLoader's worker processes (inherited at their start)
        self._skipped = multiprocessing.get_context().Value("q", 0)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def num_skipped(self) -> int:
        """How many files ``on_error="skip"`` has dropped so far (all workers together)."""
        return int(self._skipped.value)

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose sample ids (``epoch * len(self) + index``) crop-aware decoding draws for."""
        self.epoch = int(epoch)

    def set_crop_plan(self, plan: Optional[CropPlan]) -> None:
        """Turns crop-aware decoding on (a plan) or off (None); ``DeviceLoader`` calls it."""
        self.crop_plan = checked_crop_plan(plan, self.decode)

    def sample_id(self, index: int) -> int:
        return self.epoch * len(self) + index

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} images")
        path, label = self.paths[index], self.labels[index]
        try:
            return decode_item(_read(path), label, index, name=path, mode=self.decode, decoder=self.decoder,
                               crop_plan=self.crop_plan, sample_id=self.sample_id(index))
        except DecodeError as e:
            if self.on_error == "raise":
                raise
            return skip_item(self._skipped, index, path, e)


class ImageFolder(ImageFiles):
    """``root/<class>/<file>`` images, labelled by class (torchvision's ``ImageFolder`` layout).

    Classes are the sorted sub-directory names (``classes``, ``class_to_idx``);
    files are those with an image extension (``IMG_EXTENSIONS``, any case),
    sorted per class, found recursively, as torchvision does. Other arguments:
    :class:`ImageFiles`.
    """

    def __init__(self, root: str, *, decode: str = "cpu", decoder: Optional[str] = None,
                 on_error: str = "raise", extensions: Sequence[str] = IMG_EXTENSIONS):
        root = os.fspath(root)
        if not os.path.isdir(root):
            raise FileNotFoundError(f"root: {root!r} is not a directory")
        self.root = root
        self.classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"root: no class folders in {root!r} (expected root/<class>/<file>)")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        exts = tuple(e.lower() for e in extensions)
        self.samples = []
        for c in self.classes:
            for dirpath, dirnames, filenames in sorted(os.walk(os.path.join(root, c), followlinks=True)):
                for name in sorted(filenames):
                    if name.lower().endswith(exts):
                        self.samples.append((os.path.join(dirpath, name), self.class_to_idx[c]))
        if not self.samples:
            raise FileNotFoundError(f"root: no image files ({', '.join(exts)}) under {root!r}")
        self.targets = [label for _, label in self.samples]
        super().__init__([p for p, _ in self.samples], self.targets, decode=decode, decoder=decoder,
                         on_error=on_error)
