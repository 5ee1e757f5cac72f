"""CUDA tensors without a GPU: FakeTensorMode tensors with device "cuda".

``fake_cuda()`` is a context manager yielding ``(mode, rec)``: inside it,
``torch.empty(..., device="cuda")`` makes fake CUDA tensors (shape, dtype,
strides, device; no data), every datagen_gpu op runs its registered fake
implementation, and ``rec`` (datagen_gpu._checks.sync.HostTransfers) records
every host <-> device copy and host synchronization. A host synchronization
cannot even run here: ``.item()``, ``bool(t)``, ``.tolist()`` and ops with
data-dependent output shapes raise on fake tensors (DataDependentOutputException,
DynamicOutputShapeException), so a transform that synchronizes fails.

On a CPU-only build of torch, the CUDA device guard that some tensor methods
take (``Tensor.contiguous()`` of a non-contiguous tensor, ``Tensor.copy_``) does
not exist ("PyTorch is not linked with support for cuda devices"), and
torch's own fix (``torch._C._ensureCUDADeviceGuardSet``) only applies to CUDA
builds. ``_install_fake_guard`` compiles a 20-line shim (c10 headers only, about
a second) that sets c10's ``FakeGuardImpl<CUDA>`` as the CUDA guard while the
context is open, and removes it after. On a CUDA build nothing is compiled.
"""
import contextlib
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from datagen_gpu._checks.sync import HostTransfers

_SHIM = r"""
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <c10/core/impl/FakeGuardImpl.h>
namespace {
c10::impl::FakeGuardImpl<c10::DeviceType::CUDA> fake_guard;
constexpr auto kCuda = static_cast<size_t>(c10::DeviceType::CUDA);
}
extern "C" int datagen_fake_cuda_guard_install() {
  const c10::impl::DeviceGuardImplInterface* expected = nullptr;
  return c10::impl::device_guard_impl_registry[kCuda].compare_exchange_strong(expected, &fake_guard);
}
extern "C" void datagen_fake_cuda_guard_uninstall() {
  const c10::impl::DeviceGuardImplInterface* expected = &fake_guard;
  c10::impl::device_guard_impl_registry[kCuda].compare_exchange_strong(expected, nullptr);
}
"""
_LIB = {}


def _shim():
    """The compiled shim (ctypes.CDLL), built once per torch version in the temp dir."""
    if "lib" in _LIB:
        return _LIB["lib"]
    torch_dir = os.path.dirname(torch.__file__)
    key = hashlib.sha1((torch.__version__ + torch_dir + _SHIM).encode()).hexdigest()[:12]
    out_dir = os.path.join(tempfile.gettempdir(), f"datagen_gpu_fake_cuda_{key}")
    so = os.path.join(out_dir, "fake_cuda_guard.so")
    if not os.path.exists(so):
        cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
        if cxx is None:
            pytest.skip("fake CUDA tensors on a CPU-only torch need a C++ compiler for the guard shim")
        os.makedirs(out_dir, exist_ok=True)
        src = os.path.join(out_dir, "fake_cuda_guard.cpp")
        with open(src, "w") as f:
            f.write(_SHIM)
        lib_dir = os.path.join(torch_dir, "lib")
        tmp = so + f".{os.getpid()}"
        subprocess.check_call([cxx, "-std=c++17", "-O1", "-shared", "-fPIC",
                               "-I", os.path.join(torch_dir, "include"), src, "-o", tmp,
                               "-L", lib_dir, "-lc10", f"-Wl,-rpath,{lib_dir}"])
        os.replace(tmp, so)
    _LIB["lib"] = ctypes.CDLL(so)
    return _LIB["lib"]


@contextlib.contextmanager
def _fake_guard():
    if torch.cuda._is_compiled():  # FakeTensorMode patches the guard itself when no device is present
        yield
        return
    lib = _shim()
    installed = lib.datagen_fake_cuda_guard_install()
    try:
        yield
    finally:
        if installed:
            lib.datagen_fake_cuda_guard_uninstall()


@contextlib.contextmanager
def fake_cuda():
    """(FakeTensorMode, HostTransfers) with fake CUDA tensors available; see the module doc."""
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    # torch.tensor(data, device="cuda") builds on the CPU, then copies where the recorder sees
    # it (FakeTensorMode does this itself only when no GPU is present)
    lift_cpu_only = torch._C._only_lift_cpu_tensors()
    torch._C._set_only_lift_cpu_tensors(True)
    try:
        with _fake_guard(), mode, HostTransfers() as rec:
            yield mode, rec
    finally:
        torch._C._set_only_lift_cpu_tensors(lift_cpu_only)

