"""Spectrogram and waveform transforms: torchaudio's masking modules, SpecAugment, shift, mixup.

All randomness comes from the counter-based generator (``RandomTransform.draw``):
every sample draws its own parameters (``iid_masks=True`` /
``same_on_batch=False``, the default), with tensor arithmetic only: no
Python loop over samples, no host synchronization.

Mask sampling is torchaudio's (``mask_along_axis_iid``): for a mask bound
``mask_param`` on an axis of ``size`` entries, ``value = u * mask_param``,
``min_value = u' * (size - value)``, and the mask is
``[trunc(min_value), trunc(min_value) + trunc(value))`` with u, u' ~ U[0, 1).
So widths are uniform on {0, ..., mask_param - 1}. With ``p < 1`` the bound is
``min(mask_param, floor(size * p))``; a bound below 1 masks nothing.
"""
import math
from typing import Optional

import torch

from .. import functional as F
from ._base import RandomTransform
from ._batch import repack, unpack

__all__ = ["TimeMasking", "FrequencyMasking", "SpecAugment", "FrequencyShift", "AudioMixup",
           "SPECAUGMENT_POLICIES", "axis_mask_bound", "sample_axis_masks", "symmetric_beta"]

# Park et al. 2019, Table 1: time warp W (not applied here), frequency mask
# bound F and count mF, time mask bound T, proportion p and count mT.
SPECAUGMENT_POLICIES = {
    "LB": dict(W=80, F=27, mF=1, T=100, p=1.0, mT=1),
    "LD": dict(W=80, F=27, mF=2, T=100, p=1.0, mT=2),
    "SM": dict(W=40, F=15, mF=2, T=70, p=0.2, mT=2),
    "SS": dict(W=40, F=27, mF=2, T=70, p=0.2, mT=2),
}


def axis_mask_bound(mask_param: int, p: float, size: int) -> int:
    """torchaudio's ``_get_mask_param``: mask_param, capped at floor(size * p) when p < 1."""
    return mask_param if p == 1.0 else min(mask_param, int(size * p))


def sample_axis_masks(u: torch.Tensor, mask_param: int, size: int):
    """(start, width) int64 (B, M) masks from (B, 2M) uniforms, torchaudio's distribution.

    Column m of ``u`` gives mask m's width, column M + m its start (see the
    module docstring). ``mask_param < 1`` gives width-0 masks.
    """
    n = u.shape[1] // 2
    u = u.to(torch.float64)
    value = u[:, :n] * max(mask_param, 0)
    min_value = u[:, n:] * (size - value)
    # .to(int64) truncates toward zero, as torchaudio's .long()
    return min_value.to(torch.int64), value.to(torch.int64)


def _check_int(v, name, low=0):
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name}: expected an int, got {type(v).__name__}")
    if v < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {v}")
    return v


def _check_p(p, name="p"):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: expected a number in [0, 1], got {p!r}")
    return float(p)


def _check_fill(v, name):
    if isinstance(v, str):
        if v != "mean":
            raise ValueError(f'{name}: expected a number or "mean", got {v!r}')
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f'{name}: expected a number or "mean", got {type(v).__name__}')
    return float(v)


class _AxisMasking(RandomTransform):
    """Shared body of TimeMasking and FrequencyMasking."""

    axis = -1  # -1 time, -2 frequency

    def __init__(self, mask_param: int, iid_masks: bool, p: float, mask_value, num_masks: int,
                 seed: int, same_on_batch: bool):
        super().__init__(seed=seed, same_on_batch=same_on_batch or not iid_masks)
        self.mask_param = _check_int(mask_param, self._param_name)
        self.iid_masks = bool(iid_masks)
        self.p = _check_p(p)
        self.mask_value = _check_fill(mask_value, "mask_value")
        self.num_masks = _check_int(num_masks, "num_masks")

    def make_params(self, specs, sample_ids):
        size = specs.shape[self.axis]
        bound = axis_mask_bound(self.mask_param, self.p, size)
        start, width = sample_axis_masks(self.draw(sample_ids, 2 * self.num_masks), bound, size)
        return {"start": start, "width": width}

    def extra_repr(self):
        return (f"{self._param_name}={self.mask_param}, iid_masks={self.iid_masks}, p={self.p}, "
                f"mask_value={self.mask_value!r}, num_masks={self.num_masks}")


