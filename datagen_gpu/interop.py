"""NumPy (CPU) and CuPy (GPU) arrays in and out of every functional and transform.

Every public function of ``datagen_gpu.functional`` and every transform
(``RandomTransform`` subclasses and ``presets.TwoViews``) accepts, wherever
it takes a tensor, a NumPy array, a CuPy array or any object with
``__dlpack__``, and a list of them where it takes a list of tensors (ragged
image batches). The rules (also in docs/interop.md):

- Inputs are read through DLPack without a copy (``torch.from_dlpack``);
  NumPy scalars become Python scalars. Inputs are never written.
- The kind of the first array argument (the images / specs / query / labels:
  what the function takes first) decides the kind of the result: NumPy in,
  NumPy out; CuPy in, CuPy out; a torch tensor first: torch out, whatever
  the kind of the other arguments. Other ``__dlpack__`` objects (JAX, ...)
  are read but the result stays a torch tensor.
- Results are the op's output memory, shared, not copied (``Tensor.numpy()``,
  ``cupy.from_dlpack``): tuples and lists of results convert element-wise.
  Parameters returned with ``return_params=True`` stay torch tensors, so they
  replay unchanged with any kind of input.
- bfloat16 results raise TypeError (NumPy and CuPy have no bfloat16): ask
  for float16 / float32, or pass torch tensors.

Calls without arrays take a fast path: a few ``isinstance`` checks on the
top-level arguments (and the first element of a list), nothing else.
"""
import functools
import inspect
import warnings

import torch

try:  # numpy is optional for torch; without it only __dlpack__ objects are arrays
    import numpy as np
except ImportError:  # pragma: no cover
    np = None

_NUMPY_TYPES = (np.ndarray, np.generic) if np is not None else ()

__all__ = ["accepts_arrays", "array_kind", "call_module", "from_torch", "has_arrays", "to_torch"]


def _is_array(x) -> bool:
    """Whether ``x`` is a non-torch array (or a NumPy scalar), or a list starting with one."""
    if isinstance(x, torch.Tensor):
        return False
    if isinstance(x, (list, tuple)):
        if not x:
            return False
        x = x[0]
        if isinstance(x, torch.Tensor):
            return False
    return isinstance(x, _NUMPY_TYPES) or hasattr(type(x), "__dlpack__")


def has_arrays(args, kwargs) -> bool:
    """Whether any top-level argument is a NumPy / CuPy / DLPack array (or a list starting with one).

    Only ``isinstance`` checks on the arguments and the first element of
    lists: the cost of a call without arrays.
    """
    for a in args:
        if _is_array(a):
            return True
    for a in kwargs.values():
        if _is_array(a):
            return True
    return False


def _kind_of(x):
    if isinstance(x, torch.Tensor):
        return None
    if np is not None and isinstance(x, np.ndarray):
        return "numpy"
    if hasattr(type(x), "__dlpack__"):
        module = type(x).__module__ or ""
        return "cupy" if module.startswith("cupy") else None
    return False  # not an array: look further


def array_kind(args, kwargs):
    """"numpy", "cupy" or None (torch, another DLPack kind, or no array at all).

    Decided by the first argument that is an array or a tensor (or a list
    starting with one), in call order: the images' kind decides the kind of
    the result, whatever the other arguments (parameters, labels) are.
    """
    for a in (*args, *kwargs.values()):
        if isinstance(a, (list, tuple)) and a:
            a = a[0]
        kind = _kind_of(a)
        if kind is not False:
            return kind
    return None


def to_torch(x):
    """``x`` as a torch tensor sharing its memory (lists, tuples and dicts element-wise).

    torch tensors and non-array values pass through; NumPy scalars become
    Python scalars; arrays are read with ``torch.from_dlpack`` (no copy). A
    read-only NumPy array that the installed NumPy cannot export through
    DLPack is wrapped with ``torch.from_numpy`` instead (still no copy; the
    ops never write their inputs). Unsupported dtypes (e.g. float64 images)
    come through and the op's own checks reject them, naming the argument.
    """
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (list, tuple)):
        return type(x)(to_torch(v) for v in x)
    if isinstance(x, dict):
        return {k: to_torch(v) for k, v in x.items()}
    if np is not None:
        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, np.ndarray):
            try:
                return torch.from_dlpack(x)
            except BufferError:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message=".*not writable.*")
                    return torch.from_numpy(x)
    if hasattr(type(x), "__dlpack__"):
        return torch.from_dlpack(x)
    return x


_BF16_MESSAGE = ("{kind} has no bfloat16, so a bfloat16 result cannot be returned as a {kind} array: "
                 "ask for float16 or float32 (out_dtype / dtype), or pass torch tensors "
                 "(e.g. torch.from_dlpack(x)) to get a torch.Tensor back")


