"""Compile every Triton specialization the launchers produce, for real GPUs, without one.

    python benchmarks/compile_check.py                  # sm_80 and sm_90a, all cores
    python benchmarks/compile_check.py --quick          # a few variants (the pytest smoke test)
    python benchmarks/compile_check.py --targets 90a --jobs 2 --markdown out.md --json out.json
    python benchmarks/compile_check.py --list           # the variants and the case of each, no compile
    python benchmarks/compile_check.py --kernels _mask_kernel,_color_jitter_kernel   # only those kernels

1. Record: every launcher in ``datagen_gpu.kernels.LAUNCHERS`` is called on the
   representative inputs of :func:`cases` (meta tensors: no memory, no data),
   through the public functionals where there is one (``ops_to_launchers``
   sends their ``torch.ops.datagen_gpu.*`` calls to the Triton launchers, as
   the CUDA dispatch does), with ``record_launches(execute=False)``: nothing
   runs, each launch is recorded with the specialization a GPU would compile
   (``datagen_gpu/kernels/_record.py``).
2. Dedup: one variant per (kernel, signature, constexprs, divisibility, options).
3. Compile each variant for each target with ``triton.compile(ASTSource(...),
   target=GPUTarget("cuda", arch, 32))`` in a process pool (fresh processes
   without TRITON_INTERPRET), reading registers, spill stores / loads and the
   stack frame from Triton's own ``ptxas -v`` run and shared memory / warps
   from the compiled metadata.
4. Print a table and a summary line; exit 1 on a recording or compile
   failure, a launch grid over CUDA's limits, a variant that spills registers (any of our kernels: they are all
   uint8 / float16 / bfloat16 / float32; float64 MoCHi variants are reported
   but do not fail) or one over the target's shared memory.

Extending: a new launcher needs a case in :func:`cases` (``main`` fails when no
case calls an op of ``datagen_gpu.kernels.LAUNCHERS``).
"""
import argparse
import contextlib
import importlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, List

import torch

import datagen_gpu.functional as F  # no triton import: the kernels load on first launch
from datagen_gpu.kernels._record import meta_like, ops_to_launchers, record_launches, source_hash, unplain

U8, F16, BF16, F32, F64 = torch.uint8, torch.float16, torch.bfloat16, torch.float32, torch.float64
IMAGE_DTYPES = [U8, F16, BF16, F32]
FLOAT_DTYPES = [F16, BF16, F32]
ALL_PAIRS = [(i, o) for i in IMAGE_DTYPES for o in IMAGE_DTYPES]
# elsewhere: every input and every output dtype once, with the training pipeline's uint8 -> float32
SOME_PAIRS = [(U8, F32), (F16, BF16), (BF16, F16), (F32, U8)]
AUDIO_PAIRS = [(i, o) for i in FLOAT_DTYPES for o in FLOAT_DTYPES]
SOME_AUDIO_PAIRS = [(F32, F32), (F16, BF16), (BF16, F16)]
SMEM_LIMIT = {80: 163 * 1024, 86: 99 * 1024, 89: 99 * 1024, 90: 227 * 1024}
HEAVY = ("_fused_kernel", "_resized_crop_kernel", "_color_jitter_kernel", "_contrast_partial_kernel",
         "_mochi")  # compiled first (the slowest), so the pool's tail is short


@dataclass
class Case:
    """One recorded call: ``run()`` makes launcher calls on meta tensors."""
    name: str
    run: Callable[[], None]


# ------------------------------------------------------------------ input builders

def _meta(shape, dtype, channels_last=False):
    return meta_like(tuple(shape), dtype, channels_last=channels_last)


def _p(B, dtype=F32, *shape):
    return torch.empty((B, *shape), dtype=dtype, device="meta")


def _name(dtype):
    return str(dtype).replace("torch.", "").replace("float", "f").replace("uint8", "u8")


def _image_main(x, out):
    """The full variant of every image kernel on images ``x``, output dtype ``out``."""
    B, C = x.shape[:2]
    F.hflip(x, _p(B, torch.bool), out_dtype=out)
    F.solarize(x, _p(B), _p(B, torch.bool), out_dtype=out)
    F.mix(x, _p(B), _p(B, torch.int64, 4), _p(B, torch.int64), out_dtype=out)
    if C == 3:
        F.color_jitter(x, _p(B), _p(B), _p(B), _p(B), _p(B, torch.int64, 4), out_dtype=out)
    elif C == 1:
        F.adjust_contrast(x, _p(B), out_dtype=out)
    k = 23 if min(x.shape[2:]) > 11 else 3
    F.gaussian_blur(x, k, _p(B), _p(B, torch.bool), out_dtype=out)
    if out != U8:
        F.gaussian_blur(x, k, _p(B), mean=[0.5] * C, std=[0.25] * C, out_dtype=out)
        F.normalize(x, [0.5] * C, [0.25] * C, out_dtype=out)


