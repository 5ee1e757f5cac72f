"""Deterministic transforms: Normalize, ToDtype (same forward signature as the random ones)."""
import torch

from .. import functional as F
from ..functional._constants import device_constant
from ._base import RandomTransform

_FLOATS = (torch.float32, torch.float16, torch.bfloat16)


class Normalize(RandomTransform):
    """``(x - mean[c]) / std[c]``; uint8 inputs are scaled to [0, 1] first.

    Unlike torchvision (float inputs only), uint8 batches are accepted and
    converted in the same pass. The output is ``out_dtype`` (default: the
    input's dtype for floats, float32 for uint8).
    """

    APPLY_ATTRS = ("mean", "std", "out_dtype")

    def __init__(self, mean, std, out_dtype=None, **kwargs):
        super().__init__(**kwargs)
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]
        if len(self.mean) != len(self.std):
            raise ValueError(f"std: expected {len(self.mean)} values (as many as mean), got {len(self.std)}")
        if any(s == 0 for s in self.std):
            raise ValueError(f"std: expected non-zero values, got {self.std}")
        if out_dtype is not None and out_dtype not in _FLOATS:
            raise TypeError(f"out_dtype: expected a floating point dtype, got {out_dtype}")
        self.out_dtype = out_dtype

    def channel_tensors(self, device):
        """(mean, std) as (C,) float32 tensors on ``device``, without a host-to-device copy.

        Device constants cached per (values, device, stream) (functional/_constants.py):
        a warm call makes nothing, and a cold one writes them with fill kernels, so even
        a first call inside a CUDA graph capture works. Under torch.compile the lists are
        returned (constants).
        """
        if torch.compiler.is_compiling():
            return self.mean, self.std
        return (device_constant(self.mean, device, torch.float32),
                device_constant(self.std, device, torch.float32))

    def make_params(self, x, sample_ids):
        return {}

    def apply_params(self, x, params):
        out_dtype = self.out_dtype or (x.dtype if x.dtype in _FLOATS else torch.float32)
        mean, std = self.channel_tensors(x.device)
        return F.normalize(x, mean, std, out_dtype=out_dtype)


class ToDtype(RandomTransform):
    """Convert to ``dtype``; with ``scale=True`` uint8 <-> float maps [0, 255] <-> [0, 1]."""

    APPLY_ATTRS = ("dtype", "scale")

    def __init__(self, dtype, scale=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(dtype, torch.dtype):
            raise TypeError(f"dtype: expected a torch.dtype, got {dtype!r}")
        self.dtype, self.scale = dtype, bool(scale)

    def make_params(self, x, sample_ids):
        return {}

    def apply_params(self, x, params):
        return F.to_dtype(x, self.dtype, scale=self.scale)
