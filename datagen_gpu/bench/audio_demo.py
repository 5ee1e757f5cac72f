"""Demo picture: a synthesized speech-like log-mel spectrogram before and after SpecAugment.

Everything is generated here (nothing downloaded): a voiced signal with a
moving pitch and vowel-like formant glides, separated by fricative noise
bursts, goes through ``torch.stft`` and a mel filterbank to a log-mel
spectrogram; ``SpecAugment("LD")`` masks it; both are rendered one above
the other (low frequencies at the bottom) into a PNG::

    python -m datagen_gpu.bench.audio_demo out/specaugment.png
"""
import math
import sys
from pathlib import Path

import torch

from .plots import save_png

SAMPLE_RATE = 16000
N_FFT, HOP, WIN = 512, 160, 400
N_MELS = 80

# (F1, F2, F3) in Hz of a few vowels; syllables glide from one to another
_VOWELS = torch.tensor([[730.0, 1090, 2440], [270, 2290, 3010], [300, 870, 2240],
                        [530, 1840, 2480], [570, 840, 2410], [660, 1720, 2410]])


def synthesize_speech(seconds: float = 6.0, seed: int = 0) -> torch.Tensor:
    """A (N,) float32 speech-like waveform in [-1, 1] at 16 kHz.

    Syllables of random length: a harmonic voice (pitch declining over the
    utterance with a rise-fall per syllable) shaped by three formants that
    glide between vowels, with a hissing fricative before some syllables and
    short pauses between words.
    """
    g = torch.Generator().manual_seed(seed)
    n = int(seconds * SAMPLE_RATE)
    t = torch.arange(n, dtype=torch.float64) / SAMPLE_RATE
    # syllable boundaries: random durations, every third one followed by a pause
    durations = 0.16 + 0.26 * torch.rand(64, generator=g, dtype=torch.float64)
    durations[2::3] += 0.12 + 0.2 * torch.rand(len(durations[2::3]), generator=g,
                                               dtype=torch.float64)
    bounds = torch.cat([torch.tensor([0.15], dtype=torch.float64), 0.15 + durations.cumsum(0)])
    bounds = bounds[bounds < seconds - 0.15]
    n_syl = len(bounds) - 1
    syl = (torch.bucketize(t, bounds, right=True) - 1).clamp(0, n_syl - 1)
    length = bounds[syl + 1] - bounds[syl]
    pause = torch.zeros(n_syl, dtype=torch.float64)
    pause[2::3] = 0.25
    pos = ((t - bounds[syl]) / length).clamp(0, 1)  # position in the syllable
    inside = (t >= bounds[0]) & (t < bounds[-1])
    on, off = 0.15, 0.85 - pause[syl]
    voiced = ((pos > on) & (pos < off) & inside).double()
    envelope = voiced * torch.sin(math.pi * ((pos - on) / (off - on)).clamp(0, 1)) ** 0.5
    f0 = 165 - 45 * t / seconds + 30 * torch.sin(math.pi * pos) + 4 * torch.sin(2 * math.pi * 5 * t)
    phase = 2 * math.pi * torch.cumsum(f0, 0) / SAMPLE_RATE
    order = torch.randint(0, len(_VOWELS), (n_syl + 1,), generator=g)
    fa, fb = _VOWELS[order[syl]].double(), _VOWELS[order[syl + 1]].double()
    formants = fa + (fb - fa) * pos[:, None] ** 2  # (N, 3): glide toward the next vowel
    k = torch.arange(1, 49, dtype=torch.float64)[:, None]  # harmonics
    freq = k * f0[None, :]
    bw = torch.tensor([80.0, 100, 150], dtype=torch.float64)
    gain = torch.tensor([1.0, 0.5, 0.25], dtype=torch.float64)
    shape = (gain[None, :, None] * torch.exp(
        -0.5 * ((freq[:, None, :] - formants.T[None]) / bw[None, :, None]) ** 2)).sum(1)
    amp = (shape + 0.01) / (1 + freq / 600) * (freq < SAMPLE_RATE / 2)
    voice = (amp * torch.sin(k * phase[None, :])).sum(0) * envelope
    # fricatives: high-passed noise at the onset of every other syllable
    hissing = (torch.rand(n_syl, generator=g) < 0.5).double()[syl]
    burst = (pos < on) * inside * hissing * torch.sin(math.pi * (pos / on).clamp(0, 1))
    noise = torch.randn(n, generator=g, dtype=torch.float64)
    for _ in range(3):
        noise = torch.cat([noise[:1], noise[1:] - 0.9 * noise[:-1]])
    x = voice + 0.02 * noise * burst + 0.001 * torch.randn(n, generator=g, dtype=torch.float64)
    return (x / x.abs().max()).to(torch.float32)


