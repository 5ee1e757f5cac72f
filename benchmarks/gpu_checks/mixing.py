"""GPU check, mixing ops (mix, mochi_*): correctness against the CPU kernels, then timings.

The ``mixing`` family of ``benchmarks/gpu_check.py`` (``--families mixing``);
``check_cases()`` runs ``mixing_cases()`` on one device and returns table rows.
For every case the inputs are made on the CPU, the op runs on the device
(Triton kernels on CUDA) and on the CPU (C++ kernels) with the same values,
and *each* output is judged against the float64 reference (datagen_gpu.reference)
on a few samples (images: the per-dtype tolerance of datagen_gpu.testing;
MoCHi: the case's atol / rtol, set by its queue dtype). The device-vs-CPU
difference over the whole output is reported as a number, not judged (the GPU
fuses multiply-adds and reduces in another order). Timings use
``triton.testing.do_bench`` on CUDA and wall-clock on the CPU; GB/s counts
the bytes a kernel must move (images read twice and written once; for
MoCHi, the two parent rows per synthetic point plus the outputs). On the
CPU, ``--device cpu`` smoke-tests the script without a GPU.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from datagen_gpu import functional as F
from datagen_gpu import reference as R
from datagen_gpu.params import uniform
from datagen_gpu.params.mixing import (cutmix_boxes_timm, flip_permutation, mochi_draws,
                                       mochi_indices)
from datagen_gpu.testing import random_images

from .common import device_name, judge, print_table, time_ms


@dataclass
class MixCase:
    name: str
    inputs: tuple                      # CPU tensors / numbers
    fn: Callable                       # fn(*inputs) -> tensor
    moved_bytes: int                   # bytes the kernel must read and write once
    atol: float = 0.0                  # for non-image outputs (images use testing.TOLERANCES)
    rtol: float = 0.0
    image_output: bool = False
    reference: Optional[Callable] = None  # float64 reference of a slice: (*inputs) -> (got slice fn, ref)


REF_SAMPLES = 4


def _mix_reference(x, lam, boxes, perm):
    """(take, float64 reference) of ``mix`` for the first REF_SAMPLES samples (datagen_gpu.reference.mix,
    sample by sample: only those samples and their partners are converted)."""
    H, W = x.shape[-2:]
    n = min(REF_SAMPLES, x.shape[0])
    out = []
    for i in range(n):
        j, w = int(perm[i]), float(lam[i])
        xi, xj = R.to_unit(x[i]), R.to_unit(x[j])
        o = w * xi + (1.0 - w) * xj
        y0, y1, x0, x1 = R.clip_box(boxes[i], H, W)
        o[:, y0:y1, x0:x1] = xj[:, y0:y1, x0:x1]
        out.append(o)
    return (lambda got: got[:n]), torch.stack(out)


def _mochi_h(a, n):
    q, queue, hard, pair, alpha, qidx, beta = a
    return R.mochi_negatives(q[:n].double(), queue.double(), hard[:n], pair[:n], alpha[:n], qidx[:n], beta[:n])


def _to(x, device):
    return x.to(device) if isinstance(x, torch.Tensor) else x


def _mochi_inputs(B, K, D, N, s, s2, queue_dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.nn.functional.normalize(torch.randn(B, D, generator=g), dim=1)
    queue = torch.nn.functional.normalize(torch.randn(K, D, generator=g), dim=1).to(queue_dtype)
    hard = (q @ queue.float().T).topk(N, dim=1).indices
    pair, alpha, qidx, beta = mochi_indices(uniform(seed, torch.arange(B), 1, mochi_draws(s, s2),
                                                    torch.float64), N, s, s2)
    return q, queue, hard, pair, alpha, qidx, beta


def mixing_cases(batch=256, size=224, quick=False):
    """The mixing ops' GPU-check cases: Mixup/CutMix images (uint8, bf16, fp32) and MoCHi at issue 4's size."""
    if quick:
        batch, size = min(batch, 32), min(size, 128)
    cases = []
    gen = torch.Generator().manual_seed(0)
    B = batch
    lam = torch.rand(B, generator=gen)
    perm = flip_permutation(B)
    u = torch.rand(B, 2, generator=gen, dtype=torch.float64)
    boxes = cutmix_boxes_timm(u, torch.rand(B, generator=gen, dtype=torch.float64), size, size)
    cut = torch.rand(B, generator=gen) < 0.5
    elem_w = torch.where(cut, torch.ones_like(lam), lam)
    elem_boxes = torch.where(cut.unsqueeze(1), boxes, torch.zeros_like(boxes))
    for dtype in (torch.uint8, torch.bfloat16, torch.float32):
        x = random_images((B, 3, size, size), dtype, generator=gen)
        nbytes = 3 * x.numel() * x.element_size()
        name = str(dtype).replace("torch.", "")
        no_box = torch.zeros(B, 4, dtype=torch.int64)
        cases.append(MixCase(f"mixup {name}", (x, lam, perm), lambda x, l_, p: F.mixup(x, l_, p), nbytes,
                             image_output=True,
                             reference=lambda x, l_, p: _mix_reference(x, l_, no_box, p)))
        cases.append(MixCase(f"cutmix {name}", (x, boxes, perm), lambda x, b, p: F.cutmix(x, b, p)[0], nbytes,
                             image_output=True,
                             reference=lambda x, b, p: _mix_reference(x, torch.ones(x.shape[0]), b, p)))
        cases.append(MixCase(f"mix (timm elem) {name}", (x, elem_w, elem_boxes, perm),
                             lambda x, w, b, p: F.mix(x, w, b, p), nbytes, image_output=True,
                             reference=_mix_reference))
    sizes = dict(B=64, K=8192, D=128, N=256, s=64, s2=64) if quick else \
        dict(B=256, K=65536, D=128, N=1024, s=256, s2=256)
    S = sizes["s"] + sizes["s2"]
    for queue_dtype, tol in ((torch.float32, 2e-5), (torch.float16, 2e-3)):
        args = _mochi_inputs(**sizes, queue_dtype=queue_dtype)
        qname = str(queue_dtype).replace("torch.", "")
        parents = sizes["B"] * S * 2 * sizes["D"] * args[1].element_size()
        grad = torch.randn(sizes["B"], S, generator=gen)

        def ref_logits(*a):
            n = REF_SAMPLES
            return (lambda out: out[:n],
                    R.mochi_logits(a[0][:n].double(), a[1].double(), a[2][:n], a[3][:n], a[4][:n], a[5][:n],
                                   a[6][:n], 0.2))

        def ref_negatives(*a):
            return (lambda out: out[:REF_SAMPLES]), _mochi_h(a, REF_SAMPLES)

        def ref_backward(g, *a):  # d(logits)/d(query): the synthetic points are constants
            n = REF_SAMPLES
            return (lambda out: out[:n]), (g[:n].double().unsqueeze(-1) * _mochi_h(a, n)).sum(1) / 0.2

        cases.append(MixCase(f"mochi_logits (queue {qname})", args,
                             lambda *a: F.mochi_logits(*a, temperature=0.2), parents + sizes["B"] * S * 4,
                             atol=tol * 5, rtol=tol, reference=ref_logits))
        cases.append(MixCase(f"mochi_negatives (queue {qname})", args, lambda *a: F.mochi_negatives(*a),
                             parents + sizes["B"] * S * sizes["D"] * 4, atol=tol, rtol=tol,
                             reference=ref_negatives))
        cases.append(MixCase(f"mochi_logits_backward (queue {qname})", (grad,) + args,
                             lambda g, *a: torch.ops.datagen_gpu.mochi_logits_backward(g, *a, 0.2),
                             parents + sizes["B"] * S * 4, atol=tol * 10, rtol=tol, reference=ref_backward))
        cases.append(MixCase(f"mochi reference, materializing (queue {qname})", args,
                             lambda *a: R.mochi_logits(*a, 0.2), parents + sizes["B"] * S * 4,
                             atol=tol * 5, rtol=tol, reference=ref_logits))
    return cases


def _excess(got, ref, atol, rtol):
    """Worst |got - ref| - (atol + rtol |ref|) (<= 0: within the case's tolerance)."""
    got, ref = got.double().cpu(), ref.double()
    if got.numel() == 0:
        return float("-inf")
    err = (got - ref).abs() - (atol + rtol * ref.abs())
    return float(torch.nan_to_num(err, nan=float("inf")).max())


def check_cases(cases, device, rep_ms=100):
    """Run every case on ``device`` and on the CPU; rows (name, ms, GB/s, status, max |dev - CPU|)
    and the failure count. Each output is judged against the float64 reference."""
    device = torch.device(device)
    rows, failures = [], 0
    for case in cases:
        status = "ok"
        try:
            dev_inputs = tuple(_to(a, device) for a in case.inputs)
            out = case.fn(*dev_inputs).cpu()
            cpu_out = case.fn(*case.inputs) if device.type != "cpu" else out
            take, ref = case.reference(*case.inputs)
            if case.image_output:
                j = judge(out, cpu_out, ref, slice(0, ref.shape[0]))
                bad = [w for w in ("dev", "cpu") if j[w] > 0]
                diff = f"{j['diff']:.2g} ({j['ratio']:.2f} tol)"
            else:
                bad = [w for w, got in (("dev", out), ("cpu", cpu_out))
                       if _excess(take(got), ref, case.atol, case.rtol) > 0]
                diff = f"{float((out.double() - cpu_out.double()).abs().max()) if out.numel() else 0.0:.2g}"
            if bad:
                status = "FAIL " + " and ".join("device" if w == "dev" else "CPU kernel" for w in bad) + \
                    " vs float64"
            ms = time_ms(lambda: case.fn(*dev_inputs), device, rep_ms)
        except Exception as exc:  # report and go on: the table shows what broke
            print(f"FAIL {case.name}: {type(exc).__name__}: {exc}")
            rows.append((case.name, float("nan"), float("nan"), "ERROR", ""))
            failures += 1
            continue
        failures += status != "ok"
        rows.append((case.name, ms, case.moved_bytes / (ms * 1e-3) / 1e9, status, diff))
    return rows, failures


def run(args) -> int:
    """The mixing section: prints its table, returns the failure count."""
    print(f"== mixing ops on {device_name(args.device)}, torch {torch.__version__}", flush=True)
    rows, failures = check_cases(mixing_cases(quick=args.quick), args.device, args.rep)
    print()
    print_table(["case", "ms", "GB/s (min. traffic)", "device and CPU kernel vs float64", "max abs(device - CPU)"],
                [(case, f"{ms:.3f}", f"{gbs:.1f}", status, diff) for case, ms, gbs, status, diff in rows])
    print(f"\n{failures} failure(s) in mixing ops\n")
    return failures
