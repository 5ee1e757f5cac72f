"""Loads the compiled extension, which defines every op and its CPU kernel."""
import torch  # noqa: F401  (loads libc10/libtorch, which _C links against)

try:
    from . import _C  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "datagen_gpu._C is not built. Build it with "
        "`pip install --no-build-isolation -e .` (or `python setup.py build_ext --inplace`) "
        f"against the installed torch. Original error: {exc}"
    ) from exc

import os as _os  # noqa: E402

if _os.environ.get("DATAGEN_GPU_CPU_ISA"):
    from ._debug import set_cpu_isa as _set_cpu_isa

    _set_cpu_isa(_os.environ["DATAGEN_GPU_CPU_ISA"])
