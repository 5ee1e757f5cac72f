"""ThreadLoader (decode threads) and the crop plan workers draw boxes with."""
import pytest
import torch
from torch.utils.data import DataLoader

from _data_files import jpeg_bytes, make_folder, photo
from datagen_gpu import transforms as T
from datagen_gpu.data import CropPlan, DecodeError, DeviceLoader, ImageFiles, ImageFolder, ThreadLoader, collate, decode
from datagen_gpu.params import resized_crop_boxes, uniform
from datagen_gpu.params.samplers import CROP_DRAWS
from datagen_gpu.presets import TwoViews, byol_views, moco_v2_view, simclr_view


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("threads")
    make_folder(str(r), {"a": [(90, 120), (64, 80), (130, 70), (90, 120)], "b": [(100, 100), (77, 150), (60, 61)]})
    return str(r)


def test_batches_equal_a_dataloader(root):
    ds = ImageFolder(root)
    ref = list(DataLoader(ds, batch_size=3, collate_fn=collate))
    got = list(ThreadLoader(ds, batch_size=3, num_threads=3))
    assert len(got) == len(ref) == len(ThreadLoader(ds, batch_size=3))
    for a, b in zip(got, ref):
        assert torch.equal(a.sample_ids, b.sample_ids) and torch.equal(a.labels, b.labels)
        assert all(torch.equal(x, y) for x, y in zip(a.images, b.images))
    assert len(list(ThreadLoader(ds, batch_size=3, drop_last=True))) == 2


def test_shuffle_and_views_match_the_dataloader_path(root):
    ds = ImageFolder(root)
    t = TwoViews(simclr_view(32, blur_kernel=5))
    ref = {}
    for (a, b), _, ids in DeviceLoader(DataLoader(ds, batch_size=2, collate_fn=collate), t):
        ref.update({int(i): (a[k], b[k]) for k, i in enumerate(ids)})
    loader = DeviceLoader(ThreadLoader(ds, batch_size=4, shuffle=True, num_threads=2,
                                       seed=3), t)
    assert loader.crop_aware
    seen = []
    for (a, b), _, ids in loader:
        seen += ids.tolist()
        for k, i in enumerate(ids.tolist()):
            assert torch.equal(a[k], ref[i][0]) and torch.equal(b[k], ref[i][1])
    assert sorted(seen) == list(range(len(ds))) and seen != sorted(seen)


def test_errors_reach_the_consumer(tmp_path):
    good = tmp_path / "good.jpg"
    good.write_bytes(jpeg_bytes(photo(20, 20)))
    ds = ImageFiles([str(good), str(tmp_path / "missing.jpg")])
    with pytest.raises(DecodeError, match="missing.jpg"):
        list(DeviceLoader(ThreadLoader(ds, batch_size=1, num_threads=2), None))
    loader = ThreadLoader(ds, batch_size=1)
    loader.close()  # closing an idle loader is fine, and it restarts
    assert len(list(ThreadLoader(ImageFiles([str(good)]), batch_size=1))) == 1


@pytest.mark.parametrize("kw", [{"batch_size": 0}, {"num_threads": 0}, {"prefetch": 0}])
def test_arguments_checked(root, kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        ThreadLoader(ImageFolder(root), **{"batch_size": 2, **kw})


@pytest.mark.parametrize("make", [lambda: TwoViews(simclr_view()), lambda: TwoViews(*byol_views()),
                                  lambda: moco_v2_view(), lambda: T.RandomResizedCrop(64, scale=(0.5, 1.0))])
def test_crop_plan_draws_the_transforms_boxes(make):
    t = make()
    plan = CropPlan.from_transform(t)
    crops = [m for m in t.modules() if type(m) is T.RandomResizedCrop]
    assert plan is not None and len(plan.specs) == len(crops)
    g = torch.Generator().manual_seed(0)
    n = 2000
    ids = torch.randint(0, 2**40, (n,), generator=g)
    H, W = torch.randint(8, 4000, (n,), generator=g), torch.randint(8, 4000, (n,), generator=g)
    W[:100] = H[:100] * 6  # extreme aspect ratios: torchvision's fallback crop
    for spec, crop in zip(plan.specs, crops):
        ref = resized_crop_boxes(uniform(crop.seed, ids, crop.op_id, CROP_DRAWS, torch.float64), H, W,
                                 crop.scale, crop.ratio)
        for i in range(0, n, 7):
            got = plan.boxes(int(ids[i]), int(H[i]), int(W[i]))[crops.index(crop)]
            assert torch.equal(torch.tensor(got, dtype=torch.float64), ref[i]), i


def test_crop_plan_window_covers_every_view():
    plan = CropPlan.from_transform(TwoViews(simclr_view(64)))
    for sid in range(200):
        (top, left, h, w), scale = plan.window(sid, 480, 640)
        for bt, bl, bh, bw in plan.boxes(sid, 480, 640):
            assert top <= bt and left <= bl and bt + bh <= top + h and bl + bw <= left + w
            assert bh / scale >= 64 and bw / scale >= 64
        assert 0 <= top and 0 <= left and top + h <= 480 and left + w <= 640


def test_no_plan_for_other_transforms():
    assert CropPlan.from_transform(T.RandomHorizontalFlip()) is None
    assert CropPlan.from_transform(T.Compose([T.RandomHorizontalFlip(), T.RandomResizedCrop(8)])) is None
    assert CropPlan.from_transform(T.RandomResizedCrop(8, same_on_batch=True)) is None


def test_extraneous_bytes_before_a_marker_decode_as_pillow_does():
    data = bytearray(jpeg_bytes(photo(40, 48, seed=9)))
    eoi = len(data) - 2  # junk before the end-of-image marker: libjpeg warns, Pillow ignores it
    data[eoi:eoi] = b"\x00\x00\x00"
    ref = decode(bytes(data), "pil")
    for name in ("libjpeg", "simplejpeg"):
        try:
            out = decode(bytes(data), name)
        except ValueError as e:
            if "not installed" in str(e):
                continue
            raise
        assert torch.equal(out, ref), name


def test_ragged_views_of_one_buffer_equal_separate_images():
    """Images collated into one buffer are read in place (no packing copy), with the same result."""
    from datagen_gpu import functional as F
    from datagen_gpu.data.batch import pack_shared
    g = torch.Generator().manual_seed(0)
    shapes = [(3, 37, 53), (3, 64, 21), (3, 19, 90)]
    separate = [torch.randint(0, 256, s, dtype=torch.uint8, generator=g) for s in shapes]
    separate[1] = separate[1].permute(1, 2, 0).contiguous().permute(2, 0, 1)  # one HWC image
    packed = pack_shared(separate)
    assert len({t.untyped_storage().data_ptr() for t in packed}) == 1
    boxes = torch.tensor([[2.0, 3.0, 30.0, 40.0], [0.0, 0.0, 64.0, 21.0], [1.5, 7.25, 16.0, 70.0]])
    for out_dtype in (torch.uint8, torch.float32):
        ref = F.resized_crop(separate, boxes, (16, 24), out_dtype=out_dtype)
        assert torch.equal(F.resized_crop(packed, boxes, (16, 24), out_dtype=out_dtype), ref)
        # the same image twice (TwoViews' unstacked path) is also read in place
        twice = F.resized_crop(packed + packed, torch.cat([boxes, boxes]), (16, 24), out_dtype=out_dtype)
        assert torch.equal(twice[:3], ref) and torch.equal(twice[3:], ref)
