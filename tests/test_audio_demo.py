"""The SpecAugment demo picture: a decodable PNG of the right size, deterministic per seed."""
import zlib

import numpy as np
import torch

from datagen_gpu import audio_demo


def _decode_png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return width, height


def test_render_specaugment_demo_writes_a_png(tmp_path):
    path = audio_demo.render_specaugment_demo(tmp_path / "demo" / "specaugment.png", seed=1)
    data = path.read_bytes()
    width, height = _decode_png_size(data)
    frames = int(6.0 * audio_demo.SAMPLE_RATE) // audio_demo.HOP + 1
    assert (width, height) == (frames, 2 * 2 * audio_demo.N_MELS + 6)
    try:
        from PIL import Image
    except ImportError:  # the fallback writer's output: check the zlib stream instead
        start = data.index(b"IDAT") + 4
        assert len(zlib.decompressobj().decompress(data[start:])) > 0
    else:
        with Image.open(path) as im:
            im.load()
            assert im.size == (width, height) and im.mode == "RGB"
            pixels = torch.from_numpy(np.asarray(im).copy()).float()
        assert pixels.std() > 20  # not a blank picture


def test_png_fallback_writer_roundtrip(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("no Pillow here")
        return real_import(name, *args, **kwargs)

    rgb = torch.randint(0, 256, (7, 5, 3), dtype=torch.uint8)
    monkeypatch.setattr(builtins, "__import__", no_pil)
    audio_demo.write_png(tmp_path / "x.png", rgb)
    monkeypatch.setattr(builtins, "__import__", real_import)
    data = (tmp_path / "x.png").read_bytes()
    assert _decode_png_size(data) == (5, 7)
    start = data.index(b"IDAT") + 4
    raw = zlib.decompressobj().decompress(data[start:])
    rows = torch.tensor(list(raw), dtype=torch.uint8).view(7, 1 + 5 * 3)
    assert (rows[:, 0] == 0).all() and torch.equal(rows[:, 1:].view(7, 5, 3), rgb)


def test_synthesized_spectrogram_is_speech_like():
    spec = audio_demo.log_mel(audio_demo.synthesize_speech(seconds=2.0, seed=0))
    assert spec.shape == (audio_demo.N_MELS, 201)
    assert spec.max() - spec.min() <= 80.0 + 1e-3
    # energy concentrated in the low (formant) bands, silence between syllables
    assert spec[:30].mean() > spec[50:].mean()
    loud = spec.mean(0)
    assert (loud > loud.median()).any() and (loud < loud.median()).any()
    assert torch.equal(audio_demo.synthesize_speech(2.0, seed=3), audio_demo.synthesize_speech(2.0, seed=3))