def _image_singles(x, out):
    """The one-step color ops (their own jitter-kernel variants)."""
    B, C = x.shape[:2]
    F.adjust_brightness(x, _p(B), out_dtype=out)
    if C == 3:
        F.adjust_contrast(x, _p(B), out_dtype=out)
        F.adjust_saturation(x, _p(B), out_dtype=out)
        F.adjust_hue(x, _p(B), out_dtype=out)
        F.rgb_to_grayscale(x, _p(B, torch.bool), out_dtype=out)
        F.color_jitter(x, _p(B), 1.0, _p(B), _p(B), None, out_dtype=out)  # no contrast, no order


def _crop_ops(images, out, size):
    """resized_crop (both antialias modes) and hflip-only fused_augment of ``images``."""
    B = len(images) if isinstance(images, list) else images.shape[0]
    F.resized_crop(images, _p(B, F32, 4), size, flip=_p(B, torch.bool), antialias=True, out_dtype=out)
    F.resized_crop(images, _p(B, F32, 4), size, antialias=False, out_dtype=out)


def _fused(images, out, size, *, contrast=True, blur=True, norm=True, solarize=True, jitter=True,
           crop=True, gray=True, order=True):
    B = len(images) if isinstance(images, list) else images.shape[0]
    C = images[0].shape[0] if isinstance(images, list) else images.shape[1]
    kw = dict(flip=_p(B, torch.bool), out_dtype=out)
    if jitter:
        kw.update(brightness=_p(B), saturation=_p(B) if C == 3 else None, hue=_p(B) if C == 3 else None,
                  order=_p(B, torch.int64, 4) if order else None)
    if contrast:
        kw.update(contrast=_p(B))
    if gray and C == 3:
        kw.update(grayscale=_p(B, torch.bool))
    if solarize:
        kw.update(solarize_threshold=_p(B), solarize_apply=_p(B, torch.bool))
    if blur:
        kw.update(blur_kernel=23, blur_sigma=_p(B), blur_apply=_p(B, torch.bool))
    if norm:
        kw.update(mean=[0.485, 0.456, 0.406][:C], std=[0.229, 0.224, 0.225][:C])
    if crop:
        F.fused_augment(images, _p(B, F32, 4), size, **kw)
    else:
        F.fused_augment(images, **kw)


def _affine_ops(x, out):
    """affine (nearest and bilinear, per-sample fills and centres) and rotate of images ``x``."""
    B, C = x.shape[:2]
    for mode in ("nearest", "bilinear"):
        F.affine(x, _p(B), _p(B, F32, 2), _p(B), _p(B, F32, 2), interpolation=mode, fill=_p(B, F32, C),
                 center=_p(B, F32, 2), out_dtype=out)
    F.rotate(x, _p(B), interpolation="bilinear", fill=None, out_dtype=out)


def _ragged(C, dtype, sizes, hwc=False):
    if hwc:  # HWC storage seen as (C, H, W), as a decoder produces
        return [_meta((h, w, C), dtype).permute(2, 0, 1) for h, w in sizes]
    return [_meta((C, h, w), dtype) for h, w in sizes]


RAGGED_SIZES = [(17, 29), (375, 500), (4096, 4096), (333, 4000)]


def _mochi(B, D, K, dtype, queue_dtype=None, transposed=False, N=1024, s=1024, s2=256):
    queue_dtype = queue_dtype or dtype
    q = _meta((B, D), dtype).requires_grad_()
    neg = _meta((D, K), queue_dtype).t() if transposed else _meta((K, D), queue_dtype)
    idx = (_p(B, torch.int64, N), _p(B, torch.int64, s, 2), _p(B, F32, s), _p(B, torch.int64, s2), _p(B, F32, s2))
    F.mochi_negatives(q, neg, *idx)
    F.mochi_logits(q, neg, *idx, temperature=0.2).sum().backward()  # + mochi_logits_backward


def _audio_ops(specs, out):
    B = specs.shape[0]
    F.time_mask(specs, _p(B, torch.int64, 2), _p(B, torch.int64, 2), 0.0, out_dtype=out)
    F.freq_mask(specs, _p(B, torch.int64), _p(B, torch.int64), "mean", out_dtype=out)
    F.spec_mask(specs, _p(B, torch.int64, 2), _p(B, torch.int64, 2), _p(B, torch.int64, 2),
                _p(B, torch.int64, 2), _p(B), out_dtype=out)
    F.freq_shift(specs, _p(B, torch.int64), _p(B), out_dtype=out)
    F.audio_mixup(specs, _p(B, torch.int64), _p(B), _p(B, torch.int64), out_dtype=out)


def _erase_ops(x, out, key=0x12345679):
    """erase through the functional (noise for float outputs, per-channel constants for uint8)
    and the op with an explicit generator key; erase_ (in place) where the dtypes agree."""
    B, C = x.shape[:2]
    F.erase(x, _p(B, torch.int64, 4), "random" if out != U8 else (1.0,) * C, seed=3, out_dtype=out)
    args = (_p(B, torch.int64, 4), _p(B, F32, C), _p(B, torch.bool), _p(B, torch.int64), key)
    torch.ops.datagen_gpu.erase(x, *args, out)
    if out == x.dtype:
        torch.ops.datagen_gpu.erase_(x, *args)


