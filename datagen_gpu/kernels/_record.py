"""Recording of the Triton launches the host launchers make, without a GPU.

``record_launches()`` patches the launch path every ``kernel[grid](...)`` call
goes through (``KernelInterface.__getitem__`` calls ``self.run(grid=...)``):
``triton.runtime.jit.JITFunction.run`` and, under TRITON_INTERPRET=1,
``triton.runtime.interpreter.InterpretedFunction.run``. Each launch is recorded
as a :class:`Launch`: the kernel, the evaluated grid, and the specialization a
GPU would compile for those arguments, computed by Triton's own binder
(``create_function_from_signature`` with the CUDA backend, the function
``JITFunction.run`` calls on a GPU) and ``JITFunction._pack_args``: each
argument's Triton type (``*fp32`` for a float32 tensor, ``i32`` / ``i64`` /
``u64`` for ints by their value, ``fp32`` for floats, ``u1`` for bools), ints
equal to 1 turned into the constexpr 1, the ``tt.divisibility=16`` attribute of
ints divisible by 16 and of pointers whose address is, and the options
(num_warps, num_stages, ...) parsed by the backend. With ``execute=False``
nothing runs, so huge inputs cost nothing::

    with ops_to_launchers(), record_launches(execute=False) as launches:
        x = torch.empty(512, 3, 4096, 4096, dtype=torch.uint8, device="meta")
        F.hflip(x, True, out_dtype=torch.float32)
    launches[0].grid, launches[0].signature

Inputs that hold no data: meta tensors. A meta tensor has shape, strides,
dtype and a storage offset but no memory; its ``data_ptr()`` is
``storage_offset * itemsize`` (the storage "starts" at 0), which is what a CUDA
tensor's address is modulo 16 (the caching allocator aligns every block to
512 bytes), so pointer alignment specializes as on a GPU. On a meta tensor
the launchers take their CUDA path: every value check runs on CPU tensors only
(``_checks.host_checks`` and friends), so parameter tensors need no values,
and outputs / temporaries are allocated on the meta device for free.
``ops_to_launchers()`` routes ``torch.ops.datagen_gpu.*`` calls to the Triton
launchers (what the CUDA dispatch does), so the public functionals and
transforms build the launchers' arguments, on meta tensors too.

Limits: the specialization is that of the argument values given (a kernel
launched with W = 224 is recorded with W divisible by 16, not also the
W = 225 variant); launches with ``warmup=True`` and kernels called through
other paths (``CompiledKernel`` handles, autotuners) are not recorded; the
launch kwargs ``debug`` / ``instrumentation_mode`` / ``fpsan_homomorphic_casts``
follow the knobs of the recording process.
"""
import contextlib
import dataclasses
import functools
import threading
import warnings
from typing import Any, Dict, List, Optional, Tuple

import torch

CUDA_GRID_LIMITS = (2**31 - 1, 65535, 65535)


@dataclasses.dataclass(frozen=True)
class Launch:
    """One recorded kernel launch.

    Attributes:
        kernel: the object launched (a ``JITFunction``; an ``InterpretedFunction``
            under TRITON_INTERPRET=1).
        name: ``module:qualname`` of the kernel (how a fresh process finds it).
        grid: the evaluated grid, three ints.
        signature: parameter name -> Triton type (``*u8``, ``i32``, ``fp32``,
            ``constexpr``), as ``ASTSource`` takes it.
        constexprs: parameter name -> value, for constexpr parameters and the
            arguments Triton specialized to constants (ints equal to 1).
        attrs: parameter name -> ``"D"`` (divisible by 16) or ``""``, for the
            non-constexpr parameters.
        options: launch options passed to the backend (num_warps, num_stages,
            debug, ... as given at the launch; the backend fills the defaults).
        resolved: the backend's parsed options of interest (num_warps,
            num_stages, num_ctas, maxnreg).
    """
    kernel: Any
    name: str
    grid: Tuple[int, int, int]
    signature: Dict[str, str]
    constexprs: Dict[str, Any]
    attrs: Dict[str, str]
    options: Dict[str, Any]
    resolved: Dict[str, Any]

    @property
    def short_name(self) -> str:
        return self.name.rsplit(":", 1)[-1]

    def key(self) -> tuple:
        """What makes a distinct compiled variant: kernel, signature, constexprs,
        specialization, options."""
        return (self.name, tuple(self.signature.items()),
                tuple((k, type(v).__name__, _plain(v)) for k, v in self.constexprs.items()),
                tuple(self.attrs.items()), tuple(sorted((k, _plain(v)) for k, v in self.options.items())))

    def spec(self) -> dict:
        """A picklable description from which ``compile_spec`` rebuilds the variant
        (``source``: a hash of the kernel's source, see ``source_hash``)."""
        return {"name": self.name, "source": source_hash(self.kernel), "signature": dict(self.signature),
                "constexprs": {k: _plain(v) for k, v in self.constexprs.items()},
                "attrs": dict(self.attrs), "options": dict(self.options)}

    def summary(self) -> str:
        """Pointer types, then the specialized / divisible ints and the constexprs."""
        ptrs = ",".join(t[1:] for n, t in self.signature.items() if t.startswith("*"))
        ints = [n + ("%16" if self.attrs.get(n) == "D" else "") + ("" if t == "i32" else f":{t}")
                for n, t in self.signature.items() if t in ("i32", "i64", "u64")]
        ints = [s for s in ints if "%16" in s or ":" in s]  # plain i32 ints are not listed
        ones = [n for n, t in self.signature.items()
                if t == "constexpr" and n in self.constexprs and n not in self._declared()]
        meta = [f"{n}={_show(v)}" for n, v in self.constexprs.items() if n in self._declared()]
        parts = [ptrs]
        if ints:
            parts.append(" ".join(ints))
        if ones:
            parts.append("=1: " + ",".join(ones))
        if meta:
            parts.append(" ".join(meta))
        return " | ".join(parts)

    def _declared(self):
        return _declared_constexprs(self.kernel)

    def grid_violations(self) -> List[str]:
        """The grid axes over CUDA's limits (x <= 2^31 - 1, y, z <= 65535)."""
        axes = "xyz"
        return [f"grid.{axes[i]} = {g} > {lim}" for i, (g, lim) in enumerate(zip(self.grid, CUDA_GRID_LIMITS))
                if g > lim]


