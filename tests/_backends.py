"""Backends every kernel test runs on (imported by the tests as ``_backends``).

- ``cpu``: torch.ops.datagen_gpu.<op> on CPU tensors (the C++ kernels);
- ``triton``: the Triton launcher on CPU tensors under TRITON_INTERPRET=1
  (no bfloat16: the interpreter has none);
- ``cuda``: torch.ops.datagen_gpu.<op> on CUDA tensors, when a GPU is present.
"""
import importlib.util
import os

import torch

if not torch.cuda.is_available():
    # Must happen before triton is first imported.
    os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402

import datagen_gpu  # noqa: E402,F401

HAS_TRITON = importlib.util.find_spec("triton") is not None
BACKENDS = ["cpu", "triton"] + (["cuda"] if torch.cuda.is_available() else [])
SHAPES = [(1, 3, 17, 29), (5, 3, 64, 48), (2, 3, 7, 130)]
DTYPES = [torch.uint8, torch.float16, torch.bfloat16, torch.float32]


def shape_for(backend, shape):
    """The Triton interpreter runs one program at a time: keep its shapes small."""
    if backend != "triton":
        return shape
    b, c, h, w = shape
    return (min(b, 2), c, min(h, 19), min(w, 37))


def _to(x, device):
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, (list, tuple)):
        return type(x)(_to(v, device) for v in x)
    return x


def run_op(backend, name, *args):
    """Run op ``name`` with op-level arguments on ``backend``; result on the CPU."""
    if backend == "cpu":
        return getattr(torch.ops.datagen_gpu, name)(*args)
    if backend == "triton":
        from datagen_gpu.kernels import triton_launcher

        return _to(triton_launcher(name)(*args), "cpu")
    if backend == "cuda":
        return _to(getattr(torch.ops.datagen_gpu, name)(*_to(args, "cuda")), "cpu")
    raise ValueError(backend)


def skip_unsupported(backend, *dtypes):
    if backend == "triton":
        if not HAS_TRITON:
            pytest.skip("triton is not installed")
        if torch.bfloat16 in dtypes:
            pytest.skip("the Triton interpreter has no bfloat16")