def _preset(name, images, dtype):
    from datagen_gpu import presets

    made = getattr(presets, name)(dtype=dtype)
    pipeline = presets.TwoViews(*made) if isinstance(made, tuple) else made
    pipeline(images)


def quick_cases() -> List[Case]:
    """A few variants of a few families: the pytest smoke test of the machinery."""
    x = lambda: _meta((512, 3, 224, 224), U8)  # noqa: E731
    return [
        Case("quick hflip u8->f32", lambda: F.hflip(x(), _p(512, torch.bool), out_dtype=F32)),
        Case("quick color_jitter u8->f32", lambda: F.color_jitter(x(), _p(512), _p(512), _p(512), _p(512),
                                                               _p(512, torch.int64, 4), out_dtype=F32)),
        Case("quick time_mask f32", lambda: F.time_mask(_meta((8, 128, 1000), F32), _p(8, torch.int64),
                                                        _p(8, torch.int64), 0.0)),
    ]


def cases(quick: bool = False) -> List[Case]:
    """The representative inputs, one Case per call group. Extend here."""
    if quick:
        return quick_cases()
    out: List[Case] = []

    def add(name, fn):
        out.append(Case(name, fn))

    # images: every (input, output) dtype pair of every op at 512 x 3 x 224 x 224 NCHW, of every
    # kernel's full variant in channels-last; every input and output dtype elsewhere (odd sizes,
    # one sample, 4096^2, one channel)
    geoms = [((512, 3, 224, 224), False, ALL_PAIRS, ALL_PAIRS), ((512, 3, 224, 224), True, ALL_PAIRS, SOME_PAIRS),
             ((1, 3, 17, 29), False, SOME_PAIRS, SOME_PAIRS), ((1, 3, 17, 29), True, SOME_PAIRS, SOME_PAIRS),
             ((1, 3, 4096, 4096), False, [(U8, F32)], []), ((512, 3, 4096, 4096), True, [(U8, F32)], []),
             ((512, 1, 224, 224), False, SOME_PAIRS, SOME_PAIRS), ((7, 1, 17, 29), False, [(U8, F32)], [])]
    for shape, cl, main_pairs, single_pairs in geoms:
        label = "x".join(map(str, shape)) + (" CL" if cl else "")
        for i, o in main_pairs:
            add(f"image {label} {_name(i)}->{_name(o)}",
                lambda shape=shape, cl=cl, i=i, o=o: _image_main(_meta(shape, i, cl), o))
        for i, o in single_pairs:
            add(f"image one-step color {label} {_name(i)}->{_name(o)}",
                lambda shape=shape, cl=cl, i=i, o=o: _image_singles(_meta(shape, i, cl), o))
    # resized_crop: tensors and ragged lists (CHW and HWC), to 224 and to an odd size
    for i, o in ALL_PAIRS:
        add(f"resized_crop ragged {_name(i)}->{_name(o)}",
            lambda i=i, o=o: _crop_ops(_ragged(3, i, RAGGED_SIZES), o, 224))
    for i, o in SOME_PAIRS:
        add(f"resized_crop ragged HWC {_name(i)}->{_name(o)}",
            lambda i=i, o=o: _crop_ops(_ragged(3, i, RAGGED_SIZES, hwc=True), o, 224))
        add(f"resized_crop 1x3x4096x4096 CL {_name(i)}->{_name(o)} to 17x29",
            lambda i=i, o=o: _crop_ops(_meta((1, 3, 4096, 4096), i, True), o, (17, 29)))
        add(f"resized_crop 512x1x17x29 {_name(i)}->{_name(o)}",
            lambda i=i, o=o: _crop_ops(_meta((512, 1, 17, 29), i), o, 224))
    # fused_augment: the pipelines' stage sets (with / without contrast, blur, normalize),
    # every input dtype, float32 / bfloat16 / float16 outputs (uint8 without normalize)
    for contrast in (True, False):
        for blur in (True, False):
            for norm in (True, False):
                pairs = [(i, F32) for i in IMAGE_DTYPES] + [(U8, BF16), (U8, F16 if norm else U8)]
                if contrast and blur == norm:  # the full pipeline and the no-blur, no-normalize one:
                    pairs = [(i, o) for i, o in ALL_PAIRS if o != U8 or not norm]  # every dtype pair
                for i, o in pairs:
                    add(f"fused ragged {_name(i)}->{_name(o)} contrast={contrast} blur={blur} norm={norm}",
                        lambda i=i, o=o, c=contrast, b=blur, n=norm:
                        _fused(_ragged(3, i, RAGGED_SIZES), o, 224, contrast=c, blur=b, norm=n))
    for i, o in SOME_PAIRS:
        add(f"fused 512x3x224x224 CL no crop {_name(i)}->{_name(o)}",
            lambda i=i, o=o: _fused(_meta((512, 3, 224, 224), i, True), o, None, crop=False,
                                    norm=o != U8, blur=False))
        add(f"fused 512x1x17x29 mono {_name(i)}->{_name(o)}",
            lambda i=i, o=o: _fused(_meta((512, 1, 17, 29), i), o, (17, 29), norm=o != U8, blur=False))
        add(f"fused ragged crop only / no order {_name(i)}->{_name(o)}",
            lambda i=i, o=o: (_fused(_ragged(3, i, RAGGED_SIZES), o, (17, 29), contrast=False, blur=False,
                                     norm=False, solarize=False, jitter=False, gray=False),
                              _fused(_ragged(3, i, RAGGED_SIZES), o, 224, order=False, blur=False,
                                     norm=o != U8)))
    # affine_warp (functional affine / rotate): both interpolations, every dtype pair at
    # 512 x 3 x 224 x 224 NCHW, every input and output dtype channels-last, at odd sizes, one
    # channel, 4 channels, one sample of 4096^2; per-sample (B, 2) centres and fills
    affine_geoms = [((512, 3, 224, 224), False, ALL_PAIRS), ((512, 3, 224, 224), True, SOME_PAIRS),
                    ((1, 3, 17, 29), False, SOME_PAIRS), ((1, 3, 17, 29), True, SOME_PAIRS),
                    ((512, 1, 224, 224), False, SOME_PAIRS), ((64, 4, 33, 65), True, [(U8, F32)]),
                    ((1, 3, 4096, 4096), True, [(U8, F32)])]
    for shape, cl, pairs in affine_geoms:
        label = "x".join(map(str, shape)) + (" CL" if cl else "")
        for i, o in pairs:
            add(f"affine_warp {label} {_name(i)}->{_name(o)}",
                lambda shape=shape, cl=cl, i=i, o=o: _affine_ops(_meta(shape, i, cl), o))
    # audio: (B, F, T) up to an hour of 100 frames/s x 128 mels, (B, C, F, T), time-major storage,
    # waveforms
    hour = 100 * 3600
    for i, o in AUDIO_PAIRS:
        add(f"audio 512x128x{hour} {_name(i)}->{_name(o)}",
            lambda i=i, o=o: _audio_ops(_meta((512, 128, hour), i), o))
    for i, o in SOME_AUDIO_PAIRS:
        add(f"audio 1x2x128x{hour} T-major {_name(i)}->{_name(o)}",
            lambda i=i, o=o: _audio_ops(_meta((1, hour, 2, 128), i).permute(0, 2, 3, 1), o))
    for i in FLOAT_DTYPES:
        add(f"audio 3x80x17 {_name(i)}", lambda i=i: _audio_ops(_meta((3, 80, 17), i), i))
        for shape in ((256, 480000), (256, 2, 480000), (1, 17)):
            add(f"audio_mixup waveform {'x'.join(map(str, shape))} {_name(i)}",
                lambda i=i, s=shape: F.audio_mixup(_meta(s, i), _p(s[0], torch.int64), _p(s[0]),
                                                   _p(s[0], torch.int64)))
    # MoCHi: D = 128, K = 65536, contiguous and transposed (D, K)-strided queues, mixed dtypes
    for q_dtype, k_dtype in ((F32, F32), (F16, F16), (BF16, BF16), (BF16, F32), (F64, F64)):
        for tr in (False, True):
            add(f"mochi B=256 D=128 K=65536 {_name(q_dtype)}/{_name(k_dtype)}{' (D,K)-strided' if tr else ''}",
                lambda q=q_dtype, k=k_dtype, tr=tr: _mochi(256, 128, 65536, q, k, tr))
    add("mochi B=1 D=100 K=4099 odd", lambda: _mochi(1, 100, 4099, F32, N=17, s=5, s2=3))
    # the presets end to end (transforms draw their parameters with random_bits, then fuse)
    for preset in ("simclr_view", "moco_v2_view"):
        for i, cl in ((U8, False), (U8, True), (F32, False)):
            add(f"preset {preset} 256x3x375x500{' CL' if cl else ''} {_name(i)}",
                lambda p=preset, i=i, cl=cl: _preset(p, _meta((256, 3, 375, 500), i, cl), i))
    add("preset byol_views TwoViews ragged u8", lambda: _preset("byol_views", _ragged(3, U8, RAGGED_SIZES), U8))
    # erase / erase_ (RandomErasing): both layouts, every dtype pair at 224^2 (noise for float
    # outputs, constants for uint8), in place, keys below / above 2^31 and divisible by 16
    erase_geoms = [((512, 3, 224, 224), False, ALL_PAIRS), ((512, 3, 224, 224), True, ALL_PAIRS),
                   ((1, 3, 17, 29), False, SOME_PAIRS), ((1, 3, 17, 29), True, SOME_PAIRS),
                   ((512, 1, 224, 224), False, SOME_PAIRS), ((1, 3, 4096, 4096), True, [(U8, F32)])]
    for shape, cl, pairs in erase_geoms:
        label = "x".join(map(str, shape)) + (" CL" if cl else "")
        for i, o in pairs:
            add(f"erase {label} {_name(i)}->{_name(o)}",
                lambda shape=shape, cl=cl, i=i, o=o: _erase_ops(_meta(shape, i, cl), o))
    for key in (0x12345670, 0xDEADBEEF, 0x9E3779B0, 1):
        add(f"erase key={key:#x}", lambda key=key: _erase_ops(_meta((512, 3, 224, 224), F32), F32, key))
    # random_bits: keys below and above 2^31 (i32 / i64), divisible by 16 and 1 (one variant each
    # type: the key is not value-specialized), and one draw
    for B, key, n in ((512, 0x12345678, 7), (512, 0xDEADBEEF, 8), (1, 0x7FFFFFF0, 16), (512, 0x9E3779B0, 3),
                      (512, 1, 1)):
        add(f"random_bits B={B} key={key:#x} n={n}", lambda B=B, key=key, n=n:
            torch.ops.datagen_gpu.random_bits(_p(B, torch.int64), key, n))
    # pixel ops (pixel_ops / posterize / equalize / autocontrast / adjust_sharpness / invert):
    # every dtype pair at 512 x 3 x 224^2, layouts, one channel, odd sizes, rows with gaps
    out.extend(_pixel_cases())
    return out


