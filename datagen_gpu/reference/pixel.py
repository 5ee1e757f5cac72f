"""Float64 references for the pixel ops of the learned policies (``functional.pixel``).

Images are float64 (B, C, H, W) in [0, 1] (``to_unit``); ``input_dtype`` is the
dtype the kernel read, for the steps where torchvision works on uint8 levels:
posterize and solarize_add of uint8 images work on levels, equalize bins every
input on uint8 levels (floats converted as ``to_dtype`` converts them), and
sharpness rounds the blurred uint8 image. Written per sample and per channel,
to be obviously right.
"""
import torch

from . import _brightness_one, _contrast_one, _saturation_one, solarize

__all__ = ["adjust_sharpness", "autocontrast", "equalize", "invert", "pixel_ops", "posterize",
           "solarize_add", "uint8_levels"]

# PixelOp codes (datagen_gpu.functional.PixelOp)
(IDENTITY, BRIGHTNESS, SATURATION, CONTRAST, SHARPNESS, POSTERIZE, SOLARIZE, AUTOCONTRAST,
 EQUALIZE, INVERT, SOLARIZE_ADD) = range(11)


def uint8_levels(img: torch.Tensor, input_dtype) -> torch.Tensor:
    """The uint8 levels torchvision's equalize bins, as int64: uint8 images' own levels;
    floats as ``to_dtype(x, uint8, scale=True)``: x * 255.999 in float32, rounded to the
    input dtype (the product is made in that dtype), truncated (clamped to 0..255: a
    float16 / bfloat16 product that rounds up to 256 would wrap in torchvision)."""
    if input_dtype == torch.uint8:
        return torch.round(img * 255.0).to(torch.int64)
    scale = torch.tensor(255.999, dtype=torch.float32)
    v = (img.to(torch.float32) * scale).to(input_dtype).to(torch.float64)
    return torch.floor(v).clamp(0, 255).to(torch.int64)


def posterize(images, bits, input_dtype=torch.float32):
    """uint8: keep the top ``bits`` bits of each level (``level & mask``); floats:
    ``clamp(floor(x * 2^bits), 0, 2^bits - 1) / 2^bits`` (torchvision's two mappings)."""
    out = torch.empty_like(images)
    for i, x in enumerate(images):
        k = int(bits[i])
        if input_dtype == torch.uint8:
            mask = (0xFF << (8 - k)) & 0xFF
            out[i] = (torch.round(x * 255.0).to(torch.int64) & mask).to(torch.float64) / 255.0
        else:
            levels = 2**k
            out[i] = torch.floor(x * levels).clamp(0, levels - 1) / levels
    return out


def _equalize_lut(levels: torch.Tensor) -> list:
    """PIL's / torchvision's equalization table of one channel's levels."""
    hist = torch.bincount(levels.reshape(-1), minlength=256).tolist()
    n = sum(hist)
    last = max(k for k in range(256) if hist[k] > 0)  # the brightest level present
    step = (n - hist[last]) // 255
    if step == 0:
        return list(range(256))
    lut, cum = [], 0
    for k in range(256):
        lut.append(min((cum + step // 2) // step, 255))  # lut[k] from the count below k
        cum += hist[k]
    return lut


def equalize(images, input_dtype=torch.float32):
    """Per channel: the histogram of the uint8 levels (``uint8_levels``) and the
    lookup table ``lut[k] = min((cum[k - 1] + step // 2) // step, 255)``, ``lut[0] = 0``,
    with cum the cumulative histogram and step = (pixels - count of the brightest
    level) // 255; step 0 keeps the levels. The result is ``lut[level] / 255``
    (so a float input comes back quantized to levels, as in torchvision)."""
    out = torch.empty_like(images)
    for i, x in enumerate(images):
        for c in range(x.shape[0]):
            levels = uint8_levels(x[c], input_dtype)
            lut = torch.tensor(_equalize_lut(levels), dtype=torch.float64)
            out[i, c] = lut[levels] / 255.0
    return out


def autocontrast(images):
    """Per channel: ``clamp((x - min) / (max - min), 0, 1)``; a constant channel is kept."""
    out = images.clone()
    for i, x in enumerate(images):
        for c in range(x.shape[0]):
            lo, hi = x[c].min(), x[c].max()
            if hi > lo:
                out[i, c] = ((x[c] - lo) / (hi - lo)).clamp(0.0, 1.0)
    return out


def adjust_sharpness(images, factor, input_dtype=torch.float32):
    """Per channel, interior pixels: ``clamp(x + (1 - f) (blur - x), 0, 1)`` with blur the
    3x3 mean weighted 1 around and 5 at the centre (/ 13), rounded to a level for uint8
    inputs; border pixels (first / last row and column) are kept, so are images with
    H <= 2 or W <= 2."""
    out = images.clone()
    _, _, H, W = images.shape
    if H <= 2 or W <= 2:
        return out
    for i, x in enumerate(images):
        f = float(factor[i])
        total = 4.0 * x[:, 1:-1, 1:-1]  # centre weight 5 = 4 + its own term below
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                total = total + x[:, 1 + dy:H - 1 + dy, 1 + dx:W - 1 + dx]
        blur = total / 13.0
        if input_dtype == torch.uint8:
            blur = torch.round(blur * 255.0) / 255.0
        centre = x[:, 1:-1, 1:-1]
        out[i, :, 1:-1, 1:-1] = (centre + (1.0 - f) * (blur - centre)).clamp(0.0, 1.0)
    return out


def invert(images):
    return 1.0 - images


def solarize_add(images, addend, input_dtype=torch.float32):
    """timm's solarize_add: ``clamp(x + addend, 0, max)`` where x is below 128 levels
    (0.5 for floats), else x; ``addend`` in the dtype's range (uint8 levels)."""
    out = images.clone()
    uint8 = input_dtype == torch.uint8
    threshold = 128.0 / 255.0 if uint8 else 0.5
    for i, x in enumerate(images):
        add = float(addend[i]) / (255.0 if uint8 else 1.0)
        out[i] = torch.where(x < threshold, (x + add).clamp(0.0, 1.0), x)
    return out


def pixel_ops(images, op, magnitude, input_dtype=torch.float32):
    """Sample i gets operation ``op[i]`` (PixelOp codes) with ``magnitude[i]``; uint8
    inputs floor the grayscale of SATURATION / CONTRAST (as torchvision); SATURATION
    of a single channel is the identity, CONTRAST of a single channel uses it as gray."""
    quantized = input_dtype == torch.uint8
    out = torch.empty_like(images)
    for i in range(images.shape[0]):
        x, code, m = images[i : i + 1], int(op[i]), magnitude[i : i + 1].to(torch.float64)
        if code == BRIGHTNESS:
            y = _brightness_one(x[0], float(m))[None]
        elif code == SATURATION:
            y = _saturation_one(x[0], float(m), quantized)[None] if x.shape[1] == 3 else x
        elif code == CONTRAST:
            y = _contrast_one(x[0], float(m), quantized)[None]
        elif code == SHARPNESS:
            y = adjust_sharpness(x, m, input_dtype)
        elif code == POSTERIZE:
            y = posterize(x, m, input_dtype)
        elif code == SOLARIZE:
            y = solarize(x, m, torch.ones(1, dtype=torch.bool), input_dtype)
        elif code == AUTOCONTRAST:
            y = autocontrast(x)
        elif code == EQUALIZE:
            y = equalize(x, input_dtype)
        elif code == INVERT:
            y = invert(x)
        elif code == SOLARIZE_ADD:
            y = solarize_add(x, m, input_dtype)
        else:
            y = x
        out[i : i + 1] = y
    return out
