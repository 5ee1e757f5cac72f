"""DeviceLoader: batches of files in, augmented training batches on the device out.

One producer thread per iteration pulls collated batches from the source (a
``DataLoader`` built with ``collate``, a ``DaliSource``, any iterable of
``Batch``), moves them to the device, runs the transform and hands the result
to the consumer through a queue ``prefetch`` batches deep:

- CUDA: pinned host memory (a ragged batch is packed into one pinned buffer:
  one copy per batch), non-blocking copies and the transform on a side stream;
  each batch carries an event the consumer's stream waits on, and its tensors
  are ``record_stream``-ed to the consumer's stream, so the step overlaps the
  next batch's copy and augmentation and nothing synchronizes the host.
- CPU: the same thread runs the C++ kernels with ``cpu_threads`` intra-op
  threads (default: the constructing thread's ``torch.get_num_threads()``),
  overlapping the training step in the main thread; the DataLoader's workers
  decode (one thread each).

Sample ids are ``epoch * num_samples + index``: ``set_epoch(e)`` gives every
epoch new augmentations, and sample i's views in epoch e are the same whatever
the batch size, shuffle order, worker count or device.
"""
import contextlib
import queue
import threading
from typing import Optional

import torch

from .batch import Batch, EncodedImages
from .crop_plan import CropPlan
from .device_io import decode_encoded, record_stream, to_device
from .._windowed import WindowedImages

_END = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def num_samples_of(source) -> int:
    """The dataset size the sample ids of one epoch span."""
    n = getattr(source, "num_samples", None)
    if n is None:
        dataset = getattr(source, "dataset", None)
        if dataset is None:
            raise TypeError("loader: expected a DataLoader (with .dataset) or a source with num_samples")
        # a sharded dataset's len() is this rank's share; its num_samples spans every rank
        n = getattr(dataset, "num_samples", None)
        if n is None:
            n = len(dataset)
    return int(n)