def _pixel_calls(x, out):
    B = x.shape[0]
    F.pixel_ops(x, _p(B, torch.int64), _p(B), out_dtype=out)


def _pixel_singles(x, out):
    B = x.shape[0]
    F.posterize(x, _p(B, torch.int64), out_dtype=out)
    F.equalize(x, _p(B, torch.bool), out_dtype=out)
    F.autocontrast(x, out_dtype=out)
    F.adjust_sharpness(x, _p(B), out_dtype=out)
    F.invert(x, True, out_dtype=out)


def _pixel_cases() -> List[Case]:
    gapped = lambda i: meta_like((8, 3, 224, 224), i, strides=(3 * 224 * 256, 224 * 256, 256, 1))  # noqa: E731
    geoms = [((512, 3, 224, 224), False, ALL_PAIRS), ((512, 3, 224, 224), True, SOME_PAIRS),
             ((1, 3, 17, 29), False, SOME_PAIRS), ((1, 3, 17, 29), True, SOME_PAIRS),
             ((512, 1, 224, 224), False, SOME_PAIRS), ((7, 4, 33, 65), True, [(U8, F32)]),
             ((1, 3, 4096, 4096), True, [(U8, F32)]), ((256, 3, 375, 500), False, [(U8, F32)])]
    cases_ = []
    for shape, cl, pairs in geoms:
        label = "x".join(map(str, shape)) + (" CL" if cl else "")
        for i, o in pairs:
            cases_.append(Case(f"pixel_ops {label} {_name(i)}->{_name(o)}",
                               lambda shape=shape, cl=cl, i=i, o=o: _pixel_calls(_meta(shape, i, cl), o)))
    for i, o in SOME_PAIRS:
        cases_.append(Case(f"pixel_ops 8x3x224x224 gapped rows {_name(i)}->{_name(o)}",
                           lambda i=i, o=o: _pixel_calls(gapped(i), o)))
        cases_.append(Case(f"pixel single ops 512x3x224x224 {_name(i)}->{_name(o)}",
                           lambda i=i, o=o: _pixel_singles(_meta((512, 3, 224, 224), i), o)))
    return cases_


