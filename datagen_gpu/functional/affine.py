"""Per-sample affine warps: ``affine``, ``rotate`` and their inverse maps ``affine_matrix``.

Every sample gets its own angle, translation, scale, shear, centre and fill,
and the whole batch is warped in one kernel launch (``datagen_gpu::affine_warp``):
the learned augmentation policies run every sample through it, a sample that
drew no geometric operation with the identity map (an exact copy).

Semantics: ``torchvision.transforms.v2.functional.affine`` / ``rotate``
(``expand=False``) applied to sample ``i`` with parameters ``[i]``. The
matrix math runs here as float64 tensor ops (vectorized over the batch, no
host synchronization) and gives, per sample, six float32 coefficients of the
inverse map in pixel-index space:

    output pixel (row i, column j) reads the source at
    x = m0 j + m1 i + m2 (column),  y = m3 j + m4 i + m5 (row),

where source pixel (r, c) has its centre at (y, x) = (r, c): torchvision's
centred grid and grid_sample's ``align_corners=False`` offsets are folded into
m2 and m5. The kernels evaluate the map in float32 (C++: float64) and sample:

- nearest: the pixel at (round(y), round(x)), rounded half to even (grid_sample's
  ``nearbyint``); outside the image: the fill.
- bilinear: ``S = sum of w_k v_k`` over the four neighbours, w = (1 - fx, fx) x
  (1 - fy, fy), neighbours outside the image contributing 0, and
  ``out = S m + f (1 - m)`` with m the sum of the weights of the neighbours
  inside (torchvision's mask channel: ``(S - f) m + f``).
- ``fill=None`` is torchvision's ``fill=None``: zero padding and no blend
  (``out = S``); for nearest that is the same as ``fill=0``, for bilinear it
  is not (torchvision's fill 0 darkens the border by ``m``).

uint8 inputs are computed in [0, 1] and rounded once, half up, where torchvision
rounds half to even: within one level. Float inputs: float32 arithmetic (a
source coordinate within ~1e-5 pixel of a rounding tie may pick the other
neighbour than a float64 evaluation). The output has the input's size,
dtype (or ``out_dtype``) and memory format.
"""
from numbers import Number

import torch

from .._checks import check_images, check_range, resolve_out_dtype
from ._constants import device_constant

_MODES = {"nearest": 0, "bilinear": 1}


def _interpolation(interpolation) -> int:
    """"nearest" / "bilinear", or torchvision's InterpolationMode (by its value) -> 0 / 1."""
    value = getattr(interpolation, "value", interpolation)
    if not isinstance(value, str):
        raise TypeError("interpolation: expected 'nearest', 'bilinear' or an InterpolationMode, "
                        f"got {type(interpolation).__name__}")
    if value.lower() not in _MODES:
        raise ValueError(f"interpolation: expected 'nearest' or 'bilinear', got {value!r}")
    return _MODES[value.lower()]


def _device_of(values):
    for v in values:
        if isinstance(v, torch.Tensor):
            return v.device
        if isinstance(v, (list, tuple)):
            d = _device_of(v)
            if d is not None:
                return d
    return None


def _batch_of(named):
    """The batch size of the per-sample arguments, {name: (value, pair)}: the first size of a
    (B,) tensor, a (B, 2) tensor for a pair, or a (B,) tensor inside a pair; 1 when every
    argument is a number or a pair of numbers."""
    batch = None
    for name, (value, pair) in named.items():
        if isinstance(value, torch.Tensor):
            sizes = [value.shape[0]] if value.dim() == (2 if pair else 1) else []
        elif pair and isinstance(value, (list, tuple)):
            sizes = [v.shape[0] for v in value if isinstance(v, torch.Tensor) and v.dim() == 1]
        else:
            sizes = []
        for size in sizes:
            if batch is not None and size != batch:
                raise ValueError(f"{name}: expected {batch} samples (as the other arguments), "
                                 f"got {size}")
            batch = size
    return 1 if batch is None else batch


def _tensor(value, name, device):
    if value.device != device:
        raise ValueError(f"{name}: expected device {device} (the images' device), got {value.device}")
    if value.dtype == torch.bool or not (value.is_floating_point() or value.dtype in
                                         (torch.int32, torch.int64, torch.int16, torch.uint8)):
        raise TypeError(f"{name}: expected a floating point tensor, got {value.dtype}")
    return value.to(torch.float64)


