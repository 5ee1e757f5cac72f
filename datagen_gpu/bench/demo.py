"""The demo behind ``datagen-gpu demo``: every op on a batch of sample images.

Steps: load the built-in sample images (``datagen_gpu.sample_data``), bring
the ragged list to a (B, 3, 256, 256) uint8 batch with one ``resized_crop``
call (the centre square of every image), draw random per-sample parameters
for every op (:func:`.ops.draw_params` with visible ranges, on the CPU, so a
seed gives the same parameters on every device), apply each op to the batch,
write a PNG grid (rows = ops, columns = samples; Pillow), time every op on
the device and render the SpecAugment picture (:mod:`.audio_demo`).
"""
import os
import statistics
from dataclasses import dataclass

import torch

from .. import functional as F
from ..sample_data import sample_images
from .cases import IMAGENET_MEAN, IMAGENET_STD
from .ops import OPS, draw_params, op_calls
from .plots import save_png
from .timing import time_call

SIZE = 256  # the demo batch is (B, 3, SIZE, SIZE) uint8
# the learned policies, each sample drawing its own operations (transforms, seeded)
POLICY_NAMES = ("TrivialAugmentWide", "RandAugment", "AutoAugment", "AugMix", "RandomErasing")
OP_NAMES = OPS + POLICY_NAMES


def policy_calls(x, seed=0):
    """policy name -> zero-argument callable applying it to the uint8 batch ``x``."""
    from .. import transforms as T

    ids = torch.arange(x.shape[0], device=x.device)
    made = {"TrivialAugmentWide": T.TrivialAugmentWide(seed=seed), "RandAugment": T.RandAugment(seed=seed),
            "AutoAugment": T.AutoAugment(seed=seed), "AugMix": T.AugMix(seed=seed),
            "RandomErasing": T.RandomErasing(p=1.0, value=(124, 116, 104), seed=seed)}
    return {name: (lambda t=t: t(x, sample_ids=ids)) for name, t in made.items()}


def centre_square_boxes(images):
    """(B, 4) boxes of the largest centred square of each (C, H, W) image."""
    rows = []
    for img in images:
        h, w = img.shape[-2:]
        s = min(h, w)
        rows.append([(h - s) // 2, (w - s) // 2, s, s])
    return torch.tensor(rows, dtype=torch.float32)


def load_batch(batch, source="auto", device="cpu", size=SIZE):
    """(B, 3, size, size) uint8 batch of sample images on ``device``, and the source name.

    The sample images (different sizes) are cycled to ``batch`` entries and
    brought to ``size`` x ``size`` by one ragged ``resized_crop`` call.
    """
    pool, used = sample_images(source)
    images = [pool[i % len(pool)].to(device) for i in range(batch)]
    if batch == 0:
        return torch.empty(0, 3, size, size, dtype=torch.uint8, device=device), used
    boxes = centre_square_boxes(images).to(device)
    return F.resized_crop(images, boxes, size, antialias=True), used


def time_op(fn, device, repeats=5):
    """Median milliseconds of ``fn()`` over ``repeats`` runs after a warm-up (CUDA events on CUDA)."""
    time_call(fn, device)
    return statistics.median(time_call(fn, device) for _ in range(repeats))


@dataclass
class DemoResult:
    grid_path: str
    source: str
    device: str
    batch: int
    timings: list  # (op, ms per batch, images per second)
    outputs: dict


def _to_display(out: torch.Tensor, name: str) -> torch.Tensor:
    """Any op output -> (B, 3, h, w) float in [0, 1] for the grid."""
    x = out.float() / 255.0 if out.dtype == torch.uint8 else out.float()
    if name == "normalize":  # undo the normalization for display
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
        x = x * std + mean
    return x.clamp(0, 1)


def make_grid(rows, tile, pad=4, background=0.12):
    """Rows of (n, 3, h, w) [0, 1] images -> (H, W, 3) uint8 grid tensor.

    Every image is resized (aspect kept, antialiased) to fit a tile x tile
    cell and centred in it.
    """
    n_rows, n_cols = len(rows), max(r.shape[0] for r in rows)
    grid = torch.full((3, n_rows * (tile + pad) + pad, n_cols * (tile + pad) + pad), background)
    for r, imgs in enumerate(rows):
        imgs = imgs.float().cpu()
        h, w = imgs.shape[-2:]
        s = tile / max(h, w)
        th, tw = max(1, round(h * s)), max(1, round(w * s))
        if (th, tw) != (h, w):
            imgs = torch.nn.functional.interpolate(imgs, size=(th, tw), mode="bilinear",
                                                   antialias=True, align_corners=False)
        for c in range(imgs.shape[0]):
            y0 = pad + r * (tile + pad) + (tile - th) // 2
            x0 = pad + c * (tile + pad) + (tile - tw) // 2
            grid[:, y0:y0 + th, x0:x0 + tw] = imgs[c].clamp(0, 1)
    return (grid * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous()


def label_grid(grid, labels, tile, pad, width=150):
    """Prepend a column with each row's label (Pillow's default font)."""
    import numpy as np
    from PIL import Image, ImageDraw

    canvas = Image.new("RGB", (width + grid.shape[1], grid.shape[0]), (31, 31, 31))
    canvas.paste(Image.fromarray(grid.numpy(), "RGB"), (width, 0))
    draw = ImageDraw.Draw(canvas)
    for r, text in enumerate(labels):
        draw.text((8, pad + r * (tile + pad) + tile // 2 - 6), text, fill=(235, 235, 235))
    return torch.from_numpy(np.asarray(canvas).copy())


def run_demo(out_dir="out", batch=64, device="cpu", seed=0, source="auto", columns=8,
             tile=128, repeats=5, log=print):
    """Run the demo; returns a DemoResult (grid written to ``out_dir/augmented.png``)."""
    device = str(torch.device(device))
    images, used = load_batch(batch, source, device)
    params = {k: v.to(device) for k, v in draw_params(batch, torch.Generator().manual_seed(seed),
                                                      visible=True).items()}
    calls = {**op_calls(images, params), **policy_calls(images, seed)}
    outputs = {name: fn() for name, fn in calls.items()}
    timings = []
    for name, fn in calls.items():
        ms = time_op(fn, device, repeats)
        timings.append((name, ms, batch / (ms / 1e3)))
    cols = min(columns, batch)
    rows = [_to_display(images[:cols], "input")] + [_to_display(outputs[name][:cols], name) for name in calls]
    pad = 4
    grid = label_grid(make_grid(rows, tile, pad), ["input", *calls], tile, pad)
    path = save_png(os.path.join(out_dir, "augmented.png"), grid)
    result = DemoResult(path, used, device, batch, timings, outputs)
    log(format_report(result, seed))
    from .audio_demo import render_specaugment_demo

    spec_path = render_specaugment_demo(os.path.join(out_dir, "specaugment.png"), seed=seed)
    log(f"SpecAugment (LD policy) before/after: {spec_path}")
    log("Next: `datagen-gpu bench` compares whole training pipelines with torchvision, kornia, DALI and timm.")
    return result


def format_report(result, seed):
    lines = [
        f"datagen_gpu demo: {result.batch} images ({result.source}, {SIZE}x{SIZE} uint8) "
        f"on {result.device}, seed {seed}, {torch.get_num_threads()} CPU threads",
        f"grid (rows = input + ops, columns = samples): {result.grid_path}",
        "",
        "| op | ms / batch | images / s |",
        "|---|---:|---:|",
    ]
    for name, ms, ips in result.timings:
        lines.append(f"| {name} | {ms:.2f} | {ips:,.0f} |")
    return "\n".join(lines)
