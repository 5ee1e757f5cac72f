"""GPU check, the learned policies: imagenet_train at B=256 on the device, launches, graphs, the comparison.

The ``policies`` family of ``benchmarks/gpu_check.py`` (``--families policies``):

1. agreement: ``presets.imagenet_train`` with TrivialAugmentWide, RandAugment (timm's
   ``rand-m9-mstd0.5``) and AugMix on the device and on the CPU (C++ kernels) for the
   same sample ids (the parameters are bit-identical across devices). The outputs are
   compared, not judged against a float64 chain: nearest sampling at a tie and a
   threshold (posterize, solarize, equalize) may legitimately go either way on a few
   pixels, so the table reports the fraction of values beyond the float32 tolerance
   (normalized units) and the check fails above 0.5%;
2. launches: the Triton launches of one batch, for two batches that drew different
   operation mixes (they must be the same sequence);
3. CUDA graph: the pipeline (explicit ``sample_ids``) captured once under
   ``torch.cuda.set_sync_debug_mode("error")`` and replayed; the replay must equal an
   eager call;
4. timing: one batch eager and replayed (``triton.testing.do_bench``), GB/s on the
   compulsory bytes (uint8 in, float32 out) against a device-to-device copy; then
   ``datagen-gpu bench --pipeline imagenet`` on the device against every installed peer.
"""
import os

import torch

from datagen_gpu import presets
from datagen_gpu.bench import peers, report
from datagen_gpu.bench.cases import PIPELINES, Settings
from datagen_gpu.bench.inputs import image_batch
from datagen_gpu.bench.run import run_pipeline
from datagen_gpu.kernels._record import record_launches
from datagen_gpu.presets import IMAGENET_STD
from datagen_gpu.testing import TOLERANCES

from .common import capture_graph, copy_gbs, device_name, print_table, time_ms

POLICIES = {"trivial": "trivial", "rand": "rand-m9-mstd0.5", "augmix": "augmix"}
NORM_ATOL = 4 * TOLERANCES[torch.float32][0] / min(IMAGENET_STD)
MAX_FRACTION = 0.005


def _agreement(aug, images, ids):
    dev = aug(images, sample_ids=ids)
    cpu = aug(images.cpu(), sample_ids=ids.cpu())
    diff = (dev.cpu() - cpu).abs()
    return diff.max().item(), (diff > NORM_ATOL).float().mean().item()


def _launches(aug, images, ids):
    with record_launches(execute=True) as launches:
        aug(images, sample_ids=ids)
    return [launch.short_name for launch in launches]


def run(args) -> int:
    """The policies section: prints its tables, returns the failure count."""
    device = torch.device(args.device)
    B, out_size = args.batch, round(args.size * 224 / 256)
    images = image_batch(B, args.size, "procedural", device=device)
    ids = torch.arange(B, device=device)
    print(f"== policies on {device_name(device)}, torch {torch.__version__}: imagenet_train, B={B} uint8 "
          f"3x{args.size}x{args.size} -> float32 3x{out_size}x{out_size}", flush=True)
    bw = copy_gbs(device)
    failures, rows = 0, []
    for name, policy in POLICIES.items():
        aug = presets.imagenet_train(out_size, policy=policy, seed=args.seed)
        worst, fraction = _agreement(aug, images, ids)
        ok = fraction <= MAX_FRACTION
        failures += not ok
        print(f"{name}: device vs CPU kernels max {worst:.3g}, {100 * fraction:.3f}% of values beyond "
              f"{NORM_ATOL:.2g} ({'ok' if ok else 'FAIL'})")
        if device.type == "cuda":
            a = _launches(aug, images, ids)
            b = _launches(aug, images, ids + 10_000)
            same = a == b
            failures += not same
            print(f"  launches per batch: {len(a)} ({'the same' if same else 'DIFFERENT'} for another mix)")
            try:
                graph, captured = capture_graph(lambda: aug(images, sample_ids=ids))
                graph.replay()
                replay = graph.replay
                eager = aug(images, sample_ids=ids)
                ok_graph = torch.equal(captured, eager)
                msg = "replay equals eager" if ok_graph else "replay differs from eager"
            except Exception as exc:  # noqa: BLE001  (a capture error is the finding)
                ok_graph, replay, msg = False, None, f"{type(exc).__name__}: {exc}"
            failures += not ok_graph
            print(f"  CUDA graph capture/replay: {'ok' if ok_graph else 'FAIL'} ({msg})")
        else:
            replay = None
        out = aug(images, sample_ids=ids)
        moved = images.numel() * images.element_size() + out.numel() * out.element_size()
        rows.append((f"{name}, eager", time_ms(lambda: aug(images, sample_ids=ids), device, args.rep), moved))
        if replay is not None:
            rows.append((f"{name}, CUDA graph", time_ms(replay, device, args.rep), moved))
    print(f"\ncopy bandwidth (read+write): {bw:.0f} GB/s\n")
    print_table(["case", "ms / batch", "images/s", "GB/s (min. bytes)", "% of copy"],
                [(case, f"{ms:.2f}", f"{B / (ms * 1e-3):.0f}", f"{moved / (ms * 1e-3) / 1e9:.1f}",
                  f"{100 * moved / (ms * 1e-3) / 1e9 / bw:.0f}%") for case, ms, moved in rows])
    settings = Settings(device=str(device), batch=B, size=out_size, source="procedural",
                        threads=os.cpu_count() or 1)
    compare = [] if args.no_peers else peers.parse("all")
    for key in ("imagenet-trivial", "imagenet-rand"):
        print(f"\ndatagen-gpu bench --pipeline {key} --device {device.type} --batch {B} --size {out_size} "
              f"({args.seconds:g} s)", flush=True)
        results, skips = run_pipeline(PIPELINES[key], settings, compare, args.seconds, {device.type: bw},
                                      log=lambda m: None)
        print(report.table({"results": [report.result(r) for r in results]}))
        print("\n".join(report.skipped_lines({"skipped": [vars(k) for k in skips]})))
    print(f"\n{failures} failure(s) in the policies check\n")
    return failures
