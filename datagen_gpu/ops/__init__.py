"""torch.library registrations: fake (meta) kernels and the CUDA (Triton) kernels.

The schemas and CPU kernels come from the C++ extension (csrc/). Each family
module here registers, for its ops, a fake implementation (shapes only, for
torch.compile / FakeTensor / opcheck) and binds the CUDA dispatch key to the
Triton launcher of the same name in ``datagen_gpu.kernels`` (imported lazily,
on the first CUDA call).
"""
from . import color, filters, fused, geometry  # noqa: F401
from . import audio  # noqa: F401
from . import mixing, mochi  # noqa: F401
from . import random  # noqa: F401
from . import erase  # noqa: F401
from . import pixel  # noqa: F401
from . import affine  # noqa: F401