def _plain(v):
    """Constexpr values as plain, hashable, picklable Python (tl.dtype -> its name)."""
    import triton.language as tl

    if isinstance(v, tl.constexpr):
        v = v.value
    if isinstance(v, tl.dtype):
        return ("tl.dtype", v.name)
    return v


def _show(v):
    v = _plain(v)
    if isinstance(v, tuple) and v and v[0] == "tl.dtype":
        return v[1]
    if isinstance(v, bool):
        return "T" if v else "F"
    return str(v)


def unplain(v):
    """Inverse of ``_plain`` (in the compiling process)."""
    import triton.language as tl

    if isinstance(v, tuple) and len(v) == 2 and v[0] == "tl.dtype":
        return tl.dtype(v[1])
    return v


_PER_KERNEL: Dict[int, tuple] = {}  # id(kernel) -> (kernel, its JITFunction, binder, constexpr names)


def _kernel_info(kernel):
    """(JITFunction, binder, declared constexpr names) of ``kernel``. The JITFunction is
    ``kernel`` itself, or one built from an InterpretedFunction's fn, used only for its
    parameters and binder (never run, never hashed)."""
    info = _PER_KERNEL.get(id(kernel))
    if info is None or info[0] is not kernel:
        from triton.runtime.jit import JITFunction, create_function_from_signature

        jit = kernel
        if not isinstance(kernel, JITFunction):
            kw = dict(getattr(kernel, "kwargs", {}) or {})
            jit = JITFunction(kernel.fn, **{k: kw[k] for k in ("do_not_specialize",
                                                                "do_not_specialize_on_alignment",
                                                                "debug", "noinline") if k in kw})
        binder = create_function_from_signature(jit.signature, jit.params, _backend())
        declared = frozenset(p.name for p in jit.params if p.is_constexpr)
        info = _PER_KERNEL[id(kernel)] = (kernel, jit, binder, declared)
    return info[1:]


def _declared_constexprs(kernel) -> frozenset:
    return _kernel_info(kernel)[2]