# ------------------------------------------------------------------ grid limits

HUGE_SIDE = 16384
HUGE_ROW = 100_000_000


def _huge_image_op(op):
    def image(dtype=U8, cl=False):
        return _meta((2, 3, HUGE_SIDE, HUGE_SIDE), dtype, cl)

    B, C = 2, 3
    calls = {
        "hflip": lambda x: F.hflip(x, True, out_dtype=F32),
        "adjust_brightness": lambda x: F.adjust_brightness(x, _p(B), out_dtype=F32),
        "adjust_contrast": lambda x: F.adjust_contrast(x, _p(B), out_dtype=F32),
        "adjust_saturation": lambda x: F.adjust_saturation(x, _p(B), out_dtype=F32),
        "adjust_hue": lambda x: F.adjust_hue(x, _p(B), out_dtype=F32),
        "color_jitter": lambda x: F.color_jitter(x, _p(B), _p(B), _p(B), _p(B), _p(B, torch.int64, 4),
                                                 out_dtype=F32),
        "rgb_to_grayscale": lambda x: F.rgb_to_grayscale(x, _p(B, torch.bool), out_dtype=F32),
        "solarize": lambda x: F.solarize(x, _p(B), _p(B, torch.bool), out_dtype=F32),
        "gaussian_blur": lambda x: F.gaussian_blur(x, 23, _p(B), _p(B, torch.bool), mean=[0.5] * C,
                                                   std=[0.25] * C, out_dtype=F32),
        "normalize": lambda x: F.normalize(x, [0.5] * C, [0.25] * C),
        "mix": lambda x: F.mix(x, _p(B), _p(B, torch.int64, 4), _p(B, torch.int64), out_dtype=F32),
        "resized_crop": lambda x: F.resized_crop(x, _p(B, F32, 4), HUGE_SIDE, flip=True, out_dtype=F32),
        "fused_augment": lambda x: _fused(x, F32, HUGE_SIDE),
        "erase": lambda x: F.erase(x, _p(B, torch.int64, 4), "random", out_dtype=F32),
        "pixel_ops": lambda x: F.pixel_ops(x, _p(B, torch.int64), _p(B), out_dtype=F32),  # pixel ops
        "affine_warp": lambda x: _affine_ops(x, F32),
    }
    return lambda: [calls[op](image(cl=cl)) for cl in (False, True)]


