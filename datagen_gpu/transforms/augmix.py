"""AugMix (Hendrycks et al. 2020) per sample: torchvision v2's AugMix on whole batches."""
import torch

from .. import functional as F
from ..functional._buffers import batch_buffer
from ..params import policy as P
from ..params.mixing import BETA_DRAWS, GAMMA_DRAWS, beta_symmetric
from .autoaugment import _SlotPolicy

MAX_DEPTH = 3  # torchvision: a negative chain_depth draws each chain's depth from {1, 2, 3}


def _repeat_blocks(x, k):
    """(k * B, C, H, W) NCHW: k copies of the batch one after the other (on the CPU in a
    cached buffer: no fresh pages to fault in every call)."""
    shape = (k, *x.shape)
    out = batch_buffer(shape, x.dtype, x.device)
    out.copy_(x.unsqueeze(0).expand(shape))
    return out.view(k * x.shape[0], *x.shape[1:])


class AugMix(_SlotPolicy):
    """AugMix per sample, torchvision v2's definition.

    For each sample: ``mixture_width`` chains, each of ``chain_depth`` operations (or a
    depth drawn from {1, 2, 3} per chain when negative), each operation drawn uniformly
    from torchvision's AugMix space (``all_ops=False``: without brightness, color,
    contrast and sharpness) at a magnitude bin drawn from [0, severity) of 10, with a
    random sign; then ``out = m * x + (1 - m) * sum_i w_i chain_i`` with ``m ~
    Beta(alpha, alpha)`` and ``w ~ Dirichlet(alpha, ..., alpha)`` (torchvision draws m
    as a Dirichlet of two, the same law).

    Launches: the chains run as one batch of ``B * mixture_width`` images through
    ``max depth`` slots (each: one warp + the pixel_ops launches, identity where a chain
    is shorter), then the weighted sum (a few elementwise launches), whatever the mix.
    uint8 outputs are rounded (torchvision truncates: within one level).

    Args:
        severity: magnitude bins drawn from [0, severity), 1..10.
        mixture_width: chains per sample (>= 1).
        chain_depth: operations per chain; <= 0 draws 1..3 per chain.
        alpha: the Beta / Dirichlet concentration (> 0).
        all_ops: include the colour-enhance operations.
        interpolation: "bilinear" (torchvision's AugMix default) or "nearest".
        fill, seed, same_on_batch: as RandAugment.

    Params: ``op`` / ``value`` / ``apply`` of shape (B, mixture_width, depth) and
    ``weights`` (B, 1 + mixture_width) float64: the original's weight m, then the chains'.

    Example:
        >>> y = AugMix(seed=0)(torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8))
    """

    APPLY_ATTRS = _SlotPolicy.APPLY_ATTRS

    def __init__(self, severity=3, mixture_width=3, chain_depth=-1, alpha=1.0, all_ops=True,
                 interpolation="bilinear", fill=None, **kwargs):
        super().__init__(interpolation=interpolation, fill=fill, **kwargs)
        if not isinstance(severity, int) or not 1 <= severity <= 10:
            raise ValueError(f"severity: expected an int in [1, 10], got {severity!r}")
        if not isinstance(mixture_width, int) or mixture_width < 1:
            raise ValueError(f"mixture_width: expected an int >= 1, got {mixture_width!r}")
        if not isinstance(chain_depth, int):
            raise ValueError(f"chain_depth: expected an int, got {chain_depth!r}")
        if not float(alpha) > 0:
            raise ValueError(f"alpha: expected a positive number, got {alpha!r}")
        self.severity, self.mixture_width, self.chain_depth = severity, mixture_width, chain_depth
        self.alpha, self.all_ops = float(alpha), bool(all_ops)
        self.space = P.AUGMIX_SPACE if self.all_ops else P.AUGMIX_PARTIAL_SPACE

    @property
    def depth(self) -> int:
        return self.chain_depth if self.chain_depth > 0 else MAX_DEPTH

    def make_params(self, x, sample_ids):
        H, W = self._size(x)
        K, D = self.mixture_width, self.depth
        n_mix = BETA_DRAWS + K * GAMMA_DRAWS
        u = self.draw(sample_ids, n_mix + K + 3 * K * D)
        m = beta_symmetric(u[:, :BETA_DRAWS], self.alpha)
        w = P.dirichlet(u[:, BETA_DRAWS:n_mix], self.alpha, K) * (1.0 - m).unsqueeze(1)
        weights = torch.cat([m.unsqueeze(1), w], dim=1)
        if self.chain_depth > 0:
            depth = torch.full((u.shape[0], K), D, dtype=torch.int64, device=u.device)
        else:
            depth = 1 + P.choose(u[:, n_mix:n_mix + K], MAX_DEPTH)
        d = u[:, n_mix + K:].view(-1, K, D, 3)
        op = P.choose(d[..., 0], len(self.space))
        bins = P.choose(d[..., 1], self.severity)
        table = P.magnitude_table(self.space, 10, H, W, x.device)
        value = P.torchvision_values(self.space, op, bins, d[..., 2] <= 0.5, table)
        apply = torch.arange(D, device=u.device).view(1, 1, D) < depth.unsqueeze(2)
        return {"op": op, "value": value, "apply": apply, "weights": weights}

    def apply_params(self, x, params):
        P_ = params
        self._size(x)
        B, C, H, W = x.shape
        if B == 0:
            return x.clone()
        K, D = P_["op"].shape[1], P_["op"].shape[2]
        # chain-major rows k * B + b: every chain's batch is one contiguous block
        chains = _repeat_blocks(x, K)
        op, value, apply = (P_[k].transpose(0, 1).reshape(K * B, D) for k in ("op", "value", "apply"))
        chains = self.run_slots(chains, op, value, apply)
        w = P_["weights"].to(device=x.device, dtype=torch.float32).view(B, 1 + K, 1, 1, 1)
        # out = w0 x + sum_k w_k chain_k on [0, 1] float32 values, accumulated in place in the
        # first chain's block of the converted chains (a fresh buffer: the chains' own, or
        # to_dtype's output), so no batch-sized temporaries
        parts = F.to_dtype(chains, torch.float32, scale=True).view(K, B, C, H, W)
        mix = parts[0].mul_(w[:, 1])
        for k in range(1, K):
            mix.addcmul_(parts[k], w[:, k + 1])
        mix.addcmul_(F.to_dtype(x, torch.float32, scale=True), w[:, 0])  # read only (may be x)
        out = F.to_dtype(mix, x.dtype, scale=True) if x.dtype != torch.float32 else mix.clone()
        if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    def mask_params(self, params, apply):
        """RandomApply's coin: skipped samples keep the original (weight 1, no chain ops)."""
        weights = params["weights"]
        keep = torch.zeros_like(weights)
        keep[:, 0] = 1.0
        return {**params, "apply": params["apply"] & apply.view(-1, 1, 1),
                "weights": torch.where(apply.view(-1, 1), weights, keep)}
