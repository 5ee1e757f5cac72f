"""The SimCLR view pipeline, built for each library the project compares against.

SimCLR (Chen et al. 2020) view: RandomResizedCrop(224), horizontal flip p=0.5,
ColorJitter(0.4, 0.4, 0.4, 0.1) p=0.8, grayscale p=0.2, GaussianBlur(23,
sigma in (0.1, 2.0)) p=0.5, ImageNet Normalize, on a batch of uint8
(B, 3, 256, 256) images -> a float32 (B, 3, 224, 224) normalized batch.

Every builder takes the same uint8 NCHW batch and returns a zero-argument
callable that produces the float32 (B, 3, size, size) batch; whatever the
library needs to get from that batch to its output *per call* is inside the
callable (e.g. kornia's uint8 -> float conversion). A builder raises
:class:`Unavailable` with a reason when its library is missing or cannot run.

- ``ours``: ``datagen_gpu.presets.simclr_view()`` called on the uint8 batch.
- ``torchvision``: ``torchvision.transforms.v2.Compose`` applied image by image
  (as a DataLoader worker runs it: one torch thread) to uint8 CHW tensors,
  then ``torch.stack``.
- ``torchvision_2w``: the same per-image loop split over 2 worker processes
  (like ``DataLoader(num_workers=2)``, one torch thread each; results come
  back through shared memory), so torchvision uses both cores too.
- ``kornia``: ``kornia.augmentation`` on the whole batch (same_on_batch=False),
  on float input converted from uint8 inside the timed call. kornia's
  RandomResizedCrop has no antialias option (it resizes without antialiasing).
- ``dali``: NVIDIA DALI's CPU pipeline (``device="cpu"`` operators,
  ``num_threads=2``) fed by ``fn.external_source`` with the same images as
  uint8 HWC arrays, run synchronously (no prefetching, so a measured call is
  the whole work of one batch). Differences from the others, forced by DALI's
  operators: ``fn.color_twist`` applies brightness, contrast, saturation and
  hue in one fixed order, its contrast pivots around mid-gray rather than the
  image mean and its hue rotates in YIQ rather than HSV; grayscale (p=0.2) is
  folded into color_twist's saturation (0 for grayscaled samples; exact, as
  grayscale commutes with the other, channel-uniform, adjustments); the flip
  is done last by ``fn.crop_mirror_normalize`` (it commutes with the
  color and blur steps); blur p=0.5 is a per-sample conditional.
  These choices can only make DALI faster, not slower.
"""
import numbers

import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BATCH, IN_SIZE, OUT_SIZE, BLUR_KERNEL = 64, 256, 224, 23


class Unavailable(Exception):
    """A case cannot be built here (library missing or not runnable); the message says why."""


