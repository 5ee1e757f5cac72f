"""datagen_gpu: batched per-sample data augmentation kernels for PyTorch.

Every op transforms a whole batch in one launch with per-sample parameters.
CPU tensors run the C++ kernels in ``datagen_gpu._C``; CUDA tensors run the
Triton kernels in ``datagen_gpu.kernels`` (imported on first CUDA call, so
importing this package needs neither a GPU nor triton).
"""
from . import _extension  # noqa: F401  (loads the op schemas and CPU kernels)
from . import ops  # noqa: F401  (fake and CUDA registrations)
from . import functional
from .memory import cpu_cache_info, empty_cpu_cache, set_cpu_cache_limit

__version__ = "0.1.0"
__all__ = ["functional", "cpu_cache_info", "empty_cpu_cache", "set_cpu_cache_limit", "__version__"]
