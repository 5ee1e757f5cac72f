"""torchvision as a peer: ``transforms.v2`` per image in worker processes, as training runs it.

Views and ImageNet policies run image by image on uint8 CHW tensors in
DataLoader-like worker processes (one per ``--threads``, one torch thread
each; :mod:`.peers_workers`), with ``--source DIR`` through
``datasets.ImageFolder`` + ``DataLoader`` (PIL decoding). Mixing runs
``v2.RandomChoice([v2.MixUp, v2.CutMix])`` on the whole batch on the
benchmark's device (one mixing weight per batch: torchvision's semantics).
"""
import torch

from .cases import IMAGENET_MEAN, IMAGENET_STD, MIXUP, RE_PROB, ViewSpec
from .peers import Built, cannot
from .peers_workers import WorkerPool, folder_stream


def view_transform(spec: ViewSpec, size: int, from_pil: bool = False):
    """torchvision v2's version of one view (uint8 CHW tensor, or PIL with ``from_pil``)."""
    from torchvision.transforms import v2

    steps = [v2.ToImage()] if from_pil else []
    steps += [
        v2.RandomResizedCrop(size, scale=spec.scale, antialias=True),
        v2.RandomHorizontalFlip(p=0.5),
        v2.RandomApply([v2.ColorJitter(*spec.jitter)], p=spec.jitter_p),
        v2.RandomGrayscale(p=spec.gray_p),
    ]
    if spec.blur_p > 0:
        steps.append(v2.RandomApply([v2.GaussianBlur(spec.blur_kernel, sigma=(0.1, 2.0))], p=spec.blur_p))
    if spec.solarize_p > 0:
        steps.append(v2.RandomSolarize(128, p=spec.solarize_p))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return v2.Compose(steps)


def policy_transform(policy: str, size: int, from_pil: bool = False):
    """RandomResizedCrop, flip, TrivialAugmentWide / RandAugment(2, 9) / AugMix, normalize, RandomErasing(0.25)."""
    from torchvision.transforms import v2

    augment = {"trivial": v2.TrivialAugmentWide, "rand": lambda: v2.RandAugment(num_ops=2, magnitude=9),
               "augmix": v2.AugMix}[policy]()
    return v2.Compose(([v2.ToImage()] if from_pil else []) + [
        v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip(p=0.5), augment,
        v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        v2.RandomErasing(p=RE_PROB)])


class Views:
    """Per-image: one output per view transform (a tuple), as SimCLR / BYOL / MoCo datasets return."""

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        return tuple(t(img) for t in self.transforms)


def per_image(pipeline, size: int, from_pil: bool = False):
    """The per-image transform of a "views" or "policy" pipeline (None for other kinds)."""
    if pipeline.kind == "views":
        return Views([view_transform(v, size, from_pil) for v in pipeline.views])
    if pipeline.kind == "policy":
        return policy_transform(pipeline.policy, size, from_pil)
    return None


def build_torchvision(pipeline, inputs, settings):
    import torchvision  # noqa: F401  (fails here, not in the workers, when it is broken)

    workers = settings.threads
    if pipeline.kind == "mixing":
        return _mixing(inputs, settings)
    if pipeline.kind not in ("views", "policy"):
        raise cannot("torchvision", pipeline, "no spectrogram masking (see torchaudio)")
    if inputs.folder:
        stream = folder_stream(inputs.folder, per_image(pipeline, settings.size, from_pil=True), settings.batch,
                               workers)
        return Built(stream, "cpu", f"ImageFolder (PIL) + DataLoader, {workers} workers")
    size = settings.size
    pool = WorkerPool(lambda: per_image(pipeline, size), inputs.cpu_images(), workers)
    return Built(pool, "cpu", f"v2 per image, {workers} worker process{'es' if workers > 1 else ''}")


def _mixing(inputs, settings):
    from torchvision.transforms import v2

    mix = v2.RandomChoice([v2.MixUp(alpha=MIXUP["mixup_alpha"], num_classes=MIXUP["num_classes"]),
                           v2.CutMix(alpha=MIXUP["cutmix_alpha"], num_classes=MIXUP["num_classes"])])
    x, y = inputs.tensor, inputs.labels
    return Built(lambda: mix(x, y), settings.device, "one mixing weight per batch (v2 semantics)")


def op_loops(x, p):
    """op -> torchvision's per-sample loop (``v2.functional`` image by image, then stacked, as a
    DataLoader worker and collate produce the batch) with parameters as Python numbers;
    the counterpart of :func:`.ops.op_calls`."""
    import torchvision.transforms.v2.functional as TF

    from .ops import CROP, KERNEL

    q = {k: v.tolist() for k, v in p.items()}
    boxes = [[int(v) for v in row] for row in q["boxes"]]
    adjust = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
    factors = list(zip(q["brightness"], q["contrast"], q["saturation"], q["hue"]))

    def loop(fn):
        return lambda: torch.stack([fn(i, img) for i, img in enumerate(x.unbind(0))])

    def crop(i, img):
        out = TF.to_dtype(TF.resized_crop(img, *boxes[i], [CROP, CROP], antialias=True), torch.float32, scale=True)
        return TF.hflip(out) if q["crop_flip"][i] else out

    def jitter(i, img):
        for k in q["order"][i]:
            img = adjust[k](img, factors[i][k])
        return img

    def single(name, key):
        fn = getattr(TF, name)
        return loop(lambda i, img: fn(img, q[key][i]))

    return {
        "resized_crop": loop(crop),
        "hflip": loop(lambda i, img: TF.hflip(img) if q["flip"][i] else img),
        **{f"adjust_{k}": single(f"adjust_{k}", k) for k in ("brightness", "contrast", "saturation", "hue")},
        "color_jitter": loop(jitter),
        "rgb_to_grayscale": loop(lambda i, img: TF.rgb_to_grayscale(img, num_output_channels=3)
                                 if q["gray"][i] else img),
        "solarize": loop(lambda i, img: TF.solarize(img, q["threshold"][i]) if q["solarize"][i] else img),
        "gaussian_blur": loop(lambda i, img: TF.gaussian_blur(img, [KERNEL, KERNEL], [q["sigma"][i]] * 2)),
        "normalize": loop(lambda i, img: TF.normalize(TF.to_dtype(img, torch.float32, scale=True),
                                                      list(IMAGENET_MEAN), list(IMAGENET_STD))),
    }
