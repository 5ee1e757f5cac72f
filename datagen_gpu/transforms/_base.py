"""Base class of the random transforms: seeding, sample ids, params and replay.

Randomness contract (docs/randomness.md): a transform's parameters for a
sample are a pure function of ``(seed, sample_id, op_id, draw_index)``, drawn
by ``datagen_gpu.params``. ``op_id`` is derived from the class name and the
transform's ``stream`` (its path in the container tree: child k of a
container with stream s gets s * 64 + k + 1), so two transforms of the same
class in one pipeline draw independently.
"""
import zlib
from typing import Any, Dict, Optional

import torch
from torch import nn

from .. import interop
from ..functional._constants import to_device
from ..params import uniform

Params = Dict[str, Any]


def batch_of(inputs) -> tuple:
    """(batch size, device) of a batch tensor or a ragged list of tensors."""
    if isinstance(inputs, (list, tuple)):
        if len(inputs) == 0 or not isinstance(inputs[0], torch.Tensor):
            raise ValueError("images: expected a batch tensor or a non-empty list of (C, H, W) tensors")
        return len(inputs), inputs[0].device
    if not isinstance(inputs, torch.Tensor) or inputs.dim() == 0:
        raise TypeError("images: expected a batch tensor or a list of (C, H, W) tensors, "
                        f"got {type(inputs).__name__}")
    return inputs.shape[0], inputs.device


class RandomTransform(nn.Module):
    """A transform with per-sample parameters from the counter-based generator.

    Subclasses implement ``make_params(inputs, sample_ids) -> dict`` (all
    randomness, through ``self.draw``) and ``apply_params(inputs, params)``
    (deterministic: calls the functionals).

    Args:
        seed: the generator seed (any int).
        same_on_batch: draw one parameter set and apply it to every sample
            (torchvision's one-draw-per-call behaviour); default per sample.

    ``forward(inputs, sample_ids=None, params=None, return_params=False)``:
    ``sample_ids`` is a (B,) int64 tensor of dataset indices; by default a
    running counter numbers the samples this module has seen, so successive
    batches differ. ``params`` replays parameters returned earlier with
    ``return_params=True``.

    Calling the module with NumPy / CuPy arrays returns arrays of the same
    kind (the parameters stay tensors); see ``datagen_gpu.interop``.
    """

    def __init__(self, *, seed: int = 0, same_on_batch: bool = False):
        super().__init__()
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
        self.seed = seed
        self.same_on_batch = bool(same_on_batch)
        self.stream = 0
        # computed once, here: torch.compile cannot trace zlib
        self._class_id = zlib.crc32(type(self).__name__.encode())
        self.register_buffer("_next_id", torch.zeros((), dtype=torch.int64), persistent=False)

    @property
    def op_id(self) -> int:
        return self._class_id + (self.stream << 32)

    def assign_stream(self, stream: int) -> None:
        """Set this transform's random stream (containers number their children)."""
        self.stream = int(stream)

    def resolve_sample_ids(self, inputs, sample_ids: Optional[torch.Tensor]) -> torch.Tensor:
        batch, device = batch_of(inputs)
        if sample_ids is None:
            ids = self._running_ids(batch, device)
            self._next_id.add_(batch)
        else:
            if not isinstance(sample_ids, torch.Tensor) or sample_ids.dtype not in (torch.int64, torch.int32):
                raise TypeError("sample_ids: expected an int64 tensor of shape (B,)")
            if sample_ids.shape != (batch,):
                raise ValueError(f"sample_ids: expected shape ({batch},), got {tuple(sample_ids.shape)}")
            if sample_ids.device != device and sample_ids.device.type == "cpu" and device.type == "cuda":
                sample_ids = to_device(sample_ids, device)  # pinned, non-blocking: no host sync
            ids = sample_ids.to(device=device, dtype=torch.int64)
        if self.same_on_batch and batch > 0:
            ids = ids[:1].expand(batch)
        return ids

    def _running_ids(self, batch: int, device: torch.device) -> torch.Tensor:
        """The next ``batch`` ids of the running counter, on ``device``, without a host sync.

        The counter lives where the module does. On the inputs' device (the module moved
        there) the ids are computed on the device (CUDA-graph capturable: replays advance
        the counter). On the CPU with inputs elsewhere, the count is read on the host,
        where it is (no device involved), and ``arange`` makes the ids on the device from
        host integers (no copy). A CUDA graph would freeze those integers, so capturing
        that case raises: pass ``sample_ids`` or move the module to the device.
        """
        counter = self._next_id
        if counter.device.type == "cpu" and device.type != "cpu" and not torch.compiler.is_compiling():
            if device.type == "cuda" and torch.cuda.is_available() and torch.cuda.is_current_stream_capturing():
                raise RuntimeError(
                    f"{type(self).__name__}: sample_ids=None with the running counter on the CPU cannot be "
                    "captured in a CUDA graph (every replay would reuse the captured ids); pass sample_ids "
                    "or move the module to the device (module.to('cuda'))")
            first = int(counter)
            return torch.arange(first, first + batch, dtype=torch.int64, device=device)
        # same device: no copy; another accelerator: a device-to-device copy (no host sync)
        return counter.to(device) + torch.arange(batch, dtype=torch.int64, device=device)

    def get_extra_state(self) -> dict:
        """Checkpointed with ``state_dict()``: the running sample counter (used when no
        ``sample_ids`` are given), so a resumed run numbers its samples on from where it stopped.
        Reading it copies one number from the device (at checkpoint time only)."""
        return {"next_id": int(self._next_id)}

    def set_extra_state(self, state: dict) -> None:
        if not isinstance(state, dict) or "next_id" not in state:
            raise ValueError(f"state: expected a dict with 'next_id', got {state!r}")
        self._next_id.fill_(int(state["next_id"]))

    def draw(self, sample_ids: torch.Tensor, n: int, dtype=torch.float64) -> torch.Tensor:
        """(B, n) uniforms in [0, 1) for these samples (this transform's stream)."""
        return uniform(self.seed, sample_ids, self.op_id, n, dtype)

    def make_params(self, inputs, sample_ids: torch.Tensor) -> Params:
        raise NotImplementedError

    def apply_params(self, inputs, params: Params):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        # NumPy / CuPy arrays in and out; tensors go straight to nn.Module.__call__ (hooks,
        # torch.compile). Containers call their children's apply_params with tensors.
        return interop.call_module(super().__call__, self.forward, args, kwargs)

    def forward(self, inputs, sample_ids: Optional[torch.Tensor] = None,
                params: Optional[Params] = None, return_params: bool = False):
        if params is None:
            params = self.make_params(inputs, self.resolve_sample_ids(inputs, sample_ids))
        out = self.apply_params(inputs, params)
        return (out, params) if return_params else out
