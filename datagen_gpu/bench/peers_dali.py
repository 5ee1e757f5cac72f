"""NVIDIA DALI as a peer: the same views / policies as DALI pipelines (CPU operators, GPU ones on CUDA).

In-memory inputs enter through ``fn.external_source`` (HWC uint8 per
sample) and the pipeline runs synchronously, so one timed call is one
batch's work; ``--source DIR`` reads and decodes the files itself
(``fn.readers.file`` + ``fn.decoders.image_random_crop``, prefetching).
Differences forced by DALI's operators (each makes DALI's work cheaper, not
dearer): ``fn.color_twist`` applies brightness, contrast, saturation and hue
in one fixed order, pivots contrast on mid-grey and rotates hue in YIQ;
grayscale is folded into the saturation factor (exact: it commutes with the
channel-uniform steps); the flip is done by ``fn.crop_mirror_normalize``
last; solarize is an arithmetic expression. The ImageNet policies use
``nvidia.dali.auto_aug`` (``trivial_augment_wide``, ``rand_augment(n=2,
m=9)``) and RandomErasing is ``fn.erase`` with timm's area and aspect ranges.
"""
import math
import warnings

import torch

from .cases import IMAGENET_MEAN, IMAGENET_STD, RE_PROB, Unavailable, ViewSpec
from .peers import Built, cannot
from .timing import Stream


def _view(x, spec: ViewSpec, size: int, dev: str, crop: bool = True):
    """One view's operators on HWC uint8 ``x`` (``crop=False``: x is already cropped and resized)."""
    from nvidia.dali import fn, types

    if crop:
        x = fn.random_resized_crop(x, size=(size, size), random_area=spec.scale,
                                   random_aspect_ratio=(3 / 4, 4 / 3), antialias=True,
                                   interp_type=types.INTERP_LINEAR, device=dev)
    jitter = fn.cast(fn.random.coin_flip(probability=spec.jitter_p), dtype=types.FLOAT)
    keep_color = 1.0 - fn.cast(fn.random.coin_flip(probability=spec.gray_p), dtype=types.FLOAT)

    def factor(strength):  # U(1 - s, 1 + s) when jittered, identity (1) otherwise
        return 1.0 + jitter * (fn.random.uniform(range=(1 - strength, 1 + strength)) - 1.0)
    b, c, s, h = spec.jitter
    x = fn.color_twist(x, brightness=factor(b), contrast=factor(c), saturation=factor(s) * keep_color,
                       hue=jitter * fn.random.uniform(range=(-360 * h, 360 * h)), device=dev)
    if spec.blur_p > 0:
        if fn.random.coin_flip(probability=spec.blur_p):
            x = fn.gaussian_blur(x, window_size=spec.blur_kernel, sigma=fn.random.uniform(range=(0.1, 2.0)),
                                 device=dev)
    if spec.solarize_p > 0:
        if fn.random.coin_flip(probability=spec.solarize_p):
            x = fn.cast(fn.cast(x >= 128, dtype=types.UINT8) * (255 - x)
                        + fn.cast(x < 128, dtype=types.UINT8) * x, dtype=types.UINT8)
    return _normalize(x, dev)


def _normalize(x, dev):
    from nvidia.dali import fn, types

    return fn.crop_mirror_normalize(x, mirror=fn.random.coin_flip(probability=0.5), dtype=types.FLOAT,
                                    output_layout="CHW", mean=[255 * m for m in IMAGENET_MEAN],
                                    std=[255 * s for s in IMAGENET_STD], device=dev)


def _erase(x, dev):
    """timm / torchvision RandomErasing: p=0.25, area 2-33%, log-uniform aspect 0.3-3.3, zero fill."""
    from nvidia.dali import fn
    from nvidia.dali import math as dmath

    if fn.random.coin_flip(probability=RE_PROB):
        area = fn.random.uniform(range=(0.02, 1 / 3))
        ratio = dmath.exp(fn.random.uniform(range=(math.log(0.3), math.log(1 / 0.3))))
        h = dmath.min(dmath.sqrt(area * ratio), 1.0)
        w = dmath.min(dmath.sqrt(area / ratio), 1.0)
        anchor = fn.stack(fn.random.uniform(range=(0.0, 1.0)) * (1.0 - h),
                          fn.random.uniform(range=(0.0, 1.0)) * (1.0 - w))
        x = fn.erase(x, anchor=anchor, shape=fn.stack(h, w), normalized_anchor=True, normalized_shape=True,
                     axis_names="HW", fill_value=0.0, device=dev)
    return x


