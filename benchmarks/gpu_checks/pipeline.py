"""GPU check, the transform pipeline: the SimCLR view at B=256, correctness, CUDA graphs, then the comparison.

The ``pipeline`` family of ``benchmarks/gpu_check.py`` (``--families pipeline``):

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
3. timing (``triton.testing.do_bench``): one view eager and replayed from the
   graph, GB/s on the bytes the view must move (uint8 input read once, float32
   output written once) against a measured device-to-device copy (issue 3's
   target: >= 60%); then ``datagen-gpu bench --pipeline simclr`` on the device
   (two views, ours against every installed peer: kornia and DALI on the GPU,
   torchvision v2 in CPU worker processes; ``--no-peers``: ours alone).
"""
import os

import torch

from datagen_gpu import reference as R
from datagen_gpu.bench import peers, report
from datagen_gpu.bench.cases import PIPELINES, Settings
from datagen_gpu.bench.inputs import image_batch
from datagen_gpu.bench.run import run_pipeline
from datagen_gpu.presets import IMAGENET_MEAN, IMAGENET_STD, simclr_view
from datagen_gpu.testing import TOLERANCES

from .common import capture_graph, copy_gbs, device_name, judge, print_table, time_ms, verdict

NORM_ATOL = TOLERANCES[torch.float32][0] / min(IMAGENET_STD)  # the tests' bound for normalized float32
BLUR_KERNEL = 23


def simclr_reference(images, params, blur_kernel=BLUR_KERNEL, size=224):
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


def check_correctness(view, images, ids, n, size):
    """judge() of the device and CPU outputs of the first ``n`` samples against float64."""
    out_dev, params = view(images[:n], sample_ids=ids[:n], return_params=True)
    out_cpu = view(images[:n].cpu(), sample_ids=ids[:n].cpu())
    return judge(out_dev, out_cpu, simclr_reference(images[:n], params, size=size), atol=NORM_ATOL)


def check_graph(view, images, ids, size):
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
    moved = simclr_view(size).to(images.device)
    counter_graph, counter_out = capture_graph(lambda: moved(static_x), warmup=2)
    first = int(moved._next_id)
    counter_graph.replay()
    replayed = counter_out.clone()
    counter_graph.replay()
    advances = int(moved._next_id) == first + 2 * images.shape[0] and not torch.equal(replayed, counter_out)
    ok &= advances
    msgs.append(f"counter advances on replay: {advances}")
    return ok, "; ".join(msgs), graph.replay


def run(args) -> int:
    """The pipeline section: prints its tables, returns the failure count."""
    device = torch.device(args.device)
    B, out_size = args.batch, round(args.size * 224 / 256)
    images = image_batch(B, args.size, "procedural", device=device)
    ids = torch.arange(B, device=device)
    view = simclr_view(out_size)
    failures = 0
    print(f"== pipeline on {device_name(device)}, torch {torch.__version__}: SimCLR view, B={B} uint8 "
          f"3x{args.size}x{args.size} -> float32 3x{out_size}x{out_size}", flush=True)
    n = min(B, 8)  # the float64 reference loops over samples
    j = check_correctness(view, images, ids, n, out_size)
    failures += (j["dev"] > 0) + (j["cpu"] > 0)
    print(f"SimCLR view, {n} samples, against the float64 reference (atol {NORM_ATOL:.2g} normalized): "
          f"device {verdict(j['dev'])}, CPU kernels {verdict(j['cpu'])}; max |device - CPU| "
          f"{j['diff']:.2g} normalized ({j['ratio']:.2f} x tolerance, reported, not judged)")
    out = view(images, sample_ids=ids)
    moved = images.numel() * images.element_size() + out.numel() * out.element_size()
    rows = [("one view, eager", time_ms(lambda: view(images, sample_ids=ids), device, args.rep))]
    if device.type == "cuda":
        try:
            ok, msg, replay = check_graph(view, images, ids, out_size)
            rows.append(("one view, CUDA graph replay", time_ms(replay, device, args.rep)))
        except Exception as exc:  # noqa: BLE001  (a capture error is the finding)
            ok, msg = False, f"{type(exc).__name__}: {exc}"
        failures += not ok
        print(f"CUDA graph capture/replay: {'ok' if ok else 'FAIL'} ({msg})")
    else:
        print("CUDA graph capture/replay: skipped (no CUDA device)")
    bw = copy_gbs(device)
    print(f"\ncopy bandwidth (read+write): {bw:.0f} GB/s\n")
    print_table(["case", "ms / batch", "images/s", "GB/s (min. bytes)", "% of copy"],
                [(case, f"{ms:.2f}", f"{B / (ms * 1e-3):.0f}", f"{moved / (ms * 1e-3) / 1e9:.1f}",
                  f"{100 * moved / (ms * 1e-3) / 1e9 / bw:.0f}%") for case, ms in rows])
    settings = Settings(device=str(device), batch=B, size=out_size, source="procedural",
                        threads=os.cpu_count() or 1)
    compare = [] if args.no_peers else peers.parse("all")
    print(f"\ndatagen-gpu bench --pipeline simclr --device {device.type} --batch {B} --size {out_size} "
          f"(two views; {args.seconds:g} s)", flush=True)
    results, skips = run_pipeline(PIPELINES["simclr"], settings, compare, args.seconds, {device.type: bw},
                                  log=lambda m: None)
    print(report.table({"results": [report.result(r) for r in results]}))
    print("\n".join(report.skipped_lines({"skipped": [vars(k) for k in skips]})))
    print(f"\n{failures} failure(s) in the pipeline check\n")
    return failures
