"""Tar shards: WebDataset layout, stable global ids, the rank x worker split, shuffle, DeviceLoader, errors, gloo."""
import io
import json
import os
import shutil
import tarfile
import warnings

import pytest
import torch
from torch.utils.data import DataLoader

from _data_files import Image, make_folder, photo, views_by_id, write
from datagen_gpu.data import DecodeError, DeviceLoader, ImageFolder, Skipped, TarShards, collate, write_shards
from datagen_gpu.presets import TwoViews, simclr_view

# 23 ragged photos in 3 classes (one PNG): 5 shards of 5, 5, 5, 5, 3
SIZES = {"ant": [(40 + 6 * k, 48 + 5 * (k % 3)) for k in range(8)],
         "bee": [(52 + 3 * k, 44 + 7 * (k % 4)) for k in range(7)],
         "cow": [(45 + 4 * k, 60 - 2 * k) for k in range(7)]}
N = 23


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("folder"))
    make_folder(root, SIZES, seed=3)
    buf = io.BytesIO()
    Image.fromarray(photo(50, 66, seed=9)).save(buf, format="PNG")
    write(os.path.join(root, "bee", "zz.png"), buf.getvalue())
    out = str(tmp_path_factory.mktemp("shards"))
    shards = write_shards(ImageFolder(root), out, samples_per_shard=5, prefix="train")
    return root, out, shards, os.path.join(out, "train-index.json")


def ids_of(loader):
    return [i for batch in loader for i in batch.sample_ids.tolist()]


def rewrite(src_path, dst_path, change):
    """A copy of a shard with ``change(name, data) -> data`` applied to every member."""
    with tarfile.open(src_path) as tin, tarfile.open(dst_path, "w", format=tarfile.USTAR_FORMAT) as tout:
        for m in tin:
            data = change(m.name, tin.extractfile(m).read())
            info = tarfile.TarInfo(m.name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))
    return dst_path


# ----------------------------------------------------------------------------- layout and items

def test_layout_and_index(src):
    root, out, shards, index = src
    folder = ImageFolder(root)
    assert [os.path.basename(p) for p in shards] == [f"train-{k:06d}.tar" for k in range(5)]
    meta = json.load(open(index))
    assert [s["count"] for s in meta["shards"]] == [5, 5, 5, 5, 3] and meta["num_samples"] == N
    assert meta["classes"] == ["ant", "bee", "cow"]
    assert folder.paths[15].endswith("zz.png")
    with tarfile.open(shards[3]) as tar:
        assert tar.getnames()[:4] == ["000015.png", "000015.cls", "000016.jpg", "000016.cls"]
        for k in (15, 16):  # the files' own bytes (no re-encode) and the label as text
            assert tar.extractfile(f"{k:06d}.{folder.paths[k][-3:]}").read() == open(folder.paths[k], "rb").read()
            assert tar.extractfile(f"{k:06d}.cls").read() == str(folder.labels[k]).encode()
    # the index, the list (headers scanned), a glob and the directory give the same ids
    for spec in (index, shards, os.path.join(out, "train-*.tar"), out):
        ds = TarShards(spec)
        assert ds.counts == [5, 5, 5, 5, 3] and ds.offsets == [0, 5, 10, 15, 20] and ds.num_samples == len(ds) == N


def test_webdataset_reads_the_shards(src):
    wds = pytest.importorskip("webdataset")
    root, _, shards, _ = src
    folder = ImageFolder(root)
    samples = list(wds.WebDataset(shards, shardshuffle=False))
    assert [int(s["__key__"]) for s in samples] == list(range(N))
    for k, s in enumerate(samples):
        image = s.get("jpg", s.get("png"))
        assert image == open(folder.paths[k], "rb").read() and int(s["cls"]) == folder.labels[k]


def test_items_equal_image_folder_items(src):
    root, _, _, index = src
    folder = ImageFolder(root)
    items = list(TarShards(index))
    assert [gid for _, _, gid in items] == list(range(N))
    for image, label, gid in items:
        ref, ref_label, _ = folder[gid]
        assert torch.equal(image, ref) and label == ref_label and image.stride() == ref.stride()
    encoded = list(TarShards(index, decode="gpu", shuffle=True, seed=5))  # bytes keyed by the same ids
    assert sorted(gid for _, _, gid in encoded) == list(range(N))
    for data, label, gid in encoded:
        assert data.numpy().tobytes() == open(folder.paths[gid], "rb").read() and label == folder.labels[gid]


