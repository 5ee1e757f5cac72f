"""Datasets, collate and DeviceLoader on the CPU: layout, odd files, reproducibility, epochs, shutdown."""
import multiprocessing
import os
import threading

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from _data_files import jpeg_bytes, make_folder, photo, views_by_id, write
from datagen_gpu import transforms as T
from datagen_gpu.data import (Batch, DecodeError, DeviceLoader, EncodedImages, ImageFiles, ImageFolder, Skipped,
                              WindowedImages, collate)
from datagen_gpu.presets import TwoViews, simclr_view

SIZES = {"cat": [(120, 90), (75, 140), (120, 90), (200, 160), (64, 64), (97, 131)],
         "dog": [(150, 100), (88, 77), (230, 190), (120, 90), (111, 222)],
         "emu": [(60, 80), (140, 140), (99, 71), (180, 120)]}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    files = make_folder(str(root), SIZES)
    write(os.path.join(root, "cat", "notes.txt"), b"not an image")  # ignored: not an image extension
    return str(root), files


def within(seconds, fn):
    """Runs fn in a thread; fails if it has not finished in ``seconds`` (a hang fails the test)."""
    result = {}

    def run():
        try:
            result["value"] = fn()
        except BaseException as e:  # noqa: BLE001
            result["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"did not finish within {seconds} s"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def no_children_left(timeout=10.0):
    for p in multiprocessing.active_children():
        p.join(timeout)
    return not any(p.is_alive() for p in multiprocessing.active_children())


def make_loader(root, *, batch_size=4, workers=0, shuffle=False, crop_aware=None, size=48, seed=0, **kw):
    ds = ImageFolder(root, **kw)
    dl = DataLoader(ds, batch_size=batch_size, shuffle=shuffle, num_workers=workers, collate_fn=collate)
    return DeviceLoader(dl, TwoViews(simclr_view(size, blur_kernel=5, seed=seed)), crop_aware=crop_aware)


# ----------------------------------------------------------------------------- datasets and collate

def test_image_folder_layout(folder):
    root, files = folder
    ds = ImageFolder(root)
    assert ds.classes == ["cat", "dog", "emu"] and ds.class_to_idx == {"cat": 0, "dog": 1, "emu": 2}
    assert [(p, l) for p, l in ds.samples] == files
    assert len(ds) == sum(len(v) for v in SIZES.values())
    for index in (0, 7, len(ds) - 1):
        image, label, idx = ds[index]
        assert idx == index and label == files[index][1]
        assert image.dtype == torch.uint8 and tuple(image.shape[1:]) == \
            SIZES[ds.classes[label]][int(os.path.basename(files[index][0])[:3])]
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_image_folder_torchvision_order(folder):
    tv = pytest.importorskip("torchvision.datasets")
    root, _ = folder
    ref = tv.ImageFolder(root)
    assert ImageFolder(root).samples == ref.samples


def test_bad_roots_and_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="root"):
        ImageFolder(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="no class folders"):
        ImageFolder(str(tmp_path))
    (tmp_path / "a").mkdir()
    with pytest.raises(FileNotFoundError, match="no image files"):
        ImageFolder(str(tmp_path))
    with pytest.raises(ValueError, match="labels"):
        ImageFiles(["a.jpg", "b.jpg"], labels=[0])
    with pytest.raises(ValueError, match="decode"):
        ImageFiles(["a.jpg"], decode="tpu")
    with pytest.raises(ValueError, match="on_error"):
        ImageFiles(["a.jpg"], on_error="ignore")
    with pytest.raises(TypeError, match="paths"):
        ImageFiles("a.jpg")


