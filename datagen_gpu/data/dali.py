"""NVIDIA DALI as a batch source: DALI reads and decodes, datagen_gpu augments.

``dali_file_pipeline`` builds a DALI pipeline of ``fn.readers.file`` and
``fn.decoders.image`` (RGB; ``device="cpu"``: libjpeg-turbo and friends on
DALI's CPU threads, ``device="mixed"``: nvJPEG / the hardware JPEG engines on
the GPU). ``DaliSource`` iterates it as :class:`~datagen_gpu.data.batch.Batch`
objects, so it plugs into ``DeviceLoader`` in place of a ``DataLoader``::

    from datagen_gpu.data import DeviceLoader
    from datagen_gpu.data.dali import DaliSource
    from datagen_gpu.presets import TwoViews, simclr_view

    source = DaliSource(root="train/", batch_size=256, device="mixed", num_threads=8)
    loader = DeviceLoader(source, TwoViews(simclr_view()))
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        for (view_a, view_b), labels, sample_ids in loader:
            ...

Needs ``pip install nvidia-dali-cuda120`` (the wheel for CUDA 12; DALI runs
CPU pipelines without a GPU).

Sample ids. The reader is fed each file's *index* as its label and the real
labels are looked up on the host, so every sample of a batch comes with its
dataset index (its position in ``files``; for ``root``, the same order as
``datagen_gpu.data.ImageFolder(root)``). That index is the key of the
sample's augmentation (``DeviceLoader`` adds ``epoch * num_samples``), not
DALI's shuffle order: a file gets the same views whatever order, batch or
shard DALI reads it in.

Epochs and shards. An iteration over a ``DaliSource`` is one epoch of this
shard: every sample of the shard exactly once. DALI's reader runs with
``pad_last_batch=True``, which pads every shard's epoch to the same number of
batches by repeating the shard's last sample; the padded duplicates are
dropped, so the last batch of an epoch may be smaller, and a shard one
sample short of the largest may read one batch of padding only (consumed, not
yielded). ``len(source)`` is ``ceil(shard size / batch_size)``. As DALI does
by default, the shard moves on by one each epoch (``stick_to_shard=False``),
so across ``num_shards`` epochs a rank sees the whole dataset; the shards of
one epoch partition it. When ``num_shards`` does not divide the dataset,
shard sizes differ by one sample, so in some epochs one rank may have one
batch more than another (ranks of a ``DistributedDataParallel`` job then need
``torch.distributed.algorithms.Join``, or a dataset size divisible by
``num_shards``). With ``shuffle=True`` DALI shuffles the file list once with
a fixed seed (the same on every rank whatever its ``seed``, so the shards stay
a partition) and then reads each shard through a shuffle buffer seeded by
``seed``; shards are then not contiguous index ranges.

Decoding. DALI's CPU decoder gives bit-identical pixels to Pillow's
(``Image.open(f).convert("RGB")``, libjpeg-turbo) for baseline, progressive,
4:2:0 / 4:2:2 / 4:4:4, grayscale and CMYK JPEGs and for PNGs (tested). EXIF
orientation is applied (``adjust_orientation=True``, DALI's default, as
``datagen_gpu.data.ImageFolder`` and ``PIL.ImageOps.exif_transpose`` do). The
GPU decoder (``"mixed"``: nvJPEG or the hardware JPEG engines) is a different
IDCT and chroma upsampling, so not bit-exact with libjpeg-turbo.
"""
import math
import os
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence

import torch

from .batch import Batch

READER_NAME = "Reader"
INSTALL_HINT = ("datagen_gpu.data.dali needs NVIDIA DALI: pip install nvidia-dali-cuda120 "
                "(the wheel for CUDA 12; it also runs CPU pipelines on machines without a GPU)")


def _import_dali():
    """(Pipeline, fn, types, feed_ndarray) from nvidia.dali, or an ImportError saying how to install it."""
    try:
        from nvidia.dali import fn, types
        from nvidia.dali.pipeline import Pipeline
        from nvidia.dali.plugin.pytorch import feed_ndarray
    except ImportError as e:
        raise ImportError(f"{INSTALL_HINT} ({e})") from e
    return Pipeline, fn, types, feed_ndarray


