"""Running several views of one batch as one stacked batch (TwoViews, Compose fusion).

Two pipelines can run stacked when they apply the same operations and differ
only in how they draw parameters (their streams, ``p``, ranges): then one
launch per stage serves both views, view v's sample i at row v * B + i.
``same_structure`` decides that from each transform's ``APPLY_ATTRS`` (the
attributes its ``apply_params`` reads); a transform without them is never
stacked.
"""
import torch

from ._base import RandomTransform


def stack_views(x, views):
    """The input repeated for ``views`` views: (V * B, ...) (a ragged list: V * B images)."""
    if isinstance(x, (list, tuple)):
        return list(x) * views
    return torch.cat([x] * views)


def cat_params(per_view):
    """Per-view parameter structures (dicts / lists of (B, ...) tensors) joined along the batch."""
    first = per_view[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(per_view)
    if isinstance(first, dict):
        return {k: cat_params([p[k] for p in per_view]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(cat_params(list(p)) for p in zip(*per_view))
    if all(p == first for p in per_view):
        return first
    raise ValueError(f"params: cannot stack per-view values {per_view!r}")


def _config(t):
    """(class, apply-time attributes), or None when the class does not declare them
    itself (a subclass may read more in its apply_params)."""
    attrs = type(t).__dict__.get("APPLY_ATTRS")
    if attrs is None or not isinstance(t, RandomTransform):
        return None
    return (type(t), tuple(repr(getattr(t, a)) for a in attrs))


def same_structure(a, b) -> bool:
    """Whether transforms ``a`` and ``b`` apply the same operations (children included)."""
    ca = _config(a)
    if ca is None or ca != _config(b):
        return False
    kids_a, kids_b = list(getattr(a, "transforms", ())), list(getattr(b, "transforms", ()))
    return len(kids_a) == len(kids_b) and all(same_structure(u, v) for u, v in zip(kids_a, kids_b))
