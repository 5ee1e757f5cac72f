"""Argument checks shared by the functional API and the Triton launchers.

Every failure raises ValueError or TypeError naming the argument and what
was expected. Value-range checks on parameter tensors run on CPU tensors
only (free there); on CUDA they would force a host synchronization, so the
kernels instead clamp every index they derive from a parameter and stay
memory-safe for any value.

One module family: this package holds the checks every op shares; its modules
hold each family's own (``color``, ``mixing``, ``audio``, the policy ops'), and
``sync`` the host-transfer recorder the tests and the GPU check use.
"""
from numbers import Integral, Number
from typing import Optional

import torch

IMAGE_DTYPES = (torch.uint8, torch.float16, torch.bfloat16, torch.float32)


def host_checks(value: torch.Tensor) -> bool:
    """Whether value checks run on ``value``: a CPU tensor, outside torch.compile
    tracing (a traced graph must not branch on tensor values; the C++ ops check
    the values again when they run)."""
    return value.device.type == "cpu" and not torch.compiler.is_compiling()


def check_images(images, name="images", channels=None):
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(images).__name__}")
    if images.dim() != 4:
        raise ValueError(f"{name}: expected a (B, C, H, W) tensor, got shape {tuple(images.shape)}")
    if images.dtype not in IMAGE_DTYPES:
        raise TypeError(f"{name}: expected uint8, float16, bfloat16 or float32, got {images.dtype}")
    if channels is not None and images.shape[1] != channels:
        raise ValueError(f"{name}: expected {channels} channels, got {images.shape[1]}")


def check_out_dtype(out_dtype, name="out_dtype"):
    if out_dtype not in IMAGE_DTYPES:
        raise TypeError(f"{name}: expected one of uint8, float16, bfloat16, float32, got {out_dtype}")


def resolve_out_dtype(out_dtype: Optional[torch.dtype], x: torch.Tensor, check=None) -> torch.dtype:
    """``out_dtype``, or the input's dtype when None; ``check`` (default: an image
    dtype) validates an explicit one."""
    if out_dtype is None:
        return x.dtype
    if not isinstance(out_dtype, torch.dtype):
        raise TypeError(f"out_dtype: expected a torch.dtype, got {type(out_dtype).__name__}")
    (check or check_out_dtype)(out_dtype)
    return out_dtype


def is_channels_last(t: torch.Tensor) -> bool:
    return (t.dim() == 4 and t.shape[1] > 1 and not t.is_contiguous()
            and t.is_contiguous(memory_format=torch.channels_last))


def is_integral(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _tensor_kind_error(value_dtype: torch.dtype, dtype: torch.dtype) -> Optional[str]:
    """What a parameter of ``dtype`` expects, when a tensor of ``value_dtype`` is not it."""
    is_int = not (value_dtype.is_floating_point or value_dtype.is_complex or value_dtype == torch.bool)
    if dtype == torch.bool:
        return None if value_dtype == torch.bool else "a bool tensor"
    if dtype.is_floating_point:
        return None if value_dtype.is_floating_point or is_int else "a floating point tensor"
    return None if is_int else "an integer tensor"


def as_param(value, images, name, dtype, default=None):
    """A per-sample parameter as a contiguous (B,) tensor of ``dtype`` on the images' device.

    ``value`` may be None (``default`` is used), a Python number (broadcast to
    every sample), or a tensor of shape () or (B,). Float parameters take float or
    integer tensors, integer parameters integer tensors and ints (not bools),
    bool parameters bool tensors.
    """
    batch = images.shape[0]
    if value is None:
        value = default
        if value is None:
            raise ValueError(f"{name}: a value is required")
    integer = not (dtype.is_floating_point or dtype == torch.bool)
    if isinstance(value, (bool, Number)):
        if integer and not is_integral(value):
            raise TypeError(f"{name}: expected an int or an integer tensor, got {value!r}")
        return torch.full((batch,), value, dtype=dtype, device=images.device)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a number or a tensor of shape ({batch},), "
                        f"got {type(value).__name__}")
    want = _tensor_kind_error(value.dtype, dtype)
    if want is not None:
        raise TypeError(f"{name}: expected {want}, got {value.dtype}")
    if value.device != images.device:
        raise ValueError(f"{name}: expected device {images.device} (the images' device), "
                         f"got {value.device}")
    if value.dim() == 0:
        value = value.expand(batch)
    if value.dim() != 1 or value.shape[0] != batch:
        raise ValueError(f"{name}: expected shape ({batch},), got {tuple(value.shape)}")
    return value.to(dtype).contiguous()