class DeviceLoader:
    """Iterates a source of :class:`Batch` and yields augmented batches on ``device``.

    Args:
        loader: a ``torch.utils.data.DataLoader`` built with ``collate_fn=collate``
            (its dataset an ``ImageFolder`` / ``ImageFiles`` or any dataset of
            ``(image, label, index)`` items), a ``DaliSource``, or another iterable
            of ``Batch`` with ``num_samples``.
        transform: called as ``transform(images, sample_ids=ids)`` (a datagen_gpu
            transform, ``Compose``, ``TwoViews``, a spectrogram transform); None
            moves the batch only.
        device: where batches go (default: CUDA when available, else CPU).
        prefetch: batches prepared ahead of the consumer (>= 1).
        crop_aware: decode only the window the sample's crops read (see
            ``crop_plan.py``). None (default): on when the dataset supports it
            (``ImageFiles`` with ``decode="cpu"``), the transform starts with a
            ``RandomResizedCrop`` in every view, and the workers are not persistent
            (they would not see ``set_epoch``). True: required (ValueError if it
            cannot be done), False: off.
        cpu_threads: intra-op threads of the producer thread on the CPU.

    Yields:
        ``Batch(images, labels, sample_ids)`` on the device: ``images`` is the
        transform's output (a tuple of views for ``TwoViews``).

    Example:
        >>> ds = ImageFolder("train/")
        >>> dl = DataLoader(ds, batch_size=64, shuffle=True, num_workers=4, collate_fn=collate)
        >>> loader = DeviceLoader(dl, TwoViews(simclr_view()))
        >>> for epoch in range(epochs):
        ...     loader.set_epoch(epoch)
        ...     for (view_a, view_b), labels, ids in loader:
        ...         ...
    """

    def __init__(self, loader, transform=None, *, device=None, prefetch: int = 2,
                 crop_aware: Optional[bool] = None, cpu_threads: Optional[int] = None):
        if transform is not None and not callable(transform):
            raise TypeError(f"transform: expected a callable transform, got {type(transform).__name__}")
        if not isinstance(prefetch, int) or isinstance(prefetch, bool) or prefetch < 1:
            raise ValueError(f"prefetch: expected an int >= 1, got {prefetch!r}")
        if crop_aware not in (None, True, False):
            raise TypeError(f"crop_aware: expected None, True or False, got {crop_aware!r}")
        if cpu_threads is not None and (not isinstance(cpu_threads, int) or cpu_threads < 1):
            raise ValueError(f"cpu_threads: expected an int >= 1, got {cpu_threads!r}")
        self.loader, self.transform = loader, transform
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        if self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.prefetch = prefetch
        self.cpu_threads = cpu_threads or torch.get_num_threads()
        self.num_samples = num_samples_of(loader)
        self.epoch = 0
        self._consumed = 0  # batches of the current epoch handed to the consumer
        self._skip = 0  # batches the next iteration skips (a resumed epoch)
        self.crop_plan = self._setup_crop_plan(crop_aware)

    # ------------------------------------------------------------------ configuration

    def _setup_crop_plan(self, crop_aware):
        dataset = getattr(self.loader, "dataset", None)
        supported = hasattr(dataset, "set_crop_plan") and getattr(dataset, "decode", None) == "cpu"
        plan = CropPlan.from_transform(self.transform) if self.transform is not None else None
        persistent = bool(getattr(self.loader, "persistent_workers", False))
        reason = None
        if not supported:
            reason = "the dataset does not decode on the CPU through datagen_gpu.data (ImageFiles/ImageFolder)"
        elif plan is None:
            reason = "the transform does not start with a RandomResizedCrop in every view"
        elif persistent:
            reason = "the DataLoader's workers are persistent and would not see set_epoch"
        if crop_aware and reason is not None:
            raise ValueError(f"crop_aware: crop-aware decoding is not possible: {reason}")
        use = reason is None and crop_aware is not False
        if hasattr(dataset, "set_crop_plan") and getattr(dataset, "decode", None) == "cpu":
            dataset.set_crop_plan(plan if use else None)
        return plan if use else None

    @property
    def crop_aware(self) -> bool:
        """Whether the workers decode crop windows (see ``crop_aware`` above)."""
        return self.crop_plan is not None

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch of the next iteration: sample ids ``epoch * num_samples + index``.

        Also calls ``set_epoch`` on the sampler (e.g. ``DistributedSampler``), the
        dataset and the source where they have it. Call it before ``iter()``.
        """
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise ValueError(f"epoch: expected an int >= 0, got {epoch!r}")
        if epoch != self.epoch:  # a resumed epoch keeps its skip until it has been iterated
            self._skip = self._consumed = 0
        self.epoch = epoch
        for obj in (getattr(self.loader, "sampler", None), getattr(self.loader, "dataset", None), self.loader):
            if obj is not None and hasattr(obj, "set_epoch"):
                obj.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def state_dict(self) -> dict:
        """The position to resume from: the epoch and the batches of it the consumer has taken.

        Save it with the model, the optimizer and the transforms (whose ``state_dict``
        holds their running counters) at a step boundary; see :meth:`load_state_dict`.
        """
        return {"epoch": self.epoch, "batches_done": self._consumed + self._skip_pending()}

    def _skip_pending(self) -> int:
        return self._skip if self._consumed == 0 else 0

    def load_state_dict(self, state: dict) -> None:
        """Resume: the next iteration is epoch ``state["epoch"]`` from batch ``batches_done`` on.

        The batches before it are not augmented: a source with ``skip_next`` (``ThreadLoader``)
        does not even fetch them; any other source (a ``DataLoader``) is read through them.
        The sample order must be a function of the epoch (``ThreadLoader(shuffle=True)``,
        ``DistributedSampler``, tar shards with a seed), so that the resumed epoch yields the
        batches the interrupted one would have: the same samples, hence the same views.
        """
        if not isinstance(state, dict) or not {"epoch", "batches_done"} <= set(state):
            raise ValueError(f"state: expected a dict with 'epoch' and 'batches_done', got {state!r}")
        self.set_epoch(int(state["epoch"]))
        self._skip = int(state["batches_done"])
        self._consumed = 0

    def __iter__(self) -> "_Iteration":
        skip, self._skip, self._consumed = self._skip, 0, 0
        return _Iteration(self, skip)

    # ------------------------------------------------------------------ one batch

    def _prepare(self, batch, stream):
        if not isinstance(batch, tuple) or len(batch) != 3:
            raise TypeError("loader: expected batches of Batch(images, labels, sample_ids) "
                            f"(build the DataLoader with collate_fn=datagen_gpu.data.collate), got {type(batch).__name__}")
        images, labels, ids = batch
        if ids.numel() == 0:  # every file of the batch was skipped
            return None
        ids = ids + self.epoch * self.num_samples
        if stream is None:
            return Batch(self._augment(images, ids), labels, ids), None
        with torch.cuda.stream(stream):
            images = to_device(images, self.device)
            labels = labels.pin_memory().to(self.device, non_blocking=True)
            ids = ids.pin_memory().to(self.device, non_blocking=True)
            out = Batch(self._augment(images, ids), labels, ids)
            event = torch.cuda.Event()
            event.record(stream)
        return out, event

    def _augment(self, images, ids):
        if isinstance(images, EncodedImages):
            images = decode_encoded(images, self.device)
        if self.transform is None:
            return images
        return self.transform(images, sample_ids=ids)


class _Producer:
    """The producer side: a thread filling a queue. It holds no reference to the consumer's
    ``_Iteration``, so dropping that (``break``, an exception) finalizes it and stops this."""

    def __init__(self, owner: DeviceLoader, skip: int = 0):
        self.owner, self.skip = owner, skip
        self.queue: "queue.Queue" = queue.Queue(maxsize=owner.prefetch)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="datagen_gpu.DeviceLoader", daemon=True)
        self.thread.start()

    def put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run(self):
        owner, it = self.owner, None
        try:
            stream = None
            if owner.device.type == "cuda":
                torch.cuda.set_device(owner.device)
                stream = torch.cuda.Stream(owner.device)
            else:
                torch.set_num_threads(owner.cpu_threads)
            # the source itself runs on the side stream too: a source that makes CUDA tensors
            # (DALI's mixed decoder) writes them on it, ordered before the transform
            with torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext():
                skip = self.skip
                if skip and hasattr(owner.loader, "skip_next"):  # resumed: not even fetched
                    owner.loader.skip_next(skip)
                    skip = 0
                it = iter(owner.loader)
                for _ in range(skip):  # resumed: read through, not augmented
                    if next(it, _END) is _END or self.stop.is_set():
                        break
                for batch in it:
                    if self.stop.is_set():
                        break
                    item = owner._prepare(batch, stream)
                    if item is not None and not self.put(item):
                        break
            self.put(_END)
        except (ConnectionError, EOFError) as e:  # a DataLoader worker died while sending a batch
            failure = RuntimeError(f"DeviceLoader: lost the connection to a DataLoader worker "
                                   f"(a worker process exited unexpectedly?): {type(e).__name__}: {e}")
            failure.__cause__ = e
            self.put(_Failure(failure))
        except BaseException as e:  # noqa: BLE001  (handed to the consumer, raised there)
            self.put(_Failure(e))
        finally:
            shutdown = getattr(it, "_shutdown_workers", None)
            if shutdown is not None:
                shutdown()
            del it

    def close(self, timeout: float) -> None:
        self.stop.set()
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout)


class _Iteration:
    """One pass over the source, consumer side: ``next`` takes prepared batches off the queue."""

    def __init__(self, owner: DeviceLoader, skip: int = 0):
        self.owner, self.device = owner, owner.device
        self.producer = _Producer(owner, skip)
        self.owner._consumed = skip
        self.closed = False

    @property
    def thread(self) -> threading.Thread:
        return self.producer.thread

    def __iter__(self):
        return self

    def __next__(self) -> Batch:
        if self.closed:
            raise StopIteration
        producer = self.producer
        while True:
            try:
                item = producer.queue.get(timeout=0.5)
                break
            except queue.Empty:
                if not producer.thread.is_alive() and producer.queue.empty():
                    self.close()
                    raise RuntimeError("DeviceLoader: the producer thread ended without a result") from None
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            raise item.exc
        batch, event = item
        self.owner._consumed += 1
        if event is not None:
            current = torch.cuda.current_stream(self.device)
            current.wait_event(event)
            record_stream(batch, current)
        return batch

    def close(self, timeout: float = 30.0) -> None:
        """Stops the producer, drops prefetched batches and shuts the source's workers down."""
        if not self.closed:
            self.closed = True
            self.producer.close(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close(timeout=5.0)


__all__ = ["DeviceLoader", "WindowedImages"]
