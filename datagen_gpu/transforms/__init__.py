"""torchvision-style nn.Module transforms with per-sample parameters."""
from ._base import RandomTransform

__all__ = ["RandomTransform"]

from .mixing import CutMix, Mixup, MixUp  # noqa: E402
from .mochi import MoCHi, MoCoQueue  # noqa: E402

__all__ += ["CutMix", "Mixup", "MixUp", "MoCHi", "MoCoQueue"]
