"""Geometry functionals: hflip, resized_crop."""
import torch

from .._checks import (IMAGE_DTYPES, as_param, check_images, check_range, host_checks,
                       is_channels_last, resolve_out_dtype)
from ._buffers import batch_buffer


def hflip(images: torch.Tensor, apply=None, *, out_dtype=None) -> torch.Tensor:
    """Horizontally flip the samples where ``apply`` is True.

    Matches ``torchvision.transforms.v2.functional.hflip`` on each flipped sample.

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32, NCHW or channels-last.
        apply: (B,) bool, or a bool for every sample; None flips all.
        out_dtype: output dtype (default: the input's). Floats are in [0, 1].

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> x = torch.rand(4, 3, 32, 32)
        >>> y = hflip(x, torch.tensor([True, False, True, False]))
    """
    check_images(images)
    apply = as_param(apply, images, "apply", torch.bool, default=True)
    return torch.ops.datagen_gpu.hflip(images, apply, resolve_out_dtype(out_dtype, images))


def _pack_images(images):
    """(src, src_meta, channels, dtype, device, channels_last) for the resized_crop op.

    A (B, C, H, W) tensor is passed as is (src_meta from its strides, built on
    its device: no copy, no host round trip). A list of (C, Hi, Wi) tensors is
    packed into one flat buffer (one copy), each image in its own memory order
    (CHW, or HWC for a channels-last-strided image such as ``hwc.permute(2, 0, 1)``).
    """
    if isinstance(images, torch.Tensor):
        check_images(images)
        B, C, H, W = images.shape
        _, s_c, s_h, s_w = images.stride()
        dev = images.device
        meta = torch.stack([
            torch.arange(B, dtype=torch.int64, device=dev) * images.stride(0),
            *(torch.full((B,), v, dtype=torch.int64, device=dev) for v in (H, W, s_c, s_h, s_w)),
        ], dim=1)
        return images, meta, C, images.dtype, dev, is_channels_last(images)
    if not isinstance(images, (list, tuple)):
        raise TypeError("images: expected a (B, C, H, W) tensor or a list of (C, H, W) tensors, "
                        f"got {type(images).__name__}")
    if len(images) == 0:
        raise ValueError("images: expected a non-empty list of (C, H, W) tensors")
    first = images[0]
    pieces, rows, offset, all_hwc = [], [], 0, True
    storage = first.untyped_storage().data_ptr()
    views = True  # every image a dense CHW / HWC view of one buffer: the buffer is src, no copy
    for i, img in enumerate(images):
        if not isinstance(img, torch.Tensor) or img.dim() != 3:
            raise ValueError(f"images: element {i} is not a (C, H, W) tensor")
        if img.dtype not in IMAGE_DTYPES:
            raise TypeError(f"images: expected uint8, float16, bfloat16 or float32, got {img.dtype}")
        if img.dtype != first.dtype or img.device != first.device:
            raise ValueError(f"images: element {i} has dtype {img.dtype} on {img.device}, element 0 "
                             f"has {first.dtype} on {first.device}; all must match")
        C, H, W = img.shape
        if C != first.shape[0]:
            raise ValueError(f"images: element {i} has {C} channels, element 0 has {first.shape[0]}")
        if H == 0 or W == 0:
            raise ValueError(f"images: element {i} is empty ({H}x{W})")
        hwc = C > 1 and img.stride(0) == 1 and img.permute(1, 2, 0).is_contiguous()
        all_hwc &= hwc
        views &= (hwc or img.is_contiguous()) and img.untyped_storage().data_ptr() == storage
        if hwc:
            pieces.append(img.permute(1, 2, 0).reshape(-1))
            rows.append((offset, H, W, 1, W * C, C))
        else:
            pieces.append(img.reshape(-1))
            rows.append((offset, H, W, H * W, W, 1))
        offset += img.numel()
    if views:  # e.g. a batch collated into one buffer (datagen_gpu.data): offsets into it
        src = torch.empty(0, dtype=first.dtype, device=first.device).set_(first.untyped_storage())
        rows = [(img.storage_offset(),) + r[1:] for img, r in zip(images, rows)]
    elif first.device.type == "cpu":  # the packed copy in a cached buffer (no fresh pages)
        src = torch.cat(pieces, out=batch_buffer((offset,), first.dtype, first.device))
    else:
        src = torch.cat(pieces)
    meta = torch.tensor(rows, dtype=torch.int64)
    if first.device.type == "cuda":  # pinned: an asynchronous copy, no stream sync
        meta = meta.pin_memory().to(first.device, non_blocking=True)
    else:
        meta = meta.to(first.device)
    return src, meta, first.shape[0], first.dtype, first.device, all_hwc


