"""Compose: transforms in sequence, fused where they can be (transforms/fused.py)."""
from torch import nn

from ._base import RandomTransform
from .fused import run_composed


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
