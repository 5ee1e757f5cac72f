"""GPU check of the transform pipeline (issue 3): the SimCLR view at B=256.

    python benchmarks/gpu_check_pipeline.py [--batch 256] [--rep 200] [--quick]

1. correctness: the pipeline on the device and the same pipeline on the CPU
   (C++ kernels), for the same sample ids (parameters are bit-identical across
   devices), each judged against the float64 reference of the fused SimCLR view
   (datagen_gpu.reference.fused_augment with the drawn parameters) with the
   tolerance the tests use (float32: 1e-5 in [0, 1] units, i.e. 1e-5 / min(std)
   normalized). The device-vs-CPU difference is reported as a number, not judged:
   the GPU fuses multiply-adds and Triton's sqrt / division are not IEEE-rounded;
2. CUDA graph: the pipeline (explicit ``sample_ids``) is captured once and
   replayed, warm-up and capture under ``torch.cuda.set_sync_debug_mode("error")``
   (a host synchronization raises); the replay must equal an eager call for the
   same ids, also after the ids in the static buffer change. Then once more with
   the module on the GPU and the default running sample counter (a device buffer);
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
from _gpu_common import capture_graph, copy_gbs, ensure_built, judge, time_ms, verdict  # noqa: E402

ensure_built()

import torch  # noqa: E402

import pipeline_cases as pc  # noqa: E402
from datagen_gpu import reference as R  # noqa: E402
from datagen_gpu.presets import IMAGENET_MEAN, IMAGENET_STD, TwoViews, simclr_view  # noqa: E402
from datagen_gpu.testing import TOLERANCES  # noqa: E402

NORM_ATOL = TOLERANCES[torch.float32][0] / min(IMAGENET_STD)  # the tests' bound for normalized float32


def simclr_reference(images, params, blur_kernel=pc.BLUR_KERNEL, size=pc.OUT_SIZE):
    """The float64 reference of ``simclr_view`` for the parameters it drew (its unfused
    params list: crop, flip, RandomApply(jitter), grayscale, RandomApply(blur), normalize)."""
    crop, flip, jitter, gray, blur, _ = params
    c = {k: v.cpu() for k, v in jitter["inner"][0].items()}
    on = jitter["apply"].cpu()
    keep = lambda v, identity: torch.where(on, v, torch.full_like(v, identity)).double()  # noqa: E731
    sigma = blur["inner"][0]
    blur_apply = blur["apply"].cpu() & sigma["apply"].cpu() if "apply" in sigma else blur["apply"].cpu()
    return R.fused_augment(R.to_unit(images.cpu()), crop["boxes"].cpu().double(), (size, size),
                           flip["apply"].cpu(), True, keep(c["brightness"], 1.0), keep(c["contrast"], 1.0),
                           keep(c["saturation"], 1.0), keep(c["hue"], 0.0), c["order"], gray["apply"].cpu(),
                           blur_kernel=blur_kernel, blur_sigma=sigma["sigma"].cpu().double(),
                           blur_apply=blur_apply, mean=IMAGENET_MEAN, std=IMAGENET_STD)


def check_correctness(view, images, ids, n):
    """judge() of the device and CPU outputs of the first ``n`` samples against float64."""
    out_dev, params = view(images[:n], sample_ids=ids[:n], return_params=True)
    out_cpu = view(images[:n].cpu(), sample_ids=ids[:n].cpu())
    return judge(out_dev, out_cpu, simclr_reference(images[:n], params), atol=NORM_ATOL)


def check_graph(view, images, ids):
    """(ok, message, replay function or None)."""
    static_x, static_ids = images.clone(), ids.clone()
    graph, static_out = capture_graph(lambda: view(static_x, sample_ids=static_ids))
    msgs, ok = [], True
    for shift in (0, images.shape[0]):
        static_ids.copy_(ids + shift)
        graph.replay()
        same = torch.equal(static_out, view(static_x, sample_ids=static_ids))
        ok &= same
        msgs.append(f"replay == eager (ids +{shift}): {same}")

    # the default running counter, on the device with the module
    moved = simclr_view(224).to(images.device)
    counter_graph, counter_out = capture_graph(lambda: moved(static_x), warmup=2)
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

    n = min(B, 8)  # the float64 reference loops over samples
    j = check_correctness(view, images, ids, n)
    failures += (j["dev"] > 0) + (j["cpu"] > 0)
    print(f"SimCLR view, {n} samples, against the float64 reference (atol {NORM_ATOL:.2g} normalized): "
          f"device {verdict(j['dev'])}, CPU kernels {verdict(j['cpu'])}; max |device - CPU| "
          f"{j['diff']:.2g} normalized ({j['ratio']:.2f} x tolerance, reported, not judged)")

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
