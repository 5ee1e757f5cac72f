"""Public, deterministic functions with explicit per-sample parameters.

Each takes a batch and parameter tensors of shape (B,) (a Python number
broadcasts to every sample) on the images' device, and calls the matching
``torch.ops.datagen_gpu`` op: the C++ kernel for CPU tensors, the Triton
kernel for CUDA tensors.
"""
from .color import (adjust_brightness, adjust_contrast, adjust_hue, adjust_saturation,
                    color_jitter, rgb_to_grayscale, solarize)
from .filters import gaussian_blur, normalize
from .geometry import hflip, resized_crop

__all__ = ["adjust_brightness", "adjust_contrast", "adjust_hue", "adjust_saturation",
           "color_jitter", "gaussian_blur", "hflip", "normalize", "resized_crop",
           "rgb_to_grayscale", "solarize"]
