"""kornia as a peer: ``kornia.augmentation`` on the whole batch (per-sample parameters).

Runs on the benchmark's device, on float input converted from uint8 inside
the timed call. kornia's RandomResizedCrop has no antialias option (it
resizes without antialiasing, which is cheaper than the others). Its
``auto.TrivialAugment`` / ``auto.RandAugment`` pick the policy's operations
once per call for the whole batch (magnitudes per sample).
"""
import torch

from .cases import IMAGENET_MEAN, IMAGENET_STD, RE_PROB, ViewSpec
from .peers import Built, cannot


def view_module(spec: ViewSpec, size: int) -> torch.nn.Module:
    """kornia's version of one view, on float images in [0, 1]."""
    import kornia.augmentation as K

    steps = [
        K.RandomResizedCrop((size, size), scale=spec.scale, ratio=(3 / 4, 4 / 3), p=1.0),
        K.RandomHorizontalFlip(p=0.5),
        K.ColorJitter(*spec.jitter, p=spec.jitter_p),
        K.RandomGrayscale(p=spec.gray_p),
    ]
    if spec.blur_p > 0:
        steps.append(K.RandomGaussianBlur((spec.blur_kernel, spec.blur_kernel), sigma=(0.1, 2.0), p=spec.blur_p))
    if spec.solarize_p > 0:
        steps.append(K.RandomSolarize(thresholds=0.0, additions=0.0, p=spec.solarize_p))
    steps.append(K.Normalize(mean=torch.tensor(IMAGENET_MEAN), std=torch.tensor(IMAGENET_STD)))
    return torch.nn.Sequential(*steps)


def policy_module(policy: str, size: int) -> torch.nn.Module:
    """kornia's ImageNet training view: crop, flip, the policy, normalize, RandomErasing(0.25)."""
    import kornia.augmentation as K
    from kornia.augmentation import auto

    augment = auto.TrivialAugment() if policy == "trivial" else auto.RandAugment(n=2, m=9)
    return K.AugmentationSequential(
        K.RandomResizedCrop((size, size), p=1.0), K.RandomHorizontalFlip(p=0.5), augment,
        K.Normalize(mean=torch.tensor(IMAGENET_MEAN), std=torch.tensor(IMAGENET_STD)), K.RandomErasing(p=RE_PROB))


def build_kornia(pipeline, inputs, settings):
    import kornia  # noqa: F401

    if inputs.folder:
        raise cannot("kornia", pipeline, "no file loader (kornia augments decoded tensors)")
    device, x = settings.device, inputs.tensor
    if pipeline.kind == "policy":
        if pipeline.policy not in ("trivial", "rand"):
            raise cannot("kornia", pipeline, "no AugMix policy (kornia.augmentation.auto: RandAugment, "
                         "TrivialAugment, AutoAugment)")
        module = policy_module(pipeline.policy, settings.size).to(device)
        return Built(lambda: module(x.float().div_(255)), device,
                     "batched; one policy op per call for the whole batch; no antialiasing")
    views = [view_module(v, settings.size).to(device) for v in pipeline.views]

    def run():
        unit = x.float().div_(255)
        return tuple(v(unit) for v in views)
    return Built(run, device, "batched; resize without antialiasing")
