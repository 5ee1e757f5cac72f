"""Image file decoding on the CPU: the fastest installed decoder, header probes, window decodes.

Every decoder returns a uint8 ``(3, H, W)`` RGB tensor at the file's display
size: grayscale, palette, CMYK and RGBA files become RGB (alpha dropped, as
``PIL.Image.convert("RGB")`` and torchvision's ``ImageReadMode.RGB`` do) and
the EXIF orientation is applied (as ``PIL.ImageOps.exif_transpose``). The
tensor's memory is HWC (``hwc.permute(2, 0, 1)``): the kernels read that
layout directly, so no transpose copy is made.

Decoders, fastest first (``available_decoders()`` lists the installed ones):

- ``"libjpeg"``: libjpeg-turbo through this package's ``datagen_gpu._jpeg``
  (built when ``jpeglib.h`` is present): JPEG only; also decodes a window at
  1/2, 1/4 or 1/8 scale without touching the rows below it (crop-aware).
- ``"simplejpeg"``: libjpeg-turbo through simplejpeg: JPEG only; scaled decodes.
- ``"torchvision"``: ``torchvision.io.decode_image``.
- ``"pil"``: Pillow, every format; the fallback that is always there.

A JPEG-only decoder hands other formats (and CMYK JPEGs) to Pillow. A file
that cannot be decoded raises :class:`DecodeError` naming the file.
"""
import base64
import functools
import importlib
import io
import math
import warnings
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np
import torch

JPEG_MAGIC = b"\xff\xd8"
SCALES = (1, 2, 4, 8)  # libjpeg's power-of-two DCT scalings


class DecodeError(ValueError):
    """A file that could not be read or decoded; the message names the file."""


class ImageInfo(NamedTuple):
    """What a header says: the display size (after EXIF orientation), the orientation, the format."""

    height: int
    width: int
    orientation: int  # EXIF 1..8 (1: stored as displayed)
    format: str  # "jpeg", or Pillow's format name in lower case


def _optional(name):
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001  (any import failure means "not installed here")
        return None


_jpeg = _optional("datagen_gpu._jpeg")
_simplejpeg = _optional("simplejpeg")


def _as_bytes(data) -> memoryview:
    if isinstance(data, torch.Tensor):
        data = data.numpy()
    return memoryview(data).cast("B")


def is_jpeg(data) -> bool:
    return bytes(_as_bytes(data)[:2]) == JPEG_MAGIC


# ----------------------------------------------------------------------------- orientation

def orient(hwc: np.ndarray, orientation: int) -> np.ndarray:
    """The stored pixels (H, W, C) turned to display orientation (EXIF tag 0x0112)."""
    if orientation in (5, 6, 7, 8):
        hwc = hwc.transpose(1, 0, 2)
    flip_rows = orientation in (3, 4, 7, 8)
    flip_cols = orientation in (2, 3, 6, 7)
    if flip_rows:
        hwc = hwc[::-1]
    if flip_cols:
        hwc = hwc[:, ::-1]
    return hwc


