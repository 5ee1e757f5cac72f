"""Argument checks of the color ops, shared by the functionals and the Triton
launchers (the C++ kernels in csrc/color.cpp check the same things).

Value checks run on CPU tensors only (see _checks.check_range); on CUDA the
kernels stay memory-safe for any value: an order entry outside 0..3 only
selects no step, and hue factors are reduced modulo 1.
"""
import torch

from . import check_images, check_param, check_range, check_tensor, host_checks

# uint8 thresholds are in 0..255, float thresholds in 0..1 (torchvision's _max_value)
MAX_VALUE = {torch.uint8: 255.0, torch.float16: 1.0, torch.bfloat16: 1.0, torch.float32: 1.0}


def check_rgb(images, name="images"):
    check_images(images, name, channels=3)


def check_contrast_images(images, name="images"):
    check_images(images, name)
    if images.shape[1] not in (1, 3):
        raise ValueError(f"{name}: adjust_contrast expects 1 or 3 channels, got {images.shape[1]}")


def check_factor(value, images, name, low=0.0, high=None):
    """An op-level (B,) float32 factor; values in [low, high] (checked on CPU)."""
    check_param(value, images, name, torch.float32)
    check_range(value, name, low, high)


def check_order(order, images, name="order"):
    """(B, 4) int64, each row a permutation of 0 (brightness), 1 (contrast),
    2 (saturation), 3 (hue); the permutation check runs on CPU tensors."""
    batch = images.shape[0]
    check_tensor(order, name, (batch, 4), torch.int64, images.device)
    if host_checks(order) and batch > 0:
        expected = torch.arange(4, dtype=torch.int64)
        bad = (order.sort(dim=1).values != expected).any(dim=1)
        if bool(bad.any()):
            row = int(bad.nonzero()[0, 0])
            raise ValueError(f"{name}: row {row} ({order[row].tolist()}) is not a permutation "
                             "of 0, 1, 2, 3")


def check_threshold(threshold, images, name="threshold"):
    check_param(threshold, images, name, torch.float32)
    check_range(threshold, name, None, MAX_VALUE[images.dtype],
                what=f"the value range of {images.dtype}")
