"""RandomApply: a per-sample coin in front of inner transforms."""
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
