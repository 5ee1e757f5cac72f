"""Smoke tests of the audio benchmark and the GPU check's audio cases on the CPU (no timing assertions)."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))

import bench_audio  # noqa: E402
from gpu_checks import audio as gpu_check_audio  # noqa: E402


def test_audio_cases_are_device_independent():
    cases = gpu_check_audio.audio_cases(batch=3, n_mels=6, frames=11, wave_len=20)
    for case in cases:
        x = case.make_input(torch.float32, torch.device("cpu"))
        assert torch.equal(case.run(x), case.run(x.clone()))


def test_bench_baselines_agree_with_ours():
    specs, masks, shift, mix = bench_audio.make_inputs(batch=4, n_mels=16, frames=50)
    for group, candidates in bench_audio.cases(specs, masks, shift, mix).items():
        ours = candidates["ours"]().double()
        for name, fn in candidates.items():
            assert torch.allclose(fn().double(), ours, atol=1e-4), (group, name)