def _to_tensor(hwc: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 array -> (3, H, W) tensor over HWC memory (copied only if not contiguous)."""
    if hwc.ndim == 2:
        hwc = np.repeat(hwc[:, :, None], 3, axis=2)
    if not hwc.flags.c_contiguous or not hwc.flags.writeable:
        hwc = np.ascontiguousarray(hwc) if hwc.flags.writeable else hwc.copy()
    return torch.from_numpy(hwc).permute(2, 0, 1)


# ----------------------------------------------------------------------------- Pillow

def _pil_open(data):
    from PIL import Image
    return Image.open(io.BytesIO(bytes(_as_bytes(data))))


def _pil_orientation(img) -> int:
    try:
        value = int(img.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001  (malformed EXIF: treat as absent, as Pillow's exif_transpose does)
        return 1
    return value if 1 <= value <= 8 else 1


def _pil_rgb(img) -> np.ndarray:
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img)


def decode_pil(data) -> torch.Tensor:
    img = _pil_open(data)
    orientation = _pil_orientation(img)
    img.load()
    return _to_tensor(orient(_pil_rgb(img), orientation))


# ----------------------------------------------------------------------------- JPEG decoders

def _jpeg_header(data) -> Tuple[int, int, str, int]:
    """(stored height, stored width, colorspace, orientation) of a JPEG."""
    if _jpeg is not None:
        h, w, _, cs, orientation = _jpeg.header(data)
        return h, w, cs, orientation
    img = _pil_open(data)
    w, h = img.size
    return h, w, {"L": "gray", "CMYK": "cmyk"}.get(img.mode, "ycc"), _pil_orientation(img)


def decode_libjpeg(data) -> torch.Tensor:
    h, w, cs, orientation = _jpeg_header(data)
    if cs in ("cmyk", "ycck"):
        return decode_pil(data)
    buf, _, _, hh, ww = _jpeg.decode(data)
    return _to_tensor(orient(np.frombuffer(buf, np.uint8).reshape(hh, ww, 3), orientation))


def decode_simplejpeg(data) -> torch.Tensor:
    h, w, cs, orientation = _jpeg_header(data)
    if cs in ("cmyk", "ycck"):
        return decode_pil(data)
    hwc = _simplejpeg.decode_jpeg(bytes(_as_bytes(data)), colorspace="RGB", strict=True)
    return _to_tensor(orient(hwc, orientation))


def decode_torchvision(data) -> torch.Tensor:
    import torchvision.io as tvio
    raw = torch.frombuffer(bytearray(_as_bytes(data)), dtype=torch.uint8)
    out = tvio.decode_image(raw, mode=tvio.ImageReadMode.RGB, apply_exif_orientation=True)
    return out.permute(1, 2, 0).contiguous().permute(2, 0, 1)


# a 1x1 RGB PNG: torchvision counts as installed only if its image extension decodes it
# (its Python package can import without the compiled extension, e.g. for parity tests)
_PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")


@functools.lru_cache(maxsize=1)
def _torchvision_decodes() -> bool:
    if _optional("torchvision.io") is None:
        return False
    try:
        decode_torchvision(_PNG_1X1)
    except Exception:  # noqa: BLE001  (no working image extension: not a decoder here)
        return False
    return True


_DECODERS: Dict[str, Tuple[Callable, bool, Callable[[], bool]]] = {
    # name: (decode, JPEG only, installed?)
    "libjpeg": (decode_libjpeg, True, lambda: _jpeg is not None),
    "simplejpeg": (decode_simplejpeg, True, lambda: _simplejpeg is not None),
    "torchvision": (decode_torchvision, False, _torchvision_decodes),
    "pil": (decode_pil, False, lambda: _optional("PIL.Image") is not None),
}


def available_decoders() -> List[str]:
    """The installed CPU decoders, fastest first (measured: benchmarks/bench_loader.py)."""
    return [name for name, (_, _, ok) in _DECODERS.items() if ok()]


def resolve_decoder(decoder: Optional[str]) -> str:
    """``None`` -> the fastest installed decoder; a name is checked."""
    names = available_decoders()
    if decoder is None:
        if not names:
            raise ImportError("no image decoder is installed: pip install pillow (or simplejpeg)")
        return names[0]
    if decoder not in _DECODERS:
        raise ValueError(f"decoder: expected one of {sorted(_DECODERS)} or None, got {decoder!r}")
    if decoder not in names:
        raise ValueError(f"decoder: {decoder!r} is not installed here (installed: {names})")
    return decoder


def decode(data, decoder: Optional[str] = None, *, name: str = "<bytes>") -> torch.Tensor:
    """Decodes an encoded image to a uint8 ``(3, H, W)`` RGB tensor (HWC memory).

    Args:
        data: the file's bytes (bytes, bytearray, memoryview, NumPy or a 1-D uint8 tensor).
        decoder: a name from :func:`available_decoders`, or None for the fastest.
        name: what error messages call the data (the file path).

    Raises:
        DecodeError: the data is not a decodable image (truncated, corrupt, unknown format).
    """
    decoder = resolve_decoder(decoder)
    fn, jpeg_only, _ = _DECODERS[decoder]
    data = _as_bytes(data)
    try:
        if jpeg_only and not is_jpeg(data):
            fn = decode_pil
        return fn(data)
    except DecodeError:
        raise
    except Exception as e:  # noqa: BLE001  (every decoder failure is reported the same way)
        raise DecodeError(f"{name}: cannot decode image ({type(e).__name__}: {e})") from e


# ----------------------------------------------------------------------------- probes and windows

def probe(data, *, name: str = "<bytes>") -> ImageInfo:
    """The display size, EXIF orientation and format from the header alone (no pixel decode)."""
    data = _as_bytes(data)
    try:
        if is_jpeg(data):
            h, w, _, orientation = _jpeg_header(data)
            fmt = "jpeg"
        else:
            img = _pil_open(data)
            w, h = img.size
            orientation, fmt = _pil_orientation(img), str(img.format).lower()
    except Exception as e:  # noqa: BLE001
        raise DecodeError(f"{name}: cannot read the image header ({type(e).__name__}: {e})") from e
    if orientation in (5, 6, 7, 8):
        h, w = w, h
    return ImageInfo(int(h), int(w), int(orientation), fmt)


def scale_for(boxes, out_size) -> int:
    """The coarsest DCT scale (1, 2, 4, 8) at which every box still covers ``out_size`` pixels.

    ``boxes``: (top, left, height, width) in full-resolution pixels; ``out_size``:
    (height, width) of the crop's output. The resize after a scaled decode then
    still only downsamples (or keeps the size), as it would from the full image.
    """
    s = 1
    for cand in SCALES[1:]:
        if all(h / cand >= out_size[0] and w / cand >= out_size[1] for _, _, h, w in boxes):
            s = cand
    return s


def decode_window(data, info: ImageInfo, window, scale: int, decoder: Optional[str] = None,
                  *, name: str = "<bytes>") -> Tuple[torch.Tensor, Tuple[float, ...]]:
    """Decodes the part of an image that ``window`` covers, at ``1 / scale`` where the decoder can.

    Args:
        data: the encoded image.
        info: its :func:`probe`.
        window: (top, left, height, width) in full-resolution display pixels.
        scale: the DCT scale to decode at (1, 2, 4, 8): libjpeg (region and scale)
            and simplejpeg / Pillow (scale) use it; other formats, other decoders
            and rotated (EXIF) JPEGs decode the full image and cut the window out.

    Returns:
        ``(image, geometry)``: a uint8 ``(3, h, w)`` tensor covering at least the
        window, and its geometry row ``(full_h, full_w, top, left, scale_y, scale_x)``
        (see :class:`datagen_gpu.data.WindowedImages`).
    """
    H, W = info.height, info.width
    top, left, h, w = window
    decoder = resolve_decoder(decoder)
    data = _as_bytes(data)
    try:
        if info.format == "jpeg" and info.orientation == 1 and decoder in ("libjpeg", "simplejpeg", "pil"):
            hwc, y0, x0, s = _jpeg_window(data, decoder, H, W, top, left, h, w, scale)
            if hwc is not None:
                return _to_tensor(hwc), (H, W, y0 * s, x0 * s, s, s)
        full = decode(data, decoder, name=name)
    except DecodeError:
        raise
    except Exception as e:  # noqa: BLE001
        raise DecodeError(f"{name}: cannot decode image ({type(e).__name__}: {e})") from e
    y0, x0 = int(math.floor(top)), int(math.floor(left))
    y1, x1 = min(H, int(math.ceil(top + h))), min(W, int(math.ceil(left + w)))
    return full[:, y0:y1, x0:x1].permute(1, 2, 0).contiguous().permute(2, 0, 1), (H, W, y0, x0, 1, 1)


def _scaled_rows(top, left, h, w, s, H, W):
    """The window in the 1/s image's pixels: (y0, x0, y1, x1), covering the full-resolution box
    and one more decoded pixel on each side (libjpeg's cropped decode upsamples chroma at the
    window's own edge columns as at an image edge; the crop never reads that pixel)."""
    Hs, Ws = -(-H // s), -(-W // s)
    y0, x0 = int(math.floor(top / s)) - 1, int(math.floor(left / s)) - 1
    y1, x1 = min(Hs, int(math.ceil((top + h) / s)) + 1), min(Ws, int(math.ceil((left + w) / s)) + 1)
    return max(0, y0), max(0, x0), y1, x1


def _jpeg_window(data, decoder, H, W, top, left, h, w, s):
    """(hwc, y0, x0, scale) for a JPEG window, or (None, ...) when this decoder cannot scale it."""
    _, _, cs, _ = _jpeg_header(data)
    if cs in ("cmyk", "ycck"):
        return None, 0, 0, 1
    y0, x0, y1, x1 = _scaled_rows(top, left, h, w, s, H, W)
    if decoder == "libjpeg":
        buf, ry, rx, rh, rw = _jpeg.decode(data, y0, x0, y1 - y0, x1 - x0, s)
        return np.frombuffer(buf, np.uint8).reshape(rh, rw, 3), ry, rx, s
    if decoder == "simplejpeg":
        full = _simplejpeg.decode_jpeg(bytes(_as_bytes(data)), colorspace="RGB", strict=True,
                                       min_height=-(-H // s), min_width=-(-W // s))
    else:
        img = _pil_open(data)
        img.draft("RGB", (max(1, W // s), max(1, H // s)))  # Pillow picks 1/s for these
        full = _pil_rgb(img)
    if full.shape[0] != -(-H // s) or full.shape[1] != -(-W // s):
        warnings.warn(f"{decoder} decoded a {full.shape[:2]} image at scale 1/{s} of {(H, W)}; "
                      "using the full-resolution decode", RuntimeWarning, stacklevel=3)
        return None, 0, 0, 1
    return np.ascontiguousarray(full[y0:y1, x0:x1]), y0, x0, s