def _huge_audio_op(op):
    B = 2
    calls = {
        "audio_mixup": lambda x: F.audio_mixup(x, _p(B, torch.int64), _p(B), _p(B, torch.int64)),
        "time_mask": lambda x: F.time_mask(x[:, None], _p(B, torch.int64), _p(B, torch.int64), "mean"),
        "freq_mask": lambda x: F.freq_mask(x[:, None], _p(B, torch.int64), _p(B, torch.int64), 0.0),
        "spec_mask": lambda x: F.spec_mask(x[:, None], _p(B, torch.int64), _p(B, torch.int64),
                                           _p(B, torch.int64), _p(B, torch.int64), _p(B)),
        "freq_shift": lambda x: F.freq_shift(x[:, None], _p(B, torch.int64), _p(B)),
    }
    return lambda: calls[op](_meta((B, HUGE_ROW), F32))


HUGE_IMAGE_OPS = ["hflip", "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
                  "color_jitter", "rgb_to_grayscale", "solarize", "gaussian_blur", "normalize", "mix",
                  "resized_crop", "fused_augment", "erase", "pixel_ops", "affine_warp"]
HUGE_AUDIO_OPS = ["audio_mixup", "time_mask", "freq_mask", "spec_mask", "freq_shift"]


def huge_launches(op: str):
    """The launches (kernel, grid, ...) of ``op`` on 2 x 3 x 16384 x 16384 images (NCHW and
    channels-last) or on 2 rows of 100M samples (waveforms; a (2, 1, 100M) spectrogram
    for the spectrogram ops), recorded without running anything."""
    run = _huge_image_op(op) if op in HUGE_IMAGE_OPS else _huge_audio_op(op)
    with ops_to_launchers(), record_launches(execute=False) as launches:
        run()
    return launches


def launch_grids():
    """{op: [(kernel, grid), ...]} for every op of HUGE_IMAGE_OPS and HUGE_AUDIO_OPS."""
    return {op: [(l.short_name, l.grid) for l in huge_launches(op)] for op in HUGE_IMAGE_OPS + HUGE_AUDIO_OPS}


# ------------------------------------------------------------------ record and dedup

def record(case_list, ops_called=None):
    """[(case name, Launch)] and [(case name, error)] of every case; the names of the
    ops called are added to the set ``ops_called``."""
    records, errors = [], []
    for case in case_list:
        try:
            with ops_to_launchers() as called, record_launches(execute=False) as launches:
                case.run()
        except Exception as exc:  # noqa: BLE001 - reported, counted as a failure
            errors.append((case.name, f"{type(exc).__name__}: {exc}"))
            continue
        if ops_called is not None:
            ops_called.update(called)
        records.extend((case.name, launch) for launch in launches)
    return records, errors


def dedup(records):
    """OrderedDict key -> (Launch, [case names]) in first-seen order."""
    variants = OrderedDict()
    for case, launch in records:
        entry = variants.setdefault(launch.key(), (launch, []))
        entry[1].append(case)
    return variants


# ------------------------------------------------------------------ compile (worker side)

_PTXAS_PROPS = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_PTXAS_REGS = re.compile(r"Used (\d+) registers")


def _worker_init(cache_dir):
    """Fresh process: compile for real targets (no interpreter), a private cache,
    Triton prints ptxas's -v log (parsed for registers and spills)."""
    os.environ.pop("TRITON_INTERPRET", None)
    os.environ["TRITON_CACHE_DIR"] = cache_dir
    os.environ["TRITON_ALWAYS_COMPILE"] = "1"
    os.environ["TRITON_DUMP_PTXAS_LOG"] = "1"
    warnings.filterwarnings("ignore", message=".*TRITON_DEFAULT_FP_FUSION.*")
    torch.set_num_threads(1)


def parse_target(text: str) -> int:
    m = re.fullmatch(r"(?:sm_?)?(\d+)a?", text.strip())
    if not m:
        raise ValueError(f"--targets: expected e.g. 80 or 90a, got {text!r}")
    return int(m.group(1))


def target_label(arch: int) -> str:
    return f"sm_{arch}{'a' if arch >= 90 else ''}"


