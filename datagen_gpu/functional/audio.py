"""Spectrogram and waveform functionals: masking, frequency shift, mixup.

Spectrograms are ``(B, F, T)`` or ``(B, C, F, T)`` float32 / float16 /
bfloat16 tensors (frequency bins along F, frames along T) in any strided
layout; outputs keep the input's shape and memory order. Values are not
assumed to be in [0, 1] (power, dB, log-mel ... all work): kernels compute
in float32 and round once to the output dtype.

Masking follows torchaudio's definition: a mask covers the half-open
interval ``[start, start + width)`` of its axis. Here ``start`` / ``width``
are per-sample ``(B, M)`` integer tensors (M masks per sample, applied in
one pass); masks may overlap; a mask of width 0 is a no-op; a mask running
past either edge is clipped. The channels of a ``(B, C, F, T)`` sample share
its masks (torchaudio's ``mask_along_axis_iid`` draws per channel too).
"""
import torch

from .._checks.audio import check_audio, check_specs, resolve_out_dtype
from .._checks import as_param, check_range

__all__ = ["time_mask", "freq_mask", "spec_mask", "freq_shift", "audio_mixup"]


def _masks(value, specs, name):
    """Mask starts or widths as a contiguous (B, M) int64 tensor.

    An int broadcasts to one mask per sample, a (B,) tensor is one mask per
    sample, a (B, M) tensor is M masks per sample.
    """
    batch = specs.shape[0]
    if isinstance(value, bool) or not isinstance(value, (int, torch.Tensor)):
        raise TypeError(f"{name}: expected an int or an integer tensor of shape ({batch},) or "
                        f"({batch}, M), got {type(value).__name__}")
    if isinstance(value, int):
        return torch.full((batch, 1), value, dtype=torch.int64, device=specs.device)
    if value.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"{name}: expected an integer tensor, got {value.dtype}")
    if value.device != specs.device:
        raise ValueError(f"{name}: expected device {specs.device} (the spectrograms' device), "
                         f"got {value.device}")
    if value.dim() == 1:
        value = value[:, None]
    if value.dim() != 2 or value.shape[0] != batch:
        raise ValueError(f"{name}: expected shape ({batch},) or ({batch}, M), "
                         f"got {tuple(value.shape)}")
    return value.to(torch.int64).contiguous()


def _mask_pair(specs, start, width, start_name, width_name):
    start = _masks(start, specs, start_name)
    width = _masks(width, specs, width_name)
    if start.shape != width.shape:
        if start.shape[1] == 1:
            start = start.expand_as(width).contiguous()
        elif width.shape[1] == 1:
            width = width.expand_as(start).contiguous()
        else:
            raise ValueError(f"{width_name}: expected {start.shape[1]} masks per sample "
                             f"(as {start_name}), got {width.shape[1]}")
    check_range(width, width_name, 0, what="mask widths")
    return start, width


def _fill(value, specs, name):
    """A fill value: "mean" -> None (each sample's own mean), else a (B,) float32 tensor."""
    if isinstance(value, str):
        if value != "mean":
            raise ValueError(f'{name}: expected a number, a ({specs.shape[0]},) tensor or "mean", '
                             f"got {value!r}")
        return None
    return as_param(value, specs, name, torch.float32)


def time_mask(specs: torch.Tensor, start, width, value=0.0, *, out_dtype=None) -> torch.Tensor:
    """Fill time intervals ``[start, start + width)`` of each spectrogram with ``value``.

    ``out[i, ..., t] = value_i`` for t in any of sample i's masks, else
    ``specs[i, ..., t]`` (torchaudio ``mask_along_axis_iid`` along time with
    explicit intervals).

    Args:
        specs: (B, F, T) or (B, C, F, T) float32 / float16 / bfloat16.
        start: first masked frame: an int, a (B,) or a (B, M) integer tensor (M masks per sample).
        width: mask widths (>= 0), same forms as ``start``; 0 masks nothing.
        value: a number, a (B,) tensor, or ``"mean"``: each sample's own mean
            (of the unmasked input, over all its channels, bins and frames).
        out_dtype: output dtype (float32 / float16 / bfloat16; default: the input's).

    Shape:
        specs (B, F, T) or (B, C, F, T) -> same shape and memory order.

    Example:
        >>> specs = torch.randn(2, 80, 300)
        >>> out = time_mask(specs, torch.tensor([[10, 200], [0, 50]]), torch.tensor([[30, 5], [7, 0]]))
    """
    check_specs(specs)
    start, width = _mask_pair(specs, start, width, "start", "width")
    return torch.ops.datagen_gpu.time_mask(specs, start, width, _fill(value, specs, "value"),
                                           resolve_out_dtype(out_dtype, specs))


