"""Image files written by the data tests (Pillow encodes them)."""
import io
import os

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")


def photo(h, w, seed=0):
    """A smooth random colour image (H, W, 3) uint8: compresses like a photo."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (h // 16 + 2, w // 16 + 2, 3)).astype(np.uint8)
    img = Image.fromarray(coarse).resize((w, h), Image.BICUBIC)
    arr = np.asarray(img).astype(np.int16) + rng.integers(-6, 7, (h, w, 3))
    return np.clip(arr, 0, 255).astype(np.uint8)


def jpeg_bytes(arr, quality=90, mode="RGB", **kwargs) -> bytes:
    img = Image.fromarray(arr)
    if mode != img.mode:
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, **kwargs)
    return buf.getvalue()


def write(path, data: bytes) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def make_folder(root, sizes_per_class, seed=0):
    """root/<class>/<k>.jpg for {class: [(h, w), ...]}; returns [(path, label)] in ImageFolder order."""
    out = []
    for c, name in enumerate(sorted(sizes_per_class)):
        for k, (h, w) in enumerate(sizes_per_class[name]):
            path = os.path.join(root, name, f"{k:03d}.jpg")
            write(path, jpeg_bytes(photo(h, w, seed=seed + 100 * c + k)))
            out.append((path, c))
    return out


def views_by_id(loader):
    """{sample id: (view a, view b, label)} over one pass of a two-view loader."""
    out = {}
    for (a, b), labels, ids in loader:
        for k, sid in enumerate(ids.tolist()):
            out[sid] = (a[k].clone(), b[k].clone(), int(labels[k]))
    return out