def make_images(batch=BATCH, size=IN_SIZE, seed=0):
    """A uint8 (batch, 3, size, size) NCHW batch of smooth random images (not pure noise)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(batch, 3, max(size // 16, 1), max(size // 16, 1), generator=g)
    img = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    img = img + 0.1 * torch.randn(batch, 3, size, size, generator=g)
    return (img.clamp(0, 1) * 255).round().to(torch.uint8)


def build_ours(images, size=OUT_SIZE, blur_kernel=BLUR_KERNEL):
    try:
        from datagen_gpu.presets import simclr_view
        import datagen_gpu._C  # noqa: F401  (the C++ kernels; missing if not built)
    except ImportError as e:
        raise Unavailable(f"datagen_gpu not importable/built: {e}") from e
    pipeline = simclr_view(size, blur_kernel=blur_kernel)
    return lambda: pipeline(images)


def _torchvision_pipeline(size, blur_kernel):
    try:
        from torchvision.transforms import v2
    except ImportError as e:
        raise Unavailable(f"torchvision not installed: {e}") from e
    return v2.Compose([
        v2.RandomResizedCrop(size, antialias=True),
        v2.RandomHorizontalFlip(p=0.5),
        v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        v2.RandomGrayscale(p=0.2),
        v2.RandomApply([v2.GaussianBlur(blur_kernel, sigma=(0.1, 2.0))], p=0.5),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


class _one_thread:
    """torch intra-op threads set to 1 inside the block (what a DataLoader worker does)."""

    def __enter__(self):
        self.saved = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.saved)


def build_torchvision(images, size=OUT_SIZE, blur_kernel=BLUR_KERNEL):
    t = _torchvision_pipeline(size, blur_kernel)
    per_image = list(images.unbind(0))

    def run():
        with _one_thread():
            return torch.stack([t(img) for img in per_image])
    return run


_WORKER = {}


def _worker_init(images, size, blur_kernel):
    torch.set_num_threads(1)
    _WORKER["t"] = _torchvision_pipeline(size, blur_kernel)
    _WORKER["images"] = list(images.unbind(0))


def _worker_chunk(bounds):
    lo, hi = bounds
    return torch.stack([_WORKER["t"](img) for img in _WORKER["images"][lo:hi]])


def build_torchvision_2w(images, size=OUT_SIZE, blur_kernel=BLUR_KERNEL, workers=2):
    """The per-image loop split over ``workers`` processes (DataLoader(num_workers=2)-like)."""
    _torchvision_pipeline(size, blur_kernel)  # raises Unavailable here, not in the workers
    import multiprocessing
    import weakref
    import torch.multiprocessing  # noqa: F401  (tensors cross processes through shared memory)
    pool = multiprocessing.get_context("fork").Pool(workers, _worker_init, (images, size, blur_kernel))
    n = images.shape[0]
    chunks = [(n * k // workers, n * (k + 1) // workers) for k in range(workers)]

    def run():
        return torch.cat(pool.map(_worker_chunk, chunks))
    weakref.finalize(run, pool.terminate)
    return run


def build_kornia(images, size=OUT_SIZE, blur_kernel=BLUR_KERNEL):
    try:
        import kornia.augmentation as K
    except ImportError as e:
        raise Unavailable(f"kornia not installed: {e}") from e
    aug = torch.nn.Sequential(
        K.RandomResizedCrop((size, size), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), p=1.0),
        K.RandomHorizontalFlip(p=0.5),
        K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8),
        K.RandomGrayscale(p=0.2),
        K.RandomGaussianBlur((blur_kernel, blur_kernel), sigma=(0.1, 2.0), p=0.5),
        K.Normalize(mean=torch.tensor(IMAGENET_MEAN), std=torch.tensor(IMAGENET_STD)),
    )

    def run():
        return aug(images.float().div_(255))
    return run


def build_dali(images, size=OUT_SIZE, blur_kernel=BLUR_KERNEL, num_threads=2):
    try:
        import numpy as np
        from nvidia.dali import fn, pipeline_def, types
    except ImportError as e:
        raise Unavailable(f"nvidia-dali not installed: {e}") from e
    batch = images.shape[0]
    hwc = [np.ascontiguousarray(a) for a in images.permute(0, 2, 3, 1).numpy()]

    @pipeline_def(batch_size=batch, num_threads=num_threads, device_id=None, seed=0,
                  enable_conditionals=True, exec_async=False, exec_pipelined=False,
                  prefetch_queue_depth=1)
    def simclr():
        x = fn.external_source(source=lambda: hwc, batch=True, layout="HWC", device="cpu")
        x = fn.random_resized_crop(x, size=(size, size), random_area=(0.08, 1.0),
                                   random_aspect_ratio=(3 / 4, 4 / 3), antialias=True,
                                   interp_type=types.INTERP_LINEAR, device="cpu")
        jitter = fn.cast(fn.random.coin_flip(probability=0.8), dtype=types.FLOAT)
        keep_color = 1.0 - fn.cast(fn.random.coin_flip(probability=0.2), dtype=types.FLOAT)

        def factor(lo, hi):  # U(lo, hi) when jittered, identity (1) otherwise
            return 1.0 + jitter * (fn.random.uniform(range=(lo, hi)) - 1.0)
        x = fn.color_twist(x, brightness=factor(0.6, 1.4), contrast=factor(0.6, 1.4),
                           saturation=factor(0.6, 1.4) * keep_color,
                           hue=jitter * fn.random.uniform(range=(-36.0, 36.0)), device="cpu")
        if fn.random.coin_flip(probability=0.5):
            x = fn.gaussian_blur(x, window_size=blur_kernel,
                                 sigma=fn.random.uniform(range=(0.1, 2.0)), device="cpu")
        return fn.crop_mirror_normalize(
            x, mirror=fn.random.coin_flip(probability=0.5), dtype=types.FLOAT, output_layout="CHW",
            mean=[255 * m for m in IMAGENET_MEAN], std=[255 * s for s in IMAGENET_STD], device="cpu")

    try:
        pipe = simclr()
        pipe.build()
        pipe.run()  # fails here if DALI cannot run on this machine
    except Exception as e:  # DALI raises RuntimeError subclasses from its C++ backend
        raise Unavailable(f"DALI pipeline failed to build/run: {type(e).__name__}: {e}") from e

    def run():
        out, = pipe.run()
        return torch.from_numpy(out.as_array())
    return run


BUILDERS = {"ours": build_ours, "torchvision": build_torchvision, "torchvision_2w": build_torchvision_2w,
            "kornia": build_kornia, "dali": build_dali}


def build(name, images, size=OUT_SIZE, blur_kernel=BLUR_KERNEL, dali_threads=2):
    """The callable of case ``name`` for ``images`` (raises :class:`Unavailable`)."""
    if name not in BUILDERS:
        raise KeyError(f"name: unknown case {name!r}, expected one of {sorted(BUILDERS)}")
    if not isinstance(size, numbers.Integral):
        raise TypeError(f"size: expected an int, got {size!r}")
    extra = {"num_threads": dali_threads} if name == "dali" else {}
    return BUILDERS[name](images, size=size, blur_kernel=blur_kernel, **extra)


def versions():
    """Library name -> version string (or 'not installed')."""
    out = {"torch": torch.__version__}
    for mod, label in (("torchvision", "torchvision"), ("kornia", "kornia"), ("nvidia.dali", "nvidia-dali")):
        try:
            out[label] = __import__(mod, fromlist=["__version__"]).__version__
        except ImportError:
            out[label] = "not installed"
    return out