def freq_mask(specs: torch.Tensor, start, width, value=0.0, *, out_dtype=None) -> torch.Tensor:
    """Fill frequency intervals ``[start, start + width)`` of each spectrogram with ``value``.

    ``out[i, ..., f, :] = value_i`` for f in any of sample i's masks, else
    ``specs[i, ..., f, :]``.

    Args:
        specs: (B, F, T) or (B, C, F, T) float32 / float16 / bfloat16.
        start: first masked bin: an int, a (B,) or a (B, M) integer tensor (M masks per sample).
        width: mask widths (>= 0), same forms as ``start``; 0 masks nothing.
        value: a number, a (B,) tensor, or ``"mean"`` (each sample's own mean).
        out_dtype: output dtype (default: the input's).

    Shape:
        specs (B, F, T) or (B, C, F, T) -> same shape and memory order.

    Example:
        >>> specs = torch.randn(2, 80, 300)
        >>> out = freq_mask(specs, torch.tensor([3, 40]), torch.tensor([10, 27]), value="mean")
    """
    check_specs(specs)
    start, width = _mask_pair(specs, start, width, "start", "width")
    return torch.ops.datagen_gpu.freq_mask(specs, start, width, _fill(value, specs, "value"),
                                           resolve_out_dtype(out_dtype, specs))


def spec_mask(specs: torch.Tensor, freq_start, freq_width, time_start, time_width, value=0.0, *,
              out_dtype=None) -> torch.Tensor:
    """Frequency and time masks in one pass (SpecAugment without time warping).

    Equal to ``time_mask(freq_mask(specs, freq_start, freq_width, v), time_start,
    time_width, v)`` for a fixed value v; with ``value="mean"`` every mask
    takes the mean of the unmasked input sample (not of the frequency-masked one).

    Args:
        specs: (B, F, T) or (B, C, F, T) float32 / float16 / bfloat16.
        freq_start, freq_width: frequency masks, forms as in :func:`freq_mask`.
        time_start, time_width: time masks, forms as in :func:`time_mask`.
        value: a number, a (B,) tensor, or ``"mean"``.
        out_dtype: output dtype (default: the input's).

    Shape:
        specs (B, F, T) or (B, C, F, T) -> same shape and memory order.

    Example:
        >>> specs = torch.randn(2, 80, 300)
        >>> fs, fw = torch.tensor([[5, 40], [0, 0]]), torch.tensor([[10, 3], [27, 0]])
        >>> ts, tw = torch.tensor([[100], [20]]), torch.tensor([[50], [99]])
        >>> out = spec_mask(specs, fs, fw, ts, tw, value="mean")
    """
    check_specs(specs)
    fs, fw = _mask_pair(specs, freq_start, freq_width, "freq_start", "freq_width")
    ts, tw = _mask_pair(specs, time_start, time_width, "time_start", "time_width")
    return torch.ops.datagen_gpu.spec_mask(specs, fs, fw, ts, tw, _fill(value, specs, "value"),
                                           resolve_out_dtype(out_dtype, specs))


def freq_shift(specs: torch.Tensor, shift, fill=0.0, *, out_dtype=None) -> torch.Tensor:
    """Shift each spectrogram by ``shift[i]`` bins along the frequency axis.

    ``out[i, ..., f, :] = specs[i, ..., f - shift[i], :]`` when
    ``0 <= f - shift[i] < F``, else ``fill``: a positive shift moves content
    toward higher bins. Any integer is accepted; ``|shift| >= F`` fills everything.

    Args:
        specs: (B, F, T) or (B, C, F, T) float32 / float16 / bfloat16.
        shift: (B,) integer tensor, or an int for every sample.
        fill: value of the vacated bins: a number or a (B,) tensor.
        out_dtype: output dtype (default: the input's).

    Shape:
        specs (B, F, T) or (B, C, F, T) -> same shape and memory order.

    Example:
        >>> specs = torch.randn(3, 64, 100)
        >>> out = freq_shift(specs, torch.tensor([2, 0, -5]), fill=specs.amin())
    """
    check_specs(specs)
    shift = as_param(shift, specs, "shift", torch.int64)
    fill = as_param(fill, specs, "fill", torch.float32)
    return torch.ops.datagen_gpu.freq_shift(specs, shift, fill, resolve_out_dtype(out_dtype, specs))