def _output_size(size):
    if isinstance(size, bool):
        raise TypeError("size: expected an int or (h, w), got bool")
    if isinstance(size, int):
        size = (size, size)
    if not isinstance(size, (list, tuple)) or len(size) != 2:
        raise ValueError(f"size: expected an int or a pair (h, w), got {size!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in size):
        raise TypeError(f"size: expected ints, got {size!r}")
    if size[0] < 1 or size[1] < 1:
        raise ValueError(f"size: expected positive (h, w), got {tuple(size)}")
    return int(size[0]), int(size[1])


def _check_boxes(boxes, batch, device):
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"boxes: expected a ({batch}, 4) tensor, got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape != (batch, 4):
        raise ValueError(f"boxes: expected shape ({batch}, 4), got {tuple(boxes.shape)}")
    if boxes.dtype == torch.bool or boxes.is_complex():
        raise TypeError(f"boxes: expected a floating point or integer tensor, got {boxes.dtype}")
    if boxes.device != device:
        raise ValueError(f"boxes: expected device {device} (the images' device), got {boxes.device}")
    boxes = boxes.to(torch.float32).contiguous()
    if host_checks(boxes) and batch > 0:
        if not bool(torch.isfinite(boxes).all()):
            raise ValueError("boxes: expected finite values")
        check_range(boxes[:, 2:], "boxes", low=0, low_inclusive=False, what="height and width")
    return boxes


def resized_crop(images, boxes, size, *, flip=None, antialias=True, out_dtype=None) -> torch.Tensor:
    """Crop a box from every sample, resize it to ``size`` (bilinear), flip it where asked.

    Sample i is ``torchvision.transforms.v2.functional.resized_crop(img_i, top, left,
    height, width, size, InterpolationMode.BILINEAR, antialias=antialias)`` followed by
    ``hflip`` where ``flip[i]``, for ``boxes[i] = (top, left, height, width)``, all in one
    kernel launch (also for a ragged list of images of different sizes).

    **Definition.** Each axis is resampled separately. For one axis with box start
    ``pos`` and length ``len``, input size ``n`` and output size ``m``, let
    ``scale = len / m`` and let the crop's pixels be ``[lo, hi) = [floor(pos),
    ceil(pos + len))`` (those the box overlaps). Output index ``o`` is
    ``sum_j w_j * x_j`` over taps ``j`` with

    - ``antialias=True`` (ATen's ``_upsample_bilinear2d_aa``, PIL's triangle filter):
      ``support = max(scale, 1)``, ``center = pos + scale * (o + 0.5)``, taps
      ``j`` in ``[max(floor(center - support + 0.5), lo), min(floor(center + support + 0.5), hi))``,
      ``w_j = max(0, 1 - |j + 0.5 - center| / support)``, normalized to sum to 1;
    - ``antialias=False`` (``interpolate(mode="bilinear", align_corners=False)``):
      ``src = clamp(pos + scale * (o + 0.5) - 0.5, lo, hi - 1)``, taps ``floor(src)`` and
      ``min(floor(src) + 1, hi - 1)`` with weights ``1 - frac(src)`` and ``frac(src)``.

    Pixels outside the image read as 0, as in torchvision (which zero-pads a crop that
    leaves the image). For integer boxes this is exactly torchvision's definition (crop,
    then ``interpolate(..., mode="bilinear", align_corners=False, antialias=antialias)``);
    fractional boxes extend it continuously (sub-pixel crops).

    Differences from torchvision: every sample is computed in float32 from its values in
    [0, 1] and rounded once at the end when the output is uint8. torchvision's uint8 path
    (ATen's) uses fixed-point weights and rounds to uint8 after each of its two separable
    passes, so uint8 outputs agree with it within one level, and a float output of a
    uint8 input (no intermediate rounding here) differs from torchvision's
    ``to_dtype(resized_crop(uint8))`` by up to about one level (measured: <= 1.0/255).
    With ``antialias=True`` and an output height or width of 1, ATen's kernel gives wrong
    values (torch 2.13/2.14), and torchvision's crop of a box that ends above or left of
    the image (bottom or right <= 0) returns a wrongly sized crop (a negative slice end);
    this kernel follows the definition above in both cases (the latter gives zeros).

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32 tensor, NCHW or
            channels-last; or a non-empty list of (C, Hi, Wi) tensors of different sizes
            (same C, dtype and device), packed into one buffer for a single launch.
        boxes: (B, 4) (top, left, height, width) in input pixels, on the images' device;
            used as float32. Height and width must be > 0 (checked for CPU tensors);
            any box is memory-safe.
        size: output size, an int (square) or (h, w).
        flip: (B,) bool, a bool for every sample, or None (no flip).
        antialias: antialiased (triangle filter) downscaling, as torchvision's default.
        out_dtype: output dtype (default: the input's). Floats are in [0, 1].

    Shape:
        images (B, C, H, W) or B x (C, Hi, Wi) -> (B, C, h, w). The output is channels-last
        when the input tensor is; for a list, when every image is stored HWC (e.g.
        ``hwc.permute(2, 0, 1)``), else NCHW.

    Example:
        >>> x = torch.randint(0, 256, (2, 3, 64, 48), dtype=torch.uint8)
        >>> boxes = torch.tensor([[0.0, 0.0, 64.0, 48.0], [10.0, 5.0, 30.0, 20.0]])
        >>> y = resized_crop(x, boxes, 32, flip=torch.tensor([False, True]),
        ...                  out_dtype=torch.float32)
        >>> y.shape
        torch.Size([2, 3, 32, 32])
    """
    src, meta, channels, dtype, device, channels_last = _pack_images(images)
    out_h, out_w = _output_size(size)
    batch = meta.shape[0]
    boxes = _check_boxes(boxes, batch, device)
    flip = as_param(flip, boxes, "flip", torch.bool, default=False)
    if not isinstance(antialias, bool):
        raise TypeError(f"antialias: expected a bool, got {type(antialias).__name__}")
    out_dtype = dtype if out_dtype is None else resolve_out_dtype(out_dtype, src)
    return torch.ops.datagen_gpu.resized_crop(src, meta, channels, boxes, flip, out_h, out_w,
                                              antialias, out_dtype, channels_last)