class TimeMasking(_AxisMasking):
    """Mask time intervals of each spectrogram (SpecAugment, Park et al. 2019; torchaudio's name).

    Each of ``num_masks`` masks per sample has a width uniform on
    {0, ..., bound - 1}, ``bound = time_mask_param`` (capped at
    ``floor(frames * p)`` when ``p < 1``), and torchaudio's start distribution.

    Args:
        time_mask_param: maximum mask width (exclusive), in frames.
        iid_masks: per-sample masks (default); False draws one mask set for the
            batch (torchaudio's ``mask_along_axis``), same as ``same_on_batch=True``.
        p: maximum proportion of the frames one mask may cover.
        mask_value: fill number, or ``"mean"`` (each sample's own mean).
            torchaudio passes it to ``forward``; here it is a constructor argument.
        num_masks: masks per sample (torchaudio applies one per call).
        seed, same_on_batch: see :class:`RandomTransform`.

    Shape:
        (B, F, T) or (B, C, F, T) -> same shape; the channels of a sample share its masks.

    Example:
        >>> masking = TimeMasking(time_mask_param=80, seed=0)
        >>> out = masking(torch.randn(8, 128, 1000))
    """

    axis = -1
    _param_name = "time_mask_param"

    def __init__(self, time_mask_param: int, iid_masks: bool = True, p: float = 1.0, *,
                 mask_value=0.0, num_masks: int = 1, seed: int = 0, same_on_batch: bool = False):
        super().__init__(time_mask_param, iid_masks, p, mask_value, num_masks, seed, same_on_batch)

    def apply_params(self, specs, params):
        return F.time_mask(specs, params["start"], params["width"], self.mask_value)


class FrequencyMasking(_AxisMasking):
    """Mask frequency bands of each spectrogram (SpecAugment; torchaudio's name).

    Widths are uniform on {0, ..., freq_mask_param - 1}, starts as torchaudio's.

    Args:
        freq_mask_param: maximum mask width (exclusive), in bins.
        iid_masks: per-sample masks (default); False is ``same_on_batch=True``.
        mask_value: fill number, or ``"mean"`` (each sample's own mean).
        num_masks: masks per sample.
        seed, same_on_batch: see :class:`RandomTransform`.

    Shape:
        (B, F, T) or (B, C, F, T) -> same shape.

    Example:
        >>> masking = FrequencyMasking(freq_mask_param=27, seed=0)
        >>> out = masking(torch.randn(8, 128, 1000))
    """

    axis = -2
    _param_name = "freq_mask_param"

    def __init__(self, freq_mask_param: int, iid_masks: bool = True, *, mask_value=0.0,
                 num_masks: int = 1, seed: int = 0, same_on_batch: bool = False):
        super().__init__(freq_mask_param, iid_masks, 1.0, mask_value, num_masks, seed,
                         same_on_batch)

    def apply_params(self, specs, params):
        return F.freq_mask(specs, params["start"], params["width"], self.mask_value)