def _mix_labels(labels, lam, perm, soft, num_classes):
    batch = lam.shape[0]
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels: expected a tensor, got {type(labels).__name__}")
    if labels.device != lam.device:
        raise ValueError(f"labels: expected device {lam.device} (x's device), got {labels.device}")
    if labels.dim() not in (1, 2) or labels.shape[0] != batch:
        raise ValueError(f"labels: expected shape ({batch},) (class indices) or ({batch}, K), "
                         f"got {tuple(labels.shape)}")
    if not soft:
        pick = lam >= 0.5
        if labels.dim() == 2:
            pick = pick[:, None]
        return torch.where(pick, labels, labels[perm])
    if labels.dim() == 1:
        if labels.is_floating_point() or labels.dtype == torch.bool:
            raise TypeError(f"labels: class indices must be integers, got {labels.dtype}")
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
            raise ValueError(f"num_classes: soft labels from class indices need a positive int, "
                             f"got {num_classes!r}")
        check_range(labels, "labels", 0, num_classes - 1, what="class indices")
        # scatter, not one_hot: no host synchronization on CUDA
        labels = torch.zeros((batch, num_classes), dtype=torch.float32, device=lam.device).scatter_(
            1, labels.long()[:, None], 1.0)
    elif not labels.is_floating_point():
        labels = labels.to(torch.float32)
    w = lam.to(labels.dtype)[:, None]
    return w * labels + (1 - w) * labels[perm]


def audio_mixup(x: torch.Tensor, labels: torch.Tensor, lam, perm: torch.Tensor, *, soft=False,
                num_classes=None, out_dtype=None):
    """Mix each waveform or spectrogram with another of the batch (mixup, Zhang et al. 2018).

    ``mixed[i] = lam[i] * x[i] + (1 - lam[i]) * x[perm[i]]`` (float32 math).
    Labels: by default the dominant input's, ``labels[i]`` when
    ``lam[i] >= 0.5`` else ``labels[perm[i]]`` (class indices or rows of a
    (B, K) tensor); with ``soft=True`` the mixed distributions
    ``lam[i] * y[i] + (1 - lam[i]) * y[perm[i]]`` (class indices become
    one-hot rows of ``num_classes``).

    Args:
        x: (B, T), (B, C, T), (B, F, T) or (B, C, F, T) float32 / float16 / bfloat16.
        labels: (B,) integer class indices, or (B, K) one-hot / multi-hot / soft labels.
        lam: mixing weights in [0, 1]: a (B,) float tensor or one number.
        perm: (B,) int64 partner of each sample, values in [0, B).
        soft: return mixed soft labels (float32 unless ``labels`` are floats).
        num_classes: number of classes, for ``soft=True`` with class indices.
        out_dtype: dtype of ``mixed`` (default: x's).

    Shape:
        x (B, ...) -> mixed (B, ...), same memory order; labels (B,) or (B, K)
        -> (B,) / (B, K), or (B, K) / (B, num_classes) with ``soft=True``.

    Example:
        >>> wav = torch.randn(4, 16000)
        >>> mixed, y = audio_mixup(wav, torch.tensor([0, 1, 2, 3]), torch.tensor([0.9, 0.2, 0.5, 0.7]),
        ...                        torch.tensor([1, 0, 3, 2]))
    """
    check_audio(x)
    lam = as_param(lam, x, "lam", torch.float32)
    check_range(lam, "lam", 0.0, 1.0)
    if not isinstance(perm, torch.Tensor):
        raise TypeError(f"perm: expected an int64 tensor of shape ({x.shape[0]},), "
                        f"got {type(perm).__name__}")
    perm = as_param(perm, x, "perm", torch.int64)
    check_range(perm, "perm", 0, x.shape[0] - 1, what="batch indices")
    out_dtype = resolve_out_dtype(out_dtype, x)
    mixed_labels = _mix_labels(labels, lam, perm, soft, num_classes)  # validates labels first
    return torch.ops.datagen_gpu.audio_mixup(x, lam, perm, out_dtype), mixed_labels