def _per_sample(value, name, batch, device) -> torch.Tensor:
    """A number, a () or a (B,) tensor -> (B,) float64."""
    if isinstance(value, bool) or not isinstance(value, (Number, torch.Tensor)):
        raise TypeError(f"{name}: expected a number or a tensor of shape ({batch},), "
                        f"got {type(value).__name__}")
    if isinstance(value, Number):
        return torch.full((batch,), float(value), dtype=torch.float64, device=device)
    value = _tensor(value, name, device)
    if value.dim() == 0:
        return value.expand(batch)
    if value.shape != (batch,):
        raise ValueError(f"{name}: expected shape ({batch},), got {tuple(value.shape)}")
    return value


def _pairs(value, name, batch, device, number=None) -> torch.Tensor:
    """A (B, 2) tensor, or a pair whose items are numbers / () / (B,) tensors -> (B, 2) float64.
    ``number``: how a single number expands (shear: (s, 0)); a 1-item sequence means (s, s)."""
    if number is not None and isinstance(value, (Number, torch.Tensor)) and not isinstance(value, bool) \
            and (not isinstance(value, torch.Tensor) or value.dim() == 0):
        value = number(value)
    if isinstance(value, torch.Tensor) and value.dim() == 2:
        value = _tensor(value, name, device)
        if value.shape != (batch, 2):
            raise ValueError(f"{name}: expected shape ({batch}, 2), got {tuple(value.shape)}")
        return value
    if isinstance(value, torch.Tensor) and value.dim() == 1:
        value = tuple(value.unbind())  # views: no copy, no sync
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name}: expected a pair or a tensor of shape ({batch}, 2), "
                        f"got {type(value).__name__}")
    if number is not None and len(value) == 1:
        value = (value[0], value[0])
    if len(value) != 2:
        raise ValueError(f"{name}: expected a pair (2 values) or a tensor of shape ({batch}, 2), "
                         f"got {len(value)} values")
    if all(isinstance(v, Number) and not isinstance(v, bool) for v in value):
        # cached on the device: no host-to-device copy
        pair = device_constant([float(v) for v in value], device, torch.float64)
        return pair.expand(batch, 2)
    return torch.stack([_per_sample(v, name, batch, device) for v in value], dim=1)


def _cos_sin(degrees: torch.Tensor):
    """cos and sin of float64 angles in degrees, exact at multiples of 90 (so that 180 degrees
    is an exact flip and 360 the identity), reduced modulo 360 as torchvision's rotate does."""
    r = torch.remainder(degrees, 360.0)
    rad = torch.deg2rad(r)
    q = r / 90.0
    k = torch.round(q)
    exact = q == k
    k = torch.remainder(k, 4.0)
    cos = torch.where(exact, (k == 0).double() - (k == 2).double(), torch.cos(rad))
    sin = torch.where(exact, (k == 1).double() - (k == 3).double(), torch.sin(rad))
    return cos, sin


def _matrix(angle, translate, scale, shear, center, height, width):
    """(B, 6) float32 inverse maps from (B,) / (B, 2) float64 parameters (center: (B, 2) or None)."""
    # the four angles in one (B, 4) call: rotation, rotation minus the y shear, y and x shears
    cos, sin = _cos_sin(torch.stack([angle, angle - shear[:, 1], shear[:, 1], shear[:, 0]], dim=1))
    (cos_rot, cos_d, cos_sy, cos_sx), (sin_rot, sin_d, _, sin_sx) = cos.unbind(1), sin.unbind(1)
    tan_sx = sin_sx / cos_sx
    # rotation-scale-shear without the scale, as torchvision's _get_inverse_affine_matrix
    a = cos_d / cos_sy
    b = -(a * tan_sx + sin_rot)
    c = sin_d / cos_sy
    d = cos_rot - c * tan_sx
    # its inverse (det 1) with the scale, about the centre (relative to the image centre)
    m0, m1, m3, m4 = d / scale, -b / scale, -c / scale, a / scale
    if center is None:
        cx = cy = torch.zeros_like(angle)
    else:
        cx, cy = center[:, 0] - width * 0.5, center[:, 1] - height * 0.5
    px, py = cx + translate[:, 0], cy + translate[:, 1]
    m2 = cx - m0 * px - m1 * py
    m5 = cy - m3 * px - m4 * py
    # centred coordinates -> pixel indices (grid_sample, align_corners=False), both sides
    ox, oy = (width - 1) * 0.5, (height - 1) * 0.5
    m2 = m2 + ox - m0 * ox - m1 * oy
    m5 = m5 + oy - m3 * ox - m4 * oy
    return torch.stack([m0, m1, m2, m3, m4, m5], dim=1).to(torch.float32)


