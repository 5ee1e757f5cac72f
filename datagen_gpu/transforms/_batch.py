"""Mixing transforms called on a whole ``datagen_gpu.data.Batch`` (images, labels and sample ids)."""
from typing import Any, Optional, Tuple

BATCH_FIELDS = ("images", "labels", "sample_ids")


def is_batch(obj) -> bool:
    """Whether ``obj`` is a ``Batch`` (any named tuple with images, labels and sample_ids)."""
    return isinstance(obj, tuple) and getattr(type(obj), "_fields", None) == BATCH_FIELDS


def unpack(images, labels, sample_ids) -> Tuple[Any, Any, Any, Optional[tuple]]:
    """``(images, labels, sample_ids, batch)``; ``batch`` is the Batch given as ``images``, or None.

    A Batch brings its labels and sample ids (``sample_ids=`` still overrides them).
    """
    if is_batch(images):
        if labels is not None:
            raise TypeError("labels: not accepted with a Batch, which carries its own labels")
        batch = images
        return batch.images, batch.labels, batch.sample_ids if sample_ids is None else sample_ids, batch
    if labels is None:
        raise TypeError("labels: required (or pass a Batch of images, labels and sample ids)")
    return images, labels, sample_ids, None


def repack(batch, out):
    """The mixed ``(images, labels)`` as the caller passed them: a Batch in, a Batch out."""
    if batch is None:
        return out
    images, labels = out
    return batch._replace(images=images, labels=labels)
