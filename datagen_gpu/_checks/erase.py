"""Argument checks of the erase ops, shared by the functional API and the Triton
launchers; they mirror the C++ checks (csrc/erase.cpp) and raise ValueError /
TypeError naming the argument. Checks that read values (uint8 levels, noise
requested for a uint8 output) run on CPU tensors only (``host_checks``): on
CUDA the kernel clamps instead of synchronizing with the host.
"""
import torch

from . import check_images, check_out_dtype, check_param, check_tensor, host_checks
from .mixing import check_boxes


def check_erase_args(images, boxes, value, random, sample_ids, key, out_dtype):
    check_images(images)
    check_boxes(boxes, images)
    B, C = images.shape[:2]
    check_tensor(value, "value", (B, C), torch.float32, images.device,
                 shape_note=" (one value per sample and channel)")
    check_param(random, images, "random", torch.bool)
    check_param(sample_ids, images, "sample_ids", torch.int64)
    if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key <= 0xFFFFFFFF:
        raise ValueError(f"key: expected a 32-bit word, got {key!r}")
    check_out_dtype(out_dtype)
    if out_dtype == torch.uint8 and host_checks(value):
        check_uint8_fill(value, random)


def check_uint8_fill(value, random):
    """A uint8 output holds levels in [0, 255], and no noise."""
    if value.numel() and not bool(((value >= 0) & (value <= 255)).all()):
        bad = value[~((value >= 0) & (value <= 255))][0].item()
        raise ValueError(f"value: expected uint8 levels in [0, 255] for a uint8 output, got {bad}")
    if bool(random.any()):
        raise ValueError("random: standard-normal noise needs a floating output, got out_dtype uint8")


def check_inplace(images):
    if torch._debug_has_internal_overlap(images) == 1:
        raise ValueError("images: erase_ writes in place and needs a tensor without internal overlap "
                         "(an expanded view shares memory between samples; clone it first)")