@functools.lru_cache(maxsize=None)
def _backend():
    """The CUDA backend whose binder specializes the arguments (the specialization
    rules are the same for every CUDA target)."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import make_backend

    return make_backend(GPUTarget("cuda", 90, 32))


def source_hash(kernel) -> str:
    """sha256 of the kernel function's source text (a process that loads the kernel to
    compile it checks it is the one recorded)."""
    import hashlib
    import inspect

    return hashlib.sha256(inspect.getsource(kernel.fn).encode()).hexdigest()[:16]


def kernel_name(kernel) -> str:
    fn = kernel.fn
    return f"{fn.__module__}:{fn.__qualname__}"


def _launch_kwargs(kernel, kwargs):
    """The kwargs JITFunction.run adds before binding (debug and two compilation knobs)."""
    from triton import knobs

    kwargs = dict(kwargs)
    debug = getattr(kernel, "debug", None)
    if debug is None:
        debug = (getattr(kernel, "kwargs", None) or {}).get("debug")
    kwargs["debug"] = kwargs.get("debug", debug) or knobs.runtime.debug
    kwargs["instrumentation_mode"] = knobs.compilation.instrumentation_mode
    kwargs["fpsan_homomorphic_casts"] = knobs.compilation.fpsan_homomorphic_casts
    return kwargs


def _grid3(grid, bound_args) -> Tuple[int, int, int]:
    if callable(grid):
        grid = grid(bound_args)
    grid = tuple(int(g) for g in grid)
    if not 1 <= len(grid) <= 3:
        raise ValueError(f"grid: expected 1 to 3 dimensions, got {grid}")
    return grid + (1,) * (3 - len(grid))


def describe_launch(kernel, grid, args, kwargs) -> Launch:
    """The :class:`Launch` of ``kernel[grid](*args, **kwargs)`` as a CUDA device would see it."""
    jit, binder, _ = _kernel_info(kernel)
    backend = _backend()
    kwargs = _launch_kwargs(kernel, kwargs)
    bound_args, specialization, options = binder(*args, **kwargs)
    with warnings.catch_warnings():  # parse_options' FP-fusion default notice: the launch's to give
        warnings.simplefilter("ignore")
        parsed, signature, constexprs, attrs = jit._pack_args(backend, kwargs, bound_args, specialization,
                                                              options)
    names = jit.arg_names
    sig = {k: v if isinstance(v, str) else str(v) for k, v in signature.items()}
    consts = {names[path[0]]: value for path, value in constexprs.items()}
    attr_of = {names[i]: ("" if s[0] == "constexpr" else (s[1] or "")) for i, s in enumerate(specialization)}
    attrs_by_name = {n: a for n, a in attr_of.items() if sig[n] != "constexpr"}
    sigkeys = set(names)
    opts = {k: v for k, v in kwargs.items() if k not in sigkeys}
    resolved = {k: getattr(parsed, k) for k in ("num_warps", "num_stages", "num_ctas", "maxnreg")
                if hasattr(parsed, k)}
    return Launch(kernel=kernel, name=kernel_name(kernel), grid=_grid3(grid, bound_args), signature=sig,
                  constexprs=consts, attrs=attrs_by_name, options=opts, resolved=resolved)


_ACTIVE = threading.local()
_PATCH_LOCK = threading.Lock()


def _recorder():
    return getattr(_ACTIVE, "recorder", None)


def _patched(original):
    def run(self, *args, grid, warmup, **kwargs):
        rec = _recorder()
        if rec is None or warmup:
            return original(self, *args, grid=grid, warmup=warmup, **kwargs)
        rec.launches.append(describe_launch(self, grid, args, kwargs))
        if rec.execute:
            return original(self, *args, grid=grid, warmup=warmup, **kwargs)
        return None

    run.__wrapped__ = original
    return run


def _run_owners():
    from triton.runtime.jit import JITFunction

    owners = [JITFunction]
    try:
        from triton.runtime.interpreter import InterpretedFunction
        owners.append(InterpretedFunction)
    except ImportError:  # pragma: no cover - a triton without the interpreter
        pass
    return owners


class _Recorder:
    def __init__(self, execute):
        self.execute = execute
        self.launches: List[Launch] = []


_patch_depth = [0]


@contextlib.contextmanager
def record_launches(execute: bool = True):
    """Record every Triton launch made in this thread inside the block.

    Yields the list the :class:`Launch` records are appended to, in launch
    order. ``execute=False``: the kernels are not run (nothing is read or
    written; pass meta tensors). Not re-entrant in one thread.
    """
    if _recorder() is not None:
        raise RuntimeError("record_launches: already recording in this thread")
    rec = _Recorder(bool(execute))
    with _PATCH_LOCK:
        if _patch_depth[0] == 0:
            for owner in _run_owners():
                owner.run = _patched(owner.run)
        _patch_depth[0] += 1
    _ACTIVE.recorder = rec
    try:
        yield rec.launches
    finally:
        _ACTIVE.recorder = None
        with _PATCH_LOCK:
            _patch_depth[0] -= 1
            if _patch_depth[0] == 0:
                for owner in _run_owners():
                    owner.run = owner.run.__wrapped__


@contextlib.contextmanager
def ops_to_launchers():
    """Inside the block, ``torch.ops.datagen_gpu.<op>`` calls run the op's Triton
    launcher (``kernels.triton_launcher``) whatever the tensors' device, as the
    CUDA dispatch does: the functionals then work on meta tensors, and what they
    pass to the op is what the launcher gets. Other ops run as usual. Yields the
    list of the op names called, in order."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from . import LAUNCHERS, triton_launcher

    called: List[str] = []

    class _ToLaunchers(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if getattr(func, "namespace", None) == "datagen_gpu" and func._opname in LAUNCHERS:
                called.append(func._opname)
                return triton_launcher(func._opname)(*args, **kwargs)
            return func(*args, **kwargs)

    with _ToLaunchers():
        yield called


def meta_like(shape, dtype, *, channels_last=False, strides: Optional[tuple] = None, offset: int = 0):
    """A meta tensor (no memory) of ``shape`` and ``dtype``: contiguous, channels-last
    (4-D), or with the given element ``strides`` and storage ``offset``."""
    if strides is None:
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        strides = torch.empty(shape, device="meta", memory_format=fmt).stride()
    extent = offset + 1 + sum((n - 1) * abs(s) for n, s in zip(shape, strides) if n > 0)
    return torch.empty(extent, dtype=dtype, device="meta").as_strided(shape, strides, offset)
