"""torchaudio and plain PyTorch as peers: SpecAugment, and the per-sample Mixup / CutMix written by hand.

- ``torchaudio``: ``torchaudio.transforms.SpecAugment`` with the LD policy's
  numbers (2 frequency masks < 27 bins, 2 time masks < 100 frames, per-sample
  masks, filled with the batch mean: torchaudio's ``zero_masking=False``).
- ``torch``: what a user writes without a library, batched tensor ops with
  per-sample draws on the device: SpecAugment as one boolean mask and one
  ``torch.where``; timm-style ``elem`` Mixup / CutMix as a per-sample weight,
  a box mask, one ``torch.where`` and smoothed one-hot targets.
"""
import torch

from .cases import MIXUP
from .peers import Built, cannot

LD = dict(freq_mask_param=27, n_freq_masks=2, time_mask_param=100, n_time_masks=2)


def _axis_mask(batch, n_masks, param, length, device):
    """(batch, length) bool: the union of ``n_masks`` masks of width U[0, param) per sample."""
    width = (torch.rand(batch, n_masks, device=device) * min(param, length)).long()
    start = (torch.rand(batch, n_masks, device=device) * (length - width + 1)).long()
    pos = torch.arange(length, device=device)
    return ((pos >= start[..., None]) & (pos < (start + width)[..., None])).any(1)


def torch_specaugment(x: torch.Tensor) -> torch.Tensor:
    """SpecAugment LD on (B, F, T) in plain torch: per-sample masks filled with each sample's mean."""
    b, f, t = x.shape
    freq = _axis_mask(b, LD["n_freq_masks"], LD["freq_mask_param"], f, x.device)
    time = _axis_mask(b, LD["n_time_masks"], LD["time_mask_param"], t, x.device)
    mask = freq[:, :, None] | time[:, None, :]
    return torch.where(mask, x.mean((1, 2), keepdim=True), x)


def torch_mixup(x: torch.Tensor, y: torch.Tensor):
    """timm's elem-mode Mixup / CutMix in plain torch: (images, smoothed soft targets)."""
    b, _, h, w = x.shape
    dev = x.device
    beta_mix = torch.distributions.Beta(MIXUP["mixup_alpha"], MIXUP["mixup_alpha"])
    beta_cut = torch.distributions.Beta(MIXUP["cutmix_alpha"], MIXUP["cutmix_alpha"])
    lam_mix, lam_cut = beta_mix.sample((b,)).to(dev), beta_cut.sample((b,)).to(dev)
    use_cut = torch.rand(b, device=dev) < MIXUP["switch_prob"]
    cut = torch.sqrt(1 - lam_cut)
    ch, cw = (h * cut).long(), (w * cut).long()
    cy, cx = (torch.rand(b, device=dev) * h).long(), (torch.rand(b, device=dev) * w).long()
    y0, y1 = (cy - ch // 2).clamp(0, h), (cy + ch // 2).clamp(0, h)
    x0, x1 = (cx - cw // 2).clamp(0, w), (cx + cw // 2).clamp(0, w)
    rows, cols = torch.arange(h, device=dev), torch.arange(w, device=dev)
    box = (((rows >= y0[:, None]) & (rows < y1[:, None]))[:, :, None]
           & ((cols >= x0[:, None]) & (cols < x1[:, None]))[:, None, :]) & use_cut[:, None, None]
    lam = torch.where(use_cut, 1 - box.sum((1, 2)) / (h * w), lam_mix)
    partner = x.flip(0)
    blend = torch.where(use_cut, 1.0, lam)[:, None, None, None]
    out = torch.where(box[:, None], partner, x * blend + partner * (1 - blend))
    n, s = MIXUP["num_classes"], MIXUP["label_smoothing"]
    one_hot = torch.full((b, n), s / n, device=dev).scatter_(1, y[:, None], 1 - s + s / n)
    return out, one_hot * lam[:, None] + one_hot.flip(0) * (1 - lam[:, None])


def build_torch(pipeline, inputs, settings):
    x, y = inputs.tensor, inputs.labels
    if pipeline.kind == "spectrogram":
        return Built(lambda: torch_specaugment(x), settings.device, "hand-written: one mask, one where")
    if pipeline.kind == "mixing":
        return Built(lambda: torch_mixup(x, y), settings.device, "hand-written: batched ops, box mask")
    raise cannot("torch", pipeline, "only the spectrogram and mixing pipelines have a plain-torch version here")


def build_torchaudio(pipeline, inputs, settings):
    import torchaudio.transforms as AT

    if pipeline.kind != "spectrogram":
        raise cannot("torchaudio", pipeline, "audio transforms only")
    augment = AT.SpecAugment(n_time_masks=LD["n_time_masks"], time_mask_param=LD["time_mask_param"],
                             n_freq_masks=LD["n_freq_masks"], freq_mask_param=LD["freq_mask_param"],
                             iid_masks=True, p=1.0, zero_masking=False).to(settings.device)
    x = inputs.tensor
    return Built(lambda: augment(x.unsqueeze(1)).squeeze(1), settings.device, "fill: the batch mean")