@pytest.fixture(scope="module")
def odd_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("odd")
    good = jpeg_bytes(photo(60, 80, seed=1))
    paths = [write(str(root / "good0.jpg"), good),
             write(str(root / "truncated.jpg"), good[:len(good) // 2]),
             write(str(root / "garbage.jpg"), b"\x00" * 100),
             write(str(root / "good1.jpg"), jpeg_bytes(photo(50, 70, seed=2))),
             str(root / "missing.jpg")]
    return paths


@pytest.mark.parametrize("bad", ["truncated.jpg", "garbage.jpg", "missing.jpg"])
def test_bad_file_raises_naming_it(odd_files, bad):
    path = next(p for p in odd_files if p.endswith(bad))
    with pytest.raises(DecodeError, match=bad):
        ImageFiles([path])[0]


@pytest.mark.parametrize("workers", [0, 2])
def test_bad_file_reaches_the_consumer(odd_files, workers):
    ds = ImageFiles(odd_files)
    dl = DataLoader(ds, batch_size=2, num_workers=workers, collate_fn=collate)
    loader = DeviceLoader(dl, T.RandomResizedCrop(16))
    with pytest.raises(Exception, match="truncated.jpg"):
        within(60, lambda: list(loader))
    assert no_children_left()


@pytest.mark.parametrize("workers", [0, 2])
def test_skip_counts_across_workers(odd_files, workers):
    ds = ImageFiles(odd_files, on_error="skip")
    dl = DataLoader(ds, batch_size=2, num_workers=workers, collate_fn=collate)
    loader = DeviceLoader(dl, T.RandomResizedCrop(16))
    with pytest.warns(RuntimeWarning, match="skipped") if workers == 0 else _nothing():
        batches = within(60, lambda: list(loader))
    ids = sorted(i for b in batches for i in b.sample_ids.tolist())
    assert ids == [0, 3] and ds.num_skipped == 3


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_collate_forms():
    a, b = torch.zeros(3, 4, 5, dtype=torch.uint8), torch.ones(3, 6, 5, dtype=torch.uint8)
    stacked = collate([(a, 1, 0), (a, 2, 1)])
    assert isinstance(stacked, Batch) and stacked.images.shape == (2, 3, 4, 5)
    assert stacked.labels.tolist() == [1, 2] and stacked.sample_ids.dtype == torch.int64
    ragged = collate([(a, 1, 0), Skipped(5, "x.jpg", "bad"), (b, 2, 1)])
    assert isinstance(ragged.images, list) and [t.shape[1] for t in ragged.images] == [4, 6]
    windowed = collate([(a, 0, 3, torch.tensor([8.0, 10, 0, 0, 2, 2]))])
    assert isinstance(windowed.images, WindowedImages) and windowed.images.geometry.shape == (1, 6)
    encoded = collate([(torch.zeros(10, dtype=torch.uint8), 0, 0)])
    assert isinstance(encoded.images, EncodedImages)
    empty = collate([Skipped(0, "x", "bad")])
    assert len(empty.images) == 0 and empty.sample_ids.numel() == 0
    with pytest.raises(ValueError, match="items"):
        collate([(a, 1)])
    with pytest.raises(TypeError, match="items"):
        collate(a)


# ----------------------------------------------------------------------------- DeviceLoader

@pytest.fixture(scope="module")
def forty(tmp_path_factory):
    """40 small photos of 12 different sizes (ragged batches)."""
    root = tmp_path_factory.mktemp("forty")
    sizes = [(40 + 7 * (k % 12), 48 + 5 * (k % 7)) for k in range(40)]
    make_folder(str(root), {"a": sizes[:20], "b": sizes[20:]}, seed=7)
    return str(root)


@pytest.mark.parametrize("crop_aware", [False, True])
def test_views_do_not_depend_on_batching_workers_or_order(forty, crop_aware):
    ref = views_by_id(make_loader(forty, batch_size=16, crop_aware=crop_aware, size=32))
    assert sorted(ref) == list(range(40))
    for kw in ({"batch_size": 32}, {"batch_size": 5, "workers": 2, "shuffle": True},
               {"batch_size": 32, "workers": 2, "shuffle": True}):
        got = within(120, lambda: views_by_id(make_loader(forty, crop_aware=crop_aware, size=32, **kw)))
        assert sorted(got) == sorted(ref)
        for sid, (a, b, label) in ref.items():
            assert torch.equal(got[sid][0], a) and torch.equal(got[sid][1], b) and got[sid][2] == label, (kw, sid)
    assert no_children_left()


def test_set_epoch_changes_and_restores_views(folder):
    root, _ = folder
    loader = make_loader(root, batch_size=8)
    first = views_by_id(loader)
    loader.set_epoch(1)
    second = views_by_id(loader)
    n = len(loader.loader.dataset)
    assert sorted(second) == [n + i for i in range(n)]
    assert not any(torch.equal(first[i][0], second[n + i][0]) for i in range(n))
    loader.set_epoch(0)
    again = views_by_id(loader)
    assert all(torch.equal(first[i][0], again[i][0]) and torch.equal(first[i][1], again[i][1]) for i in first)
    with pytest.raises(ValueError, match="epoch"):
        loader.set_epoch(-1)


def test_crop_aware_default_and_bound(tmp_path):
    # large images and small outputs: the windows decode at 1/2 .. 1/8 scale
    files = make_folder(str(tmp_path), {"a": [(600, 800), (480, 640), (900, 700), (512, 512)]}, seed=5)
    full = make_loader(str(tmp_path), size=32, crop_aware=False)
    aware = make_loader(str(tmp_path), size=32)
    assert aware.crop_aware and not full.crop_aware
    batch = next(iter(aware.loader))
    assert isinstance(batch.images, WindowedImages)
    assert (batch.images.geometry[:, 4] > 1).any()  # at least one scaled decode
    ref, got = views_by_id(full), views_by_id(aware)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    for sid in ref:
        for v in range(2):  # differences in uint8 levels of the un-normalized views
            diff = ((got[sid][v] - ref[sid][v]) * std * 255).abs()
            assert diff.mean() < 3.0 and diff.max() < 48, (sid, v, diff.mean(), diff.max())
    assert len(files) == 4


def test_crop_aware_refusals(folder):
    root, _ = folder
    ds = ImageFolder(root)
    dl = DataLoader(ds, batch_size=4, collate_fn=collate)
    with pytest.raises(ValueError, match="RandomResizedCrop"):
        DeviceLoader(dl, T.RandomHorizontalFlip(), crop_aware=True)
    assert not DeviceLoader(dl, T.RandomHorizontalFlip()).crop_aware
    persistent = DataLoader(ds, batch_size=4, num_workers=1, persistent_workers=True, collate_fn=collate)
    with pytest.raises(ValueError, match="persistent"):
        DeviceLoader(persistent, TwoViews(simclr_view(32)), crop_aware=True)
    assert not DeviceLoader(persistent, TwoViews(simclr_view(32))).crop_aware


def test_arguments_checked(folder):
    root, _ = folder
    dl = DataLoader(ImageFolder(root), batch_size=4, collate_fn=collate)
    with pytest.raises(ValueError, match="prefetch"):
        DeviceLoader(dl, None, prefetch=0)
    with pytest.raises(TypeError, match="transform"):
        DeviceLoader(dl, "crop")
    with pytest.raises(TypeError, match="crop_aware"):
        DeviceLoader(dl, None, crop_aware="yes")
    with pytest.raises(TypeError, match="loader"):
        DeviceLoader([1, 2, 3], None)
    bad = DeviceLoader(DataLoader(ImageFolder(root), batch_size=1), None)  # default collate: not a Batch
    with pytest.raises(TypeError, match="collate"):
        within(60, lambda: next(iter(bad)))


def test_len_and_no_transform(folder):
    root, _ = folder
    dl = DataLoader(ImageFolder(root), batch_size=4, collate_fn=collate)
    loader = DeviceLoader(dl, None)
    assert len(loader) == len(dl) == 4
    batches = list(loader)
    assert len(batches) == 4 and isinstance(batches[0].images, list)


@pytest.mark.parametrize("workers", [0, 2])
def test_shutdown_on_break(folder, workers):
    root, _ = folder

    def run():
        loader = make_loader(root, batch_size=2, workers=workers)
        it = iter(loader)
        next(it)
        thread = it.thread
        for _ in loader:  # a second iteration, left by break
            break
        del it
        return thread
    thread = within(60, run)
    thread.join(10)
    assert not thread.is_alive()
    assert no_children_left()


def test_shutdown_on_consumer_exception(folder):
    root, _ = folder

    def run():
        loader = make_loader(root, batch_size=2, workers=2)
        with pytest.raises(KeyError):
            for _ in loader:
                raise KeyError("the training step failed")
    within(60, run)
    assert no_children_left()
    assert not any(t.name == "datagen_gpu.DeviceLoader" and t.is_alive() for t in threading.enumerate())


class _DiesInWorker(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            os._exit(3)  # the worker process dies
        return torch.zeros(3, 8, 8, dtype=torch.uint8), 0, i


def test_worker_death_reaches_consumer():
    dl = DataLoader(_DiesInWorker(), batch_size=2, num_workers=1, collate_fn=collate)
    loader = DeviceLoader(dl, None)
    with pytest.raises(RuntimeError, match="exited unexpectedly|worker"):
        within(90, lambda: list(loader))
    assert no_children_left()


def test_gpu_decode_mode_matches_cpu_decode(folder):
    root, _ = folder
    cpu = views_by_id(make_loader(root, batch_size=4, crop_aware=False))
    enc = make_loader(root, batch_size=4, decode="gpu")
    assert not enc.crop_aware
    assert isinstance(next(iter(enc.loader)).images, EncodedImages)
    got = views_by_id(enc)  # on the CPU the loader thread decodes the bytes
    assert all(torch.equal(got[i][0], cpu[i][0]) for i in cpu)


# ----------------------------------------------------------------------------- mixing and spectrograms

def test_mixup_and_cutmix_on_a_batch(folder):
    root, _ = folder
    ds = ImageFolder(root)
    dl = DataLoader(ds, batch_size=6, collate_fn=collate)
    loader = DeviceLoader(dl, simclr_view(32, blur_kernel=5))
    for mixer in (T.Mixup(mixup_alpha=1.0, cutmix_alpha=1.0, num_classes=3), T.CutMix(num_classes=3)):
        for batch in loader:
            mixed = mixer(batch)
            assert isinstance(mixed, Batch) and torch.equal(mixed.sample_ids, batch.sample_ids)
            images, labels = mixer(batch.images, batch.labels, sample_ids=batch.sample_ids)
            assert torch.equal(mixed.images, images) and torch.equal(mixed.labels, labels)
            assert mixed.labels.shape == (len(batch.sample_ids), 3)
        with pytest.raises(TypeError, match="labels"):
            mixer(batch, batch.labels)


class _Spectrograms(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return torch.rand(1, 40, 100, generator=g), i % 3, i


def test_spectrogram_batches():
    dl = DataLoader(_Spectrograms(), batch_size=4, collate_fn=collate)
    aug = T.SpecAugment("LB")
    loader = DeviceLoader(dl, aug)
    for batch in loader:
        raw = torch.stack([_Spectrograms()[i][0] for i in batch.sample_ids.tolist()])
        assert torch.equal(batch.images, aug(raw, sample_ids=batch.sample_ids))
        mixed = T.AudioMixup(alpha=0.4, num_classes=3)(batch)
        assert isinstance(mixed, Batch) and mixed.images.shape == raw.shape
