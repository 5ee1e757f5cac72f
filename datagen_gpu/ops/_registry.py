"""Helpers to register fake and CUDA kernels for the C++-defined ops."""
import importlib

import torch

NAMESPACE = "datagen_gpu"
_LIB = torch.library.Library(NAMESPACE, "IMPL")


def register_fake(name):
    """Decorator: the fake (meta) implementation of ``datagen_gpu::name``."""
    return torch.library.register_fake(f"{NAMESPACE}::{name}")


def register_cuda(name, module):
    """Bind ``datagen_gpu::name`` on CUDA to ``datagen_gpu.kernels.<module>.<name>``.

    The kernels module (and triton) is imported on the first CUDA call only.
    """
    cache = {}

    def cuda_impl(*args):
        fn = cache.get("fn")
        if fn is None:
            try:
                mod = importlib.import_module(f"datagen_gpu.kernels.{module}")
            except ImportError as exc:
                raise RuntimeError(
                    f"datagen_gpu::{name} on CUDA needs triton (pip install triton): {exc}"
                ) from exc
            fn = cache["fn"] = getattr(mod, name)
        return fn(*args)

    _LIB.impl(name, cuda_impl, "CUDA")


def fake_like(images, out_dtype):
    """Output of an elementwise-shaped op: same shape and layout as ``images``."""
    from .._checks import is_channels_last

    fmt = torch.channels_last if is_channels_last(images) else torch.contiguous_format
    return torch.empty(images.shape, dtype=out_dtype, device=images.device, memory_format=fmt)
