"""Public, deterministic functions with explicit per-sample parameters.

Each takes a batch and parameter tensors of shape (B,) (a Python number
broadcasts to every sample) on the images' device, and calls the matching
``torch.ops.datagen_gpu`` op: the C++ kernel for CPU tensors, the Triton
kernel for CUDA tensors.

Every function here also takes NumPy (CPU) and CuPy (GPU) arrays and returns
the same kind of array, reading them through DLPack without a copy
(``datagen_gpu.interop``, docs/interop.md). The wrapping happens here only:
the same functions imported from their modules (``functional.color`` ...)
are the undecorated ones, for internal calls.
"""
from .. import interop as _interop
from .affine import affine, affine_matrix, rotate
from .audio import audio_mixup, freq_mask, freq_shift, spec_mask, time_mask
from .color import (adjust_brightness, adjust_contrast, adjust_hue, adjust_saturation,
                    color_jitter, rgb_to_grayscale, solarize)
from .convert import to_dtype
from .erase import erase
from .filters import gaussian_blur, normalize
from .fused import fused_augment
from .geometry import hflip, resized_crop
from .mixing import cutmix, mix, mix_labels, mixup
from .mochi import mochi_logits, mochi_negatives
from .pixel import PixelOp, adjust_sharpness, autocontrast, equalize, invert, pixel_ops, posterize

__all__ = [
    # image
    "adjust_brightness", "adjust_contrast", "adjust_hue", "adjust_saturation", "color_jitter",
    "fused_augment", "gaussian_blur", "hflip", "normalize", "resized_crop", "rgb_to_grayscale",
    "solarize", "to_dtype",
    # per-sample affine warps (learned policies)
    "affine", "affine_matrix", "rotate",
    # spectrogram / audio
    "audio_mixup", "freq_mask", "freq_shift", "spec_mask", "time_mask",
    # mixing
    "cutmix", "mix", "mix_labels", "mixup", "mochi_logits", "mochi_negatives",
    # learned policies
    "erase",
    # pixel ops of the learned policies (and their codes, the class PixelOp: importable from
    # here, not in __all__, which lists the wrapped functions)
    "adjust_sharpness", "autocontrast", "equalize", "invert", "pixel_ops", "posterize",
]

# NumPy / CuPy in and out (a few isinstance checks when no array is passed)
for _name in __all__:
    globals()[_name] = _interop.accepts_arrays(globals()[_name])
del _name
