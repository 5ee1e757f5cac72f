"""The demo behind ``datagen-gpu demo``: every op on a batch of sample images.

Steps: load the built-in sample images (``sample_data``), bring the ragged
list to a (B, 3, 256, 256) uint8 batch with one ``resized_crop`` call (the
centre square of every image), draw random per-sample parameters for every
op from one seeded ``torch.Generator``, apply each op to the batch, write a
PNG grid (rows = ops, columns = samples) and time every op on the device.

Parameters are drawn on the CPU and then moved to the device, so a seed gives
the same parameters on every device. (A later issue replaces these draws by
the counter-based ``params`` module.)
"""
import math
import os
import statistics
import time
from dataclasses import dataclass

import torch

from . import functional as F
from ._png import write_png
from .sample_data import sample_images

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SIZE = 256  # the demo batch is (B, 3, SIZE, SIZE) uint8
CROP = 224  # resized_crop output size
BLUR_KERNEL = 23


def random_resized_crop_boxes(heights, widths, generator, scale=(0.08, 1.0),
                              ratio=(3.0 / 4.0, 4.0 / 3.0), attempts=10):
    """RandomResizedCrop boxes for every sample, drawn without a Python loop.

    Follows torchvision's ``RandomResizedCrop.get_params`` per sample: up to
    ``attempts`` tries of an area fraction in ``scale`` and a log-uniform
    aspect ratio in ``ratio``, integer height/width/top/left; the first try
    that fits is used, else a centre crop with the aspect ratio clamped to
    ``ratio``.

    Args:
        heights, widths: (B,) int64 image sizes.
        generator: a CPU ``torch.Generator``.

    Returns:
        (B, 4) float32 boxes (top, left, height, width), integer-valued.
    """
    heights = torch.as_tensor(heights, dtype=torch.int64)
    widths = torch.as_tensor(widths, dtype=torch.int64)
    b = heights.shape[0]
    h_img, w_img = heights.view(b, 1).double(), widths.view(b, 1).double()
    area = h_img * w_img
    target = area * (scale[0] + (scale[1] - scale[0]) * torch.rand(b, attempts, generator=generator,
                                                                   dtype=torch.float64))
    log_r = (math.log(ratio[0]), math.log(ratio[1]))
    aspect = torch.exp(log_r[0] + (log_r[1] - log_r[0]) * torch.rand(b, attempts, generator=generator,
                                                                    dtype=torch.float64))
    w = torch.sqrt(target * aspect).round()
    h = torch.sqrt(target / aspect).round()
    ok = (w > 0) & (h > 0) & (w <= w_img) & (h <= h_img)
    first = torch.where(ok.any(1), ok.double().argmax(1), torch.full((b,), -1, dtype=torch.int64))
    u_top = torch.rand(b, generator=generator, dtype=torch.float64)
    u_left = torch.rand(b, generator=generator, dtype=torch.float64)
    pick = first.clamp(min=0).view(b, 1)
    h_sel, w_sel = h.gather(1, pick).view(b), w.gather(1, pick).view(b)
    top = (u_top * (heights - h_sel + 1)).floor().clamp(max=heights - h_sel)
    left = (u_left * (widths - w_sel + 1)).floor().clamp(max=widths - w_sel)
    # Fallback: centre crop with the aspect ratio clamped into `ratio`.
    in_ratio = widths.double() / heights.double()
    fb_w = torch.where(in_ratio < ratio[0], widths.double(),
                       torch.where(in_ratio > ratio[1], (heights * ratio[1]).round(), widths.double()))
    fb_h = torch.where(in_ratio < ratio[0], (widths / ratio[0]).round(),
                       torch.where(in_ratio > ratio[1], heights.double(), heights.double()))
    fb_top = ((heights - fb_h) / 2).floor()
    fb_left = ((widths - fb_w) / 2).floor()
    use = first >= 0
    boxes = torch.stack([torch.where(use, top, fb_top), torch.where(use, left, fb_left),
                         torch.where(use, h_sel, fb_h), torch.where(use, w_sel, fb_w)], dim=1)
    return boxes.float()


