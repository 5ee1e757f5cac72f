"""MoCo's queue of negatives and MoCHi hard-negative mixing as modules.

``MoCoQueue`` is MoCo's ring buffer of keys (He et al., CVPR 2020);
``MoCHi`` (Kalantidis et al., NeurIPS 2020) builds MoCo's contrastive
logits ``[positive | queue | synthetic]`` where the synthetic hard negatives
are drawn per query from the counter-based generator (keyed by sample id)
and scored by the fused ``mochi_logits`` kernel. Only real keys ever enter
the queue.
"""
import numbers

import torch
import torch.distributed as dist
from torch import nn

from .. import functional as F
from ..interop import to_torch
from ..params import uniform
from ..params.mixing import mochi_draws, mochi_indices
from ._base import RandomTransform


def _count(value, name, minimum=0):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or int(value) < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return int(value)


def _all_gather(out, tensor, group):
    """``all_gather_into_tensor`` (named ``all_gather_single`` since torch 2.13)."""
    gather = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor
    gather(out, tensor, group=group)


class MoCoQueue(nn.Module):
    """MoCo's queue: a ring buffer of the last ``size`` keys, (size, dim).

    Starts with random unit vectors (from the counter-based generator, so
    the start is reproducible), like MoCo's randomly initialized queue.
    ``enqueue(keys)`` replaces the oldest entries; the write position is a
    device tensor, so enqueueing never synchronizes with the host. Any batch
    size works: a batch that does not divide ``size`` wraps around
    (``size % batch != 0`` is handled), and of more keys than ``size`` the
    last ``size`` are kept. ``queue`` and ``ptr`` are (persistent) buffers, so
    ``state_dict()`` / ``load_state_dict()`` resume the queue exactly.

    Under ``torch.distributed`` (available, initialized, and the group has
    more than one rank), ``enqueue`` is MoCo's ``concat_all_gather`` +
    ``_dequeue_and_enqueue``: the keys of every rank are gathered (no
    gradient, ``all_gather_into_tensor`` on the queue's device and in its
    dtype) and the global batch is enqueued in rank order, so the queue and
    pointer stay identical on every rank. The same ring-buffer rules apply to
    the global batch (``size % global_batch != 0`` is handled). Single-process
    use makes no collective call. See docs/distributed.md.

    Args:
        dim: feature dimension D.
        size: number of negatives K.
        dtype: storage dtype (float32 / float16 / bfloat16).
        seed: seed of the initial random keys.
        process_group: the group whose ranks share the queue (default: the
            default group). Every rank of it must call ``enqueue`` each step.
        equal_batches: ``True`` (default): every rank enqueues the same number
            of keys each step; one collective, no host synchronization.
            Breaking the promise is a collective mismatch (gloo aborts the
            process, NCCL can hang; ``TORCH_DISTRIBUTED_DEBUG=DETAIL`` turns it
            into an error on every rank). ``False``: batch sizes may differ
            (also 0); the sizes are exchanged first (one more, small
            collective; on CUDA reading them is a device-to-host copy, which
            synchronizes), each rank's keys are padded to the largest batch for
            the gather and the padding is dropped, keeping rank order. In this
            mode invalid ``keys`` on any rank raise ``ValueError`` on every rank.

    Example:
        >>> queue = MoCoQueue(128, 4096)
        >>> queue.enqueue(torch.nn.functional.normalize(torch.randn(256, 128), dim=1))
        >>> queue.negatives.shape
        torch.Size([4096, 128])
    """

    def __init__(self, dim: int, size: int, *, dtype=torch.float32, seed: int = 0, process_group=None,
                 equal_batches: bool = True):
        super().__init__()
        self.dim, self.size = _count(dim, "dim", 1), _count(size, "size", 1)
        if dtype not in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
            raise TypeError(f"dtype: expected a floating point dtype, got {dtype}")
        if not isinstance(equal_batches, bool):
            raise TypeError(f"equal_batches: expected a bool, got {type(equal_batches).__name__}")
        self.process_group = process_group
        self.equal_batches = equal_batches
        u = uniform(seed, torch.arange(self.size), 0x51E0E, self.dim, torch.float32).to(torch.float64)
        init = torch.special.ndtri(u + 2.0**-26)
        self.register_buffer("queue", nn.functional.normalize(init, dim=1).to(dtype))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.int64))

    @property
    def negatives(self) -> torch.Tensor:
        """The (size, dim) queue of negatives (a view, not a copy)."""
        return self.queue

    def __len__(self):
        return self.size

    def _group_size(self) -> int:
        """World size of the queue's group; 1 when not distributed (no collective is made)."""
        if not (dist.is_available() and dist.is_initialized()):
            return 1
        world = dist.get_world_size(self.process_group)
        if world < 1:  # torch answers -1 on a rank outside the group
            raise RuntimeError("process_group: this rank is not a member of the queue's group")
        return world

    def _check_keys(self, keys):
        if not isinstance(keys, torch.Tensor) or keys.dim() != 2 or keys.shape[1] != self.dim:
            shape = tuple(keys.shape) if isinstance(keys, torch.Tensor) else type(keys).__name__
            return f"keys: expected shape (n, {self.dim}), got {shape}"
        return None

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Write ``keys`` (n, dim) over the n oldest entries (the last ``size`` when n > size).

        Distributed (see the class docstring): the keys of every rank, in rank
        order, are written instead. ``keys`` may also be a NumPy / CuPy array
        (read through DLPack, no copy)."""
        keys = to_torch(keys)
        error = self._check_keys(keys)
        world = self._group_size()
        if world > 1 and not self.equal_batches:
            keys = self._gather_unequal(keys, error, world)
        else:
            if error is not None:
                raise ValueError(error)
            keys = keys.detach().to(device=self.queue.device, dtype=self.queue.dtype)
            if world > 1:
                out = keys.new_empty((world * keys.shape[0], self.dim))
                _all_gather(out, keys.contiguous(), self.process_group)
                keys = out
        self._write(keys)

    def _gather_unequal(self, keys, error, world):
        """All ranks' keys in rank order, batch sizes exchanged first (one host sync)."""
        device = self.queue.device
        n = -1 if error is not None else keys.shape[0]
        sizes = torch.empty(world, dtype=torch.int64, device=device)
        _all_gather(sizes, torch.tensor([n], dtype=torch.int64, device=device), self.process_group)
        sizes = sizes.tolist()  # device -> host: synchronizes on CUDA
        if min(sizes) < 0:
            bad = [r for r, m in enumerate(sizes) if m < 0]
            raise ValueError(error if error is not None else
                             f"keys: invalid keys on rank(s) {bad} of the queue's group (expected (n, {self.dim}))")
        largest = max(sizes)
        keys = keys.detach().to(device=device, dtype=self.queue.dtype)
        if largest == 0:
            return keys
        if keys.shape[0] < largest:
            keys = torch.cat([keys, keys.new_zeros((largest - keys.shape[0], self.dim))])
        out = keys.new_empty((world * largest, self.dim))
        _all_gather(out, keys.contiguous(), self.process_group)
        if min(sizes) == largest:
            return out
        rows = torch.cat([torch.arange(m) + r * largest for r, m in enumerate(sizes)]).to(device)
        return out.index_select(0, rows)

    def _write(self, keys):
        """The ring-buffer write of (n, dim) keys already on the queue's device and dtype."""
        total = keys.shape[0]
        keys = keys[-self.size:]
        n = keys.shape[0]
        idx = (self.ptr + (total - n) + torch.arange(n, device=self.queue.device)) % self.size
        self.queue.index_copy_(0, idx, keys)
        self.ptr.copy_((self.ptr + total) % self.size)

    dequeue_and_enqueue = enqueue  # MoCo's name