def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE):
    """(n_mels, n_fft // 2 + 1) triangular filters, equally spaced on the HTK mel scale."""
    def mel(f):
        return 2595.0 * torch.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges = hz(torch.linspace(0.0, mel(torch.tensor(sample_rate / 2.0)).item(), n_mels + 2))
    bins = torch.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (bins[None] - lo) / (mid - lo)
    down = (hi - bins[None]) / (hi - mid)
    return torch.clamp(torch.minimum(up, down), min=0.0)


def log_mel(wave: torch.Tensor) -> torch.Tensor:
    """(N,) waveform -> (n_mels, frames) log-mel spectrogram in dB (80 dB range)."""
    spec = torch.stft(wave, N_FFT, HOP, WIN, window=torch.hann_window(WIN), return_complex=True)
    power = spec.abs() ** 2
    db = 10.0 * torch.log10(mel_filterbank() @ power + 1e-10)
    return torch.clamp(db, min=db.max().item() - 80.0)


# anchor colours of a dark-to-bright perceptual map (black, purple, orange, pale yellow)
_ANCHORS = torch.tensor([[0, 0, 4], [59, 15, 112], [140, 41, 129], [222, 73, 104],
                         [254, 159, 109], [252, 253, 191]], dtype=torch.float32)


def colorize(values: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """(H, W) values -> (H, W, 3) uint8 via the anchor colormap on [lo, hi]."""
    s = ((values - lo) / max(hi - lo, 1e-12)).clamp(0, 1) * (len(_ANCHORS) - 1)
    i = s.floor().clamp(max=len(_ANCHORS) - 2).long()
    w = (s - i)[..., None]
    rgb = _ANCHORS[i] * (1 - w) + _ANCHORS[i + 1] * w
    return rgb.round().to(torch.uint8)


def render_specaugment_demo(path, seed: int = 0, policy: str = "LD") -> Path:
    """Render the before/after SpecAugment picture to ``path`` (PNG) and return the path.

    Top panel: the log-mel spectrogram of :func:`synthesize_speech`; bottom:
    the same after ``SpecAugment(policy, seed=seed)`` (masks filled with the
    spectrogram's mean). Low frequencies at the bottom, one column per
    10 ms frame, two rows per mel bin. Needs Pillow.
    """
    from ..transforms import SpecAugment

    spec = log_mel(synthesize_speech(seed=seed))  # (80, frames)
    masked = SpecAugment(policy, seed=seed)(spec[None], sample_ids=torch.tensor([seed]))[0]
    lo, hi = spec.min().item(), spec.max().item()
    panels = [colorize(s.flip(0), lo, hi) for s in (spec, masked)]
    panels = [p.repeat_interleave(2, 0) for p in panels]
    gap = torch.full((6, panels[0].shape[1], 3), 255, dtype=torch.uint8)
    image = torch.cat([panels[0], gap, panels[1]], 0)
    return Path(save_png(path, image))


if __name__ == "__main__":  # pragma: no cover
    print(render_specaugment_demo(sys.argv[1] if len(sys.argv) > 1 else "specaugment.png"))