def compile_spec(spec: dict, arch: int) -> dict:
    """Compile one recorded variant for ``sm_<arch>``; a dict of its resource usage or its error."""
    t0 = time.perf_counter()
    res = {"arch": arch}
    try:
        import triton
        from triton.backends.compiler import GPUTarget
        from triton.compiler import ASTSource, make_backend
        from triton.runtime.jit import JITFunction

        module, qualname = spec["name"].split(":")
        fn = getattr(importlib.import_module(module), qualname)
        if not isinstance(fn, JITFunction):
            raise RuntimeError(f"{spec['name']} is a {type(fn).__name__}, not a JITFunction "
                               "(imported under TRITON_INTERPRET=1?)")
        if source_hash(fn) != spec["source"]:
            raise RuntimeError(f"{spec['name']}: the kernel's source changed since it was recorded")
        target = GPUTarget("cuda", arch, 32)
        backend = make_backend(target)
        names = fn.arg_names
        constexprs = {(names.index(k),): unplain(v) for k, v in spec["constexprs"].items()}
        attrs = {(names.index(k),): backend.parse_attr(v) for k, v in spec["attrs"].items()}
        log = io.StringIO()
        with contextlib.redirect_stdout(log):
            kernel = triton.compile(ASTSource(fn, spec["signature"], constexprs, attrs), target=target,
                                    options=dict(spec["options"]))
        text = log.getvalue()
        props, regs = _PTXAS_PROPS.findall(text), _PTXAS_REGS.findall(text)
        if not props or not regs:
            raise RuntimeError(f"no ptxas -v report in the compile log: {text[-500:]!r}")
        res.update(ok=True, regs=max(map(int, regs)), stack=max(int(p[0]) for p in props),
                   spill_stores=sum(int(p[1]) for p in props), spill_loads=sum(int(p[2]) for p in props),
                   smem=int(kernel.metadata.shared), warps=int(kernel.metadata.num_warps))
    except Exception as exc:  # noqa: BLE001 - a compile failure is a result
        res.update(ok=False, error=f"{type(exc).__name__}: {exc}"[-3000:])
    res["seconds"] = round(time.perf_counter() - t0, 2)
    return res


# ------------------------------------------------------------------ report

def _row_fields(launch, res):
    spills = res.get("spill_stores", 0) + res.get("spill_loads", 0) if res.get("ok") else None
    return dict(kernel=launch.short_name, spec=launch.summary(), target=target_label(res["arch"]),
                regs=res.get("regs"), spills=spills, stack=res.get("stack"), smem=res.get("smem"),
                warps=res.get("warps"), ok=res.get("ok"), error=res.get("error"), seconds=res["seconds"])


def _verdict(launch, res):
    """None if fine, else why the variant fails the check (float64 variants may spill)."""
    if not res.get("ok"):
        return "compile error"
    f64 = "*fp64" in launch.signature.values()
    if res["spill_stores"] + res["spill_loads"] > 0 and not f64:
        return f"spills {res['spill_stores']} B stores + {res['spill_loads']} B loads ({res['regs']} regs)"
    limit = SMEM_LIMIT.get(res["arch"])
    if limit is not None and res["smem"] > limit:
        return f"shared memory {res['smem']} B > {limit} B"
    return None


def _table(cols, data, markdown=False, clip=None):
    if markdown:
        esc = lambda v: v.replace("|", "\\|")  # noqa: E731
        return "\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
                         + ["| " + " | ".join(esc(v) for v in d) + " |" for d in data])
    width = [min(max(len(r[i]) for r in [cols] + data), clip or 10**9) for i in range(len(cols))]
    return "\n".join("  ".join(v[:width[i]].ljust(width[i]) for i, v in enumerate(r)) for r in [cols] + data)


def format_table(rows, markdown=False):
    """One row per (variant, target)."""
    cols = ["kernel", "specialization", "target", "regs", "spills", "stack", "smem", "warps"]
    data = [[r["kernel"], r["spec"]] + [_s(r[k]) for k in ("target", "regs", "spills", "stack", "smem", "warps")]
            for r in rows]
    return _table(cols, data, markdown, clip=None if markdown else 110)


def kernel_summary(rows, markdown=False):
    """Per kernel and target: variants, max registers, variants spilling, max shared memory, failures."""
    agg = OrderedDict()
    for r in sorted(rows, key=lambda r: (r["kernel"], r["target"])):
        a = agg.setdefault((r["kernel"], r["target"]), [0, 0, 0, 0, 0])
        a[0] += 1
        if r["ok"]:
            a[1], a[2], a[3] = max(a[1], r["regs"]), a[2] + bool(r["spills"]), max(a[3], r["smem"])
        else:
            a[4] += 1
    cols = ["kernel", "target", "variants", "max regs", "spilling", "max smem", "failures"]
    return _table(cols, [[k, t] + [str(v) for v in a] for (k, t), a in agg.items()], markdown)


def _s(v):
    return "-" if v is None else str(v)


# ------------------------------------------------------------------ main

def uncovered(ops_called):
    """The ops of LAUNCHERS no case called (a new launcher needs a case in ``cases``)."""
    from datagen_gpu.kernels import LAUNCHERS

    return sorted(set(LAUNCHERS) - set(ops_called))


