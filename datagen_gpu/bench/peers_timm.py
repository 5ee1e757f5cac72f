"""timm as a peer: ``create_transform`` on PIL images in worker processes; ``timm.data.Mixup``.

The ImageNet pipelines use ``timm.data.create_transform(size, is_training=True,
auto_augment=..., re_prob=0.25)`` (RandomResizedCrop, flip, the policy,
ToTensor, Normalize, RandomErasing) on PIL images, image by image in
DataLoader-like worker processes (``--source DIR``: torchvision's
``ImageFolder`` + ``DataLoader`` with timm's transform). timm has no
TrivialAugment policy: its stand-in is RandAugment with one op at a uniformly
drawn magnitude applied every time (``rand-n1-m10-mstd101-p1.0-inc1``), the same
work per image. Mixing runs ``timm.data.Mixup`` (elem mode: a Python loop over
samples) on a private copy of the batch (timm mixes in place).
"""
from .cases import MIXUP, POLICIES, RE_PROB
from .peers import Built, cannot
from .peers_workers import WorkerPool, folder_stream


def policy_transform(policy: str, size: int):
    """timm's ImageNet training transform (PIL in, normalized float32 CHW tensor out)."""
    from timm.data import create_transform

    return create_transform(size, is_training=True, auto_augment=POLICIES[policy][1], re_prob=RE_PROB)


def _pil_images(inputs):
    from PIL import Image

    return [Image.fromarray(img.permute(1, 2, 0).contiguous().numpy()) for img in inputs.cpu_images()]


def build_timm(pipeline, inputs, settings):
    import timm  # noqa: F401

    if pipeline.kind == "mixing":
        from timm.data import Mixup

        mixer = Mixup(**MIXUP)
        x, y = inputs.tensor.clone(), inputs.labels
        return Built(lambda: mixer(x, y), settings.device, "elem mode: a Python loop over samples, in place")
    if pipeline.kind != "policy":
        raise cannot("timm", pipeline, "its transforms factory builds ImageNet-style pipelines only")
    note = {"trivial": "no TrivialAugment in timm: RandAugment n=1, uniform magnitude",
            "rand": "magnitude clipped at 9 (mmax9): Pillow 13 rejects timm's 0-bit posterize"}.get(pipeline.policy, "")
    workers = settings.threads
    if inputs.folder:
        stream = folder_stream(inputs.folder, policy_transform(pipeline.policy, settings.size), settings.batch,
                               workers)
        return Built(stream, "cpu", "; ".join(filter(None, [f"ImageFolder + DataLoader, {workers} workers", note])))
    size, policy = settings.size, pipeline.policy
    pool = WorkerPool(lambda: policy_transform(policy, size), _pil_images(inputs), workers)
    return Built(pool, "cpu", "; ".join(filter(None, [f"PIL per image, {workers} worker process"
                                                      f"{'es' if workers > 1 else ''}", note])))


def elem_mix_with_draws(x, labels, lam, use_cutmix, boxes):
    """timm's ``Mixup(mode="elem")`` image mixing given the draws (per-sample ``lam``, ``use_cutmix``
    and (top, left, height, width) ``boxes``) instead of its own NumPy ones, so it mixes exactly as
    ``functional.mix`` does (benchmarks/bench_mixing.py); mixes ``x`` in place, returns (x, targets)."""
    import numpy as np
    from timm.data import mixup as tm

    m = tm.Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=int(labels.max()) + 1,
                 label_smoothing=0.0)
    m._params_per_elem = lambda n: (lam.numpy().astype(np.float32), use_cutmix.numpy().copy())
    cut_rows = iter([i for i in range(len(lam)) if bool(use_cutmix[i])])

    def bbox(shape, lam_i, ratio_minmax=None, correct_lam=True, count=None):
        t, l_, h, w = boxes[next(cut_rows)].tolist()
        return (t, t + h, l_, l_ + w), lam_i

    real = tm.cutmix_bbox_and_lam
    tm.cutmix_bbox_and_lam = bbox
    try:
        return m(x, labels)
    finally:
        tm.cutmix_bbox_and_lam = real
