"""torchvision-style nn.Module transforms with per-sample parameters."""
from ._base import RandomTransform
from .audio import AudioMixup, FrequencyMasking, FrequencyShift, SpecAugment, TimeMasking

__all__ = ["RandomTransform"]
__all__ += ["TimeMasking", "FrequencyMasking", "SpecAugment", "FrequencyShift", "AudioMixup"]
