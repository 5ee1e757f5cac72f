"""Built-in sample images for the demo: real photos or procedural images.

Two sources, both offline:

- ``"skimage"``: colour photographs that ship inside scikit-image's wheel
  (``skimage/data/*.png|jpg``: astronaut, coffee, chelsea, rocket, ...). The
  files are read straight from the installed package; scikit-image's
  fetchers, which may download, are never called. Needs scikit-image.
- ``"procedural"``: images this module generates from a seed with plain
  tensor arithmetic (smooth gradients, shapes, periodic textures, smooth
  noise). Deterministic, needs nothing beyond torch.

Every image is a ``(3, H, W)`` uint8 tensor; sizes differ between images (a
ragged list, as photos are).
"""
import importlib.util
import math
import os

import torch

# Colour photographs bundled in scikit-image's wheel (file name in skimage/data).
SKIMAGE_FILES = (
    "astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg",
    "motorcycle_left.png", "hubble_deep_field.jpg", "retina.jpg", "ihc.png",
    "color.png", "camera.png", "coins.png", "brick.png",
)


def _skimage_data_dir():
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "data")


def _decode(path):
    """An image file -> (H, W[, C]) uint8 numpy array (Pillow if present, else skimage.io)."""
    try:
        from PIL import Image
    except ImportError:
        from skimage import io

        return io.imread(path)
    import numpy as np

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB") if img.mode not in ("L", "RGB") else img)


def _to_chw_rgb(array) -> torch.Tensor:
    import numpy as np

    t = torch.from_numpy(np.array(array, copy=True))  # decoders may return read-only arrays
    if t.dtype != torch.uint8:  # e.g. 16-bit files: rescale to 0..255
        t = (t.float() / float(t.max().clamp_min(1)) * 255).round().to(torch.uint8)
    if t.dim() == 2:
        t = t.unsqueeze(-1)
    t = t[..., :3]
    if t.shape[-1] == 1:
        t = t.expand(-1, -1, 3)
    return t.permute(2, 0, 1).contiguous()


def skimage_images(limit=None):
    """The bundled scikit-image photos as a list of (3, H, W) uint8 tensors.

    Returns an empty list when scikit-image is not installed. Files missing
    from the installed version are skipped (nothing is downloaded).
    """
    data_dir = _skimage_data_dir()
    if data_dir is None:
        return []
    images = []
    for name in SKIMAGE_FILES:
        path = os.path.join(data_dir, name)
        if not os.path.isfile(path):
            continue
        try:
            images.append(_to_chw_rgb(_decode(path)))
        except Exception:  # an unreadable file must not break the demo
            continue
        if limit is not None and len(images) >= limit:
            break
    return images


# --------------------------------------------------------------------------- procedural


def _grid(h, w):
    y = torch.linspace(0.0, 1.0, h).view(h, 1).expand(h, w)
    x = torch.linspace(0.0, 1.0, w).view(1, w).expand(h, w)
    return y, x


def _rand(gen, *shape):
    return torch.rand(shape, generator=gen)


def _gradient(h, w, gen):
    """Two-colour linear blend along a random direction plus a radial vignette."""
    y, x = _grid(h, w)
    angle = float(_rand(gen, 1)) * 2 * math.pi
    t = (x * math.cos(angle) + y * math.sin(angle))
    t = (t - t.min()) / (t.max() - t.min())
    c0, c1 = _rand(gen, 3, 1, 1), _rand(gen, 3, 1, 1)
    img = c0 * (1 - t) + c1 * t
    r = ((x - 0.5) ** 2 + (y - 0.5) ** 2).sqrt()
    return img * (1.0 - 0.6 * r.clamp(max=0.75))


def _shapes(h, w, gen):
    """Filled discs and rectangles of random colours over a gradient."""
    img = _gradient(h, w, gen) * 0.6
    y, x = _grid(h, w)
    for k in range(7):
        colour = _rand(gen, 3, 1, 1)
        cy, cx, size = (float(v) for v in _rand(gen, 3))
        size = 0.08 + 0.22 * size
        if k % 2 == 0:
            mask = ((y - cy) ** 2 + ((x - cx) * w / h) ** 2) < size ** 2
        else:
            mask = ((y - cy).abs() < size * 0.7) & ((x - cx).abs() < size)
        img = torch.where(mask, colour, img)
    return img


def _texture(h, w, gen):
    """Interfering sinusoids (a periodic texture) with per-channel phases."""
    y, x = _grid(h, w)
    f = 6 + 20 * _rand(gen, 4)
    phase = _rand(gen, 3, 1, 1) * 2 * math.pi
    a = torch.sin(2 * math.pi * (f[0] * x + f[1] * y) + phase)
    b = torch.sin(2 * math.pi * (f[2] * x - f[3] * y) + 0.5 * phase)
    return 0.5 + 0.25 * (a + b)


def _checker(h, w, gen):
    """A coloured checkerboard with a smooth hue ramp across it."""
    y, x = _grid(h, w)
    n = int(4 + 8 * float(_rand(gen, 1)))
    cells = ((y * n).floor() + (x * n * w / h).floor()) % 2
    c0, c1 = _rand(gen, 3, 1, 1), _rand(gen, 3, 1, 1)
    ramp = torch.stack([x, y, 1 - x]) * 0.4
    return (c0 * cells + c1 * (1 - cells)) * 0.6 + ramp


def _plasma(h, w, gen):
    """Smooth colour noise: a coarse random grid upsampled bicubically."""
    coarse = _rand(gen, 1, 3, 6, 6)
    fine = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)
    return fine[0]


def _rings(h, w, gen):
    """Concentric colour rings around a random centre."""
    y, x = _grid(h, w)
    cy, cx, f = (float(v) for v in _rand(gen, 3))
    r = ((y - cy) ** 2 + ((x - cx) * w / h) ** 2).sqrt()
    phase = torch.tensor([0.0, 2.1, 4.2]).view(3, 1, 1)
    return 0.5 + 0.5 * torch.cos(2 * math.pi * (3 + 9 * f) * r + phase)


_GENERATORS = (_gradient, _shapes, _texture, _checker, _plasma, _rings)
# (height, width) of each generated image: varied, like photos.
_SIZES = ((256, 320), (300, 400), (288, 288), (360, 270), (240, 360), (320, 256))


def procedural_images(count=12, seed=0):
    """``count`` deterministic procedural images as (3, H, W) uint8 tensors."""
    gen = torch.Generator().manual_seed(seed)
    images = []
    for i in range(count):
        h, w = _SIZES[i % len(_SIZES)]
        img = _GENERATORS[i % len(_GENERATORS)](h, w, gen)
        images.append((img.clamp(0, 1) * 255).round().to(torch.uint8).contiguous())
    return images


def sample_images(source="auto", count=12):
    """(list of (3, H, W) uint8 tensors, source name).

    ``source`` is ``"skimage"``, ``"procedural"`` or ``"auto"`` (scikit-image's
    photos when it is installed, else procedural images).
    """
    if source not in ("auto", "skimage", "procedural"):
        raise ValueError(f"source: expected 'auto', 'skimage' or 'procedural', got {source!r}")
    if source in ("auto", "skimage"):
        photos = skimage_images(limit=count)
        if photos:
            return photos, "skimage"
        if source == "skimage":
            raise RuntimeError("source: scikit-image (with its bundled sample photos) is not installed")
    return procedural_images(count), "procedural"