# ----------------------------------------------------------------------------- split and shuffle

@pytest.mark.parametrize("world,workers", [(1, 0), (1, 2), (2, 0), (2, 2), (3, 0), (3, 2), (7, 0), (7, 2)])
def test_every_sample_once_across_ranks_and_workers(src, world, workers):
    _, _, _, index = src
    seen = []
    for rank in range(world):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = TarShards(index, decode="gpu", shuffle=True, seed=1, shuffle_buffer=4, rank=rank, world_size=world)
            ds.set_epoch(2)
            dl = DataLoader(ds, batch_size=4, collate_fn=collate, num_workers=workers)
            ids = ids_of(dl)
        assert len(ids) == len(ds), (rank, world, workers)
        assert (world > 5) == any("shards for 7 ranks" in str(w.message) for w in caught)  # sample-level fallback
        if workers:
            assert ids_of(dl) == ids  # deterministic for (seed, epoch, rank, world, workers)
        seen += ids
    assert sorted(seen) == list(range(N))


def test_shuffle_is_a_function_of_seed_and_epoch(src):
    _, _, _, index = src
    ds = TarShards(index, decode="gpu", shuffle=True, seed=11, shuffle_buffer=6)
    orders = []
    for epoch in (0, 1, 0):
        ds.set_epoch(epoch)
        orders.append([gid for _, _, gid in ds])
    assert orders[0] == orders[2] and orders[0] != orders[1] and sorted(orders[1]) == list(range(N))
    assert orders[0] != list(range(N))
    other = TarShards(index, decode="gpu", shuffle=True, seed=11, shuffle_buffer=6)
    other.set_epoch(1)
    assert [gid for _, _, gid in other] == orders[1]  # a fresh dataset (a resumed run): the same order
    assert ds.shard_order(3) == other.shard_order(3) != TarShards(index, shuffle=True, seed=12).shard_order(3)
    # persistent workers see set_epoch (the epoch is shared memory)
    fresh = TarShards(index, decode="gpu", shuffle=True, seed=11)
    persistent = TarShards(index, decode="gpu", shuffle=True, seed=11)
    pdl = DataLoader(persistent, batch_size=4, collate_fn=collate, num_workers=2, persistent_workers=True)
    for epoch in (0, 1):
        fresh.set_epoch(epoch)
        persistent.set_epoch(epoch)
        assert ids_of(pdl) == ids_of(DataLoader(fresh, batch_size=4, collate_fn=collate, num_workers=2))


def test_device_loader_views_equal_image_folder_views(src):
    root, _, _, index = src
    ref = DeviceLoader(DataLoader(ImageFolder(root), batch_size=5, collate_fn=collate),
                       TwoViews(simclr_view(32, blur_kernel=5)))
    shards = TarShards(index, shuffle=True, shuffle_buffer=8)
    got = DeviceLoader(DataLoader(shards, batch_size=4, collate_fn=collate, num_workers=2),
                       TwoViews(simclr_view(32, blur_kernel=5)))
    assert ref.crop_aware and got.crop_aware and got.num_samples == N
    for epoch in (0, 1):
        ref.set_epoch(epoch)
        got.set_epoch(epoch)
        a, b = views_by_id(ref), views_by_id(got)
        assert sorted(b) == sorted(a) == [epoch * N + i for i in range(N)]
        for sid in a:
            assert torch.equal(a[sid][0], b[sid][0]) and torch.equal(a[sid][1], b[sid][1]), (epoch, sid)
            assert a[sid][2] == b[sid][2]


# ----------------------------------------------------------------------------- errors

