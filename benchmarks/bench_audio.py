"""CPU benchmarks of the audio ops: the C++ kernels against pure-torch and the float64 reference.

The headline case (issue 5): SpecAugment's LD policy (2 frequency masks of
width < 27, 2 time masks of width < 100, masks filled with each sample's
mean) on B=64 float32 log-mel spectrograms of 128 bins x 1000 frames.
Candidates, all from the same parameters:

- ``ours``: ``functional.spec_mask`` (the C++ kernel, one pass);
- ``torch_fused``: batch-vectorized pure torch, one boolean mask and one
  ``torch.where`` (``reference.spec_mask_vectorized(fused=True)``);
- ``torch_per_mask``: batch-vectorized pure torch with one pass per mask, as
  torchaudio's ``mask_along_axis_iid`` applied once per mask;
- ``reference``: the float64 per-sample oracle (``reference.spec_mask``).

Also freq_shift and audio_mixup against vectorized pure torch.

As pytest-benchmark benchmarks (the project's addopts disable timing: each
case then runs once, as a smoke test)::

    python -m pytest benchmarks/bench_audio.py --benchmark-enable --benchmark-group-by=group

For one table with ratios measured in the same run (interleaved rounds, best of each)::

    python benchmarks/bench_audio.py [--rounds 7] [--threads N]
"""
import argparse
import os
import sys
import time

import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from datagen_gpu import functional as F  # noqa: E402
from datagen_gpu import reference as R  # noqa: E402
from datagen_gpu.transforms import AudioMixup, FrequencyShift, SpecAugment  # noqa: E402

BATCH, N_MELS, FRAMES = 64, 128, 1000


def make_inputs(batch=BATCH, n_mels=N_MELS, frames=FRAMES, seed=0):
    """Log-mel-like float32 spectrograms and LD / shift / mixup parameters for them."""
    g = torch.Generator().manual_seed(seed)
    specs = torch.randn(batch, n_mels, frames, generator=g) * 10 - 40
    ids = torch.arange(batch)
    masks = SpecAugment("LD", seed=seed).make_params(specs, ids)
    shift = FrequencyShift(8, seed=seed).make_params(specs, ids)["shift"]
    mix = AudioMixup(0.4, seed=seed).make_params(specs, ids)
    return specs, masks, shift, mix


def torch_freq_shift(specs, shift, fill):
    """Vectorized pure torch: rows picked by advanced indexing, vacated bins filled."""
    B, F_ = specs.shape[0], specs.shape[-2]
    src = torch.arange(F_)[None, :] - shift[:, None]  # (B, F) source bin of each output bin
    valid = (src >= 0) & (src < F_)
    out = specs[torch.arange(B)[:, None], src.clamp(0, F_ - 1)]
    return torch.where(valid[:, :, None], out, torch.as_tensor(fill, dtype=specs.dtype))


def torch_mixup(x, lam, perm):
    w = lam.view(-1, *([1] * (x.dim() - 1)))
    return w * x + (1 - w) * x[perm]


def cases(specs, masks, shift, mix):
    """group -> {candidate: zero-argument callable}."""
    m = (masks["freq_start"], masks["freq_width"], masks["time_start"], masks["time_width"])
    lam, perm = mix["lam"], mix["perm"]
    labels = torch.zeros(specs.shape[0], dtype=torch.int64)
    return {
        "specaugment_LD": {
            "ours": lambda: F.spec_mask(specs, *m, "mean"),
            "torch_fused": lambda: R.spec_mask_vectorized(specs, *m, None, fused=True),
            "torch_per_mask": lambda: R.spec_mask_vectorized(specs, *m, None, fused=False),
            "reference": lambda: R.spec_mask(specs.double(), *m, None),
        },
        "freq_shift": {
            "ours": lambda: F.freq_shift(specs, shift, -80.0),
            "torch_index": lambda: torch_freq_shift(specs, shift, -80.0),
        },
        "audio_mixup": {
            "ours": lambda: F.audio_mixup(specs, labels, lam, perm)[0],
            "torch": lambda: torch_mixup(specs, lam, perm),
        },
    }


_STATE = {}


def _case(group, name):
    if not _STATE:
        _STATE.update(cases(*make_inputs()))
    return _STATE[group][name]


_ALL = [(g, n) for g, d in cases(*make_inputs(batch=1, n_mels=4, frames=4)).items() for n in d]


@pytest.mark.parametrize("group,name", _ALL, ids=[f"{g}-{n}" for g, n in _ALL])
def test_audio(benchmark, group, name):
    benchmark.group = group
    benchmark.extra_info["batch"] = f"{BATCH}x{N_MELS}x{FRAMES} float32"
    rounds = 2 if name == "reference" else 10
    benchmark.pedantic(_case(group, name), rounds=rounds, iterations=1, warmup_rounds=1)


def measure(rounds=7):
    """Best-of-``rounds`` milliseconds per candidate, rounds interleaved across candidates."""
    table = cases(*make_inputs())
    best = {(g, n): float("inf") for g, d in table.items() for n in d}
    for g, d in table.items():  # warm up (allocator, caches)
        for fn in d.values():
            fn()
    for r in range(rounds):
        for (g, n) in best:
            if n == "reference" and r >= 2:
                continue
            t0 = time.perf_counter()
            table[g][n]()
            best[g, n] = min(best[g, n], (time.perf_counter() - t0) * 1e3)
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    best = measure(args.rounds)
    copy_ms = min(_time(lambda x=make_inputs()[0]: x.clone()) for _ in range(args.rounds))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"B={BATCH} x {N_MELS} mel x {FRAMES} frames float32; "
          f"a plain copy (clone) takes {copy_ms:.2f} ms\n")
    print("| group | candidate | ms (best) | ours is x faster |")
    print("|---|---|---:|---:|")
    for (g, n), ms in best.items():
        ratio = best[g, "ours"] and ms / best[g, "ours"]
        print(f"| {g} | {n} | {ms:.2f} | {'-' if n == 'ours' else f'{ratio:.1f}x'} |")


def _time(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


if __name__ == "__main__":
    main()