def _tensor_to(t: torch.Tensor, kind):
    if kind == "numpy":
        if t.dtype == torch.bfloat16:
            raise TypeError(_BF16_MESSAGE.format(kind="NumPy"))
        return t.detach().numpy()
    import cupy  # only reached with CuPy inputs
    try:
        return cupy.from_dlpack(t.detach())
    except Exception as e:
        if t.dtype == torch.bfloat16:
            raise TypeError(_BF16_MESSAGE.format(kind="CuPy")) from e
        raise


def from_torch(out, kind):
    """Results as arrays of ``kind`` ("numpy", "cupy"; None: unchanged), sharing memory.

    Tensors convert (NumPy: ``Tensor.numpy()`` after ``detach()``; CuPy:
    ``cupy.from_dlpack``), recursively through tuples, lists and dicts; other
    values pass through. bfloat16 tensors raise TypeError.
    """
    if kind is None:
        return out
    if isinstance(out, torch.Tensor):
        return _tensor_to(out, kind)
    if isinstance(out, (list, tuple)):
        return type(out)(from_torch(v, kind) for v in out)
    if isinstance(out, dict):
        return {k: from_torch(v, kind) for k, v in out.items()}
    return out


def _readonly_inputs(args, kwargs) -> list:
    """The read-only NumPy arrays among the arguments (top level and lists)."""
    found = []
    for a in (*args, *kwargs.values()):
        for v in (a if isinstance(a, (list, tuple)) else (a,)):
            if np is not None and isinstance(v, np.ndarray) and not v.flags.writeable:
                found.append(v)
    return found


def _protect(result, readonly: list):
    """Make NumPy results that alias a read-only input read-only too (e.g. an empty Compose
    returns its input): DLPack does not carry the flag into torch."""
    if isinstance(result, (list, tuple)):
        for v in result:
            _protect(v, readonly)
    elif np is not None and isinstance(result, np.ndarray):
        if any(np.may_share_memory(result, r) for r in readonly):
            result.flags.writeable = False


def _argument_name(signed, index):
    """The parameter name of positional argument ``index`` of ``signed`` (for error messages)."""
    try:
        params = list(_signature(getattr(signed, "__func__", signed)).parameters)
        if hasattr(signed, "__func__"):
            params = params[1:]  # self
        return params[index]
    except (TypeError, ValueError, IndexError):
        return f"argument {index}"


def _to_torch_arg(x, signed, key):
    """to_torch for argument ``key`` (a position or a keyword); a failure names the argument."""
    try:
        return to_torch(x)
    except (TypeError, ValueError, BufferError) as e:  # e.g. an object or byte-swapped array
        name = key if isinstance(key, str) else _argument_name(signed, key)
        raise (ValueError if isinstance(e, ValueError) else TypeError)(
            f"{name}: cannot read {type(x).__name__} as a tensor: {e}") from e


def _convert_call(fn, args, kwargs, split_params: bool, signed=None):
    kind = array_kind(args, kwargs)
    signed = fn if signed is None else signed
    targs = tuple(_to_torch_arg(a, signed, i) for i, a in enumerate(args))
    tkwargs = {k: _to_torch_arg(v, signed, k) for k, v in kwargs.items()}
    result = fn(*targs, **tkwargs)
    if split_params:  # (outputs, params): params stay torch tensors for replay
        out, params = result
        result = (from_torch(out, kind), params)
    else:
        result = from_torch(result, kind)
    if kind == "numpy":
        readonly = _readonly_inputs(args, kwargs)
        if readonly:
            _protect(result[0] if split_params else result, readonly)
    return result


def accepts_arrays(fn):
    """Decorate a functional so it takes and returns NumPy / CuPy arrays (see the module doc).

    Without array arguments the call goes straight to ``fn``. The original
    function stays reachable as ``wrapper.__wrapped__``.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not has_arrays(args, kwargs):
            return fn(*args, **kwargs)
        return _convert_call(fn, args, kwargs, False)
    return wrapper


@functools.lru_cache(maxsize=None)
def _signature(function):
    return inspect.signature(function)


def _returns_params(forward, args, kwargs) -> bool:
    """Whether this call of ``forward`` asks for ``return_params`` (by keyword or position)."""
    func = getattr(forward, "__func__", None)  # cache per function, not per bound method (module)
    try:
        if func is not None:
            bound = _signature(func).bind(None, *args, **kwargs)
        else:
            bound = _signature(forward).bind(*args, **kwargs)
    except (TypeError, ValueError):  # the call itself raises the usual error
        return False
    return bool(bound.arguments.get("return_params", False))


def call_module(call, forward, args, kwargs):
    """``call(*args, **kwargs)`` for a module's ``__call__`` (``call`` is ``nn.Module.__call__``
    bound to the module, ``forward`` its forward), converting arrays in and out.

    With ``return_params=True`` the module returns ``(outputs, params)``: the
    outputs convert, the params stay torch tensors.
    """
    if not has_arrays(args, kwargs):
        return call(*args, **kwargs)
    return _convert_call(call, args, kwargs, _returns_params(forward, args, kwargs), forward)