def _positive_int(name, value, minimum=1):
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return value


@dataclass
class DaliFilePipeline:
    """A built DALI file-reading pipeline and what it reads (``dali_file_pipeline``'s result).

    Attributes:
        pipeline: the built ``nvidia.dali.Pipeline``; outputs (images, indices):
            decoded ``(H, W, 3)`` uint8 images and each one's index into ``files``.
        files: the image paths, in dataset (sample id) order.
        labels: ``(N,)`` int64 CPU tensor, ``labels[i]`` the label of ``files[i]``.
        classes: the class names for ``root``, else None.
        batch_size, device, shard_id, num_shards: as passed.
        reader_name: the file reader's name in the pipeline (``reader_meta``).
    """

    pipeline: object
    files: List[str]
    labels: torch.Tensor
    classes: Optional[List[str]]
    batch_size: int
    device: str
    shard_id: int
    num_shards: int
    reader_name: str = READER_NAME


def _list_files(files, labels, root):
    """(paths, labels, classes) from an ImageFolder root or an explicit file list."""
    if files is None:
        if root is None:
            raise ValueError("dali_file_pipeline: pass files or root (an ImageFolder root/<class>/<file>)")
        if labels is not None:
            raise ValueError("labels: only with files (an ImageFolder root labels by class folder)")
        from .datasets import ImageFolder  # the project's listing: the same sample ids as ImageFolder(root)

        folder = ImageFolder(root)
        return list(folder.paths), list(folder.targets), list(folder.classes)
    if isinstance(files, (str, bytes)) or not isinstance(files, Sequence):
        raise TypeError(f"files: expected a sequence of file paths, got {type(files).__name__}")
    paths = [os.fspath(p) for p in files]
    if not paths:
        raise ValueError("files: expected at least one file")
    if root is not None:
        root = os.fspath(root)
        if not os.path.isdir(root):
            raise FileNotFoundError(f"root: {root!r} is not a directory")
        paths = [os.path.join(root, p) for p in paths]
    for p in paths:  # DALI would fail later, at run time, less clearly
        if not os.path.isfile(p):
            raise FileNotFoundError(f"files: {p!r} does not exist or is not a file")
    if labels is None:
        labels = [-1] * len(paths)  # unlabelled (self-supervised): -1, not a class a loss would take
    elif len(labels) != len(paths):
        raise ValueError(f"labels: expected {len(paths)} labels (one per file), got {len(labels)}")
    return paths, [int(v) for v in labels], None


