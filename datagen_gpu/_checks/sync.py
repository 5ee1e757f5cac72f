"""Host-transfer and synchronization recorder (tests and benchmarks/gpu_check.py).

``HostTransfers`` is a ``TorchDispatchMode`` that sees every aten op a call
dispatches and records the ones that move data between the host and an
accelerator or read a device value on the host:

- ``h2d``: a host-to-device copy (``aten._to_copy`` / ``aten.copy_`` from a CPU
  tensor to a non-CPU one), with whether it is *asynchronous*: from pinned
  memory (made by ``pin_memory()`` under this recorder, or reporting
  ``is_pinned()``) with ``non_blocking=True``. A pageable or blocking copy makes
  the host wait for the stream (and cannot be captured in a CUDA graph);
- ``d2h``: a device-to-host copy (the host waits for the device);
- ``sync``: an op whose result the host must wait for on a device tensor:
  ``.item()`` / ``bool()`` / ``int()`` (``aten._local_scalar_dense``), ``torch.equal``,
  and ops with data-dependent output shapes (``nonzero``, ``masked_select``, ...);
- ``cpu_scalar``: a 0-dim CPU *tensor* (not a Python number) given to an op with
  device tensors. Many ops read it as a kernel argument, but some copy it to
  the device first, below the dispatcher, where neither this recorder nor a
  fake tensor sees the copy: it is reported as blocking.

It works on real CUDA tensors and on fake ones (``FakeTensorMode`` tensors with
device "cuda", on a machine without a GPU): push it *inside* the fake mode
(``with fake_mode: with HostTransfers() as rec: ...``) so it sees the ops
first. Under a fake mode it also stands in for ``aten._pin_memory`` (which the
fake mode does not implement), and a host read of a *real* CPU tensor (e.g. a
module's CPU counter) runs for real, outside the fake mode: it is not a sync.
"""
import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_aten = torch.ops.aten
_COPIES = {_aten._to_copy.default, _aten.copy_.default}
_SYNCING = {_aten._local_scalar_dense.default, _aten.equal.default, _aten.is_nonzero.default,
            _aten.nonzero.default, _aten.masked_select.default, _aten.unique_consecutive.default,
            _aten._unique2.default, _aten.unique_dim.default, _aten.argwhere.default}


def _flat(args, kwargs):
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, (list, tuple)):
            yield from a
        else:
            yield a


def _is_fake(t) -> bool:
    from torch._subclasses.fake_tensor import FakeTensor

    return isinstance(t, FakeTensor)


def _devtype(t) -> str:
    return t.device.type


class HostTransfers(TorchDispatchMode):
    """Records host <-> device copies and host synchronizations of the ops run under it.

    Attributes:
        events: list of dicts ``{"kind": "h2d" | "d2h" | "sync" | "cpu_scalar", "op": str,
            "async": bool (h2d: pinned and non_blocking), "shape": tuple}``.

    Properties: ``h2d`` (all host-to-device copies), ``blocking`` (the events
    that make the host wait: h2d copies that are not asynchronous, d2h copies,
    syncs). Example::

        with HostTransfers() as rec:
            pipeline(x, sample_ids=ids)
        assert rec.blocking == []
    """

    def __init__(self):
        super().__init__()
        self.events = []
        self._pinned = {}  # id -> weakref of the tensors pin_memory() made

    @property
    def h2d(self):
        return [e for e in self.events if e["kind"] == "h2d"]

    @property
    def blocking(self):
        return [e for e in self.events if not (e["kind"] == "h2d" and e["async"])]

    def clear(self):
        self.events.clear()

    def _is_marked(self, t) -> bool:
        ref = self._pinned.get(id(t))
        return ref is not None and ref() is t

    def _pinned_src(self, t) -> bool:
        if self._is_marked(t):
            return True
        if _is_fake(t):
            return False
        try:
            return bool(t.is_pinned())
        except RuntimeError:  # no accelerator runtime
            return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is _aten._pin_memory.default:
            src = args[0]
            fake_mode = torch._C._get_dispatch_mode(torch._C._TorchDispatchModeKey.FAKE)
            if _is_fake(src) or fake_mode is not None:  # FakeTensorMode has no _pin_memory: a fake
                out = src.clone()                          # copy, marked pinned
            else:
                out = func(*args, **kwargs)
            self._pinned[id(out)] = weakref.ref(out)
            return out
        if func is _aten.is_pinned.default and self._is_marked(args[0]):
            return True
        if func in _COPIES:
            if func is _aten._to_copy.default:
                src = args[0]
                dst_type = torch.device(kwargs["device"]).type if kwargs.get("device") is not None \
                    else _devtype(src)
                non_blocking = bool(kwargs.get("non_blocking", False))
            else:
                dst, src = args[0], args[1]
                dst_type = _devtype(dst)
                non_blocking = bool(args[2] if len(args) > 2 else kwargs.get("non_blocking", False))
            src_type = _devtype(src)
            if src_type == "cpu" and dst_type not in ("cpu", "meta"):
                self.events.append({"kind": "h2d", "op": str(func), "shape": tuple(src.shape),
                                    "async": non_blocking and self._pinned_src(src)})
            elif src_type not in ("cpu", "meta") and dst_type == "cpu":
                self.events.append({"kind": "d2h", "op": str(func), "shape": tuple(src.shape),
                                    "async": False})
        elif func not in _SYNCING and func is not _aten.lift_fresh.default:
            tensors = [a for a in _flat(args, kwargs) if isinstance(a, torch.Tensor)]
            if any(_devtype(t) not in ("cpu", "meta") for t in tensors):
                for t in tensors:
                    if _devtype(t) == "cpu" and t.dim() == 0:
                        self.events.append({"kind": "cpu_scalar", "op": str(func), "shape": (),
                                            "async": False})
        if func in _SYNCING:
            tensors = [a for a in args if isinstance(a, torch.Tensor)]
            if any(_devtype(t) not in ("cpu", "meta") for t in tensors):
                self.events.append({"kind": "sync", "op": str(func),
                                    "shape": tuple(tensors[0].shape), "async": False})
            elif func is _aten._local_scalar_dense.default and tensors and not _is_fake(tensors[0]):
                # a real CPU tensor read on the host (e.g. a CPU-side counter): no device sync
                from torch._subclasses.fake_tensor import unset_fake_temporarily

                with unset_fake_temporarily():
                    return func(*args, **kwargs)
        return func(*args, **kwargs)
