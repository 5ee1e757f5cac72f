"""torchvision-style nn.Module transforms with per-sample parameters."""
from ._base import RandomTransform

__all__ = ["RandomTransform"]