def _policy(x, policy: str, size: int, dev: str, crop: bool = True):
    from nvidia.dali import fn, types
    from nvidia.dali.auto_aug import rand_augment, trivial_augment

    if crop:
        x = fn.random_resized_crop(x, size=(size, size), antialias=True, interp_type=types.INTERP_LINEAR,
                                   device=dev)
    if policy == "trivial":
        x = trivial_augment.trivial_augment_wide(x)
    else:
        x = rand_augment.rand_augment(x, n=2, m=9)
    return _erase(_normalize(x, dev), dev)


def _crops(pipeline):
    """The crop of every output: a view's spec, or the policy's default crop (one output)."""
    return pipeline.views if pipeline.kind == "views" else (ViewSpec(),)


def _graph(pipeline, xs, size, dev, crop=True):
    """Every output of ``pipeline``; ``xs``: one input per output (the same one in memory mode)."""
    if pipeline.kind == "policy":
        return (_policy(xs[0], pipeline.policy, size, dev, crop),)
    return tuple(_view(x, spec, size, dev, crop) for x, spec in zip(xs, pipeline.views))


def _to_torch(outputs, device):
    """DALI TensorLists -> a torch tensor (one output) or a tuple of them, on ``device``."""
    res = []
    for out in outputs:
        if device.type == "cuda":
            from nvidia.dali.plugin.pytorch import feed_ndarray

            t = out.as_tensor()
            dst = torch.empty(t.shape(), dtype=torch.float32, device=device)
            feed_ndarray(t, dst, cuda_stream=torch.cuda.current_stream(device))
            res.append(dst)
        else:
            res.append(torch.from_numpy(out.as_array()))
    return res[0] if len(res) == 1 else tuple(res)


def _built(make):
    try:
        # record=True swallows DALI's deprecation notices about its own auto_aug internals
        # (DALI sets its own warning filter, so "ignore" does not)
        with warnings.catch_warnings(record=True):
            pipe = make()
            pipe.build()
            pipe.run()  # fails here when DALI cannot run on this machine
    except Exception as e:  # noqa: BLE001  (DALI raises RuntimeError subclasses from C++)
        raise Unavailable(f"DALI pipeline failed to build/run: {type(e).__name__}: {str(e)[:300]}") from e
    return pipe


def build_dali(pipeline, inputs, settings):
    from nvidia.dali import fn, pipeline_def, types

    if pipeline.kind not in ("views", "policy"):
        why = {"spectrogram": "no per-sample mean fill (fn.erase fills constants)",
               "mixing": "no Mixup / CutMix operator"}
        raise cannot("dali", pipeline, why.get(pipeline.kind, ""))
    if pipeline.kind == "policy" and pipeline.policy not in ("trivial", "rand"):
        raise cannot("dali", pipeline, "no AugMix in nvidia.dali.auto_aug")
    device = torch.device(settings.device)
    dev = "gpu" if device.type == "cuda" else "cpu"
    device_id = (device.index or torch.cuda.current_device()) if dev == "gpu" else None
    size, threads, batch = settings.size, max(1, settings.threads), settings.batch
    label = "GPU operators" if dev == "gpu" else f"CPU operators, {threads} threads"
    note = label if pipeline.kind == "policy" else f"{label}; color_twist: fixed order, YIQ hue"

    if inputs.folder:
        @pipeline_def(batch_size=batch, num_threads=threads, device_id=device_id, seed=0,
                      enable_conditionals=True, prefetch_queue_depth=2)
        def files():
            jpegs, _ = fn.readers.file(file_root=inputs.folder, random_shuffle=True)
            crops = [fn.resize(fn.decoders.image_random_crop(
                jpegs, device="mixed" if dev == "gpu" else "cpu", output_type=types.RGB, random_area=spec.scale,
                random_aspect_ratio=(3 / 4, 4 / 3)), size=(size, size), antialias=True,
                interp_type=types.INTERP_LINEAR) for spec in _crops(pipeline)]
            return _graph(pipeline, crops, size, dev, crop=False)
        pipe = _built(files)

        def stream():
            while True:
                yield _to_torch(pipe.run(), device)
        return Built(Stream(stream), str(device), f"file reader + decoder; {note}")

    if dev == "gpu":
        samples = [img.permute(1, 2, 0).contiguous() for img in inputs.tensor.unbind(0)]
    else:
        samples = [img.permute(1, 2, 0).contiguous().numpy() for img in inputs.tensor.cpu().unbind(0)]

    @pipeline_def(batch_size=batch, num_threads=threads, device_id=device_id, seed=0, enable_conditionals=True,
                  exec_async=False, exec_pipelined=False, prefetch_queue_depth=1)
    def memory():
        x = fn.external_source(source=lambda: samples, batch=True, layout="HWC", device=dev)
        return _graph(pipeline, [x] * len(_crops(pipeline)), size, dev)
    pipe = _built(memory)
    return Built(lambda: _to_torch(pipe.run(), device), str(device), note)

