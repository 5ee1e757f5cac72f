"""torchvision-style nn.Module transforms with per-sample parameters.

Class names and arguments follow torchvision.transforms.v2; see
transforms/image.py for the documented differences (batches, per-sample p,
``same_on_batch``, ``sample_ids`` / ``params`` / ``return_params``).
"""
from ._base import RandomTransform
from .container import Compose, RandomApply
from .convert import Normalize, ToDtype
from .image import (ColorJitter, GaussianBlur, RandomGrayscale, RandomHorizontalFlip,
                    RandomResizedCrop, RandomSolarize)

__all__ = [
    "ColorJitter", "Compose", "GaussianBlur", "Normalize", "RandomApply", "RandomGrayscale",
    "RandomHorizontalFlip", "RandomResizedCrop", "RandomSolarize", "RandomTransform", "ToDtype",
]

from .mixing import CutMix, Mixup, MixUp  # noqa: E402
from .mochi import MoCHi, MoCoQueue  # noqa: E402

__all__ += ["CutMix", "Mixup", "MixUp", "MoCHi", "MoCoQueue"]
