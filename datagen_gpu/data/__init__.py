"""Files -> augmented training batches: datasets that decode, ragged collation, the device loader.

Typical use (a folder of JPEGs, SimCLR views, any device)::

    from torch.utils.data import DataLoader
    from datagen_gpu.data import DeviceLoader, ImageFolder, collate
    from datagen_gpu.presets import TwoViews, simclr_view

    dataset = ImageFolder("train/")
    dl = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=4, collate_fn=collate)
    loader = DeviceLoader(dl, TwoViews(simclr_view()))
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        for (view_a, view_b), labels, sample_ids in loader:
            ...

See docs/data.md for decoding, crop-aware decoding, the loader's threads and streams.
"""
from .._windowed import WindowedImages
from .batch import Batch, EncodedImages, Skipped, collate
from .crop_plan import CropPlan
from .dali import DaliFilePipeline, DaliSource, dali_file_pipeline
from .datasets import IMG_EXTENSIONS, ImageFiles, ImageFolder
from .decode import DecodeError, ImageInfo, available_decoders, decode, decode_window, probe
from .loader import DeviceLoader
from .shards import TarShards, write_shards
from .thread_loader import ThreadLoader

__all__ = [
    "Batch", "CropPlan", "DaliFilePipeline", "DaliSource", "dali_file_pipeline", "DecodeError", "DeviceLoader", "EncodedImages", "IMG_EXTENSIONS", "ImageFiles",
    "ImageFolder", "ImageInfo", "Skipped", "TarShards", "ThreadLoader", "WindowedImages", "available_decoders", "collate", "decode",
    "decode_window", "probe", "write_shards",
]