class SpecAugment(RandomTransform):
    """SpecAugment's frequency and time masking (Park et al. 2019), one kernel pass.

    ``policy`` is one of the paper's LibriSpeech / Switchboard policies
    (``SPECAUGMENT_POLICIES``: LB, LD, SM, SS); explicit numbers override its
    entries, or give all of them without a policy. Each sample draws
    ``n_freq_masks`` frequency masks of width < ``freq_mask_param`` and
    ``n_time_masks`` time masks of width < ``min(time_mask_param, floor(p * frames))``
    (torchaudio's sampling, see the module docstring).

    Deviations, on purpose: time warping (the policies' W) is not applied;
    ``p`` bounds the time masks only, as in the paper (torchaudio's
    ``SpecAugment`` applies it to both axes); ``mask_value="mean"`` (the
    default, the paper's choice) is each sample's own mean, where
    torchaudio's ``SpecAugment`` uses the batch mean.

    Args:
        policy: "LB", "LD", "SM", "SS" or None.
        freq_mask_param, n_freq_masks, time_mask_param, n_time_masks, p:
            the paper's F, mF, T, mT, p.
        mask_value: fill number, or ``"mean"``.
        iid_masks: per-sample masks (default); False is ``same_on_batch=True``.
        seed, same_on_batch: see :class:`RandomTransform`.

    Shape:
        (B, F, T) or (B, C, F, T) -> same shape.

    Example:
        >>> augment = SpecAugment("LD", seed=0)
        >>> out = augment(torch.randn(64, 128, 1000))
    """

    def __init__(self, policy: Optional[str] = None, *, freq_mask_param: Optional[int] = None,
                 n_freq_masks: Optional[int] = None, time_mask_param: Optional[int] = None,
                 n_time_masks: Optional[int] = None, p: Optional[float] = None, mask_value="mean",
                 iid_masks: bool = True, seed: int = 0, same_on_batch: bool = False):
        super().__init__(seed=seed, same_on_batch=same_on_batch or not iid_masks)
        if policy is None:
            base = dict(F=None, mF=None, T=None, mT=None, p=1.0)
        elif isinstance(policy, str) and policy.upper() in SPECAUGMENT_POLICIES:
            base = SPECAUGMENT_POLICIES[policy.upper()]
        else:
            raise ValueError(f"policy: expected one of {sorted(SPECAUGMENT_POLICIES)} or None, "
                             f"got {policy!r}")
        self.policy = None if policy is None else policy.upper()

        def pick(value, key, name):
            value = base[key] if value is None else value
            if value is None:
                raise ValueError(f"{name}: required when no policy is given")
            return value

        self.freq_mask_param = _check_int(pick(freq_mask_param, "F", "freq_mask_param"),
                                          "freq_mask_param")
        self.n_freq_masks = _check_int(pick(n_freq_masks, "mF", "n_freq_masks"), "n_freq_masks")
        self.time_mask_param = _check_int(pick(time_mask_param, "T", "time_mask_param"),
                                          "time_mask_param")
        self.n_time_masks = _check_int(pick(n_time_masks, "mT", "n_time_masks"), "n_time_masks")
        self.p = _check_p(pick(p, "p", "p"))
        self.mask_value = _check_fill(mask_value, "mask_value")
        self.iid_masks = bool(iid_masks)

    def make_params(self, specs, sample_ids):
        bins, frames = specs.shape[-2], specs.shape[-1]
        mf, mt = self.n_freq_masks, self.n_time_masks
        u = self.draw(sample_ids, 2 * (mf + mt))
        fs, fw = sample_axis_masks(u[:, :2 * mf], self.freq_mask_param, bins)
        t_bound = axis_mask_bound(self.time_mask_param, self.p, frames)
        ts, tw = sample_axis_masks(u[:, 2 * mf:], t_bound, frames)
        return {"freq_start": fs, "freq_width": fw, "time_start": ts, "time_width": tw}

    def apply_params(self, specs, params):
        return F.spec_mask(specs, params["freq_start"], params["freq_width"],
                           params["time_start"], params["time_width"], self.mask_value)

    def extra_repr(self):
        return (f"policy={self.policy!r}, freq_mask_param={self.freq_mask_param}, "
                f"n_freq_masks={self.n_freq_masks}, time_mask_param={self.time_mask_param}, "
                f"n_time_masks={self.n_time_masks}, p={self.p}, mask_value={self.mask_value!r}")


class FrequencyShift(RandomTransform):
    """Shift each spectrogram along frequency by a uniform integer in [-max_shift, max_shift].

    ``shift = floor(u * (2 * max_shift + 1)) - max_shift``; a positive shift
    moves content toward higher bins, vacated bins take ``fill``
    (see :func:`datagen_gpu.functional.freq_shift`).

    Args:
        max_shift: largest shift in bins (>= 0).
        fill: value of the vacated bins.
        seed, same_on_batch: see :class:`RandomTransform`.

    Shape:
        (B, F, T) or (B, C, F, T) -> same shape.

    Example:
        >>> shift = FrequencyShift(max_shift=8, seed=0)
        >>> out = shift(torch.randn(8, 128, 1000))
    """

    def __init__(self, max_shift: int, fill: float = 0.0, *, seed: int = 0,
                 same_on_batch: bool = False):
        super().__init__(seed=seed, same_on_batch=same_on_batch)
        self.max_shift = _check_int(max_shift, "max_shift")
        if isinstance(fill, bool) or not isinstance(fill, (int, float)):
            raise TypeError(f"fill: expected a number, got {type(fill).__name__}")
        self.fill = float(fill)

    def make_params(self, specs, sample_ids):
        u = self.draw(sample_ids, 1)[:, 0]
        k = 2 * self.max_shift + 1
        return {"shift": torch.floor(u * k).to(torch.int64).clamp_(max=k - 1) - self.max_shift}

    def apply_params(self, specs, params):
        return F.freq_shift(specs, params["shift"], self.fill)

    def extra_repr(self):
        return f"max_shift={self.max_shift}, fill={self.fill}"


GAMMA_TRIES = 8  # Marsaglia-Tsang proposals per gamma variate (acceptance >= 0.95 each)
GAMMA_DRAWS = 3 * GAMMA_TRIES + 1


