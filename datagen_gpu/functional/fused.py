"""The fused augmentation: crop-resize, flip, color jitter, grayscale, solarize,
blur, normalize and dtype conversion in one call."""
import torch

from .._checks import as_param, check_range, resolve_out_dtype
from .color import _factor, _order
from .filters import _channel_param
from .geometry import _check_boxes, _output_size, _pack_images


def _stage(value, meta, name, dtype, low=None, high=None):
    """An optional per-sample parameter: None stays None (the stage is skipped)."""
    if value is None:
        return None
    if dtype == torch.float32 and low is not None:
        return _factor(value, meta, name, low, high)
    return as_param(value, meta, name, dtype)


def fused_augment(images, boxes=None, size=None, *, flip=None, antialias=True, brightness=None,
                  contrast=None, saturation=None, hue=None, order=None, grayscale=None,
                  solarize_threshold=None, solarize_apply=None, blur_kernel=None, blur_sigma=None,
                  blur_apply=None, mean=None, std=None, views=1, out_dtype=None) -> torch.Tensor:
    """Crop-resize, flip, color-jitter, grayscale, solarize, blur and normalize every
    sample in one call, storing the result once in ``out_dtype``.

    Sample ``i`` is, with every intermediate value kept in float32 (never rounded
    to the input dtype)::

        x = resized_crop(image, boxes[i], size, flip=flip[i], antialias)  # or hflip, no boxes
        x = color_jitter(x, brightness[i], contrast[i], saturation[i], hue[i], order[i])
        x = rgb_to_grayscale(x)                        where grayscale[i]
        x = where(x >= solarize_threshold[i], 1 - x, x)  where solarize_apply[i]
        x = gaussian_blur(x, blur_kernel, blur_sigma[i])  where blur_apply[i]
        x = (x - mean[c]) / std[c]
        out[i] = x stored as out_dtype                 (uint8: floor(clamp(255 x, 0, 255) + 0.5))

    Each stage is exactly the math of the single op of the same name (the same
    resampling taps as ``resized_crop``, the same color formulas as
    ``color_jitter`` / ``rgb_to_grayscale``, see their docs): this equals running those
    functionals one after the other on float32 images, within float32 rounding. A
    stage whose arguments are None is skipped; jitter factors equal to the identity
    (1, 1, 1, 0) skip their step, as in ``color_jitter``. Contrast uses the mean
    grayscale of the image as it is when contrast runs (resampled, earlier steps
    applied), which one extra reduction pass computes; nothing else is written
    between the stages (except, on CUDA, the float32 intermediate the blur reads).

    Differences from running the single ops on a uint8 batch: nothing is rounded
    between the stages (the single ops round to uint8 after each op), and the
    grayscale is never floored to a uint8 level (the single color ops floor it on
    uint8 input). ``solarize_threshold`` is in [0, 1] units of the float value
    (``RandomSolarize`` converts its threshold, see datagen_gpu/transforms/fused.py).

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32 tensor (NCHW or
            channels-last), or a list of (C, Hi, Wi) tensors (ragged batch), as for
            ``resized_crop``.
        boxes: (N, 4) (top, left, height, width) per sample, as for ``resized_crop``;
            None: no crop (every image must already be the output size).
        size: output (h, w) or int; required with ``boxes``; without, the image size.
        flip: (N,) bool or a bool; None: no flip.
        antialias: antialiased downscaling (``resized_crop``'s).
        brightness, contrast, saturation: (N,) non-negative factors, numbers, or None.
        hue: (N,) factors in [-0.5, 0.5], a number, or None.
        order: (N, 4) int64 jitter order per sample, a (4,) order for all, or None
            (0 = brightness, 1 = contrast, 2 = saturation, 3 = hue).
        grayscale: (N,) bool (or a bool): replace those samples by their grayscale.
        solarize_threshold: (N,) float thresholds in [0, 1] units, a number, or None.
        solarize_apply: (N,) bool (or a bool) with a threshold; None: every sample.
        blur_kernel, blur_sigma: ``gaussian_blur``'s odd kernel size (``k // 2`` below
            the output height and width) and (N,) sigmas > 0 (or a number); None: no blur.
            On the CPU a blurred sample is finished in a per-thread buffer and blurred
            from it (no batch-sized intermediate); on CUDA the Triton path writes a
            float32 intermediate and runs the blur kernel on it.
        blur_apply: (N,) bool (or a bool) with a blur: which samples; None: every sample.
        mean, std: C numbers / (C,) tensors (or one number) to normalize with, both or
            neither; std must be non-zero.
        views: V >= 1 views of every image: N = V * B samples, sample ``v * B + i``
            reads image ``i`` (the batch is not copied), each with its own parameters.
        out_dtype: output dtype; default float32 with normalize, else the input's.

    Saturation, hue and grayscale need C = 3; contrast C = 1 or 3.

    Shape:
        images (B, C, H, W) or B x (C, Hi, Wi) -> (V * B, C, h, w); channels-last
        when the input is (as ``resized_crop``).

    Example:
        >>> x = torch.randint(0, 256, (2, 3, 64, 48), dtype=torch.uint8)
        >>> boxes = torch.tensor([[0.0, 0.0, 64.0, 48.0], [10.0, 5.0, 30.0, 20.0]])
        >>> y = fused_augment(x, boxes, 32, flip=torch.tensor([False, True]),
        ...                   brightness=torch.tensor([0.8, 1.2]), contrast=1.3,
        ...                   grayscale=torch.tensor([False, True]),
        ...                   mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
        >>> y.shape, y.dtype
        (torch.Size([2, 3, 32, 32]), torch.float32)
    """
    src, meta, channels, dtype, device, channels_last = _pack_images(images)
    if isinstance(views, bool) or not isinstance(views, int) or views < 1:
        raise ValueError(f"views: expected an int >= 1, got {views!r}")
    if views > 1:
        meta = meta.repeat(views, 1)
    batch = meta.shape[0]
    if boxes is None:
        first = images if isinstance(images, torch.Tensor) else images[0]
        out_h, out_w = int(first.shape[-2]), int(first.shape[-1])
        if size is not None and _output_size(size) != (out_h, out_w):
            raise ValueError(f"size: without boxes the output is the image size {(out_h, out_w)}, "
                             f"got {size!r}")
    else:
        if size is None:
            raise ValueError("size: required with boxes")
        out_h, out_w = _output_size(size)
        boxes = _check_boxes(boxes, batch, device)
    flip = as_param(flip, meta, "flip", torch.bool, default=False)
    if not isinstance(antialias, bool):
        raise TypeError(f"antialias: expected a bool, got {type(antialias).__name__}")
    brightness = _stage(brightness, meta, "brightness", torch.float32, 0.0)
    contrast = _stage(contrast, meta, "contrast", torch.float32, 0.0)
    saturation = _stage(saturation, meta, "saturation", torch.float32, 0.0)
    hue = _stage(hue, meta, "hue", torch.float32, -0.5, 0.5)
    order = None if order is None else _order(order, meta)
    grayscale = _stage(grayscale, meta, "grayscale", torch.bool)
    solarize_threshold = _stage(solarize_threshold, meta, "solarize_threshold", torch.float32)
    solarize_apply = _stage(solarize_apply, meta, "solarize_apply", torch.bool)
    if blur_sigma is not None:
        from .filters import _kernel_size

        blur_kernel = _kernel_size(blur_kernel, torch.empty((0, 0, out_h, out_w)))
        blur_sigma = _stage(blur_sigma, meta, "blur_sigma", torch.float32)
        check_range(blur_sigma, "blur_sigma", low=0.0, low_inclusive=False)
    elif blur_kernel is not None or blur_apply is not None:
        raise ValueError("blur_kernel, blur_apply: given without blur_sigma")
    blur_apply = _stage(blur_apply, meta, "blur_apply", torch.bool)
    if (mean is None) != (std is None):
        raise ValueError("mean, std: give both (normalize) or neither")
    if mean is not None:
        like = torch.empty((0, channels), device=device)  # what _channel_param reads: C, device
        mean = _channel_param(mean, like, "mean")
        std = _channel_param(std, like, "std", nonzero=True)
    if out_dtype is None:
        out_dtype = torch.float32 if mean is not None else dtype
    out_dtype = resolve_out_dtype(out_dtype, src)
    return torch.ops.datagen_gpu.fused_augment(
        src, meta, channels, boxes, flip, out_h, out_w, antialias, brightness, contrast,
        saturation, hue, order, grayscale, solarize_threshold, solarize_apply,
        0 if blur_sigma is None else blur_kernel, blur_sigma, blur_apply, mean, std,
        out_dtype, channels_last)