def test_missing_truncated_and_corrupt_shards_are_named(src, tmp_path):
    _, out, shards, index = src
    with pytest.raises(DecodeError, match="nothere.tar: cannot read the shard"):
        TarShards(shards + [str(tmp_path / "nothere.tar")])
    bad = str(tmp_path / "train-000002.tar")
    for k, p in enumerate(shards):
        shutil.copy(p, tmp_path / os.path.basename(p))
    shutil.copy(index, tmp_path / "train-index.json")
    os.remove(bad)  # listed by the index: found missing when read
    with pytest.raises(DecodeError, match="train-000002.tar: cannot read the shard"):
        list(TarShards(str(tmp_path / "train-index.json"), decode="gpu"))
    data = open(shards[2], "rb").read()
    write(bad, data[:len(data) // 2])  # truncated: named by the scan and, with an index, when read
    with pytest.raises(DecodeError, match="train-000002.tar"):
        TarShards(str(tmp_path / "train-*.tar"))
    with pytest.raises(DecodeError, match="train-000002.tar"):
        list(TarShards(str(tmp_path / "train-index.json"), decode="gpu"))
    rewrite(shards[2], bad, lambda name, d: b"\x00" * 99 if name == "000012.jpg" else d)
    with pytest.raises(DecodeError, match=r"train-000002.tar:000012.jpg"):
        list(TarShards(str(tmp_path)))
    rewrite(shards[2], bad, lambda name, d: b"seven" if name == "000013.cls" else d)
    with pytest.raises(DecodeError, match=r"train-000002.tar:000013.cls: the label"):
        list(TarShards(str(tmp_path), decode="gpu"))


def test_skip_counts_and_drops(src, tmp_path):
    _, _, shards, index = src
    for p in shards:
        shutil.copy(p, tmp_path / os.path.basename(p))
    shutil.copy(index, tmp_path / "train-index.json")
    rewrite(shards[1], str(tmp_path / "train-000001.tar"), lambda name, d: d[:40] if name == "000007.jpg" else d)
    os.remove(tmp_path / "train-000003.tar")
    ds = TarShards(str(tmp_path / "train-index.json"), on_error="skip")
    with pytest.warns(RuntimeWarning, match="skipped"):
        items = list(ds)
    assert sorted(it.index for it in items if isinstance(it, Skipped)) == [7, 15, 16, 17, 18, 19]
    assert ds.num_skipped == 6
    ids = ids_of(DataLoader(ds, batch_size=4, collate_fn=collate, num_workers=2))
    assert sorted(ids) == [i for i in range(N) if i not in (7, 15, 16, 17, 18, 19)] and ds.num_skipped == 12


def test_arguments_checked(src):
    _, _, shards, index = src
    with pytest.raises(ValueError, match="decode"):
        TarShards(index, decode="tpu")
    with pytest.raises(ValueError, match="on_error"):
        TarShards(index, on_error="ignore")
    with pytest.raises(ValueError, match="rank"):
        TarShards(index, rank=2, world_size=2)
    with pytest.raises(ValueError, match="rank"):
        TarShards(index, rank=0)
    with pytest.raises(TypeError, match="shards"):
        TarShards([])
    with pytest.raises(ValueError, match="crop-aware"):
        DeviceLoader(DataLoader(TarShards(index, decode="gpu"), collate_fn=collate),
                     TwoViews(simclr_view(32)), crop_aware=True)
    with pytest.raises(TypeError, match="dataset"):
        write_shards([1, 2], "x")


# ----------------------------------------------------------------------------- torch.distributed

def _gloo_rank(rank, world, index):
    import torch.distributed as dist
    ds = TarShards(index, decode="gpu", shuffle=True, seed=4)  # rank and world from the process group
    ds.set_epoch(3)
    ids = ids_of(DataLoader(ds, batch_size=4, collate_fn=collate))
    assert len(ids) == len(ds)
    everyone = [None] * world
    dist.all_gather_object(everyone, ids)
    union = sorted(i for part in everyone for i in part)
    assert union == list(range(N)), union
    assert all(len(part) > 0 for part in everyone)


def test_two_gloo_ranks_cover_every_sample_once(src):
    from _dist import run_ranks
    run_ranks(2, _gloo_rank, src[3], timeout=120)


def test_device_loader_epoch_offset_spans_all_ranks(tmp_path):
    """A rank's DeviceLoader numbers epochs by the whole dataset, not by its share."""
    from torch.utils.data import DataLoader
    from datagen_gpu.data import DeviceLoader, ImageFolder, TarShards, collate, write_shards
    from _data_files import make_folder
    make_folder(str(tmp_path / "f"), {"a": [(20, 24)] * 6, "b": [(22, 20)] * 4})
    write_shards(ImageFolder(str(tmp_path / "f")), str(tmp_path / "s"), samples_per_shard=3)
    shards = TarShards(str(tmp_path / "s"), rank=1, world_size=2)
    loader = DeviceLoader(DataLoader(shards, batch_size=2, collate_fn=collate), None)
    assert len(shards) < 10 and loader.num_samples == 10
