"""Minimal PNG I/O for the demo, so Pillow stays optional.

``write_png`` uses Pillow when it is installed and otherwise encodes an
8-bit RGB PNG itself (zlib + struct, filter type 0 on every row).
``read_png`` decodes the 8-bit, non-interlaced RGB/RGBA/grey PNGs such
writers produce (all five row filters), enough to check the demo's output
without Pillow.
"""
import struct
import zlib

import torch

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(image: torch.Tensor) -> bytes:
    """(H, W, 3) uint8 tensor -> PNG file bytes (pure Python: zlib + struct)."""
    image = _check(image)
    h, w, _ = image.shape
    rows = torch.cat([torch.zeros(h, 1, dtype=torch.uint8), image.reshape(h, w * 3)], dim=1)
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.numpy().tobytes(), 6)) + _chunk(b"IEND", b""))


def _check(image):
    if not isinstance(image, torch.Tensor) or image.dtype != torch.uint8 or image.dim() != 3 \
            or image.shape[2] != 3:
        raise ValueError("image: expected an (H, W, 3) uint8 tensor")
    return image.contiguous().cpu()


def write_png(path, image: torch.Tensor, *, use_pillow=True) -> None:
    """Write an (H, W, 3) uint8 tensor to ``path`` as PNG (Pillow if available)."""
    image = _check(image)
    if use_pillow:
        try:
            from PIL import Image
        except ImportError:
            pass
        else:
            Image.fromarray(image.numpy(), "RGB").save(path, format="PNG")
            return
    with open(path, "wb") as f:
        f.write(encode_png(image))


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path) -> torch.Tensor:
    """Decode an 8-bit non-interlaced PNG to an (H, W, C) uint8 tensor."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != _SIGNATURE:
        raise ValueError(f"{path}: not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if zlib.crc32(kind + body) & 0xFFFFFFFF != struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]:
            raise ValueError(f"{path}: bad CRC in chunk {kind!r}")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise ValueError(f"{path}: no IHDR chunk")
    w, h, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"{path}: only 8-bit non-interlaced grey/RGB(A) PNGs are supported")
    raw = zlib.decompress(b"".join(idat))
    stride = w * channels
    out = bytearray(h * stride)
    prev = bytearray(stride)
    for y in range(h):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 0xFF
            elif ftype == 2:
                line[x] = (line[x] + b) & 0xFF
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                line[x] = (line[x] + _paeth(a, b, c)) & 0xFF
            elif ftype != 0:
                raise ValueError(f"{path}: unknown row filter {ftype}")
        out[y * stride:(y + 1) * stride] = line
        prev = line
    return torch.frombuffer(out, dtype=torch.uint8).reshape(h, w, channels).clone()
