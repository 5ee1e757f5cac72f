"""Backends every kernel test runs on (imported by the tests as ``_backends``).

- ``cpu``: torch.ops.datagen_gpu.<op> on CPU tensors (the C++ kernels);
- ``triton``: the Triton launcher called directly. Without CUDA it runs on CPU
  tensors under TRITON_INTERPRET=1 (set here, before triton is imported); the
  interpreter has bfloat16 but truncates float32 -> bfloat16 where the GPU
  rounds to nearest even, so bfloat16 outputs get one more ulp of tolerance
  (``datagen_gpu.testing.tolerance``). With CUDA (and TRITON_INTERPRET unset)
  it runs the compiled kernels on CUDA tensors: ``run_op`` moves the arguments
  there and the result back;
- ``cuda``: torch.ops.datagen_gpu.<op> on CUDA tensors, when a GPU is present.

Every backend returns CPU tensors. Tests never hand CPU tensors to a compiled
kernel: they go through ``run_op`` (or ``device_of``); tests of argument checks
on values (run on CPU tensors only, no host sync on CUDA) ask ``value_checks``
or call ``skip_without_value_checks``.
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
TORCHVISION_ENV = "DATAGEN_TEST_TORCHVISION"


def torchvision_or_skip(module: str = "torchvision.transforms.v2.functional"):
    """Import a torchvision module for a parity test, or skip the test.

    torchvision's transforms are plain Python over torch ops. Where torchvision is not
    installed (its wheels pin another torch, a multi-GB CUDA build), scripts/setup.sh
    puts its Python package alone in a directory (``pip install --no-deps --target``)
    and scripts/test.sh names it in $DATAGEN_TEST_TORCHVISION: it is imported from
    there without its compiled operators (detection ops, video, decoders: none of
    which the parity tests use); its fake-op registrations, which need them, are
    skipped.
    """
    extra = os.environ.get(TORCHVISION_ENV, "")
    if extra and importlib.util.find_spec("torchvision") is None and os.path.isdir(extra):
        import sys
        import types

        sys.modules.setdefault("torchvision._meta_registrations",
                               types.ModuleType("torchvision._meta_registrations"))
        sys.path.append(extra)
    return pytest.importorskip(module)
BACKENDS = ["cpu", "triton"] + (["cuda"] if torch.cuda.is_available() else [])
SHAPES = [(1, 3, 17, 29), (5, 3, 64, 48), (2, 3, 7, 130)]
DTYPES = [torch.uint8, torch.float16, torch.bfloat16, torch.float32]


def interpreted(backend="triton") -> bool:
    """True when ``backend`` runs Triton kernels on the interpreter (CPU tensors)."""
    return backend == "triton" and os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def device_of(backend) -> str:
    """The device a backend's kernels read: ``cuda`` for ``cuda`` and compiled
    ``triton``, else ``cpu``."""
    if backend == "cuda" or (backend == "triton" and not interpreted(backend)):
        return "cuda"
    return "cpu"


def shape_for(backend, shape):
    """The Triton interpreter runs one program at a time: keep its shapes small
    (multi-tile paths are reached with lowered block sizes, tests/test_tiling.py)."""
    if not interpreted(backend):
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

        return _to(triton_launcher(name)(*_to(args, device_of(backend))), "cpu")
    if backend == "cuda":
        return _to(getattr(torch.ops.datagen_gpu, name)(*_to(args, "cuda")), "cpu")
    raise ValueError(backend)


def skip_unsupported(backend, *dtypes, bfloat16=False):
    """Skip what a backend cannot run: Triton without triton installed; and
    bfloat16 on the interpreter unless ``bfloat16=True``.

    The interpreter runs bfloat16 but truncates float32 -> bfloat16 where the
    GPU rounds to nearest even; a test that passes ``bfloat16=True`` compares
    with ``assert_close_to_reference(..., backend=backend)``, whose tolerance
    (``datagen_gpu.testing.tolerance``) allows that one extra ulp. (The color,
    filter, audio and mixing tests do; the default keeps the old skip for the
    families whose tests do not yet.)
    """
    if backend == "triton" and not HAS_TRITON:
        pytest.skip("triton is not installed")
    if interpreted(backend) and torch.bfloat16 in dtypes and not bfloat16:
        pytest.skip("bfloat16 on the Triton interpreter: this test does not yet allow its "
                    "truncation (skip_unsupported(..., bfloat16=True))")


def value_checks(backend) -> bool:
    """Whether ``backend`` checks argument values (ranges, permutations, non-zero
    std): they run on CPU tensors only (no host sync on CUDA)."""
    return device_of(backend) == "cpu"


def skip_without_value_checks(backend):
    """Skip a test that expects a value check where the backend's tensors are on CUDA."""
    if not value_checks(backend):
        pytest.skip("argument value checks run on CPU tensors only (no host sync on CUDA)")
