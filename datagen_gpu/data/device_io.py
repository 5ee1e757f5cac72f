"""Moving batches to the device and decoding undecoded files there.

``to_device`` copies a stacked batch from pinned memory with one non-blocking
copy, and packs a ragged batch into one pinned buffer first (one copy for the
whole batch, each image keeping its memory order, CHW or HWC), so the host
never waits on the device. ``decode_encoded`` decodes a batch of files
(``decode="gpu"``) on the device in one call, with the CPU decoder for files
the device decoder does not take.

GPU decoder choice: nvImageCodec (``nvidia-nvimgcodec-cu12``) when installed:
it decodes a whole list in one batched call, uses the hardware JPEG engines of
A100 / H100-class GPUs where present and nvJPEG's CUDA decoder elsewhere, takes
more formats than JPEG, applies EXIF orientation, and is a small pip package
(no torchvision CUDA build needed). Otherwise ``torchvision.io.decode_jpeg``
with ``device="cuda"`` (batched nvJPEG) for JPEG files. Otherwise, and for the
CPU device, the CPU decoder (``decode.decode``).
"""
import importlib
from collections import deque
from typing import List

import torch

from .._windowed import WindowedImages
from .decode import decode, is_jpeg


def _memory_order(img: torch.Tensor):
    """(flat contiguous memory of img, rebuild(flat) -> (C, H, W) view of it)."""
    c, h, w = img.shape
    if img.is_contiguous():
        return img.reshape(-1), lambda flat: flat.view(c, h, w)
    if c > 1 and img.permute(1, 2, 0).is_contiguous():  # HWC memory
        return img.permute(1, 2, 0).reshape(-1), lambda flat: flat.view(h, w, c).permute(2, 0, 1)
    return img.contiguous().reshape(-1), lambda flat: flat.view(c, h, w)


def _pinned(t: torch.Tensor) -> torch.Tensor:
    return t if t.is_pinned() else t.pin_memory()


def to_device(images, device: torch.device):
    """A batch tensor or a ragged list (``WindowedImages`` kept) on ``device``, copied asynchronously."""
    if isinstance(images, torch.Tensor):
        if images.device == device:
            return images
        return _pinned(images).to(device, non_blocking=True)
    if len(images) == 0 or images[0].device == device:
        return images
    parts = [_memory_order(t) for t in images]
    total = sum(p[0].numel() for p in parts)
    host = torch.empty(total, dtype=images[0].dtype, pin_memory=True)
    offsets, off = [], 0
    for flat, _ in parts:
        host[off:off + flat.numel()].copy_(flat)
        offsets.append(off)
        off += flat.numel()
    dev = host.to(device, non_blocking=True)
    out = [rebuild(dev[o:o + flat.numel()]) for o, (flat, rebuild) in zip(offsets, parts)]
    if isinstance(images, WindowedImages):  # the geometry too, so the crop reads it on the device
        return WindowedImages(out, _pinned(images.geometry).to(device, non_blocking=True))
    return out


def record_stream(obj, stream) -> None:
    """``record_stream`` on every CUDA tensor in a (nested) batch structure."""
    if isinstance(obj, torch.Tensor):
        if obj.is_cuda:
            obj.record_stream(stream)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            record_stream(v, stream)
    elif isinstance(obj, dict):
        for v in obj.values():
            record_stream(v, stream)


def _nvimgcodec():
    try:
        return importlib.import_module("nvidia.nvimgcodec")
    except Exception:  # noqa: BLE001
        return None


_DECODERS = {}
_IN_FLIGHT = deque()  # (event, nvImageCodec images): kept alive until the copies out of them ran


def _decode_nvimgcodec(files: List[torch.Tensor], device: torch.device):
    """nvImageCodec's batched decode on the current stream; None where it cannot decode a file.

    The decoded images live in nvImageCodec's memory: they are copied into torch tensors on
    the current stream, and the nvImageCodec images are released once an event after those
    copies has completed (checked without blocking at the next call).
    """
    nvimgcodec = _nvimgcodec()
    if nvimgcodec is None:
        return None
    while _IN_FLIGHT and _IN_FLIGHT[0][0].query():
        _IN_FLIGHT.popleft()
    dec = _DECODERS.get(device)
    if dec is None:
        dec = _DECODERS[device] = nvimgcodec.Decoder(device_id=device.index or 0)
    params = nvimgcodec.DecodeParams(apply_exif_orientation=True, color_spec=nvimgcodec.ColorSpec.SRGB,
                                     sample_format=nvimgcodec.SampleFormat.I_RGB)
    stream = torch.cuda.current_stream(device)
    decoded = dec.decode([nvimgcodec.CodeStream(f.numpy().tobytes()) for f in files], params=params,
                         cuda_stream=stream.cuda_stream)
    out = []
    for img in decoded:
        if img is None:
            out.append(None)
        else:  # (H, W, 3) uint8 on the device (__cuda_array_interface__), copied into torch memory
            hwc = torch.as_tensor(img, device=device).clone()
            out.append(hwc.permute(2, 0, 1))
    event = torch.cuda.Event()
    event.record(stream)
    _IN_FLIGHT.append((event, decoded))
    return out


def _decode_torchvision(files: List[torch.Tensor], device: torch.device):
    try:
        from torchvision.io import ImageReadMode, decode_jpeg
    except Exception:  # noqa: BLE001
        return None
    jpeg = [k for k, f in enumerate(files) if is_jpeg(f)]
    out = [None] * len(files)
    if jpeg:
        # torchvision's nvJPEG decode runs on the current stream into torch's allocator
        decoded = decode_jpeg([files[k] for k in jpeg], mode=ImageReadMode.RGB, device=device,
                              apply_exif_orientation=True)
        for k, img in zip(jpeg, decoded):
            out[k] = img
    return out


def decode_encoded(files: List[torch.Tensor], device: torch.device) -> List[torch.Tensor]:
    """Decodes a batch of files (1-D uint8 CPU tensors) to (3, H, W) uint8 images on ``device``."""
    out = None
    if device.type == "cuda":
        out = _decode_nvimgcodec(files, device) or _decode_torchvision(files, device)
    if out is None:
        out = [None] * len(files)
    for k, img in enumerate(out):
        if img is None:  # the device decoder does not take it (or there is none): the CPU decoder
            out[k] = decode(files[k]).to(device, non_blocking=True) if device.type == "cuda" \
                else decode(files[k])
    return out
