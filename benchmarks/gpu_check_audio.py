"""GPU check of the audio kernels: Triton vs C++ on the same inputs, then timings vs copy bandwidth.

``audio_cases()`` is what benchmarks/gpu_check.py imports to add the audio
ops to its table; this file also runs alone::

    python benchmarks/gpu_check_audio.py                 # CUDA when available
    python benchmarks/gpu_check_audio.py --device cpu    # smoke test: C++ kernels, wall clock

For every case and dtype (float32, float16, bfloat16) the op runs on the
device and on the CPU (C++ kernel) with the same parameters; the device
output must be within the per-dtype tolerance of datagen_gpu.testing. Each
case is then timed (triton.testing.do_bench on CUDA) on float32 B=64 x 128
mel x 1000 frames (mixup also on 64 one-second 16 kHz waveforms), and its
effective GB/s (input bytes + output bytes, each once) is compared with a
measured device-to-device copy. The target on a GPU is >= 70% of the copy.
"""
import argparse
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _gpu_common import copy_gbs, ensure_built, time_ms  # noqa: E402

ensure_built()

import torch  # noqa: E402

from datagen_gpu import functional as F  # noqa: E402
from datagen_gpu.testing import max_violation  # noqa: E402
from datagen_gpu.transforms import AudioMixup, FrequencyShift, SpecAugment  # noqa: E402

AUDIO_DTYPES = [torch.float32, torch.float16, torch.bfloat16]


@dataclass
class AudioCase:
    """One timed op: ``make_input(dtype, device)`` builds its input, ``run(x)`` applies it.

    ``run`` moves its (CPU-drawn) parameters to x's device, so the same case
    runs on the CPU and on the GPU with identical parameters.
    """
    name: str
    make_input: Callable[[torch.dtype, torch.device], torch.Tensor]
    run: Callable[[torch.Tensor], torch.Tensor]


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

    return [
        AudioCase("specaugment_LD_mean", spec_input, masked("mean")),
        AudioCase("specaugment_LD_zero", spec_input, masked(0.0)),
        AudioCase("time_mask_x2", spec_input, time_mask),
        AudioCase("freq_mask_x2_mean", spec_input, freq_mask),
        AudioCase("freq_shift", spec_input,
                  lambda x: F.freq_shift(x, _on(shift, x.device)["shift"], -80.0)),
        AudioCase("audio_mixup_spec", spec_input, mixup),
        AudioCase("audio_mixup_wave", wave_input, mixup),
    ]


def check(device, cases, rep_ms):
    """(rows, failures): rows of (name, ms, GB/s, worst excess vs the C++ kernel)."""
    rows, failures = [], 0
    for case in cases:
        worst = float("-inf")
        for dtype in AUDIO_DTYPES:
            x_cpu = case.make_input(dtype, torch.device("cpu"))
            try:
                out_dev = case.run(x_cpu.to(device)).cpu()
                out_cpu = case.run(x_cpu)
            except Exception as exc:  # report and go on: the table shows what broke
                print(f"FAIL {case.name} {dtype}: {type(exc).__name__}: {exc}")
                failures += 1
                continue
            v, where = max_violation(out_dev, out_cpu.to(torch.float64))
            worst = max(worst, v)
            if v > 0:
                print(f"FAIL {case.name} {dtype}: device vs C++ kernel exceeds tolerance by "
                      f"{v:.3g} at {where}")
                failures += 1
        x = case.make_input(torch.float32, device)
        out = case.run(x)
        ms = time_ms(lambda: case.run(x), device, rep_ms)
        moved = x.numel() * x.element_size() + out.numel() * out.element_size()
        rows.append((case.name, ms, moved / (ms * 1e-3) / 1e9, worst))
    return rows, failures


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--rep", type=int, default=200, help="timing budget per case in ms")
    p.add_argument("--quick", action="store_true", help="B=8, fewer repeats")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    batch = 8 if args.quick else 64
    rep = min(args.rep, 50) if args.quick else args.rep
    t0 = time.time()
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    print(f"datagen_gpu audio check on {name}, torch {torch.__version__}, B={batch}")
    rows, failures = check(device, audio_cases(batch=batch), rep)
    bw = copy_gbs(device, rep)
    print(f"\ncopy bandwidth (read+write): {bw:.0f} GB/s; total {time.time() - t0:.0f} s\n")
    print("| op | ms | GB/s | % of copy | vs C++ kernel |")
    print("|---|---:|---:|---:|---:|")
    for op, ms, gbs, worst in rows:
        ok = "ok" if worst <= 0 else f"FAIL {worst:.2g}"
        print(f"| {op} | {ms:.3f} | {gbs:.0f} | {100 * gbs / bw:.0f}% | {ok} |")
    print(f"\n{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