def select_kernels(text: str, items, records):
    """(items, records) of the kernels ``--kernels`` names (comma-separated short names);
    a name no case launches is an error (a typo would pass with nothing compiled)."""
    names, known = {t.strip() for t in text.split(",") if t.strip()}, {l.short_name for l, _ in items}
    if not names or names - known:
        raise ValueError(f"no case launches {', '.join(sorted(names - known))} (recorded: {', '.join(sorted(known))})"
                         if names else "expected NAME[,NAME]")
    return [(l, n) for l, n in items if l.short_name in names], [(c, l) for c, l in records if l.short_name in names]


def compile_all(items, archs, jobs):
    """{(variant index, arch): compile_spec result}, compiled in ``jobs`` fresh processes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    tasks = sorted(((i, a) for i in range(len(items)) for a in archs),
                   key=lambda t: (not items[t[0]][0].short_name.startswith(HEAVY), t))
    results, t0 = {}, time.perf_counter()
    cache_dir = tempfile.mkdtemp(prefix="compile_check_")
    try:
        with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_worker_init, initargs=(cache_dir,)) as pool:
            futures = {pool.submit(compile_spec, items[i][0].spec(), a): (i, a) for i, a in tasks}
            for n, fut in enumerate(as_completed(futures), 1):
                i, a = futures[fut]
                try:
                    results[i, a] = fut.result()
                except Exception as exc:  # noqa: BLE001 - a worker that died
                    results[i, a] = {"arch": a, "ok": False, "error": f"worker: {exc!r}", "seconds": 0}
                if n % 100 == 0:
                    print(f"  compiled {n}/{len(tasks)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", default="80,90a", help="comma-separated CUDA targets (default 80,90a)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="compile processes")
    ap.add_argument("--quick", action="store_true", help="a few variants (smoke test)")
    ap.add_argument("--markdown", metavar="FILE", help="write the tables as markdown")
    ap.add_argument("--json", metavar="FILE", help="write every variant's result as JSON")
    ap.add_argument("--list", action="store_true", help="list the variants, compile nothing")
    ap.add_argument("--kernels", metavar="NAME[,NAME]", help="check only these kernels (e.g. _mask_kernel); "
                    "every case is still recorded (recording errors and uncovered ops still fail)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*TRITON_DEFAULT_FP_FUSION.*")  # the binder's parse_options
    archs = [parse_target(t) for t in args.targets.split(",") if t.strip()]
    t_start = time.perf_counter()

    case_list, ops_called = cases(args.quick), set()
    records, rec_errors = record(case_list, ops_called)
    items = list(dedup(records).values())
    if args.kernels:
        try:
            items, records = select_kernels(args.kernels, items, records)
        except ValueError as exc:
            ap.error(f"--kernels: {exc}")
    missing = [] if args.quick else uncovered(ops_called)
    bad_grids = sorted({f"{l.short_name} grid {l.grid} ({', '.join(l.grid_violations())}) from {case}"
                        for case, l in records if l.grid_violations()})
    problems = ([f"RECORDING FAILED: {c}: {e}" for c, e in rec_errors]
                + [f"NOT COVERED: no case calls {op} (add one to compile_check.cases)" for op in missing]
                + [f"GRID OVER CUDA'S LIMITS: {g}" for g in bad_grids])
    print(f"recorded {len(records)} launches from {len(case_list)} cases in {time.perf_counter() - t_start:.1f} s:"
          f" {len(items)} distinct specializations", flush=True)
    if args.list:
        for launch, case_names in items:
            print(f"{launch.short_name:32} {launch.summary()}    <- {case_names[0]}")
        print("\n".join(problems))
        return 1 if problems else 0
    results = compile_all(items, archs, args.jobs)

    rows, failures, spilling = [], [], set()
    for i, (launch, case_names) in enumerate(items):
        for arch in archs:
            res = results[i, arch]
            row = dict(_row_fields(launch, res), cases=case_names[:3] + (
                [f"... {len(case_names) - 3} more"] if len(case_names) > 3 else []))
            rows.append(row)
            if res.get("ok") and row["spills"]:
                spilling.add(i)
            why = _verdict(launch, res)
            if why:
                failures.append((row, why))
    print(format_table(rows) + "\n\n" + kernel_summary(rows))
    for line in problems:
        print(line)
    for row, why in failures:
        print(f"FAILED: {row['kernel']} [{row['spec']}] on {row['target']}: {why} (from: {row['cases'][0]})")
        if row["error"]:
            print("    " + row["error"].strip().replace("\n", "\n    ")[-1500:])
    n_fail = len(failures) + len(problems)
    summary = (f"{len(items)} specializations x {len(archs)} targets compiled, {n_fail} failures, "
               f"{len(spilling)} with spills ({time.perf_counter() - t_start:.0f} s wall, {args.jobs} jobs)")
    print(summary)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(f"{summary}\n\n{kernel_summary(rows, markdown=True)}\n\n{format_table(rows, markdown=True)}\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "failures": n_fail, "specializations": len(items),
                       "targets": [target_label(a) for a in archs], "kernels": args.kernels,
                       "recording_errors": rec_errors,
                       "not_covered": missing, "bad_grids": bad_grids, "variants": rows}, f, indent=1)
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