def centre_square_boxes(images):
    """(B, 4) boxes of the largest centred square of each (C, H, W) image."""
    rows = []
    for img in images:
        h, w = img.shape[-2:]
        s = min(h, w)
        rows.append([(h - s) // 2, (w - s) // 2, s, s])
    return torch.tensor(rows, dtype=torch.float32)


def draw_params(batch, generator, size=SIZE):
    """Random per-sample parameters for every op, drawn on the CPU.

    Ranges follow common ImageNet recipes (RandomResizedCrop defaults,
    ColorJitter(0.4, 0.4, 0.4, 0.1)); the single-op rows use wider ranges
    (and a Gaussian sigma up to 4) so the effect is visible in the grid.
    """
    def uniform(lo, hi):
        return lo + (hi - lo) * torch.rand(batch, generator=generator)

    def coin(p=0.5):
        return torch.rand(batch, generator=generator) < p

    full = torch.full((batch,), size, dtype=torch.int64)
    return {
        "boxes": random_resized_crop_boxes(full, full, generator),
        "crop_flip": coin(),
        "flip": coin(),
        "brightness": uniform(0.4, 1.6),
        "contrast": uniform(0.4, 1.6),
        "saturation": uniform(0.0, 2.0),
        "hue": uniform(-0.5, 0.5),
        "jitter": torch.stack([uniform(0.6, 1.4), uniform(0.6, 1.4), uniform(0.6, 1.4),
                               uniform(-0.1, 0.1)]),
        "order": torch.argsort(torch.rand(batch, 4, generator=generator), dim=1),
        "gray": coin(),
        "threshold": uniform(64.0, 224.0).round(),  # uint8 range, as torchvision
        "solarize": coin(0.75),
        "sigma": uniform(0.5, 4.0),
    }


def _ops():
    """(name, fn(images, params) -> tensor) for every op, in grid order."""
    j = "jitter"
    return [
        ("resized_crop", lambda x, p: F.resized_crop(x, p["boxes"], CROP, flip=p["crop_flip"],
                                                     antialias=True, out_dtype=torch.float32)),
        ("hflip", lambda x, p: F.hflip(x, p["flip"])),
        ("adjust_brightness", lambda x, p: F.adjust_brightness(x, p["brightness"])),
        ("adjust_contrast", lambda x, p: F.adjust_contrast(x, p["contrast"])),
        ("adjust_saturation", lambda x, p: F.adjust_saturation(x, p["saturation"])),
        ("adjust_hue", lambda x, p: F.adjust_hue(x, p["hue"])),
        ("color_jitter", lambda x, p: F.color_jitter(x, p[j][0], p[j][1], p[j][2], p[j][3],
                                                     p["order"])),
        ("rgb_to_grayscale", lambda x, p: F.rgb_to_grayscale(x, p["gray"])),
        ("solarize", lambda x, p: F.solarize(x, p["threshold"], p["solarize"])),
        ("gaussian_blur", lambda x, p: F.gaussian_blur(x, BLUR_KERNEL, p["sigma"])),
        ("normalize", lambda x, p: F.normalize(x, IMAGENET_MEAN, IMAGENET_STD)),
    ]


OP_NAMES = tuple(name for name, _ in _ops())


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


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def time_op(fn, images, params, repeats=5):
    """Median wall time (ms) of ``fn(images, params)`` over ``repeats`` runs after a warm-up."""
    device = images.device
    fn(images, params)
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(images, params)
        _sync(device)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


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


def _label_grid(grid, labels, tile, pad):
    """Prepend a column with each row's label (needs Pillow; unchanged without it)."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        return grid
    width = 150
    canvas = Image.new("RGB", (width + grid.shape[1], grid.shape[0]), (31, 31, 31))
    canvas.paste(Image.fromarray(grid.numpy(), "RGB"), (width, 0))
    draw = ImageDraw.Draw(canvas)
    for r, text in enumerate(labels):
        draw.text((8, pad + r * (tile + pad) + tile // 2 - 6), text, fill=(235, 235, 235))
    import numpy as np

    return torch.from_numpy(np.asarray(canvas).copy())


def run_demo(out_dir="out", batch=64, device="cpu", seed=0, source="auto", columns=8,
             tile=128, repeats=5, log=print):
    """Run the demo; returns a DemoResult (grid written to ``out_dir/augmented.png``)."""
    device = str(torch.device(device))
    images, used = load_batch(batch, source, device)
    gen = torch.Generator().manual_seed(seed)
    params = {k: v.to(device) for k, v in draw_params(batch, gen).items()}
    ops = _ops()
    outputs = {name: fn(images, params) for name, fn in ops}
    timings = []
    if batch > 0:
        for name, fn in ops:
            ms = time_op(fn, images, params, repeats)
            timings.append((name, ms, batch / (ms / 1e3)))
    cols = min(columns, batch)
    rows = [_to_display(images[:cols], "input")]
    rows += [_to_display(outputs[name][:cols], name) for name, _ in ops]
    pad = 4
    grid = make_grid(rows, tile, pad) if cols > 0 else torch.zeros(1, 1, 3, dtype=torch.uint8)
    grid = _label_grid(grid, ["input"] + [name for name, _ in ops], tile, pad) if cols else grid
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "augmented.png")
    write_png(path, grid)
    result = DemoResult(path, used, device, batch, timings, outputs)
    log(format_report(result, seed))
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
