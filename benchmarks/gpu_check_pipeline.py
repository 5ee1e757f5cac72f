"""GPU check of the transform pipeline (issue 3): the SimCLR view at B=256.

    python benchmarks/gpu_check_pipeline.py [--batch 256] [--rep 200] [--quick]

1. correctness: the pipeline on the device against the same pipeline on the
   CPU (C++ kernels) for the same sample ids (parameters are bit-identical
   across devices, so only kernel rounding differs);
2. CUDA graph: the pipeline (explicit ``sample_ids``) is captured once and
   replayed; the replay must equal an eager call for the same ids, also after
   the ids in the static buffer change (no host synchronization inside:
   capture fails on one). Then once more with the module on the GPU and the
   default running sample counter (a device buffer);
3. timing (``triton.testing.do_bench``): ours eager, ours replayed from the
   graph, TwoViews (two views in one stacked batch), and torchvision v2 (a
   per-image loop: per-sample parameters, as ours; and one batched call: one
   parameter draw for the whole batch) and kornia (batched, per-sample
   parameters) on the same GPU when installed. GB/s counts the bytes the
   pipeline must move at least (uint8 input read once, float32 output written
   once) against a measured device-to-device copy (issue 3's target: >= 60%).

``--device cpu`` runs the same code on the CPU (no graph section) so the
script is smoke-tested in CI. The table comes last.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _gpu_common import copy_gbs, ensure_built, time_ms  # noqa: E402

ensure_built()

import torch  # noqa: E402

import pipeline_cases as pc  # noqa: E402
from datagen_gpu.presets import IMAGENET_STD, TwoViews, simclr_view  # noqa: E402

TOLERANCE = 2e-3  # max |device - CPU| in [0, 1] units (normalized output x std)


def _unit_error(a, b):
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return float(((a.float().cpu() - b.float().cpu()).abs() * std).max()) if a.numel() else 0.0


def check_correctness(view, images, ids, n):
    out_dev = view(images[:n], sample_ids=ids[:n])
    out_cpu = view(images[:n].cpu(), sample_ids=ids[:n].cpu())
    return _unit_error(out_dev, out_cpu)


def check_graph(view, images, ids):
    """(ok, message, replay function or None)."""
    static_x, static_ids = images.clone(), ids.clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            view(static_x, sample_ids=static_ids)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = view(static_x, sample_ids=static_ids)
    msgs, ok = [], True
    for shift in (0, images.shape[0]):
        static_ids.copy_(ids + shift)
        graph.replay()
        same = torch.equal(static_out, view(static_x, sample_ids=static_ids))
        ok &= same
        msgs.append(f"replay == eager (ids +{shift}): {same}")

    # the default running counter, on the device with the module
    moved = simclr_view(224).to(images.device)
    with torch.cuda.stream(side):
        for _ in range(2):
            moved(static_x)
    torch.cuda.current_stream().wait_stream(side)
    counter_graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(counter_graph):
        counter_out = moved(static_x)
    first = int(moved._next_id)
    counter_graph.replay()
    replayed = counter_out.clone()
    counter_graph.replay()
    advances = int(moved._next_id) == first + 2 * images.shape[0] and not torch.equal(replayed, counter_out)
    ok &= advances
    msgs.append(f"counter advances on replay: {advances}")
    return ok, "; ".join(msgs), graph.replay


def peers(images, rep):
    """{name: ms} for torchvision v2 (loop, batched) and kornia on the device, when installed."""
    out = {}
    try:
        tv = pc._torchvision_pipeline(pc.OUT_SIZE, pc.BLUR_KERNEL)
        per_image = list(images.unbind(0))
        out["torchvision v2, per-image loop"] = time_ms(
            lambda: torch.stack([tv(img) for img in per_image]), images.device, rep)
        out["torchvision v2, one call (same params for the batch)"] = time_ms(
            lambda: tv(images), images.device, rep)
    except Exception as exc:  # noqa: BLE001  (missing or failing peer: reported, not fatal)
        print(f"torchvision: skipped ({type(exc).__name__}: {exc})")
    try:
        run = pc.build_kornia(images)
        out["kornia (batched, per-sample params)"] = time_ms(run, images.device, rep)
    except Exception as exc:  # noqa: BLE001
        print(f"kornia: skipped ({type(exc).__name__}: {exc})")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--size", type=int, default=pc.IN_SIZE)
    p.add_argument("--rep", type=int, default=200, help="do_bench rep time in ms")
    p.add_argument("--no-peers", action="store_true", help="skip torchvision and kornia")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.rep = min(args.batch, 32), min(args.rep, 50)
    t0 = time.time()
    device = torch.device(args.device)
    B = args.batch
    images = pc.make_images(B, args.size).to(device)
    ids = torch.arange(B, device=device)
    view = simclr_view(pc.OUT_SIZE)
    failures = 0

    err = check_correctness(view, images, ids, min(B, 16))
    verdict = "ok" if err <= TOLERANCE else "FAIL"
    failures += verdict != "ok"
    print(f"device vs CPU kernels, SimCLR view, {min(B, 16)} samples: max error {err:.2e} "
          f"([0, 1] units, tolerance {TOLERANCE:g}): {verdict}")

    rows = []
    out = view(images, sample_ids=ids)
    moved = images.numel() * images.element_size() + out.numel() * out.element_size()
    rows.append(("ours, eager", time_ms(lambda: view(images, sample_ids=ids), device, args.rep)))
    if device.type == "cuda":
        try:
            ok, msg, replay = check_graph(view, images, ids)
            rows.append(("ours, CUDA graph replay", time_ms(replay, device, args.rep)))
        except Exception as exc:  # noqa: BLE001  (a capture error is the finding)
            ok, msg = False, f"{type(exc).__name__}: {exc}"
        failures += not ok
        print(f"CUDA graph capture/replay: {'ok' if ok else 'FAIL'} ({msg})")
    else:
        print("CUDA graph capture/replay: skipped (no CUDA device)")
    two = TwoViews(simclr_view(pc.OUT_SIZE))
    rows.append(("ours, TwoViews (2 views, stacked)", time_ms(lambda: two(images, sample_ids=ids),
                                                              device, args.rep)))
    if not args.no_peers:
        rows.extend(peers(images, args.rep).items())
    bw = copy_gbs(device, args.rep)

    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    print(f"\nSimCLR view on {name}, torch {torch.__version__}: B={B} uint8 3x{args.size}x{args.size} "
          f"-> float32 3x{pc.OUT_SIZE}x{pc.OUT_SIZE}; copy bandwidth {bw:.0f} GB/s; "
          f"total {time.time() - t0:.0f} s\n")
    ours = rows[0][1]
    print("| case | ms / batch | images/s | GB/s (min. bytes) | % of copy | time / ours eager |")
    print("|---|---:|---:|---:|---:|---:|")
    for case, ms in rows:
        views = 2 if "TwoViews" in case else 1
        gbs = views * moved / (ms * 1e-3) / 1e9
        print(f"| {case} | {ms:.2f} | {views * B / (ms * 1e-3):.0f} | {gbs:.1f} | "
              f"{100 * gbs / bw:.0f}% | {ms / ours:.2f}x |")
    print(f"\n{failures} failure(s) in the pipeline check")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
