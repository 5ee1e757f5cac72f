"""Decoding image files: every decoder, every odd file, probes and window decodes."""
import io

import numpy as np
import pytest
import torch

from _data_files import Image, jpeg_bytes, photo
from datagen_gpu.data import DecodeError, available_decoders, decode, decode_window, probe
from datagen_gpu.data.decode import orient, scale_for

DECODERS = available_decoders()


def pil_rgb(data):
    from PIL import ImageOps
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    return np.asarray(img.convert("RGB"))


def hwc(t):
    assert t.dtype == torch.uint8 and t.dim() == 3 and t.shape[0] == 3
    return t.permute(1, 2, 0).numpy()


def test_pil_is_always_available():
    assert "pil" in DECODERS


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("shape,subsampling", [((37, 53), 0), ((301, 451), 2), ((64, 97), 1)])
def test_jpeg_matches_pillow(decoder, shape, subsampling):
    data = jpeg_bytes(photo(*shape, seed=shape[0]), subsampling=subsampling)
    out = hwc(decode(data, decoder))
    ref = pil_rgb(data)
    assert out.shape == ref.shape
    # the same libjpeg-turbo ISLOW decode everywhere: bit-identical (at most one level between builds)
    assert np.abs(out.astype(int) - ref).max() <= 1


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("mode,fmt", [("L", "JPEG"), ("CMYK", "JPEG"), ("RGBA", "PNG"), ("P", "PNG"),
                                      ("L", "PNG"), ("RGB", "BMP"), ("RGB", "WEBP")])
def test_modes_and_formats_become_rgb(decoder, mode, fmt):
    img = Image.fromarray(photo(33, 47, seed=3)).convert(mode)
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt)
    except (KeyError, OSError):
        pytest.skip(f"Pillow here cannot write {fmt}")
    data = buf.getvalue()
    out = decode(data, decoder)
    ref = pil_rgb(data)
    assert out.shape == (3, 33, 47)
    tol = 0 if fmt != "JPEG" or decoder == "pil" else 1
    assert np.abs(hwc(out).astype(int) - ref).max() <= tol


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied(decoder, orientation):
    img = Image.fromarray(photo(40, 64, seed=orientation))
    exif = img.getexif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=95, exif=exif)
    data = buf.getvalue()
    ref = pil_rgb(data)
    out = hwc(decode(data, decoder))
    assert out.shape == ref.shape
    assert np.abs(out.astype(int) - ref).max() <= 1
    info = probe(data)
    assert (info.height, info.width, info.orientation) == (ref.shape[0], ref.shape[1], orientation)


def test_orient_is_exif_transpose():
    a = np.arange(2 * 3 * 1).reshape(2, 3, 1)
    # the 8 orientations are the 8 symmetries of the rectangle, all different
    outs = {k: orient(a, k) for k in range(1, 9)}
    assert len({o.tobytes() + bytes(o.shape) for o in outs.values()}) == 8
    assert outs[6].shape == (3, 2, 1) and outs[6][0, 0, 0] == a[1, 0, 0]  # 90 degrees clockwise


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_jpeg_raises_naming_the_file(decoder, cut):
    data = jpeg_bytes(photo(120, 160, seed=7))
    with pytest.raises(DecodeError, match="broken.jpg"):
        decode(data[:int(len(data) * cut)], decoder, name="broken.jpg")


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\xff\xd8\xff\xe0garbage" * 10])
def test_garbage_raises(decoder, data):
    with pytest.raises(DecodeError, match="x.bin"):
        decode(data, decoder, name="x.bin")
    if len(data) < 4:
        with pytest.raises(DecodeError, match="x.bin"):
            probe(data, name="x.bin")


def test_bad_decoder_name():
    with pytest.raises(ValueError, match="decoder"):
        decode(jpeg_bytes(photo(8, 8)), "nope")


def test_input_kinds():
    data = jpeg_bytes(photo(20, 30))
    ref = decode(data)
    for kind in (bytearray(data), memoryview(data), np.frombuffer(data, np.uint8),
                 torch.frombuffer(bytearray(data), dtype=torch.uint8)):
        assert torch.equal(decode(kind), ref)


def test_scale_for():
    assert scale_for([(0, 0, 224, 224)], (224, 224)) == 1
    assert scale_for([(0, 0, 900, 1000)], (224, 224)) == 4
    assert scale_for([(0, 0, 900, 1000), (0, 0, 300, 300)], (224, 224)) == 1
    assert scale_for([(0, 0, 4000, 4000)], (224, 224)) == 8


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("scale", [1, 2, 4, 8])
def test_decode_window_covers_and_matches(decoder, scale):
    data = jpeg_bytes(photo(301, 451, seed=11), subsampling=2)
    info = probe(data)
    window = (37.0, 53.5, 150.0, 201.0)
    img, (H, W, top, left, sy, sx) = decode_window(data, info, window, scale, decoder)
    assert (H, W) == (301, 451)
    # the decoded window covers the requested one
    assert top <= window[0] and left <= window[1]
    assert top + img.shape[1] * sy >= min(H, window[0] + window[2])
    assert left + img.shape[2] * sx >= min(W, window[1] + window[3])
    full = hwc(decode(data, decoder))
    if sy == 1:  # a window of the full decode
        t, l = int(top), int(left)
        ref = full[t:t + img.shape[1], l:l + img.shape[2]]
        # libjpeg's cropped decode upsamples chroma at the window's own left / right
        # column as at an image edge: those two columns may differ; crop_plan.MARGIN
        # keeps every box at least 2 pixels inside the window, so no crop reads them
        inner = slice(1, -1) if decoder == "libjpeg" else slice(None)
        assert np.abs(hwc(img)[:, inner].astype(int) - ref[:, inner]).max() <= 1
    else:  # a scaled decode: close to the box-filtered full decode
        assert sy in (2, 4, 8) and sy == scale
        s = int(sy)
        t, l = int(top), int(left)
        h, w = img.shape[1], img.shape[2]
        region = full[t:t + h * s, l:l + w * s].astype(float)
        hh, ww = region.shape[0] // s, region.shape[1] // s
        pooled = region[:hh * s, :ww * s].reshape(hh, s, ww, s, 3).mean(axis=(1, 3))
        err = np.abs(hwc(img)[:hh, :ww].astype(float) - pooled)
        assert err.mean() < 4.0, err.mean()
