"""Compose and RandomApply."""
import torch
from torch import nn

from ._base import RandomTransform


class RandomApply(RandomTransform):
    """Apply ``transforms`` to each sample with probability ``p`` (per sample).

    Inner transforms that know how (ColorJitter, flips, grayscale, solarize)
    fold the coin into their own parameters, so skipped samples cost nothing
    extra; others are computed for the batch and selected per sample.
    """

    APPLY_ATTRS = ()

    def __init__(self, transforms, p=0.5, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p: expected a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.transforms = nn.ModuleList(transforms)
        for k, t in enumerate(self.transforms):
            if not isinstance(t, RandomTransform):
                raise TypeError(f"transforms[{k}]: expected a datagen_gpu transform, got {type(t).__name__}")
        self.assign_stream(self.stream)

    def assign_stream(self, stream):
        self.stream = stream
        for k, t in enumerate(self.transforms):
            t.assign_stream(stream * 64 + k + 1)

    def make_params(self, x, sample_ids):
        apply = self.draw(sample_ids, 1, torch.float32)[:, 0] < self.p
        return {"apply": apply, "inner": [t.make_params(x, sample_ids) for t in self.transforms]}

    def apply_params(self, x, params):
        apply = params["apply"]
        for t, p in zip(self.transforms, params["inner"]):
            if hasattr(t, "mask_params"):
                x = t.apply_params(x, t.mask_params(p, apply))
            else:
                y = t.apply_params(x, p)
                x = torch.where(apply.view(-1, 1, 1, 1), y, x.to(y.dtype))
        return x


class Compose(RandomTransform):
    """Run transforms in sequence; every transform sees the same sample ids.

    Each transform gets its own random stream (its position), so two
    transforms of the same class draw independently. With ``seed`` given, it
    overrides the children's seeds.

    With ``fuse=True`` (default), each run of consecutive fusable transforms
    (crop, flip, color jitter, grayscale, solarize, normalize, dtype
    conversion, and RandomApply of them) is one ``fused_augment`` call; the
    rules and the exact semantics are in transforms/fused.py. The parameters
    (drawn, returned and replayed) are the same as with ``fuse=False``, which
    runs every transform op by op.
    """

    APPLY_ATTRS = ("fuse", "same_on_batch")

    def __init__(self, transforms, seed=None, fuse=True, **kwargs):
        super().__init__(seed=0 if seed is None else seed, **kwargs)
        self.fuse = bool(fuse)
        self.transforms = nn.ModuleList(transforms)
        for k, t in enumerate(self.transforms):
            if not isinstance(t, RandomTransform):
                raise TypeError(f"transforms[{k}]: expected a datagen_gpu transform, got {type(t).__name__}")
            if seed is not None:
                for m in t.modules():
                    if isinstance(m, RandomTransform):
                        m.seed = seed
        self.assign_stream(self.stream)

    def assign_stream(self, stream):
        self.stream = stream
        for k, t in enumerate(self.transforms):
            t.assign_stream(stream * 64 + k + 1)

    def make_params(self, x, sample_ids):
        raise RuntimeError("Compose draws its children's parameters while it runs")

    def forward(self, x, sample_ids=None, params=None, return_params=False):
        ids = self.resolve_sample_ids(x, sample_ids) if params is None else None
        if self.fuse:
            x, used = run_composed(self.transforms, x, ids, params)
            return (x, used) if return_params else x
        used = []
        for k, t in enumerate(self.transforms):
            p = t.make_params(x, ids) if params is None else params[k]
            used.append(p)
            x = t.apply_params(x, p)
        return (x, used) if return_params else x


from .fused import run_composed  # noqa: E402  (fused.py imports RandomApply from this module)
