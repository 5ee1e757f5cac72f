"""torchvision-style nn.Module transforms with per-sample parameters.

Class names and arguments follow torchvision.transforms.v2 (torchaudio for the
spectrogram transforms); see transforms/image.py for the documented
differences (batches, per-sample p, ``same_on_batch``, ``sample_ids`` /
``params`` / ``return_params``).
"""
from ._base import RandomTransform
from .audio import AudioMixup, FrequencyMasking, FrequencyShift, SpecAugment, TimeMasking
from .container import Compose
from .random_apply import RandomApply
from .convert import Normalize, ToDtype
from .image import (ColorJitter, GaussianBlur, RandomGrayscale, RandomHorizontalFlip,
                    RandomResizedCrop, RandomSolarize)

__all__ = [
    "ColorJitter", "Compose", "GaussianBlur", "Normalize", "RandomApply", "RandomGrayscale",
    "RandomHorizontalFlip", "RandomResizedCrop", "RandomSolarize", "RandomTransform", "ToDtype",
]
__all__ += ["TimeMasking", "FrequencyMasking", "SpecAugment", "FrequencyShift", "AudioMixup"]

from .mixing import CutMix, Mixup, MixUp  # noqa: E402
from .mochi import MoCHi, MoCoQueue  # noqa: E402

__all__ += ["CutMix", "Mixup", "MixUp", "MoCHi", "MoCoQueue"]

from .augmix import AugMix  # noqa: E402
from .autoaugment import (AutoAugment, AutoAugmentPolicy, RandAugment, TimmRandAugment,  # noqa: E402
                          TrivialAugmentWide)

__all__ += ["AugMix", "AutoAugment", "AutoAugmentPolicy", "RandAugment", "TimmRandAugment", "TrivialAugmentWide"]

from .erasing import RandomErasing  # noqa: E402

__all__ += ["RandomErasing"]
