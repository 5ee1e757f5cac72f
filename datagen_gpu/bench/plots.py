"""Pictures: the bench charts (matplotlib) and PNG files of image tensors (Pillow).

- :func:`sweep_chart`: img/s against the swept setting, one panel per
  pipeline, one line per library (log axes for batch size and threads), so
  a reader sees where each library saturates;
- :func:`bar_chart`: img/s per pipeline and library of a plain run (log axis);
- :func:`save_png` / :func:`read_png`: (H, W, 3) uint8 tensors to and from PNG.
"""
import math
import os

import torch

OURS = "datagen_gpu"


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise RuntimeError("charts need matplotlib: pip install matplotlib (or the 'bench' extra)") from e
    return plt


def _pillow():
    try:
        from PIL import Image
    except ImportError as e:
        raise RuntimeError("writing PNG files needs Pillow: pip install pillow (or the 'demo' extra)") from e
    return Image


def _subtitle(record: dict) -> str:
    m, s = record["machine"], record["settings"]
    where = m["gpu"] if m.get("gpu") else f"{m['cpu']}, {m['cores']} cores"
    return f"{where}; {s['device']}; {record['date'][:16]}"


def _style(library: str) -> dict:
    return dict(linewidth=3.0, color="black", zorder=3) if library == OURS else dict(linewidth=1.5)


def sweep_chart(record: dict, path: str) -> str:
    """Draw a sweep record (img/s vs the swept setting) into the PNG ``path``; returns ``path``."""
    plt = _pyplot()
    kind = record["sweep"]
    pipelines = list(dict.fromkeys(r["pipeline"] for r in record["results"]))
    cols = min(3, len(pipelines)) or 1
    rows = math.ceil(len(pipelines) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False)
    for ax, pipeline in zip(axes.flat, pipelines):
        res = [r for r in record["results"] if r["pipeline"] == pipeline]
        for lib in dict.fromkeys(r["library"] for r in res):
            pts = sorted((r[kind], r["img_per_s"]) for r in res if r["library"] == lib)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=lib, **_style(lib))
        if kind in ("batch", "threads"):
            ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel({"batch": "batch size", "size": "output side (pixels)", "threads": "threads"}[kind])
        ax.set_ylabel("images / s")
        ax.set_title(pipeline)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(pipelines):]:
        ax.axis("off")
    fig.suptitle(f"datagen-gpu bench --sweep {kind}\n{_subtitle(record)}", fontsize=10)
    fig.tight_layout()
    return _save(fig, plt, path)


def bar_chart(record: dict, path: str) -> str:
    """Draw a plain run (img/s per pipeline and library, log axis) into the PNG ``path``."""
    plt = _pyplot()
    res = record["results"]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(res) + 1.5))
    labels = [f"{r['pipeline']} / {r['library']}" for r in res]
    colors = ["black" if r["library"] == OURS else "tab:blue" for r in res]
    ax.barh(range(len(res)), [r["img_per_s"] for r in res], color=colors)
    ax.set_yticks(range(len(res)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("images / s")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.set_title(f"datagen-gpu bench\n{_subtitle(record)}", fontsize=10)
    fig.tight_layout()
    return _save(fig, plt, path)


def _save(fig, plt, path: str) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def chart(record: dict, path: str) -> str:
    """The record's chart: a sweep chart for a sweep, else the bar chart."""
    return sweep_chart(record, path) if record.get("sweep") else bar_chart(record, path)


def save_png(path, image: torch.Tensor) -> str:
    """Write an (H, W, 3) uint8 tensor to ``path`` as PNG (Pillow); returns ``path``."""
    if not isinstance(image, torch.Tensor) or image.dtype != torch.uint8 or image.dim() != 3 or image.shape[2] != 3:
        raise ValueError("image: expected an (H, W, 3) uint8 tensor")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    _pillow().fromarray(image.contiguous().cpu().numpy(), "RGB").save(path, format="PNG")
    return path


def read_png(path) -> torch.Tensor:
    """An image file as an (H, W, 3) uint8 tensor (Pillow)."""
    import numpy as np

    with _pillow().open(path) as img:
        return torch.from_numpy(np.asarray(img.convert("RGB")).copy())
