"""Loads the compiled extension, which defines every op and its CPU kernel."""
import torch  # noqa: F401  (_C links against libc10/libtorch: load them first)

try:
    from . import _C  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "datagen_gpu._C is not built. Build it with "
        "`pip install --no-build-isolation -e .` (or `python setup.py build_ext --inplace`) "
        f"against the installed torch. Original error: {exc}"
    ) from exc
