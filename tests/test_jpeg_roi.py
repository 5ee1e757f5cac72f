"""datagen_gpu._jpeg: header, full / DCT-scaled / region-of-interest decoding.

Pillow is the oracle (it decodes with libjpeg-turbo's defaults too: accurate
integer IDCT, fancy upsampling).  Findings these tests hold:
- full decodes and 1/2, 1/4, 1/8 decodes equal Pillow's (``draft``) bit for bit;
- every pixel of the requested window equals the same-scale full decode;
- the returned buffer may be wider than the window (libjpeg crops at iMCU
  columns, plus a one-column margin where chroma is interpolated); only its
  outermost columns may differ from the full decode (see
  test_roi_matches_full_decode).
"""
import functools
import io
import math
import threading

import numpy as np
import pytest

jpeg = pytest.importorskip("datagen_gpu._jpeg")
Image = pytest.importorskip("PIL.Image")

SIZES = [(37, 53), (301, 451), (768, 1024)]  # (height, width)
KINDS = ["444", "422", "420", "gray", "progressive"]
SUBSAMPLING = {"444": 0, "422": 1, "420": 2}


def _pixels(height, width, seed=0):
    """A gradient with noise: smooth enough to be photo-like, noisy enough
    that neighbouring chroma samples differ (which is where crops can differ)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 255 // max(width - 1, 1), yy * 255 // max(height - 1, 1), (xx + yy) * 7 % 256], -1)
    return np.clip(base + rng.integers(-40, 40, size=(height, width, 3)), 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=None)
def encode(height, width, kind="420"):
    image = Image.fromarray(_pixels(height, width))
    options = {"quality": 90}
    if kind == "gray":
        image = image.convert("L")
    elif kind == "progressive":
        options.update(progressive=True, subsampling=2)
    else:
        options["subsampling"] = SUBSAMPLING[kind]
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    return out.getvalue()


@functools.lru_cache(maxsize=None)
def cmyk_jpeg():
    out = io.BytesIO()
    Image.fromarray(_pixels(30, 40)).convert("CMYK").save(out, "JPEG", quality=90)
    return out.getvalue()


def decode(data, **kwargs):
    buf, y0, x0, h, w = jpeg.decode(data, **kwargs)
    assert isinstance(buf, bytearray) and len(buf) == h * w * 3
    return np.frombuffer(buf, np.uint8).reshape(h, w, 3), (y0, x0, h, w)


def pillow(data, scale=1):
    image = Image.open(io.BytesIO(data))
    if scale > 1:
        width, height = image.size
        # draft picks the largest scale s with size[i] <= original[i] // s; the
        # floor sizes request exactly 1/scale, which yields ceil(W/s) x ceil(H/s)
        # (asking for the ceil sizes would fall back to 1/1 on odd sizes).
        image.draft("RGB", (max(width // scale, 1), max(height // scale, 1)))
        assert image.size == (math.ceil(width / scale), math.ceil(height / scale))
    return np.asarray(image.convert("RGB"))


def _cases():
    return [pytest.param(h, w, kind, id=f"{h}x{w}-{kind}") for h, w in SIZES for kind in KINDS]


# ------------------------------------------------------------------ header --


@pytest.mark.parametrize("height,width,kind", _cases())
def test_header(height, width, kind):
    gray = kind == "gray"
    assert jpeg.header(encode(height, width, kind)) == (
        height,
        width,
        1 if gray else 3,
        "gray" if gray else "ycc",
        1,
    )


def test_header_cmyk():
    assert jpeg.header(cmyk_jpeg()) == (30, 40, 4, "cmyk", 1)


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview, lambda b: np.frombuffer(b, np.uint8)])
def test_buffer_inputs(wrap):
    data = encode(37, 53)
    assert jpeg.header(wrap(data))[:2] == (37, 53)
    np.testing.assert_array_equal(decode(wrap(data))[0], decode(data)[0])


def test_non_buffer_input():
    with pytest.raises(TypeError):
        jpeg.decode("not bytes")
    with pytest.raises(TypeError):
        jpeg.header(None)


def _with_exif_orientation(data, orientation):
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def _with_app1(data, payload):
    """Inserts an APP1 segment holding payload right after SOI."""
    assert data[:2] == b"\xff\xd8"
    return data[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + data[2:]


def _tiff_ifd0(order, entries):
    """'Exif\\0\\0' + a TIFF header in byte order 'II'/'MM' + IFD0 at offset 8."""
    endian = "little" if order == b"II" else "big"
    out = b"Exif\0\0" + order + (42).to_bytes(2, endian) + (8).to_bytes(4, endian)
    out += len(entries).to_bytes(2, endian)
    for tag, type_, count, value in entries:
        field = value.to_bytes(2, endian) + b"\0\0" if type_ == 3 else value.to_bytes(4, endian)
        out += tag.to_bytes(2, endian) + type_.to_bytes(2, endian) + count.to_bytes(4, endian) + field
    return out + (0).to_bytes(4, endian)


def test_orientation():
    data = encode(37, 53)
    assert jpeg.header(data)[4] == 1  # no EXIF
    rotated = _with_exif_orientation(data, 6)
    assert Image.open(io.BytesIO(rotated)).getexif()[0x0112] == 6
    assert jpeg.header(rotated) == (37, 53, 3, "ycc", 6)
    # decode returns the stored pixel order; applying the orientation is the caller's job
    np.testing.assert_array_equal(decode(rotated)[0], pillow(rotated))


@pytest.mark.parametrize("order", [b"II", b"MM"])
def test_orientation_byte_orders(order):
    data = encode(37, 53)
    other_tag = (0x010F, 2, 1, 0)  # Make, before the orientation entry
    for value in range(1, 9):
        assert jpeg.header(_with_app1(data, _tiff_ifd0(order, [other_tag, (0x0112, 3, 1, value)])))[4] == value
    # the first Exif segment decides; XMP (also APP1) is skipped
    xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"
    assert jpeg.header(_with_app1(_with_app1(data, _tiff_ifd0(order, [(0x0112, 3, 1, 8)])), xmp))[4] == 8


@pytest.mark.parametrize(
    "payload",
    [
        _tiff_ifd0(b"II", [(0x0112, 3, 1, 9)]),  # out of range
        _tiff_ifd0(b"II", [(0x0112, 3, 1, 0)]),
        _tiff_ifd0(b"MM", [(0x0112, 3, 2, 6)]),  # count != 1
        _tiff_ifd0(b"II", [(0x0112, 3, 1, 6)])[:-10],  # entry cut short
        b"Exif\0\0XX\0\x2a\0\0\0\x08",  # bad byte order mark
        b"Exif\0\0II\x2a\0\xff\xff\xff\x7f",  # IFD0 offset past the end
        b"Exif\0\0",
    ],
)
def test_orientation_malformed(payload):
    assert jpeg.header(_with_app1(encode(37, 53), payload))[4] == 1


# ------------------------------------------------------- decode vs Pillow --


@pytest.mark.parametrize("height,width,kind", _cases())
def test_full_decode_matches_pillow(height, width, kind):
    data = encode(height, width, kind)
    image, (y0, x0, h, w) = decode(data)
    assert (y0, x0, h, w) == (0, 0, height, width)
    np.testing.assert_array_equal(image, pillow(data))  # bit-exact


@pytest.mark.parametrize("scale", [2, 4, 8])
@pytest.mark.parametrize("height,width,kind", _cases())
def test_scaled_decode_matches_pillow_draft(height, width, kind, scale):
    data = encode(height, width, kind)
    image, window = decode(data, scale=scale)
    assert window == (0, 0, math.ceil(height / scale), math.ceil(width / scale))
    np.testing.assert_array_equal(image, pillow(data, scale))  # bit-exact


def test_gray_decodes_to_rgb():
    image, _ = decode(encode(37, 53, "gray"))
    np.testing.assert_array_equal(image[..., 0], image[..., 1])
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


# ------------------------------------------------------------ ROI decoding --


def _windows(height, width, rng, count):
    """Edge cases plus random windows in (top, left, height, width) form."""
    out = [
        (0, 0, height, width),
        (0, 0, 1, 1),
        (height - 1, width - 1, 1, 1),
        (height // 2, width // 2, -1, -1),
        (min(16, height - 1), min(16, width - 1), 8, 8),  # starts on an iMCU boundary
        (1, 1, max(height - 2, 1), max(width - 2, 1)),
        (0, min(8, width - 1), height, min(16, width - min(8, width - 1))),  # ends on a boundary
    ]
    for _ in range(count):
        top, left = int(rng.integers(0, height)), int(rng.integers(0, width))
        out.append((top, left, int(rng.integers(1, height - top + 1)), int(rng.integers(1, width - left + 1))))
    return out


@pytest.mark.parametrize("fast", [False, True], ids=["accurate", "fast"])
@pytest.mark.parametrize("scale", [1, 2, 4, 8])
@pytest.mark.parametrize("height,width,kind", _cases())
def test_roi_matches_full_decode(height, width, kind, scale, fast):
    data = encode(height, width, kind)
    full, _ = decode(data, scale=scale, fast=fast)
    H, W = full.shape[:2]
    rng = np.random.default_rng(height * width + scale)
    for top, left, wh, ww in _windows(H, W, rng, count=12):
        roi, (y0, x0, h, w) = decode(data, top=top, left=left, height=wh, width=ww, scale=scale, fast=fast)
        wh = H - top if wh == -1 else min(wh, H - top)
        ww = W - left if ww == -1 else min(ww, W - left)
        assert (y0, h) == (top, wh)
        assert x0 <= left and left + ww <= x0 + w <= W
        # Every pixel of the requested window is exact.
        np.testing.assert_array_equal(roi[:, left - x0 : left - x0 + ww], full[top : top + wh, left : left + ww])
        # The buffer beyond the window is exact too, except its outermost
        # columns where they are not the image edge: with fancy upsampling of
        # horizontally subsampled chroma (4:2:2 / 4:2:0 at 1/1, 4:2:2 at 1/2
        # and 1/4) libjpeg interpolates the crop's first / last column against
        # a replicated edge sample instead of its real neighbour.  That error
        # is a quarter of the neighbouring chroma step through the color
        # conversion, so it has no useful bound (up to 64 seen on this noisy
        # image); the decoder widens the crop by one column on each side so
        # that those columns fall outside the requested window.
        ref = full[y0 : y0 + h, x0 : x0 + w]
        inner = slice(1 if x0 > 0 else 0, w - 1 if x0 + w < W else w)
        np.testing.assert_array_equal(roi[:, inner], ref[:, inner])
        if kind in ("444", "gray") or fast or scale == 8:  # nothing interpolated
            np.testing.assert_array_equal(roi, ref)


def test_roi_alignment():
    """x0 moves left to an iMCU boundary (16 px for 4:2:0 at 1/1, 8 px for 4:4:4)."""
    data = encode(301, 451, "444")
    assert decode(data, left=16, width=8)[1] == (0, 16, 301, 8)
    assert decode(data, left=21, width=8)[1] == (0, 16, 301, 13)
    assert decode(data, top=7, left=3, height=5, width=5, scale=2)[1] == (7, 0, 5, 8)
    # 4:2:0 at 1/1 interpolates chroma: one more column each side, then align
    data = encode(301, 451, "420")
    assert decode(data, left=21, width=8)[1] == (0, 16, 301, 14)
    assert decode(data, left=16, width=16)[1] == (0, 0, 301, 33)
    assert decode(data, left=16, width=16, fast=True)[1] == (0, 16, 301, 16)  # no interpolation


def test_window_clipping():
    data = encode(37, 53)
    full, _ = decode(data)
    image, window = decode(data, top=30, left=50, height=100, width=100)
    y0, x0, h, w = window
    assert (y0, h) == (30, 7) and x0 <= 50 and x0 + w == 53
    np.testing.assert_array_equal(image[:, 50 - x0 :], full[30:, 50:])
    assert decode(data, top=36)[1] == (36, 0, 1, 53)
    assert decode(data, scale=2, top=18, height=5)[1] == (18, 0, 1, 27)  # 1/2 of 37 rows is 19
    np.testing.assert_array_equal(decode(data, height=-1, width=-1)[0], full)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(top=37),
        dict(left=53),
        dict(top=19, scale=2),  # scaled coordinates: the image is 19 x 27 there
        dict(left=7, scale=8),
        dict(top=-1),
        dict(left=-5),
        dict(height=0),
        dict(width=0),
        dict(height=-2),
        dict(width=-7),
        dict(scale=3),
        dict(scale=0),
        dict(scale=16),
    ],
)
def test_bad_windows(kwargs):
    with pytest.raises(ValueError):
        jpeg.decode(encode(37, 53), **kwargs)


# ---------------------------------------------------------- damaged input --


@pytest.mark.parametrize("fraction", [0.5, 0.9])
@pytest.mark.parametrize("kind", ["420", "444", "progressive", "gray"])
def test_truncated_raises(kind, fraction):
    """libjpeg only warns on a premature end and pads with gray; that is an error here."""
    data = encode(301, 451, kind)
    cut = data[: int(len(data) * fraction)]
    for scale in (1, 8):
        with pytest.raises(ValueError, match="Premature end"):
            jpeg.decode(cut, scale=scale)
    with pytest.raises(ValueError):
        jpeg.decode(cut, top=250, left=100, height=40, width=40)
    assert jpeg.header(cut)[:2] == (301, 451)  # the header is intact


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage bytes, not a JPEG" * 8,
        bytes(1000),
        np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        b"\xff\xd8",
        b"\xff\xd8\xff\xdb\x00\x43",
    ],
    ids=["empty", "text", "zeros", "random", "soi", "short-dqt"],
)
def test_garbage_raises(data):
    with pytest.raises(ValueError):
        jpeg.decode(data)
    with pytest.raises(ValueError):
        jpeg.header(data)


def test_garbage_after_header_raises():
    data = bytearray(encode(301, 451, "progressive"))
    rng = np.random.default_rng(2)
    data[len(data) // 3 :] = rng.integers(0, 256, len(data) - len(data) // 3, dtype=np.uint8).tobytes()
    with pytest.raises(ValueError):
        jpeg.decode(data)


def test_cmyk_unsupported():
    assert issubclass(jpeg.UnsupportedError, ValueError)
    with pytest.raises(jpeg.UnsupportedError, match="cmyk"):
        jpeg.decode(cmyk_jpeg())
    with pytest.raises(jpeg.UnsupportedError):
        jpeg.decode(cmyk_jpeg(), top=3, left=3, height=4, width=4, scale=2)


def test_errors_do_not_leak_state():
    """Errors on one call leave nothing behind for the next."""
    good = encode(37, 53)
    expected = decode(good)[0]
    for _ in range(50):
        for bad in (good[: len(good) // 2], b"xx", cmyk_jpeg()):
            with pytest.raises(ValueError):
                jpeg.decode(bad)
        np.testing.assert_array_equal(decode(good)[0], expected)


# ----------------------------------------------------------------- threads --


def test_threads_give_same_results():
    """decode releases the GIL; two threads decoding at once (sharing one input
    buffer) get the same bytes as serial calls.  A correctness check only."""
    jobs = [
        (encode(768, 1024, "420"), dict()),
        (encode(768, 1024, "progressive"), dict(top=100, left=200, height=224, width=224)),
        (encode(301, 451, "422"), dict(scale=2)),
        (encode(768, 1024, "420"), dict(top=100, left=37, height=50, width=100, scale=4)),
        (encode(301, 451, "gray"), dict(fast=True)),
    ]
    expected = [jpeg.decode(data, **kw) for data, kw in jobs]
    results = [[], []]
    errors = []
    barrier = threading.Barrier(2)

    def work(slot):
        try:
            barrier.wait()
            for _ in range(4):
                for data, kw in jobs:
                    results[slot].append(jpeg.decode(data, **kw))
                with pytest.raises(ValueError):
                    jpeg.decode(jobs[0][0][:5000])
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for slot in range(2):
        assert results[slot] == expected * 4
