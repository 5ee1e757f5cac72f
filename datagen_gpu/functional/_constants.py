"""Small constant tensors (normalize's mean / std, the identity jitter order) on a device,
made without a host-to-device copy and cached per (values, device, dtype).

``torch.tensor(values, device="cuda")`` copies from pageable host memory: the
host waits for the stream, ``torch.cuda.set_sync_debug_mode`` reports it, and
a CUDA graph capture fails on it. ``device_constant`` instead writes each value
with a fill kernel (the value travels as a kernel argument, exactly rounded to
``dtype`` as ``torch.tensor`` rounds it) and keeps the result, so a warm call
launches nothing for it at all.

Not cached: under ``torch.compile`` tracing (a plain ``torch.tensor``, which the
compiler embeds as a constant), under ``make_fx`` tracing, and while the current
CUDA stream is being captured (a tensor filled inside a capture holds its values
only once the graph replays; the fills are captured with the graph instead).
Under a ``FakeTensorMode`` the cache belongs to that mode, so fake and real
tensors never mix. On CUDA the key includes the current stream: a constant is
filled and read in one stream's order, so a reader on another stream (the
DeviceLoader's side stream) never sees it before its fill ran. The cache holds at most ``_MAX_ENTRIES`` entries (least
recently used dropped first). Callers must not write into the result.
"""
import threading
from collections import OrderedDict

import torch

_MAX_ENTRIES = 64
_CACHE: "OrderedDict[tuple, torch.Tensor]" = OrderedDict()
_LOCK = threading.Lock()  # the DeviceLoader's producer thread and the main thread share the cache


def _capturing(device: torch.device) -> bool:
    return (device.type == "cuda" and torch.cuda.is_available()
            and torch.cuda.is_current_stream_capturing())


def _cache():
    """This process's cache, or the active fake mode's; None where nothing may be cached."""
    keys = torch._C._TorchDispatchModeKey
    if torch._C._get_dispatch_mode(keys.PROXY) is not None:
        return None
    fake = torch._C._get_dispatch_mode(keys.FAKE)
    if fake is None:
        return _CACHE
    cache = getattr(fake, "_datagen_gpu_constants", None)
    if cache is None:
        cache = fake._datagen_gpu_constants = OrderedDict()
    return cache


def _stream(device: torch.device):
    if device.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.current_stream(device).cuda_stream
    return None


def _fill(values, device, dtype):
    if len(values) == 0:
        return torch.empty(0, dtype=dtype, device=device)
    return torch.stack([torch.full((), v, dtype=dtype, device=device) for v in values])


def device_constant(values, device, dtype) -> torch.Tensor:
    """``torch.tensor(values, dtype=dtype, device=device)`` without a host-to-device copy.

    Args:
        values: a sequence of Python numbers.
        device: the tensor's device.
        dtype: its dtype.

    Returns:
        A contiguous (len(values),) tensor, shared with other callers: read it, never write it.
    """
    values = tuple(values)
    device = torch.device(device)
    if torch.compiler.is_compiling():
        return torch.tensor(values, dtype=dtype, device=device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() \
            else torch.device("cuda", 0)
    cache = None if _capturing(device) else _cache()
    if cache is None:
        return _fill(values, device, dtype)
    key = (values, tuple(type(v) for v in values), device, _stream(device), dtype)
    with _LOCK:
        out = cache.get(key)
        if out is not None:
            cache.move_to_end(key)
            return out
    out = _fill(values, device, dtype)
    with _LOCK:
        cache[key] = out
        while len(cache) > _MAX_ENTRIES:
            cache.popitem(last=False)
    return out


def to_device(t: torch.Tensor, device) -> torch.Tensor:
    """A CPU tensor (host data: sizes, ids, geometry) on ``device``: on CUDA through a private
    pinned copy with ``non_blocking=True`` (the host does not wait; the caching host allocator
    keeps the pinned block until the copy has run, and the caller may reuse ``t`` at once)."""
    device = torch.device(device)
    if torch.compiler.is_compiling():
        return t.to(device)
    if device.type == "cuda" and t.device.type == "cpu":
        host = t.clone() if t.is_pinned() else t  # pin_memory() of a pinned tensor returns it
        return host.pin_memory().to(device, non_blocking=True)
    return t.to(device, non_blocking=True)  # same device: no copy; device to device: no host sync
