"""Public, deterministic functions with explicit per-sample parameters.

Each takes a batch and parameter tensors of shape (B,) (a Python number
broadcasts to every sample) on the images' device, and calls the matching
``torch.ops.datagen_gpu`` op: the C++ kernel for CPU tensors, the Triton
kernel for CUDA tensors.
"""
from .geometry import hflip
from .audio import audio_mixup, freq_mask, freq_shift, spec_mask, time_mask

__all__ = ["hflip"]
__all__ += ["time_mask", "freq_mask", "spec_mask", "freq_shift", "audio_mixup"]