def _gamma(u: torch.Tensor, shape: float) -> torch.Tensor:
    """Gamma(shape, 1) variates from (B, GAMMA_DRAWS) uniforms, float64, no loop over samples.

    Marsaglia & Tsang (2000): d = a - 1/3, c = 1 / sqrt(9 d), proposal
    v = (1 + c z)^3 with z ~ N(0, 1) (Box-Muller), accepted when v > 0 and
    log U < z^2 / 2 + d - d v + d log v; the first accepted of GAMMA_TRIES
    proposals is used (all rejected, probability < 1e-10: the mode d).
    Shapes a < 1 use Gamma(a + 1) * U^(1 / a).
    """
    a = shape + 1.0 if shape < 1.0 else shape
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    t = u[:, :3 * GAMMA_TRIES].reshape(-1, GAMMA_TRIES, 3)
    z = torch.sqrt(-2.0 * torch.log1p(-t[..., 0])) * torch.cos(2.0 * math.pi * t[..., 1])
    v = (1.0 + c * z) ** 3
    ok = v > 0
    safe_v = torch.where(ok, v, torch.ones_like(v))
    accept = ok & (torch.log(t[..., 2]) < 0.5 * z * z + d - d * safe_v + d * torch.log(safe_v))
    first = accept.to(torch.int8).argmax(dim=1, keepdim=True)
    g = torch.where(accept.any(dim=1), (d * safe_v).gather(1, first).squeeze(1),
                    torch.full_like(u[:, 0], d))
    if shape < 1.0:
        g = g * (1.0 - u[:, -1]) ** (1.0 / shape)  # 1 - U in (0, 1]
    return g


def symmetric_beta(u: torch.Tensor, alpha: float) -> torch.Tensor:
    """Beta(alpha, alpha) per row of (B, 2 * GAMMA_DRAWS) uniforms: G1 / (G1 + G2), float64."""
    g1 = _gamma(u[:, :GAMMA_DRAWS], alpha)
    g2 = _gamma(u[:, GAMMA_DRAWS:], alpha)
    total = g1 + g2
    return torch.where(total > 0, g1 / torch.where(total > 0, total, torch.ones_like(total)),
                       torch.full_like(total, 0.5))


class AudioMixup(RandomTransform):
    """Mixup of waveforms or spectrograms within the batch (Zhang et al. 2018).

    Each sample draws ``lam ~ Beta(alpha, alpha)`` and a partner: the batch is
    permuted by sorting per-sample uniform keys (with ``same_on_batch=True``:
    one lam for the batch and the reversed batch as partners, timm's pairing).
    Returns ``(mixed, labels)`` as :func:`datagen_gpu.functional.audio_mixup`:
    the dominant input's labels, or mixed soft labels with ``soft=True``.

    Args:
        alpha: Beta parameter (> 0).
        soft: return mixed soft labels.
        num_classes: class count, for ``soft=True`` with class-index labels.
        seed, same_on_batch: see :class:`RandomTransform`.

    Shape:
        x (B, T), (B, C, T), (B, F, T) or (B, C, F, T); labels (B,) or (B, K).

    Example:
        >>> mix = AudioMixup(alpha=0.4, seed=0)
        >>> mixed, labels = mix(torch.randn(8, 16000), torch.arange(8))
    """

    def __init__(self, alpha: float = 1.0, *, soft: bool = False, num_classes: Optional[int] = None,
                 seed: int = 0, same_on_batch: bool = False):
        super().__init__(seed=seed, same_on_batch=same_on_batch)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha: expected a positive number, got {alpha!r}")
        self.alpha = float(alpha)
        self.soft = bool(soft)
        self.num_classes = num_classes

    def make_params(self, x, sample_ids):
        u = self.draw(sample_ids, 2 * GAMMA_DRAWS + 1)
        lam = symmetric_beta(u[:, :-1], self.alpha).to(torch.float32)
        batch = x.shape[0]
        if self.same_on_batch:
            perm = torch.arange(batch - 1, -1, -1, dtype=torch.int64, device=x.device)
        else:
            perm = torch.argsort(u[:, -1], stable=True)
        return {"lam": lam, "perm": perm}

    def apply_params(self, inputs, params):
        x, labels = inputs
        return F.audio_mixup(x, labels, params["lam"], params["perm"], soft=self.soft,
                             num_classes=self.num_classes)

    def forward(self, x, labels=None, sample_ids=None, params=None, return_params=False):
        """``(x, labels)`` -> mixed ``(x, labels)``; a ``datagen_gpu.data.Batch`` -> the mixed Batch."""
        x, labels, sample_ids, batch = unpack(x, labels, sample_ids)
        if params is None:
            params = self.make_params(x, self.resolve_sample_ids(x, sample_ids))
        out = repack(batch, self.apply_params((x, labels), params))
        return (out, params) if return_params else out

    def extra_repr(self):
        return f"alpha={self.alpha}, soft={self.soft}, num_classes={self.num_classes}"