def _defines(method) -> bool:
    """Whether a bound ``get/set_extra_state`` is someone's override, not nn.Module's stub."""
    return getattr(method, "__func__", None) not in (nn.Module.get_extra_state, nn.Module.set_extra_state)


class MoCHi(RandomTransform):
    """MoCo logits with MoCHi's synthetic hard negatives appended.

    ``forward(query, key, queue)`` with L2-normalized ``query`` (B, D), its
    positive ``key`` (B, D) and the queue (a ``MoCoQueue`` or a (K, D)
    tensor) returns ``(logits, labels)``: logits (B, 1 + K + s + s') =
    ``[q.k | q.queue | q.synthetic] / temperature`` and labels zeros (the
    positive is class 0), ready for ``cross_entropy``. Per query: the
    ``n_hard`` hardest negatives (highest ``q . n``, clipped to K), ``n_mix``
    mixes of two distinct ones (alpha ~ U(0, 1)) and ``n_mix_query`` mixes
    with the detached query (beta ~ U(0, 0.5)), all detached.

    Mixing is a training-time augmentation: in ``eval()`` mode, and for the
    first ``warmup_steps`` training calls (the paper starts mixing after a few
    epochs), the synthetic negatives are left out.

    Under DDP, give every rank the same (globally shared) ``MoCoQueue`` and
    pass ``sample_ids`` (dataset indices): a query's synthetic negatives are
    then those of a single process, whatever the world size. Without them each
    rank numbers its samples from 0 and ranks draw the same choices.
    ``state_dict()`` carries ``steps`` (the warm-up counter).

    Args:
        n_hard: N, hardest negatives to mix from (MoCHi's N).
        n_mix: s, synthetic negatives mixed from pairs of hard negatives.
        n_mix_query: s', synthetic negatives mixed with the query.
        temperature: MoCo's softmax temperature.
        warmup_steps: training calls without mixing.
        seed, same_on_batch: see RandomTransform.

    Example:
        >>> mochi, queue = MoCHi(n_hard=64, n_mix=16, n_mix_query=8), MoCoQueue(32, 512)
        >>> q = torch.nn.functional.normalize(torch.randn(4, 32), dim=1)
        >>> k = torch.nn.functional.normalize(torch.randn(4, 32), dim=1)
        >>> logits, labels = mochi(q, k, queue)
        >>> logits.shape
        torch.Size([4, 537])
    """

    def __init__(self, n_hard: int = 1024, n_mix: int = 256, n_mix_query: int = 256, temperature: float = 0.2,
                 warmup_steps: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.n_hard = _count(n_hard, "n_hard", 1)
        self.n_mix = _count(n_mix, "n_mix")
        self.n_mix_query = _count(n_mix_query, "n_mix_query")
        if not isinstance(temperature, numbers.Real) or not float(temperature) > 0:
            raise ValueError(f"temperature: expected a positive number, got {temperature!r}")
        self.temperature = float(temperature)
        self.warmup_steps = _count(warmup_steps, "warmup_steps")
        self.steps = 0

    def get_extra_state(self) -> dict:
        """``state_dict()`` carries the training-call counter (``steps``, for ``warmup_steps``),
        merged with the base class's extra state, so a resumed run mixes from the same step."""
        base = super().get_extra_state() if _defines(super().get_extra_state) else {}
        return {**base, "steps": self.steps}

    def set_extra_state(self, state: dict) -> None:
        if not isinstance(state, dict) or not isinstance(state.get("steps"), numbers.Integral):
            raise ValueError(f"state: expected a dict with an int 'steps', got {state!r}")
        if _defines(super().set_extra_state):
            super().set_extra_state({k: v for k, v in state.items() if k != "steps"})
        self.steps = int(state["steps"])

    def make_params(self, query, sample_ids, n_hard=None):
        """pair_index, alpha, query_index, beta for these queries (positions among n_hard)."""
        n = self.n_hard if n_hard is None else n_hard
        u = self.draw(sample_ids, mochi_draws(self.n_mix, self.n_mix_query))
        pair_index, alpha, query_index, beta = mochi_indices(u, n, self.n_mix, self.n_mix_query)
        return {"pair_index": pair_index, "alpha": alpha, "query_index": query_index, "beta": beta}

    @property
    def mixing(self) -> bool:
        return self.training and self.steps >= self.warmup_steps and self.n_mix + self.n_mix_query > 0

    def forward(self, query, key, queue, sample_ids=None, params=None, return_params=False):
        negatives = queue.negatives if isinstance(queue, MoCoQueue) else queue
        if not isinstance(query, torch.Tensor) or query.dim() != 2:
            raise ValueError("query: expected a (B, D) tensor")
        if not isinstance(key, torch.Tensor) or key.shape != query.shape:
            raise ValueError(f"key: expected shape {tuple(query.shape)}, got "
                             f"{tuple(key.shape) if isinstance(key, torch.Tensor) else type(key).__name__}")
        if not isinstance(negatives, torch.Tensor) or negatives.dim() != 2 or negatives.shape[1] != query.shape[1]:
            raise ValueError(f"queue: expected a MoCoQueue or a (K, {query.shape[1]}) tensor")
        T = self.temperature
        l_pos = (query * key.detach().to(query.dtype)).sum(dim=1, keepdim=True)
        l_neg = query @ negatives.detach().to(query.dtype).t()
        logits = [l_pos / T, l_neg / T]
        mixing = self.mixing
        if self.training:
            self.steps += 1
        n_hard = min(self.n_hard, negatives.shape[0])
        if mixing and n_hard > 0:
            if params is None:
                params = self.make_params(query, self.resolve_sample_ids(query, sample_ids), n_hard)
            hard_index = torch.topk(l_neg.detach(), n_hard, dim=1, sorted=True).indices
            logits.append(F.mochi_logits(query, negatives, hard_index, params["pair_index"], params["alpha"],
                                         params["query_index"], params["beta"], temperature=T))
        logits = torch.cat(logits, dim=1)
        labels = torch.zeros(query.shape[0], dtype=torch.int64, device=query.device)
        return ((logits, labels), params) if return_params else (logits, labels)
