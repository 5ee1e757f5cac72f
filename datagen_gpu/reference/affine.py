"""Float64 references of the affine warp (``affine``, ``rotate``, ``affine_warp``).

The definitions, per sample, are torchvision.transforms.v2.functional's
``affine`` / ``rotate`` (expand=False) with every computation in float64:

- ``inverse_affine_matrix``: the inverse map of ``_get_inverse_affine_matrix``
  (rotation, scale, shears sx then sy, about ``center``, then the
  translation), moved to the pixel-index space the kernels use: output pixel
  (row i, column j) reads the source at column ``m0 j + m1 i + m2`` and row
  ``m3 j + m4 i + m5``, where source pixel (r, c) has its centre at
  (row r, column c). torchvision's grid is centred on the image (x = j -
  (W - 1) / 2) and grid_sample (align_corners=False) maps it back with the
  same half-pixel offset, which this folds into m2 and m5.
- ``affine_warp``: grid_sample with zero padding, then the fill. Nearest reads
  the pixel at the source coordinate rounded half to even (grid_sample's
  ``nearbyint``); bilinear weights the four neighbours (1 - fx, fx) x
  (1 - fy, fy), pixels outside the image contributing 0. With a fill value f
  the mask m (the same sampling of an all-ones image) blends it in:
  nearest ``f where m < 0.5``, bilinear ``(S - f) m + f`` (torchvision's
  formula); a NaN fill is torchvision's ``fill=None`` (zero padding, no blend).
"""
import math

import torch

__all__ = ["affine", "affine_warp", "inverse_affine_matrix", "rotate", "source_coords"]


def inverse_affine_matrix(angle, translate, scale, shear, center, height, width):
    """The 6 coefficients (floats) of one sample's inverse map in pixel-index space.

    ``angle`` and ``shear`` (sx, sy) in degrees, ``translate`` (tx, ty) and
    ``center`` (x, y) in pixels, ``center`` None for the image centre.
    """
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    tx, ty = translate
    # torchvision's centre is relative to the image centre
    cx, cy = (0.0, 0.0) if center is None else (center[0] - width * 0.5, center[1] - height * 0.5)
    a = math.cos(rot - sy) / math.cos(sy)
    b = -(a * math.tan(sx) + math.sin(rot))
    c = math.sin(rot - sy) / math.cos(sy)
    d = math.cos(rot) - c * math.tan(sx)
    m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
    m[2] = cx - m[0] * (cx + tx) - m[1] * (cy + ty)
    m[5] = cy - m[3] * (cx + tx) - m[4] * (cy + ty)
    # centred coordinates -> pixel indices, on both sides of the map
    ox, oy = (width - 1) * 0.5, (height - 1) * 0.5
    m[2] += ox - m[0] * ox - m[1] * oy
    m[5] += oy - m[3] * ox - m[4] * oy
    return m


def source_coords(matrix: torch.Tensor, height: int, width: int):
    """(x, y), each (B, H, W) float64: where output pixel (i, j) of sample b reads its source."""
    m = matrix.to(torch.float64)[:, :, None, None]
    i = torch.arange(height, dtype=torch.float64)[:, None]
    j = torch.arange(width, dtype=torch.float64)[None, :]
    return m[:, 0] * j + m[:, 1] * i + m[:, 2], m[:, 3] * j + m[:, 4] * i + m[:, 5]


def _gather(img, x, y):
    """(values (C, H, W) with zeros outside, inside (H, W) float64) of integer coordinates."""
    C, H, W = img.shape
    inside = (x >= 0) & (x <= W - 1) & (y >= 0) & (y <= H - 1)
    xi = x.clamp(0, W - 1).long()
    yi = y.clamp(0, H - 1).long()
    return img[:, yi, xi] * inside, inside.to(torch.float64)


def affine_warp(images: torch.Tensor, matrix: torch.Tensor, fill: torch.Tensor, interpolation):
    """Warp every sample by its inverse map ``matrix[b]`` (see the module docstring).

    Args:
        images: float64 (B, C, H, W) in [0, 1].
        matrix: (B, 6) inverse maps in pixel-index space.
        fill: (B, C) fill values in [0, 1] units; NaN: no fill (zero padding).
        interpolation: "nearest" / "bilinear" (or 0 / 1).
    """
    mode = {0: "nearest", 1: "bilinear"}.get(interpolation, interpolation)
    B, C, H, W = images.shape
    out = torch.empty_like(images, dtype=torch.float64)
    for b in range(B):
        img = images[b].to(torch.float64)
        x, y = (t[0] for t in source_coords(matrix[b:b + 1], H, W))
        if mode == "nearest":
            sample, mask = _gather(img, torch.round(x), torch.round(y))  # half to even
        elif mode == "bilinear":
            x0, y0 = torch.floor(x), torch.floor(y)
            fx, fy = x - x0, y - y0
            sample = torch.zeros(C, H, W, dtype=torch.float64)
            mask = torch.zeros(H, W, dtype=torch.float64)
            for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                              (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
                v, inside = _gather(img, x0 + dx, y0 + dy)
                sample += w * v
                mask += w * inside
        else:
            raise ValueError(f"interpolation: {interpolation!r}")
        for c in range(C):
            f = float(fill[b, c])
            if math.isnan(f):
                out[b, c] = sample[c]
            elif mode == "nearest":
                out[b, c] = torch.where(mask < 0.5, torch.full_like(mask, f), sample[c])
            else:
                out[b, c] = (sample[c] - f) * mask + f
    return out


def _pair(value, b):
    if torch.is_tensor(value) and value.dim() == 2:
        return [float(v) for v in value[b]]
    return [float(v) for v in value]


def affine(images, angle, translate, scale, shear, center=None, fill=None,
           interpolation="nearest"):
    """torchvision's ``affine`` per sample, in float64.

    ``angle``, ``scale``: (B,); ``translate``, ``shear``: (B, 2) or one pair;
    ``center``: None, a pair or (B, 2); ``fill``: None or (B, C) in [0, 1] units
    (NaN: no fill). Returns the warped float64 images.
    """
    B, C, H, W = images.shape
    rows = []
    for b in range(B):
        c = None if center is None else _pair(center, b)
        rows.append(inverse_affine_matrix(float(angle[b]), _pair(translate, b), float(scale[b]),
                                          _pair(shear, b), c, H, W))
    matrix = torch.tensor(rows, dtype=torch.float64).reshape(B, 6)
    if fill is None:
        fill = torch.full((B, C), float("nan"), dtype=torch.float64)
    return affine_warp(images, matrix, fill, interpolation)


def rotate(images, angle, center=None, fill=None, interpolation="nearest"):
    """torchvision's ``rotate`` (expand=False) per sample: ``affine`` by ``-angle``
    (counter-clockwise for positive angles), no translation, scale 1, no shear."""
    B = images.shape[0]
    zeros = torch.zeros(B, 2, dtype=torch.float64)
    return affine(images, -angle.to(torch.float64), zeros, torch.ones(B, dtype=torch.float64), zeros,
                  center, fill, interpolation)