def dali_file_pipeline(files: Optional[Sequence[str]] = None, labels: Optional[Sequence[int]] = None, *,
                       root: Optional[str] = None, batch_size: int, device: str = "cpu",
                       num_threads: int = 2, shuffle: bool = True, seed: int = 0, shard_id: int = 0,
                       num_shards: int = 1, prefetch_queue_depth: int = 2, device_id: Optional[int] = None,
                       adjust_orientation: bool = True) -> DaliFilePipeline:
    """Builds a DALI pipeline that reads and decodes image files (see the module doc).

    Args:
        files: image paths (relative to ``root`` when both are given); with
            ``labels`` one int per file (default: -1, unlabelled).
        labels: see ``files``.
        root: without ``files``, an ImageFolder root ``root/<class>/<file>``:
            classes are the sorted folder names, a file's label its class's
            position; files are listed as ``datagen_gpu.data.ImageFolder`` does.
        batch_size: samples per DALI batch (the last batch of an epoch is
            smaller after ``DaliSource`` drops DALI's padding).
        device: ``"cpu"`` (decode on the CPU) or ``"mixed"`` (decode on the GPU).
        num_threads: DALI's CPU worker threads.
        shuffle: shuffle the files (DALI's ``random_shuffle``).
        seed: DALI's seed (the shuffle order; not the augmentation seed).
        shard_id, num_shards: this rank's shard of the dataset.
        prefetch_queue_depth: batches DALI prepares ahead.
        device_id: the CUDA device of a ``"mixed"`` pipeline (default: the
            current one); ignored for ``"cpu"``, which never touches a GPU.
        adjust_orientation: apply the EXIF orientation.

    Returns:
        A :class:`DaliFilePipeline` (the built pipeline, files, labels, classes).

    Raises:
        ImportError: DALI is not installed (the message says how to install it).
        FileNotFoundError: ``root`` or a file does not exist (named).
        ValueError: an argument is out of range (named).

    Example:
        >>> p = dali_file_pipeline(root="train/", batch_size=64)
        >>> source = DaliSource(p)
    """
    _positive_int("batch_size", batch_size)
    _positive_int("num_threads", num_threads)
    _positive_int("num_shards", num_shards)
    _positive_int("prefetch_queue_depth", prefetch_queue_depth)
    if not isinstance(shard_id, int) or isinstance(shard_id, bool) or not 0 <= shard_id < num_shards:
        raise ValueError(f"shard_id: expected an int in [0, {num_shards}), got {shard_id!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
    if device not in ("cpu", "mixed"):
        raise ValueError(f"device: expected 'cpu' or 'mixed', got {device!r}")
    Pipeline, fn, types, _ = _import_dali()
    paths, label_list, classes = _list_files(files, labels, root)
    n = len(paths)
    if n < num_shards:
        raise ValueError(f"num_shards: {num_shards} shards of {n} files would leave a shard empty")
    if n >= 2**31:
        raise ValueError(f"files: at most 2**31 - 1 files (DALI's int32 labels carry the index), got {n}")
    if device == "mixed":
        if device_id is None:
            if not torch.cuda.is_available():
                raise RuntimeError("device='mixed' decodes on a GPU and needs CUDA; use device='cpu'")
            device_id = torch.cuda.current_device()
        dali_device_id = int(device_id)
    else:
        dali_device_id = None  # CPU only: DALI never initializes CUDA

    pipe = Pipeline(batch_size=batch_size, num_threads=num_threads, device_id=dali_device_id, seed=seed,
                    prefetch_queue_depth=prefetch_queue_depth)
    with pipe:
        encoded, index = fn.readers.file(
            files=paths, labels=list(range(n)), random_shuffle=bool(shuffle), shard_id=shard_id,
            num_shards=num_shards, pad_last_batch=True, stick_to_shard=False, name=READER_NAME)
        images = fn.decoders.image(encoded, device=device, output_type=types.RGB,
                                   adjust_orientation=bool(adjust_orientation))
        pipe.set_outputs(images, index)
    pipe.build()
    return DaliFilePipeline(pipe, paths, torch.tensor(label_list, dtype=torch.int64), classes, batch_size,
                            device, shard_id, num_shards)


class DaliSource:
    """An iterable of :class:`Batch` over a DALI file pipeline, one epoch of this shard per ``iter()``.

    Args:
        pipeline: a :class:`DaliFilePipeline`; or None and ``dali_file_pipeline``'s
            arguments as keywords.
        stack: give a batch whose images all have one size as one
            ``(B, 3, H, W)`` channels-last tensor (else every batch is a list).
        **pipeline_kwargs: ``dali_file_pipeline``'s arguments when ``pipeline`` is None.

    Yields:
        ``Batch(images, labels, sample_ids)``: ``images`` a ragged list of
        ``(3, Hi, Wi)`` uint8 tensors with HWC memory (``hwc.permute(2, 0, 1)``)
        or, with ``stack``, a ``(B, 3, H, W)`` channels-last tensor; copies, not
        views of DALI's buffers, on the CPU for a ``"cpu"`` pipeline and on its
        CUDA device for a ``"mixed"`` one. ``labels`` and ``sample_ids`` are
        ``(B,)`` int64 CPU tensors (``sample_ids``: indices into ``files``).

    CUDA images (``"mixed"``) are allocated and written on the current CUDA
    stream of the iterating thread, like any PyTorch op: a consumer on another
    stream must wait for that stream (and ``record_stream`` the tensors), as for
    any tensor produced on another stream.

    Attributes:
        num_samples: the dataset size (all shards); ``DeviceLoader`` keys the
            sample ids of epoch e as ``e * num_samples + index``.
        epoch: the value of the last ``set_epoch`` (the augmentation epoch;
            DALI's shuffle advances by itself every epoch).
        files, labels, classes: the pipeline's.

    Example:
        >>> source = DaliSource(root="train/", batch_size=64)
        >>> for images, labels, sample_ids in source:
        ...     views = TwoViews(simclr_view(224))(images, sample_ids=sample_ids)
    """

    def __init__(self, pipeline: Optional[DaliFilePipeline] = None, *, stack: bool = True, **pipeline_kwargs):
        if pipeline is None:
            pipeline = dali_file_pipeline(**pipeline_kwargs)
        elif pipeline_kwargs:
            raise TypeError("DaliSource: pass a DaliFilePipeline or dali_file_pipeline's arguments, not both")
        elif not isinstance(pipeline, DaliFilePipeline):
            raise TypeError(f"pipeline: expected a DaliFilePipeline (dali_file_pipeline(...)), "
                            f"got {type(pipeline).__name__}")
        *_, self._feed = _import_dali()
        self.source = pipeline
        self.stack = bool(stack)
        meta = pipeline.pipeline.reader_meta(pipeline.reader_name)
        self.num_samples = int(meta["epoch_size"])
        self._shards = int(meta["number_of_shards"])
        self._shard_id = int(meta["shard_id"])
        self._stick = bool(meta["stick_to_shard"])
        if not meta["pad_last_batch"]:
            raise ValueError("pipeline: the reader must pad its last batch (pad_last_batch=True)")
        self.batch_size = pipeline.batch_size
        # DALI pads every shard to the largest one's size and runs whole batches of it
        self._dali_batches = math.ceil(int(meta["epoch_size_padded"]) // self._shards / self.batch_size)
        self._device = (torch.device("cuda", pipeline.pipeline.device_id) if pipeline.device == "mixed"
                        else torch.device("cpu"))
        self.epoch = 0
        self._dali_epoch = 0  # epochs DALI's reader has completed (its shard and shuffle state)
        self._consumed = 0  # DALI batches of the current DALI epoch already run
        self._token = 0  # the live iteration; an older generator resumed after a new iter() raises
        self._active = False  # an iteration is in progress (its epoch is the one len() describes)
        # CUDA: (DALI outputs, event after the copies out of them), kept alive until the copies ran
        self._held = None

    @property
    def files(self) -> List[str]:
        return self.source.files

    @property
    def labels(self) -> torch.Tensor:
        return self.source.labels

    @property
    def classes(self) -> Optional[List[str]]:
        return self.source.classes

    def _epoch_index(self) -> int:
        """The DALI epoch in progress, or the one the next ``iter()`` gives (it finishes a broken-off one)."""
        return self._dali_epoch + (0 if self._active or self._consumed == 0 else 1)

    def shard_size(self, epoch: Optional[int] = None) -> int:
        """Samples this shard reads in DALI's epoch ``epoch`` (counted from 0 by this source; default:
        the epoch in progress, else the next one)."""
        k = self._epoch_index() if epoch is None else epoch
        v = self._shard_id if self._stick else (self._shard_id + k) % self._shards
        n, s = self.num_samples, self._shards
        return (v + 1) * n // s - v * n // s

    def __len__(self) -> int:
        return math.ceil(self.shard_size() / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Records the augmentation epoch (``DeviceLoader`` keys sample ids by it).

        DALI's reader reshuffles (and moves to the next shard) every epoch by
        itself; its order does not enter the sample ids, which are file indices.
        """
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise ValueError(f"epoch: expected an int >= 0, got {epoch!r}")
        self.epoch = epoch

    def reset(self) -> None:
        """Finishes an epoch left part-way (reads and drops the rest of it), so the next starts afresh.

        ``iter()`` calls it; a no-op between epochs. An iteration in progress ends.
        """
        self._token += 1  # a live generator raises if resumed
        self._active = False
        if self._consumed > 0:
            while self._consumed < self._dali_batches:
                self._run()
            self._next_epoch()
        self._release()

    def __iter__(self) -> Iterator[Batch]:
        self.reset()
        self._token += 1
        self._active = True
        return self._epoch(self._token)

    # ------------------------------------------------------------------ internals

    def _next_epoch(self):
        self._dali_epoch += 1
        self._consumed = 0

    def _release(self):
        if self._held is not None:
            event = self._held[1]
            if event is not None:
                event.synchronize()  # the copies out of the held buffers are done
            self._held = None

    def _run(self):
        """One DALI batch: (images TensorList, indices as a list of ints)."""
        if self._consumed >= self._dali_batches:
            raise RuntimeError("DaliSource: read past the end of DALI's epoch")
        self._release()
        if self._device.type == "cuda":
            # the outputs are ready in the current stream's order (DALI's default executor)
            images, index = self.source.pipeline.run(torch.cuda.current_stream(self._device))
        else:
            images, index = self.source.pipeline.run()
        self._consumed += 1
        return images, index.as_array().reshape(-1).tolist()

    def _epoch(self, token: int) -> Iterator[Batch]:
        try:
            yield from self._epoch_batches(token)
        finally:  # finished, closed or collected
            if token == self._token:
                self._active = False

    def _epoch_batches(self, token: int) -> Iterator[Batch]:
        total = self.shard_size(self._dali_epoch)
        seen = set()
        delivered = 0
        while delivered < total:
            if token != self._token:
                raise RuntimeError("DaliSource: a new iteration started; this one is over")
            images, index = self._run()
            keep = []
            for j, i in enumerate(index):  # padding repeats a sample already read: drop it
                if i not in seen:
                    seen.add(i)
                    keep.append(j)
            keep = keep[:total - delivered]
            if not keep:
                raise RuntimeError(f"DaliSource: DALI batch {self._consumed} of the epoch had no new sample "
                                   f"({delivered} of {total} read); DALI's padding is not as expected")
            batch = self._make_batch(images, index, keep)
            delivered += len(keep)
            if delivered == total:  # the rest of DALI's epoch is padding: read it now, drop it
                while self._consumed < self._dali_batches:
                    self._run()
            elif self._consumed == self._dali_batches:
                raise RuntimeError(f"DaliSource: DALI's epoch ended after {delivered} of {total} samples")
            yield batch
        if token == self._token:
            self._next_epoch()

    def _make_batch(self, images, index, keep) -> Batch:
        shapes = images.shape()
        kept = [tuple(shapes[j]) for j in keep]
        dev = self._device
        stream = torch.cuda.current_stream(dev) if dev.type == "cuda" else None
        if self.stack and all(s == kept[0] for s in kept):
            hwc = torch.empty((len(keep),) + kept[0], dtype=torch.uint8, device=dev)
            if len(keep) == len(index) and images.is_dense_tensor():
                self._feed(images.as_tensor(), hwc, cuda_stream=stream)  # the whole batch in one copy
            else:
                for k, j in enumerate(keep):
                    self._feed(images[j], hwc[k], cuda_stream=stream)
            out = hwc.permute(0, 3, 1, 2)  # (B, 3, H, W), channels-last memory
        else:
            out = []
            for j, shape in zip(keep, kept):
                hwc = torch.empty(shape, dtype=torch.uint8, device=dev)
                self._feed(images[j], hwc, cuda_stream=stream)
                out.append(hwc.permute(2, 0, 1))
        event = None
        if stream is not None:  # keep DALI's buffers alive until the copies out of them have run
            event = torch.cuda.Event()
            event.record(stream)
        self._held = None if event is None else (images, event)
        ids = torch.tensor([index[j] for j in keep], dtype=torch.int64)
        return Batch(out, self.source.labels[ids], ids)


__all__ = ["DaliFilePipeline", "DaliSource", "dali_file_pipeline", "INSTALL_HINT"]
