"""Public, deterministic functions with explicit per-sample parameters.

Each takes a batch and parameter tensors of shape (B,) (a Python number
broadcasts to every sample) on the images' device, and calls the matching
``torch.ops.datagen_gpu`` op: the C++ kernel for CPU tensors, the Triton
kernel for CUDA tensors.
"""
from .geometry import hflip

__all__ = ["hflip"]

from .mixing import cutmix, mix, mix_labels, mixup  # noqa: E402
from .mochi import mochi_logits, mochi_negatives  # noqa: E402

__all__ += ["cutmix", "mix", "mix_labels", "mixup", "mochi_logits", "mochi_negatives"]
