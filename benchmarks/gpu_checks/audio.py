"""GPU check, audio kernels: Triton vs C++ on the same inputs, then timings vs copy bandwidth.

The ``audio`` family of ``benchmarks/gpu_check.py`` (``--families audio``).
For every case and dtype (float32, float16, bfloat16) the op runs on the
device and on the CPU (C++ kernel) with the same parameters; *each* output
must be within the per-dtype tolerance of datagen_gpu.testing of the float64
reference (datagen_gpu.reference) on samples spread over the batch, the
absolute part scaled to the data's range (the table's atol is for values in
[0, 1]; these are dB values, |x| up to ~90). The device-vs-CPU difference is
reported as a number, not judged (the GPU fuses multiply-adds and sums the
"mean" fill in another order). Each case is then timed (triton.testing.do_bench
on CUDA) on float32 B=64 x 128 mel x 1000 frames (mixup also on 64 one-second 16 kHz waveforms), and its
effective GB/s (input bytes + output bytes, each once) is compared with a
measured device-to-device copy. The target on a GPU is >= 70% of the copy.
"""
from dataclasses import dataclass
from typing import Callable, Dict

import torch

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu.testing import TOLERANCES
from datagen_gpu.transforms import AudioMixup, FrequencyShift, SpecAugment

from .common import copy_gbs, device_name, judge, judge_dtypes, op_row, print_op_table, ref_samples

AUDIO_DTYPES = [torch.float32, torch.float16, torch.bfloat16]


@dataclass
class AudioCase:
    """One timed op: ``make_input(dtype, device)`` builds its input, ``run(x)`` applies it.

    ``run`` moves its (CPU-drawn) parameters to x's device, so the same case
    runs on the CPU and on the GPU with identical parameters. ``reference(x, idx)``
    is the float64 reference of the samples ``idx`` of input ``x`` (a CPU tensor).
    """
    name: str
    make_input: Callable[[torch.dtype, torch.device], torch.Tensor]
    run: Callable[[torch.Tensor], torch.Tensor]
    reference: Callable[[torch.Tensor, list], torch.Tensor] = None


def _on(params: Dict[str, torch.Tensor], device):
    return {k: v.to(device) for k, v in params.items()}


def audio_cases(batch=64, n_mels=128, frames=1000, wave_len=16000, seed=0):
    """The audio ops' cases (see module docstring); cheap to build, nothing allocated on a GPU."""
    ids = torch.arange(batch)
    shape = (batch, n_mels, frames)
    probe = torch.empty(shape)
    masks = SpecAugment("LD", seed=seed).make_params(probe, ids)
    shift = {"shift": FrequencyShift(8, seed=seed).make_params(probe, ids)["shift"]}
    mix = AudioMixup(0.4, seed=seed).make_params(probe, ids)
    labels = torch.zeros(batch, dtype=torch.int64)

    def spec_input(dtype, device):
        g = torch.Generator().manual_seed(seed)
        return (torch.randn(shape, generator=g) * 10 - 40).to(dtype).to(device)

    def wave_input(dtype, device):
        g = torch.Generator().manual_seed(seed + 1)
        return (torch.rand(batch, wave_len, generator=g) * 2 - 1).to(dtype).to(device)

    def masked(value):
        def run(x):
            p = _on(masks, x.device)
            return F.spec_mask(x, p["freq_start"], p["freq_width"], p["time_start"],
                               p["time_width"], value)
        return run

    def time_mask(x):
        p = _on(masks, x.device)
        return F.time_mask(x, p["time_start"], p["time_width"], 0.0)

    def freq_mask(x):
        p = _on(masks, x.device)
        return F.freq_mask(x, p["freq_start"], p["freq_width"], "mean")

    def mixup(x):
        p = _on(mix, x.device)
        return F.audio_mixup(x, labels.to(x.device), p["lam"], p["perm"])[0]

    def two_d(t, idx):
        t = t[idx]
        return t if t.dim() == 2 else t[:, None]

    def zeros(idx):
        return torch.zeros(len(idx), dtype=torch.float64)

    def ref_masked(value):
        def ref(x, idx):
            m = masks
            v = None if value == "mean" else zeros(idx)
            return R.spec_mask(x[idx].double(), two_d(m["freq_start"], idx), two_d(m["freq_width"], idx),
                               two_d(m["time_start"], idx), two_d(m["time_width"], idx), v)
        return ref

    def ref_mixup(x, idx):
        x = x.double()
        lam, perm = mix["lam"].double(), mix["perm"]
        return torch.stack([lam[i] * x[i] + (1 - lam[i]) * x[int(perm[i])] for i in idx])

    return [
        AudioCase("specaugment_LD_mean", spec_input, masked("mean"), ref_masked("mean")),
        AudioCase("specaugment_LD_zero", spec_input, masked(0.0), ref_masked(0.0)),
        AudioCase("time_mask_x2", spec_input, time_mask,
                  lambda x, idx: R.time_mask(x[idx].double(), two_d(masks["time_start"], idx),
                                             two_d(masks["time_width"], idx), zeros(idx))),
        AudioCase("freq_mask_x2_mean", spec_input, freq_mask,
                  lambda x, idx: R.freq_mask(x[idx].double(), two_d(masks["freq_start"], idx),
                                             two_d(masks["freq_width"], idx), None)),
        AudioCase("freq_shift", spec_input,
                  lambda x: F.freq_shift(x, _on(shift, x.device)["shift"], -80.0),
                  lambda x, idx: R.freq_shift(x[idx].double(), shift["shift"][idx],
                                              torch.full((len(idx),), -80.0, dtype=torch.float64))),
        AudioCase("audio_mixup_spec", spec_input, mixup, ref_mixup),
        AudioCase("audio_mixup_wave", wave_input, mixup, ref_mixup),
    ]


def check(device, cases, rep_ms):
    """(rows, failures): ``op_row`` rows, the excesses over the tolerance being the worst over dtypes."""
    rows, failures = [], 0
    for case in cases:
        def trial(dtype, case=case):
            x_cpu = case.make_input(dtype, torch.device("cpu"))
            idx = ref_samples(x_cpu.shape[0])
            atol = TOLERANCES[dtype][0] * max(1.0, float(x_cpu.abs().max()))  # the data's range
            out_dev = case.run(x_cpu.to(device)).cpu()
            return judge(out_dev, case.run(x_cpu), case.reference(x_cpu, idx), idx, atol=atol)
        worst, failed = judge_dtypes(case.name, AUDIO_DTYPES, trial, kernel="C++ kernel")
        failures += failed
        rows.append(op_row(case.name, case.run, case.make_input(torch.float32, device), device, rep_ms, worst))
    return rows, failures


def run(args) -> int:
    """The audio section: prints its table, returns the failure count (``--quick``: B=8, fewer repeats)."""
    device = torch.device(args.device)
    batch = 8 if args.quick else 64
    rep = min(args.rep, 50) if args.quick else args.rep
    print(f"== audio ops on {device_name(device)}, torch {torch.__version__}, B={batch}", flush=True)
    rows, failures = check(device, audio_cases(batch=batch), rep)
    print_op_table(rows, copy_gbs(device, rep), kernel="C++ kernel")
    print(f"\n{failures} failure(s) in audio ops\n")
    return failures