def _check_size(value, name):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name}: expected a non-negative int, got {value}")


def _params(angle, translate, scale, shear, center, batch, device):
    angle = _per_sample(angle, "angle", batch, device)
    translate = _pairs(translate, "translate", batch, device)
    scale = _per_sample(scale, "scale", batch, device)
    check_range(scale, "scale", 0.0, None, low_inclusive=False)
    shear = _pairs(shear, "shear", batch, device, number=lambda s: (s, 0.0))
    if center is not None:
        center = _pairs(center, "center", batch, device)
    return angle, translate, scale, shear, center


def affine_matrix(angle, translate, scale, shear, center, height: int, width: int) -> torch.Tensor:
    """The per-sample inverse maps of ``affine``, in the pixel-index space of the kernels.

    Row b holds (m0, ..., m5): output pixel (row i, column j) of sample b reads
    the source at column ``m0 j + m1 i + m2`` and row ``m3 j + m4 i + m5``
    (source pixel centres at integer coordinates). Computed in float64 (the
    inverse of torchvision's ``T C RSS C^-1``, RSS = rotation x scale x shear y
    x shear x, with torchvision's image-centred coordinates and grid_sample's
    half-pixel offsets folded in), returned as float32.

    Args:
        angle: (B,) or a number: rotation in degrees (clockwise, as torchvision's affine).
        translate: (B, 2) or a pair (tx, ty), in pixels.
        scale: (B,) or a number, > 0.
        shear: (B, 2), a pair (sx, sy), or a number s meaning (s, 0), in degrees.
        center: None (the image centre), a pair (x, y) in pixels, or (B, 2).
        height: image height H.
        width: image width W.

    Returns:
        (B, 6) float32 on the arguments' device; B is the tensors' batch size (1 when
        every argument is a number or a pair).

    Shape:
        (B,) / (B, 2) parameters -> (B, 6).

    Example:
        >>> m = affine_matrix(torch.tensor([0.0, 90.0]), (0, 0), 1.0, 0.0, None, 32, 32)
        >>> m[1].tolist()  # a clockwise quarter turn: reads x = i, y = 31 - j
        [0.0, 1.0, 0.0, -1.0, 0.0, 31.0]
    """
    _check_size(height, "height")
    _check_size(width, "width")
    batch = _batch_of({"angle": (angle, False), "translate": (translate, True),
                       "scale": (scale, False), "shear": (shear, True), "center": (center, True)})
    device = _device_of([angle, translate, scale, shear, center]) or torch.device("cpu")
    return _matrix(*_params(angle, translate, scale, shear, center, batch, device), height, width)


def _fill(fill, images) -> torch.Tensor:
    """(B, C) float32 fill in [0, 1] units (uint8 levels / 255); NaN where there is none."""
    B, C = images.shape[:2]
    device = images.device
    unit = 1.0 / 255.0 if images.dtype == torch.uint8 else 1.0
    if fill is None:
        return torch.full((B, C), float("nan"), dtype=torch.float32, device=device)
    if isinstance(fill, bool):
        raise TypeError("fill: expected None, a number, a sequence of numbers or a tensor, got bool")
    if isinstance(fill, Number):
        return torch.full((B, C), float(fill) * unit, dtype=torch.float32, device=device)
    if isinstance(fill, (list, tuple)):
        if not all(isinstance(v, Number) and not isinstance(v, bool) for v in fill):
            raise TypeError(f"fill: expected numbers, got {list(fill)}")
        if len(fill) not in (1, C):
            raise ValueError(f"fill: expected 1 or {C} values (one per channel), got {len(fill)}")
        values = device_constant([float(v) * unit for v in fill], device, torch.float32)
        return values.expand(B, C).contiguous()
    if not isinstance(fill, torch.Tensor):
        raise TypeError("fill: expected None, a number, a sequence of numbers or a tensor, "
                        f"got {type(fill).__name__}")
    value = _tensor(fill, "fill", device)
    if value.dim() == 0:
        value = value.reshape(1)
    if not ((value.dim() == 1 and value.shape[0] in (1, C))
            or (value.dim() == 2 and value.shape[0] == B and value.shape[1] in (1, C))):
        raise ValueError(f"fill: expected one value, {C} values (one per channel) or shape "
                         f"({B}, {C}), got shape {tuple(value.shape)}")
    return (value * unit).to(torch.float32).expand(B, C).contiguous()