def check_tensor(value, name, shape, dtype, device, *, owner="images", shape_note=""):
    """Strict check of an op-level tensor argument (what the C++ kernels check): a
    contiguous tensor of ``shape`` (None: any size there), ``dtype``, on ``device``
    (the device of the ``owner`` argument)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a tensor, got {type(value).__name__}")
    if value.dim() != len(shape) or any(s is not None and v != s for v, s in zip(value.shape, shape)):
        dims = ", ".join("M" if s is None else str(s) for s in shape)
        want = f"({dims},)" if len(shape) == 1 else f"({dims})"
        raise ValueError(f"{name}: expected shape {want}{shape_note}, got {tuple(value.shape)}")
    if value.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype}, got {value.dtype}")
    if value.device != device:
        raise ValueError(f"{name}: expected device {device} (the {owner}' device), got {value.device}")
    if not value.is_contiguous():
        raise ValueError(f"{name}: expected a contiguous tensor")


def check_param(value, images, name, dtype):
    """Strict check of an op-level per-sample parameter: (B,) ``dtype`` on the images' device."""
    check_tensor(value, name, (images.shape[0],), dtype, images.device)


def check_range(value: torch.Tensor, name: str, low=None, high=None, *,
                low_inclusive=True, high_inclusive=True, what=None):
    """Value-range check of a parameter tensor; runs only on CPU tensors, eagerly (host_checks)."""
    if not host_checks(value) or value.numel() == 0:
        return
    if value.dtype != torch.bool:  # the common, valid case in one reduction (NaN propagates)
        mn, mx = (t.item() for t in torch.aminmax(value))
        ok = mn == mn and mx == mx
        if low is not None:
            ok = ok and (mn >= low if low_inclusive else mn > low)
        if high is not None:
            ok = ok and (mx <= high if high_inclusive else mx < high)
        if ok:
            return
    bad = torch.zeros_like(value, dtype=torch.bool)
    if low is not None:
        bad |= (value < low) if low_inclusive else (value <= low)
    if high is not None:
        bad |= (value > high) if high_inclusive else (value >= high)
    if value.is_floating_point():
        bad |= torch.isnan(value)
    if bool(bad.any()):
        lo = "(-inf" if low is None else ("[" if low_inclusive else "(") + f"{low}"
        hi = "inf)" if high is None else f"{high}" + ("]" if high_inclusive else ")")
        first = value[bad][0].item()
        raise ValueError(f"{name}: expected values in {lo}, {hi}{' (' + what + ')' if what else ''}, "
                         f"got {first}")


def check_kernel_size(kernel_size, images):
    """A positive odd int with k // 2 < H and < W (reflect padding)."""
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int):
        raise TypeError(f"kernel_size: expected an int, got {type(kernel_size).__name__}")
    if kernel_size <= 0 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size: expected a positive odd integer, got {kernel_size}")
    _, _, H, W = images.shape
    if images.numel() > 0 and (kernel_size // 2 >= H or kernel_size // 2 >= W):
        raise ValueError(f"kernel_size: {kernel_size} needs kernel_size // 2 < H and < W for "
                         f"reflect padding, got H = {H}, W = {W}")


def check_channel_param(value, channels, device, name):
    """An op-level per-channel parameter (normalize's mean / std): a contiguous
    (channels,) float32 tensor on the images' device (what the C++ ops check)."""
    check_tensor(value, name, (channels,), torch.float32, device, shape_note=", one value per channel")