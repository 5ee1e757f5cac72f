"""The SpecAugment demo picture: a decodable PNG of the right size, deterministic per seed."""
import pytest
import torch

from datagen_gpu.bench import audio_demo
from datagen_gpu.bench.plots import read_png


def _decode_png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return width, height


def test_render_specaugment_demo_writes_a_png(tmp_path):
    pytest.importorskip("PIL")
    path = audio_demo.render_specaugment_demo(tmp_path / "demo" / "specaugment.png", seed=1)
    width, height = _decode_png_size(path.read_bytes())
    frames = int(6.0 * audio_demo.SAMPLE_RATE) // audio_demo.HOP + 1
    assert (width, height) == (frames, 2 * 2 * audio_demo.N_MELS + 6)
    pixels = read_png(path)
    assert pixels.shape == (height, width, 3) and pixels.float().std() > 20  # not a blank picture
    again = audio_demo.render_specaugment_demo(tmp_path / "again.png", seed=1)
    assert torch.equal(read_png(again), pixels)


def test_synthesized_spectrogram_is_speech_like():
    spec = audio_demo.log_mel(audio_demo.synthesize_speech(seconds=2.0, seed=0))
    assert spec.shape == (audio_demo.N_MELS, 201)
    assert spec.max() - spec.min() <= 80.0 + 1e-3
    # energy concentrated in the low (formant) bands, silence between syllables
    assert spec[:30].mean() > spec[50:].mean()
    loud = spec.mean(0)
    assert (loud > loud.median()).any() and (loud < loud.median()).any()
    assert torch.equal(audio_demo.synthesize_speech(2.0, seed=3), audio_demo.synthesize_speech(2.0, seed=3))