def affine(images: torch.Tensor, angle, translate, scale, shear, *, interpolation="nearest", fill=0,
           center=None, out_dtype=None) -> torch.Tensor:
    """Warp each sample by its own affine map: rotate, scale and shear about the centre, translate.

    ``torchvision.transforms.v2.functional.affine(images[i], angle[i], translate[i],
    scale[i], shear[i], interpolation, fill[i], center[i])`` for every sample, in one
    launch. The map and the sampling are defined in the module docstring: inverse map
    ``M_i = (T C RSS C^-1)^-1`` (``affine_matrix``), each output pixel reading the
    source at ``M_i`` applied to its centre, nearest (rounded half to even) or
    bilinear, pixels outside the image from ``fill``.

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32, NCHW or channels-last.
        angle: (B,) or a number: rotation in degrees, clockwise (torchvision's affine).
        translate: (B, 2) or a pair (tx, ty), in pixels (items may be (B,) tensors).
        scale: (B,) or a number, > 0 (checked for CPU tensors).
        shear: (B, 2), a pair (sx, sy) or a number s meaning (s, 0), in degrees.
        interpolation: "nearest" (default) or "bilinear", or torchvision's InterpolationMode.
        fill: the value of pixels mapped from outside the image, in the input's value
            range (0..255 for uint8, 0..1 for floats): a number for every channel, a
            sequence of C numbers, a (C,) or (B, C) tensor, or None (torchvision's
            ``fill=None``: zero padding without the bilinear mask blend).
        center: None (the image centre), a pair (x, y) in pixels, or (B, 2).
        out_dtype: output dtype (default: the input's). Floats are in [0, 1].

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> x = torch.rand(3, 3, 32, 32)
        >>> y = affine(x, torch.tensor([0.0, 30.0, -10.0]), torch.tensor([[0, 0], [4, -2], [0, 0]]),
        ...            1.0, torch.tensor([[0.0, 0.0], [0.0, 0.0], [15.0, 0.0]]),
        ...            interpolation="bilinear", fill=[0.5, 0.5, 0.5])
    """
    check_images(images)
    mode = _interpolation(interpolation)
    B, C, H, W = images.shape
    matrix = _matrix(*_params(angle, translate, scale, shear, center, B, images.device), H, W)
    return torch.ops.datagen_gpu.affine_warp(images, matrix, _fill(fill, images), mode,
                                             resolve_out_dtype(out_dtype, images))


def rotate(images: torch.Tensor, angle, *, interpolation="nearest", fill=0, center=None,
           out_dtype=None) -> torch.Tensor:
    """Rotate each sample by ``angle[i]`` degrees counter-clockwise about its centre.

    ``torchvision.transforms.v2.functional.rotate(images[i], angle[i], interpolation,
    expand=False, center, fill)`` per sample: ``affine`` by ``-angle`` (torchvision's
    rotate and affine turn in opposite directions), no translation, scale 1, no shear.
    Multiples of 90 degrees are exact (180: a flip of both axes).

    Args:
        images: (B, C, H, W) uint8 / float16 / bfloat16 / float32, NCHW or channels-last.
        angle: (B,) or a number, in degrees, counter-clockwise.
        interpolation: "nearest" (default) or "bilinear", or torchvision's InterpolationMode.
        fill: as in ``affine``.
        center: None (the image centre), a pair (x, y) in pixels, or (B, 2).
        out_dtype: output dtype (default: the input's).

    Shape:
        images (B, C, H, W) -> (B, C, H, W), same memory format.

    Example:
        >>> y = rotate(torch.rand(2, 3, 16, 16), torch.tensor([30.0, -45.0]), fill=0.5)
    """
    check_images(images)
    angle = _per_sample(angle, "angle", images.shape[0], images.device)
    return affine(images, -angle, (0.0, 0.0), 1.0, (0.0, 0.0), interpolation=interpolation,
                  fill=fill, center=center, out_dtype=out_dtype)
