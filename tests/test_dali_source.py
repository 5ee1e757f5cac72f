"""DaliSource: a DALI file pipeline (read + decode) as a Batch source for datagen_gpu.

Skipped where NVIDIA DALI is not installed (``pip install nvidia-dali-cuda120``),
except the test of the ImportError that says how to install it. The ``mixed``
(GPU decode) tests run only with CUDA: they are part of the GPU check.
"""
import math
import sys

import numpy as np
import pytest
import torch

from PIL import Image, ImageOps

N_A = 5  # class "a": ids 0..4, class "b": ids 5..9 (sorted class folders, sorted files)
SIZES = [(40, 30), (40, 30), (40, 30), (40, 30), (33, 47),  # a: four of one size (a stacked batch)
         (17, 29), (64, 64), (50, 21), (29, 31), (64, 64)]  # b


@pytest.fixture(scope="module")
def dali():
    return pytest.importorskip("nvidia.dali")


def _picture(h, w, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x * 7 + y * 3 + seed * 40) % 256], -1)
    return np.clip(a + rng.integers(-25, 25, a.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("dali_folder")
    files = []
    for i, (h, w) in enumerate(SIZES):
        cls = "a" if i < N_A else "b"
        (root / cls).mkdir(exist_ok=True)
        path = root / cls / f"img{i:02d}.jpg"
        Image.fromarray(_picture(h, w, i)).save(path, quality=90)
        files.append(str(path))
    return root, files


def _pillow(path):
    return torch.from_numpy(np.array(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))).permute(2, 0, 1)


def _images(batch):
    return list(batch.images) if isinstance(batch.images, (list, tuple)) else list(batch.images.unbind(0))


def test_two_epochs_every_sample_once_labels_and_pixels(dali, folder):
    from datagen_gpu.data.dali import DaliSource

    root, files = folder
    src = DaliSource(root=str(root), batch_size=4, seed=3)
    assert src.num_samples == len(files) == 10 and len(src) == 3
    assert src.files == files and src.classes == ["a", "b"]
    epochs = []
    for epoch in range(2):
        src.set_epoch(epoch)
        batches = list(src)
        assert len(batches) == len(src) == 3
        epochs.append(batches)
    for batches in epochs:  # checked after both epochs: the images are copies, not DALI's reused buffers
        ids = torch.cat([b.sample_ids for b in batches])
        assert sorted(ids.tolist()) == list(range(10))
        for b in batches:
            assert b.labels.dtype == torch.int64 and b.sample_ids.dtype == torch.int64
            assert b.labels.shape == b.sample_ids.shape == (len(_images(b)),)
            assert b.labels.tolist() == [0 if i < N_A else 1 for i in b.sample_ids.tolist()]
            for img, i in zip(_images(b), b.sample_ids.tolist()):
                assert img.dtype == torch.uint8 and img.device.type == "cpu"
                assert img.shape == (3,) + SIZES[i]
                assert img.permute(1, 2, 0).is_contiguous()  # HWC memory, no CHW copy
                # DALI's CPU decoder (libjpeg-turbo via nvImageCodec) is bit-exact with Pillow's
                assert torch.equal(img, _pillow(files[i])), f"sample {i}"
    orders = [torch.cat([b.sample_ids for b in batches]).tolist() for batches in epochs]
    assert orders[0] != orders[1]  # DALI reshuffles every epoch by itself


def test_stacked_when_one_size_else_ragged(dali, folder):
    from datagen_gpu.data.dali import DaliSource

    root, files = folder
    batches = list(DaliSource(root=str(root), batch_size=4, shuffle=False))
    assert [b.sample_ids.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    first = batches[0].images
    assert isinstance(first, torch.Tensor) and first.shape == (4, 3, 40, 30)
    assert first.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(first, torch.stack([_pillow(f) for f in files[:4]]))
    assert isinstance(batches[1].images, list) and isinstance(batches[2].images, list)
    ragged = list(DaliSource(root=str(root), batch_size=4, shuffle=False, stack=False))
    assert isinstance(ragged[0].images, list) and torch.equal(torch.stack(ragged[0].images), first)


@pytest.mark.parametrize("num_shards,batch_size", [(3, 4), (4, 2)])
def test_shards_partition_each_epoch(dali, folder, num_shards, batch_size):
    # (4, 2): shard sizes 2, 3, 2, 3; DALI pads every shard to 2 batches, so a shard of 2
    # reads one batch of padding only: consumed, not yielded, len() == 1
    from datagen_gpu.data.dali import DaliSource

    root, _ = folder
    sources = [DaliSource(root=str(root), batch_size=batch_size, shard_id=s, num_shards=num_shards)
               for s in range(num_shards)]
    for epoch in range(num_shards + 1):
        seen = []
        for src in sources:
            n = len(src)
            ids = [i for b in src for i in b.sample_ids.tolist()]
            assert len(ids) == len(set(ids)) == src.shard_size(epoch)
            assert n == math.ceil(len(ids) / batch_size)
            seen += ids
        assert sorted(seen) == list(range(10)), f"epoch {epoch}"


def test_partial_epoch_then_fresh_epoch(dali, folder):
    from datagen_gpu.data.dali import DaliSource

    root, _ = folder
    src = DaliSource(root=str(root), batch_size=4)
    it = iter(src)
    next(it)
    full = list(src)  # the rest of the broken-off epoch is dropped; this is a whole epoch
    assert sorted(i for b in full for i in b.sample_ids.tolist()) == list(range(10))
    with pytest.raises(RuntimeError, match="new iteration"):
        next(it)
    src.reset()  # between epochs: nothing to do
    assert sorted(i for b in src for i in b.sample_ids.tolist()) == list(range(10))


def test_len_is_the_epoch_in_progress_or_next(dali, folder):
    # shard 0 of 4 reads 2, 3, 2, 3, 2 samples in epochs 0..4: 1, 2, 1, 2, 1 batches of 2
    from datagen_gpu.data.dali import DaliSource

    root, _ = folder
    src = DaliSource(root=str(root), batch_size=2, shard_id=0, num_shards=4)
    assert [src.shard_size(e) for e in range(5)] == [2, 3, 2, 3, 2]
    it = iter(src)
    assert len(src) == 1
    next(it)  # the epoch's only batch, the generator not exhausted: still its epoch
    assert len(src) == 1
    del it  # as when a zip(range(len(src)), src) loop ends: the next epoch's
    assert len(src) == 2
    assert len(list(src)) == 2 and len(src) == 1
    assert len(list(src)) == 1 and len(src) == 2
    it = iter(src)
    next(it)  # 1 of 2, then broken off
    it.close()
    assert len(src) == 1
    ids = [i for b in src for i in b.sample_ids.tolist()]
    assert len(ids) == len(set(ids)) == 2


def test_explicit_files_and_labels(dali, folder):
    from datagen_gpu.data.dali import DaliSource, dali_file_pipeline

    root, files = folder
    rel = [f[len(str(root)) + 1:] for f in files[::-1]]  # relative to root, reversed: new indices
    p = dali_file_pipeline(rel, labels=list(range(100, 110)), root=str(root), batch_size=3)
    assert p.classes is None and p.labels.tolist() == list(range(100, 110))
    batches = list(DaliSource(p))
    assert len(batches) == 4
    for b in batches:
        assert b.labels.tolist() == [100 + i for i in b.sample_ids.tolist()]
        for img, i in zip(_images(b), b.sample_ids.tolist()):
            assert torch.equal(img, _pillow(files[9 - i]))
    unlabelled = next(iter(DaliSource(files=files, batch_size=2)))
    assert unlabelled.labels.tolist() == [-1, -1]


def test_cpu_decoder_matches_pillow_exactly(dali, tmp_path):
    # the finding the tests rely on: libjpeg-turbo in DALI and in Pillow give the same pixels
    from datagen_gpu.data.dali import DaliSource

    a = _picture(37, 53, 7)
    variants = {
        "base420.jpg": dict(quality=75), "q95_444.jpg": dict(quality=95, subsampling=0),
        "q90_422.jpg": dict(quality=90, subsampling=1), "progressive.jpg": dict(quality=85, progressive=True),
        "optimized.jpg": dict(quality=60, optimize=True), "image.png": {},
    }
    files = []
    for name, kw in variants.items():
        Image.fromarray(a).save(tmp_path / name, **kw)
        files.append(str(tmp_path / name))
    Image.fromarray(a[..., 1]).save(tmp_path / "gray.jpg", quality=90)
    Image.fromarray(a).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=90)
    rotated = Image.fromarray(a)
    exif = rotated.getexif()
    exif[0x0112] = 6  # EXIF orientation: rotate 90 degrees clockwise to display
    rotated.save(tmp_path / "exif6.jpg", quality=90, exif=exif)
    files += [str(tmp_path / n) for n in ("gray.jpg", "cmyk.jpg", "exif6.jpg")]
    (batch,) = list(DaliSource(files=files, batch_size=len(files), shuffle=False, stack=False))
    for img, i in zip(batch.images, batch.sample_ids.tolist()):
        assert torch.equal(img, _pillow(files[i])), files[i]
    assert batch.images[-1].shape == (3, 53, 37)  # orientation applied, as ImageFolder does


def test_views_keyed_by_file_index(dali, folder):
    from datagen_gpu.data.dali import DaliSource
    from datagen_gpu.presets import TwoViews, simclr_view

    root, files = folder
    views = TwoViews(simclr_view(64))
    for b in DaliSource(root=str(root), batch_size=4, shuffle=False):
        a, c = views(b.images, sample_ids=b.sample_ids)
        n = len(b.sample_ids)
        assert a.shape == c.shape == (n, 3, 64, 64) and a.dtype == c.dtype == torch.float32
        for k, i in enumerate(b.sample_ids.tolist()):
            sa, sc = views([_pillow(files[i])], sample_ids=torch.tensor([i]))
            torch.testing.assert_close(a[k], sa[0], atol=1e-5, rtol=0)
            torch.testing.assert_close(c[k], sc[0], atol=1e-5, rtol=0)


def test_device_loader_over_dali_source(dali, folder):
    loader_mod = pytest.importorskip("datagen_gpu.data.loader")
    DeviceLoader = getattr(loader_mod, "DeviceLoader", None)
    if DeviceLoader is None:
        pytest.skip("datagen_gpu.data.loader has no DeviceLoader yet")
    from datagen_gpu.data.dali import DaliSource
    from datagen_gpu.presets import TwoViews, simclr_view

    root, files = folder
    views = TwoViews(simclr_view(64))
    loader = DeviceLoader(DaliSource(root=str(root), batch_size=4), views, device="cpu")
    assert len(loader) == 3
    for epoch in range(2):
        loader.set_epoch(epoch)
        batches = list(loader)
        assert len(batches) == 3
        ids = torch.cat([b.sample_ids for b in batches])
        assert sorted(ids.tolist()) == list(range(epoch * 10, epoch * 10 + 10))
        for (a, c), labels, sample_ids in batches:
            assert a.shape == c.shape == (len(sample_ids), 3, 64, 64)
            for k, sid in enumerate(sample_ids.tolist()):
                i = sid - epoch * 10
                assert int(labels[k]) == (0 if i < N_A else 1)
                sa, sc = views([_pillow(files[i])], sample_ids=torch.tensor([sid]))
                torch.testing.assert_close(a[k], sa[0], atol=1e-5, rtol=0)
                torch.testing.assert_close(c[k], sc[0], atol=1e-5, rtol=0)


def test_errors_name_the_problem(dali, folder, tmp_path):
    from datagen_gpu.data.dali import DaliSource, dali_file_pipeline

    root, files = folder
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        DaliSource(root=str(missing), batch_size=4)
    (tmp_path / "flat").mkdir()
    with pytest.raises(FileNotFoundError, match="class folders"):
        DaliSource(root=str(tmp_path / "flat"), batch_size=4)
    with pytest.raises(FileNotFoundError, match="gone.jpg"):
        DaliSource(files=files + [str(tmp_path / "gone.jpg")], batch_size=4)
    with pytest.raises(ValueError, match="labels"):
        DaliSource(files=files, labels=[0, 1], batch_size=4)
    with pytest.raises(ValueError, match="device"):
        DaliSource(root=str(root), batch_size=4, device="gpu")
    with pytest.raises(ValueError, match="shard_id"):
        DaliSource(root=str(root), batch_size=4, shard_id=2, num_shards=2)
    with pytest.raises(ValueError, match="batch_size"):
        DaliSource(root=str(root), batch_size=0)
    with pytest.raises(ValueError, match="pass files or root"):
        dali_file_pipeline(batch_size=4)
    with pytest.raises(TypeError, match="not both"):
        DaliSource(dali_file_pipeline(root=str(root), batch_size=4), batch_size=4)
    with pytest.raises(ValueError, match="epoch"):
        DaliSource(root=str(root), batch_size=4).set_epoch(-1)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            DaliSource(root=str(root), batch_size=4, device="mixed")


def test_missing_dali_says_how_to_install(monkeypatch):
    from datagen_gpu.data import dali as dali_mod

    monkeypatch.setitem(sys.modules, "nvidia.dali", None)  # import nvidia.dali -> ImportError
    with pytest.raises(ImportError, match="pip install nvidia-dali-cuda120"):
        dali_mod.dali_file_pipeline(files=["x.jpg"], batch_size=1)


# ---------------------------------------------------------------- GPU check (mixed: nvJPEG on the device)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="a mixed (GPU-decoding) pipeline needs CUDA")


@needs_cuda
def test_mixed_pipeline_gives_cuda_copies(dali, folder):
    from datagen_gpu.data.dali import DaliSource

    root, files = folder
    src = DaliSource(root=str(root), batch_size=4, device="mixed")
    batches = [b for _ in range(2) for b in src]  # two epochs, checked after both: copies
    torch.cuda.synchronize()
    for b in batches:
        assert b.labels.device.type == "cpu" and b.sample_ids.device.type == "cpu"
        for img, i in zip(_images(b), b.sample_ids.tolist()):
            assert img.is_cuda and img.dtype == torch.uint8 and img.shape == (3,) + SIZES[i]
            assert img.permute(1, 2, 0).is_contiguous()
            diff = (img.cpu().int() - _pillow(files[i]).int()).abs()
            # nvJPEG / the hardware decoder is not libjpeg-turbo: a few levels apart at most
            assert diff.float().mean() < 1.5 and diff.max() <= 16, (i, diff.float().mean(), diff.max())


@needs_cuda
def test_device_loader_over_mixed_source_matches_cpu_decode(dali, folder):
    pytest.importorskip("datagen_gpu.data.loader")
    from datagen_gpu.data.dali import DaliSource
    from datagen_gpu.data.loader import DeviceLoader
    from datagen_gpu.presets import TwoViews, simclr_view

    root, files = folder
    views = TwoViews(simclr_view(64))
    loader = DeviceLoader(DaliSource(root=str(root), batch_size=4, device="mixed"), views, device="cuda")
    for epoch in range(2):
        loader.set_epoch(epoch)
        for (a, c), labels, sample_ids in loader:
            assert a.is_cuda and a.shape == (len(sample_ids), 3, 64, 64)
            ids = sample_ids.cpu()
            ref = views([_pillow(files[int(s) - epoch * 10]).cuda() for s in ids], sample_ids=ids.cuda())
            # decoder differences only (a stream race would show as garbage, far beyond this)
            assert (a - ref[0]).abs().mean() < 0.05 and (c - ref[1]).abs().mean() < 0.05
