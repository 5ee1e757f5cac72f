"""Testing helpers: the per-dtype tolerance table, output poisoning, inputs.

Tolerances follow the flash-attention rule: an output in a low-precision
dtype is judged against the error of rounding the exact result to that
dtype, not against a fixed epsilon. Every kernel computes in float32 and
rounds once on store, so the bound for output dtype d is

    |out - ref| <= atol[d] + rtol[d] * |ref|

with rtol[d] the unit roundoff of d (half an ulp, relative) and atol[d]
covering float32 accumulation (1e-5, the issue's bound for float32 on
[0, 1] data) plus, for uint8, one quantization level.

One exception, in ``tolerance``: Triton's interpreter (TRITON_INTERPRET=1,
the "triton" test backend without a GPU) truncates float32 -> bfloat16 where
the GPU rounds to nearest even, so a bfloat16 output there may be one more
bfloat16 ulp (2^-7 relative) off.
"""
import contextlib
import os

import torch

from . import _debug
from .reference import to_unit

# output dtype -> (atol, rtol), in [0, 1] units
TOLERANCES = {
    torch.float32: (1e-5, 0.0),
    torch.float16: (1e-5, 2.0**-11),
    torch.bfloat16: (1e-5, 2.0**-8),
    torch.uint8: (1.0 / 255.0 + 1e-6, 0.0),
}


# extra relative error of a bfloat16 store on the Triton interpreter: truncation
# instead of round-to-nearest-even, less than one ulp (2^-7 relative)
INTERPRETER_BF16_RTOL = 2.0**-7


def tolerance(dtype: torch.dtype, backend=None):
    """(atol, rtol) for an output of ``dtype`` made by ``backend`` (a test backend
    name: "cpu", "triton", "cuda"; None: any backend that rounds as the GPU does).

    TOLERANCES[dtype], plus one bfloat16 ulp of rtol for bfloat16 on the
    "triton" backend when it runs on the interpreter (TRITON_INTERPRET=1).
    """
    atol, rtol = TOLERANCES[dtype]
    if dtype == torch.bfloat16 and backend == "triton" and _interpreting():
        rtol += INTERPRETER_BF16_RTOL
    return atol, rtol


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


@contextlib.contextmanager
def poison_outputs():
    """Within this block every output the kernels allocate starts as NaN / 0xA5."""
    _debug.set_poison(True)
    try:
        yield
    finally:
        _debug.set_poison(False)


def max_violation(out: torch.Tensor, ref: torch.Tensor, atol=None, rtol=None, backend=None):
    """(worst |out - ref| - allowed, index) with out in its own dtype and ref float64;
    the allowance is ``tolerance(out.dtype, backend)`` unless atol / rtol are given."""
    d_atol, d_rtol = tolerance(out.dtype, backend)
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    got = to_unit(out)
    ref = ref.to(torch.float64)
    err = (got - ref).abs() - (atol + rtol * ref.abs())
    err = torch.where(torch.isnan(got) | torch.isnan(ref), torch.full_like(err, float("inf")), err)
    if err.numel() == 0:
        return float("-inf"), None
    flat = int(err.argmax())
    return float(err.reshape(-1)[flat]), tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), err.shape))


def assert_close_to_reference(out: torch.Tensor, ref: torch.Tensor, atol=None, rtol=None, msg="",
                              backend=None):
    """Raise AssertionError when ``out`` is outside its dtype's tolerance of ``ref``
    (``tolerance(out.dtype, backend)``: pass the test backend that made ``out``)."""
    if tuple(out.shape) != tuple(ref.shape):
        raise AssertionError(f"{msg} shape {tuple(out.shape)} != reference {tuple(ref.shape)}")
    worst, where = max_violation(out, ref, atol, rtol, backend)
    if worst > 0:
        got = to_unit(out)[where].item()
        exp = ref[where].item()
        raise AssertionError(f"{msg} mismatch at {where}: got {got!r}, reference {exp!r} "
                             f"(dtype {out.dtype}, excess {worst:.3g})")


def random_images(shape, dtype, *, channels_last=False, generator=None, device="cpu"):
    """Random images in [0, 1] (floats) or [0, 255] (uint8), optionally channels-last."""
    if dtype == torch.uint8:
        x = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)
    else:
        x = torch.rand(shape, dtype=torch.float32, generator=generator).to(dtype)
    x = x.to(device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x
