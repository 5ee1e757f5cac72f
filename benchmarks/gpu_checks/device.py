"""The device sections of benchmarks/gpu_check.py: opcheck, CUDA graphs, a 16384^2 launch, the CUDA tests.

Each section returns ``(rows, failures)``; a row is ``(section, case, status, detail)``
and gpu_check.py prints them in its last table (``--sections opcheck,graphs,big,pytest``).

- ``opcheck``: ``torch.library.opcheck`` (schema, autograd registration, fake tensor,
  AOT dispatch) of every datagen_gpu op on the device's tensors, with the op-level
  arguments the functionals, a transform (random_bits) and a backward pass
  (mochi_logits_backward) actually pass, recorded while they run;
- ``graphs`` (CUDA): the SimCLR Compose and TwoViews(SimCLR) warmed up, captured in a CUDA
  graph and replayed under ``torch.cuda.set_sync_debug_mode("error")`` (a host
  synchronization raises); each replay must equal an eager call for the same ids, also
  after the ids in the static buffer change. Warm eager calls run under the same mode and
  under ``HostTransfers`` (host-to-device copies counted: 0 expected) with explicit ids,
  with the default counter of a module left on the CPU, and of a module moved to the GPU
  (captured too: its replays advance the counter);
- ``big``: one launch per image-op family on a (3, 3, S, S) uint8 batch (S = 16384 on
  CUDA: 2.4e9 elements, past 2^31, so 32-bit offsets would wrap): hflip, color_jitter,
  gaussian_blur, normalize, resized_crop to 224 and fused_augment (crop, flip, jitter,
  grayscale, blur, normalize), and mixup; each output checked at patches in every sample
  (corners, centre, the far corner of the last sample) against the float64 reference;
- ``pytest`` (CUDA): ``pytest tests -k cuda`` in a subprocess (the suite's CUDA backend:
  every kernel test parametrized over backends, plus the tests named for CUDA), within
  the time left of the 5-minute budget; a run cut short reports what it ran.
"""
import math
import re
import subprocess
import sys
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

import datagen_gpu.functional as F
from datagen_gpu import reference as R
from datagen_gpu._checks.sync import HostTransfers
from datagen_gpu.params import uniform
from datagen_gpu.presets import IMAGENET_MEAN, IMAGENET_STD, TwoViews, simclr_view
from datagen_gpu.testing import TOLERANCES, max_violation

from .common import ROOT, capture_graph, print_table, sync_debug

NORM_ATOL = TOLERANCES[torch.float32][0] / min(IMAGENET_STD)  # normalize scales errors by 1 / std


# ---------------------------------------------------------------- opcheck


class _OpCalls(TorchDispatchMode):
    """Records the first call of every datagen_gpu op: (op overload, cloned args)."""

    def __init__(self):
        super().__init__()
        self.calls = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "namespace", None) == "datagen_gpu" and func.name() not in self.calls:
            keep = lambda a: a.detach().clone() if isinstance(a, torch.Tensor) else a  # noqa: E731
            self.calls[func.name()] = (func, tuple(keep(a) if not isinstance(a, (list, tuple)) else
                                                   type(a)(keep(v) for v in a) for a in args),
                                       {k: keep(v) for k, v in kwargs.items()})
        return func(*args, **kwargs)


def record_op_calls(device):
    """{op name: (op, args, kwargs)} for every op the public API reaches, on ``device``."""
    g = torch.Generator().manual_seed(0)
    dev = torch.device(device)
    B, H, W = 3, 20, 24

    def on(t):
        return t.to(dev)

    x = on(torch.randint(0, 256, (B, 3, H, W), dtype=torch.uint8, generator=g))
    xf = on(torch.rand(B, 3, H, W, generator=g)).contiguous(memory_format=torch.channels_last)
    f = on(torch.rand(B, generator=g) * 0.8 + 0.6)
    hue = on(torch.rand(B, generator=g) * 0.2 - 0.1)
    coin = on(torch.tensor([True, False, True]))
    order = on(torch.stack([torch.randperm(4, generator=g) for _ in range(B)]))
    boxes = on(torch.tensor([[0.0, 0.0, 20.0, 24.0], [2.5, 3.0, 9.0, 11.0], [5.0, 1.0, 15.0, 7.0]]))
    ibox = on(torch.tensor([[0, 0, 0, 0], [2, 3, 9, 11], [5, 1, 15, 7]]))
    perm = on(torch.tensor([2, 1, 0]))
    spec = on(torch.randn(B, 16, 40, generator=g))
    starts, widths = on(torch.tensor([[1, 5], [0, 0], [3, 30]])), on(torch.tensor([[2, 3], [0, 4], [1, 9]]))
    labels = on(torch.tensor([0, 3, 1]))
    q = torch.nn.functional.normalize(torch.randn(B, 8, generator=g), dim=1)
    queue = torch.nn.functional.normalize(torch.randn(32, 8, generator=g), dim=1)
    hard = (q @ queue.T).topk(6, dim=1).indices
    pair = torch.randint(0, 6, (B, 4, 2), generator=g)
    alpha, beta = torch.rand(B, 4, generator=g), torch.rand(B, 2, generator=g) * 0.5
    qidx = torch.randint(0, 6, (B, 2), generator=g)
    mochi = [on(t) for t in (queue, hard, pair, alpha, qidx, beta)]
    rec = _OpCalls()
    with rec:
        F.hflip(x, coin)
        F.resized_crop(xf, boxes, (9, 7), flip=coin)
        F.adjust_brightness(x, f)
        F.adjust_contrast(x, f)
        F.adjust_saturation(x, f)
        F.adjust_hue(x, hue)
        F.color_jitter(x, f, f, f, hue, order)
        F.rgb_to_grayscale(x, coin)
        F.solarize(x, 128.0, coin)
        F.gaussian_blur(x, 5, f, coin)
        F.normalize(x, IMAGENET_MEAN, IMAGENET_STD)
        F.fused_augment(x, boxes, 12, flip=coin, brightness=f, contrast=f, saturation=f, hue=hue,
                        order=order, grayscale=coin, blur_kernel=5, blur_sigma=f, blur_apply=coin,
                        mean=IMAGENET_MEAN, std=IMAGENET_STD)
        F.mix(x, f.clamp(max=1.0), ibox, perm)
        F.affine(xf, hue * 300, (1.5, -2.0), f, on(torch.tensor([[10.0, 0.0], [0.0, 0.0], [-5.0, 3.0]])),
                 interpolation="bilinear", fill=[0.2, 0.5, 0.8], center=(0, 0))  # affine_warp
        F.pixel_ops(x, on(torch.tensor([4, 8, 7])), f)  # sharpness, equalize, autocontrast
        F.erase(xf, ibox, "random", sample_ids=on(torch.arange(B)))
        F.erase(xf.clone(), ibox, 0.5, inplace=True)  # erase_
        F.spec_mask(spec, starts, widths, starts, widths, "mean")
        F.time_mask(spec, starts, widths)
        F.freq_mask(spec, starts, widths)
        F.freq_shift(spec, on(torch.tensor([2, 0, -3])), -80.0)
        F.audio_mixup(spec, labels, f.clamp(max=1.0), perm)
        uniform(0, on(torch.arange(B)), 7, 3)
        query = on(q).requires_grad_(True)
        F.mochi_negatives(on(q), *mochi)
        logits = F.mochi_logits(query, *mochi, temperature=0.2)
        logits.sum().backward()  # reaches mochi_logits_backward (on CUDA in the autograd thread) ...
        torch.ops.datagen_gpu.mochi_logits_backward(torch.ones_like(logits).detach(), on(q), *mochi, 0.2)  # ... or here
    return rec.calls


def opcheck_rows(device, only=None):
    """One row per op: opcheck's verdict on ``device`` tensors."""
    rows, failures = [], 0
    calls = record_op_calls(device)
    public = {n for n in torch._C._dispatch_get_all_op_names()
              if n.startswith("datagen_gpu::") and not n.split("::")[-1].startswith("_")}
    for name in sorted(public - set(calls)):  # an op the recorded calls did not reach
        if only is None or name.split("::")[-1] in only:
            rows.append(("opcheck", name.split("::")[-1], "FAIL", "not reached by the recorded calls"))
            failures += 1
    names = sorted(calls) if only is None else [n for n in sorted(calls) if n.split("::")[-1] in only]
    for name in names:
        op, args, kwargs = calls[name]
        t0 = time.perf_counter()
        try:
            torch.library.opcheck(op, args, kwargs)
            status, detail = "ok", f"{time.perf_counter() - t0:.1f} s"
        except Exception as exc:  # noqa: BLE001  (every op is checked; the table shows which failed)
            status, detail = "FAIL", f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            failures += 1
        rows.append(("opcheck", name.split("::")[-1], status, detail))
    return rows, failures


# ---------------------------------------------------------------- CUDA graphs, sync debug mode


def _flat(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _warm_call_row(case, fn):
    """A warm eager call under sync debug "error" and HostTransfers: (row, failed, output)."""
    fn()
    torch.cuda.synchronize()
    try:
        with sync_debug("error"), HostTransfers() as rec:
            out = fn()
        torch.cuda.synchronize()
    except Exception as exc:  # noqa: BLE001
        return ("graphs", case, "FAIL", f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"), True, None
    bad = rec.blocking
    detail = f"{len(rec.h2d)} host-to-device copies, {len(bad)} blocking"
    return ("graphs", case, "ok" if not rec.h2d else "FAIL", detail), bool(rec.h2d), out


def graph_rows(device, batch=64, size=256):
    """CUDA graph capture/replay and warm eager calls without host synchronization (see module doc)."""
    from datagen_gpu.bench.inputs import image_batch

    if torch.device(device).type != "cuda":
        return [("graphs", "all", "skipped", "needs CUDA (graph capture, sync debug mode)")], 0
    rows, failures = [], 0
    images = image_batch(batch, size, "procedural", device=device)
    ids = torch.arange(batch, device=device)
    for name, module in (("SimCLR Compose", simclr_view(224)), ("TwoViews(SimCLR)", TwoViews(simclr_view(224)))):
        row, bad, eager = _warm_call_row(f"{name}: eager, sample_ids", lambda: module(images, sample_ids=ids))
        rows.append(row)
        failures += bad
        try:
            static_x, static_ids = images.clone(), ids.clone()
            graph, static_out = capture_graph(lambda: module(static_x, sample_ids=static_ids))
            checks = []
            for shift in (0, batch):
                static_ids.copy_(ids + shift)
                graph.replay()
                expected = module(images, sample_ids=ids + shift)
                checks.append(all(torch.equal(a, b) for a, b in zip(_flat(static_out), _flat(expected))))
            ok = all(checks)
            rows.append(("graphs", f"{name}: capture + replay", "ok" if ok else "FAIL",
                         f"replay == eager for ids +0, +{batch}: {checks}"))
        except Exception as exc:  # noqa: BLE001  (a capture error is the finding)
            ok = False
            rows.append(("graphs", f"{name}: capture + replay", "FAIL",
                         f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"))
        failures += not ok

    # the default running counter: a module left on the CPU (host-side count, no copy) ...
    cpu_counter = simclr_view(224)
    row, bad, out = _warm_call_row("SimCLR Compose: eager, counter on the CPU", lambda: cpu_counter(images))
    rows.append(row)
    failures += bad
    if out is not None:  # 2 calls so far: the second numbered batch .. 2 * batch - 1
        same = torch.equal(out, simclr_view(224)(images, sample_ids=ids + batch))
        rows.append(("graphs", "SimCLR Compose: CPU counter ids == explicit ids", "ok" if same else "FAIL", ""))
        failures += not same
    # ... and a module moved to the GPU (device counter; capturable, replays advance it)
    moved = simclr_view(224).to(device)
    row, bad, _ = _warm_call_row("SimCLR Compose: eager, counter on the GPU", lambda: moved(images))
    rows.append(row)
    failures += bad
    try:
        static_x = images.clone()
        graph, out = capture_graph(lambda: moved(static_x), warmup=2)
        first = int(moved._next_id)
        graph.replay()
        a = out.clone()
        graph.replay()
        expected = simclr_view(224)(images, sample_ids=torch.arange(first + batch, first + 2 * batch,
                                                                     device=device))
        ok = int(moved._next_id) == first + 2 * batch and torch.equal(out, expected) and not torch.equal(a, out)
        rows.append(("graphs", "SimCLR Compose: device counter, capture + 2 replays", "ok" if ok else "FAIL",
                     "counter advances by the batch per replay; replay == eager for those ids"))
    except Exception as exc:  # noqa: BLE001
        ok = False
        rows.append(("graphs", "SimCLR Compose: device counter, capture + 2 replays", "FAIL",
                     f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"))
    failures += not ok
    return rows, failures


# ---------------------------------------------------------------- one big image per family


def _patches(size, p):
    """Top-left corners of p x p patches: corners, centre, edges."""
    last = size - p
    return sorted({(0, 0), (0, last), (last, 0), (last, last), (size // 2, size // 2), (last, size // 3)})


def _boxes(size):
    """Per-sample (top, left, height, width): a tall strip (a large vertical downscale),
    a centred box with fractional corners, a box at the far corner (past 2^31 in sample 2)."""
    strip_w = min(512, size // 2)
    mid = min(1000, size // 2)
    far_h, far_w = min(1800, size // 2), min(2000, size // 2)
    return torch.tensor([[0.0, size / 3, size, strip_w],
                         [size / 2 - mid / 2 + 0.25, size / 2 - mid / 2 + 0.5, mid - 0.5, mid - 0.75],
                         [size - far_h, size - far_w, far_h, far_w]], dtype=torch.float64)


def _regions(x_dev, boxes):
    """(list of float64 unit regions on the CPU, boxes relative to them): the pixels each
    box reads ([floor(pos), ceil(pos + len)) per axis), copied from the device."""
    regions, rel = [], []
    for i, (top, left, h, w) in enumerate(boxes.tolist()):
        y0, x0 = math.floor(top), math.floor(left)
        y1, x1 = math.ceil(top + h), math.ceil(left + w)
        regions.append(R.to_unit(x_dev[i, :, y0:y1, x0:x1].cpu()))
        rel.append([top - y0, left - x0, h, w])
    return regions, torch.tensor(rel, dtype=torch.float64)


def big_rows(device, size, seed=0):
    """One launch per family on a (3, 3, size, size) uint8 batch, spot-checked (see module doc)."""
    if size <= 0:
        return [("big", "all", "skipped", "no size (on the CPU pass --big-size N to run it small)")], 0
    dev = torch.device(device)
    g = torch.Generator(device=dev).manual_seed(seed)
    B, S, p, k = 3, size, min(64, size // 4), 23
    r = k // 2
    x = torch.randint(0, 256, (B, 3, S, S), dtype=torch.uint8, device=dev, generator=g)
    gc = torch.Generator().manual_seed(seed)
    exact = lambda t: t.float().double()  # noqa: E731  (the device gets float32: the same values)
    f = exact(torch.rand(B, generator=gc) * 0.8 + 0.6)
    hue = exact(torch.rand(B, generator=gc) * 0.2 - 0.1)
    sigma = exact(torch.rand(B, generator=gc) * 1.9 + 0.1)
    coin = torch.tensor([True, False, True])
    order = torch.stack([torch.randperm(4, generator=gc) for _ in range(B)])
    ones = torch.ones(B, dtype=torch.float64)
    lam = torch.tensor([0.25, 0.5, 0.875], dtype=torch.float64)
    perm = torch.tensor([2, 1, 0])
    boxes = exact(_boxes(S))
    mean, std = list(IMAGENET_MEAN), list(IMAGENET_STD)
    on = lambda t: t.to(dev)  # noqa: E731
    f32 = lambda t: on(t.float())  # noqa: E731

    def patch(t, b, y, xx, pad=0):
        y0, x0 = max(y - pad, 0), max(xx - pad, 0)
        return t[b, :, y0:min(y + p + pad, S), x0:min(xx + p + pad, S)].cpu(), (y - y0, xx - x0)

    def unit(t, b, y, xx):
        return R.to_unit(patch(t, b, y, xx)[0]).unsqueeze(0)

    def local(out, ref_fn, atol=None):
        """max excess over all patches of all samples: ref_fn(b, y, x) -> (float64 ref (1, C, p, p))."""
        worst = float("-inf")
        for b in range(B):
            for y, xx in _patches(S, p):
                got = out[b:b + 1, :, y:y + p, xx:xx + p].cpu()
                worst = max(worst, max_violation(got, ref_fn(b, y, xx), atol)[0])
        return worst

    def flip_ref(b, y, xx):
        u = unit(x, b, y, S - p - xx) if coin[b] else unit(x, b, y, xx)
        return u.flip(-1) if coin[b] else u

    def jitter_ref(b, y, xx):
        one = lambda v: v[b:b + 1]  # noqa: E731
        return R.color_jitter(unit(x, b, y, xx), one(f), one(ones), one(f.flip(0)), one(hue), order[b:b + 1],
                              True)

    def blur_ref(b, y, xx):
        region, (dy, dx) = patch(x, b, y, xx, pad=r)
        full = R.gaussian_blur(R.to_unit(region).unsqueeze(0), k, sigma[b:b + 1])
        return full[:, :, dy:dy + p, dx:dx + p]

    def mix_ref(b, y, xx):
        w = float(lam[b])
        return w * unit(x, b, y, xx) + (1 - w) * unit(x, int(perm[b]), y, xx)

    cases = [
        ("hflip", lambda: F.hflip(x, on(coin)), lambda out: local(out, flip_ref)),
        ("color_jitter (no contrast)", lambda: F.color_jitter(x, f32(f), 1.0, f32(f.flip(0)), f32(hue), on(order)),
         lambda out: local(out, jitter_ref)),
        (f"gaussian_blur k={k}", lambda: F.gaussian_blur(x, k, f32(sigma)),
         lambda out: local(out, blur_ref)),
        ("normalize", lambda: F.normalize(x, mean, std),
         lambda out: local(out, lambda b, y, xx: R.normalize(unit(x, b, y, xx), mean, std),
                           NORM_ATOL)),
        ("mixup", lambda: F.mixup(x, f32(lam), on(perm)), lambda out: local(out, mix_ref)),
    ]
    crop_kw = dict(flip=coin, brightness=f, contrast=f.flip(0), saturation=f, hue=hue, order=order,
                   grayscale=~coin, blur_kernel=k, blur_sigma=sigma, blur_apply=coin)

    def crop_check(out, fused):
        regions, rel = _regions(x, boxes)
        if fused:
            ref = R.fused_augment(regions, rel, (224, 224), mean=mean, std=std, **crop_kw)
            return max_violation(out.cpu(), ref, NORM_ATOL)[0]
        return max_violation(out.cpu(), R.resized_crop(regions, rel, (224, 224), coin))[0]

    dev_kw = {k_: (f32(v) if v.is_floating_point() else on(v)) if isinstance(v, torch.Tensor) else v
              for k_, v in crop_kw.items()}
    cases += [
        ("resized_crop -> 224", lambda: F.resized_crop(x, f32(boxes), 224, flip=on(coin), out_dtype=torch.float32),
         lambda out: crop_check(out, False)),
        ("fused_augment -> 224", lambda: F.fused_augment(x, f32(boxes), 224, mean=mean, std=std, **dev_kw),
         lambda out: crop_check(out, True)),
    ]
    rows, failures = [], 0
    for name, run, check in cases:
        try:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = run()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            ms = (time.perf_counter() - t0) * 1e3
            worst = check(out)
            del out
            status = "ok" if worst <= 0 else f"FAIL {worst:.2g}"
            detail = f"{ms:.0f} ms (first call); worst excess over tolerance {worst:.2g}"
        except Exception as exc:  # noqa: BLE001
            status, detail = "FAIL", f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
        failures += status != "ok"
        rows.append(("big", f"{name}, 3x3x{S}x{S}", status, detail))
    return rows, failures


# ---------------------------------------------------------------- the test suite's CUDA backend


def pytest_summary(text, returncode, budget_s):
    """(status, detail) of a pytest -q run's output; ``returncode`` None: cut at ``budget_s``."""
    cut = returncode is None
    failed = re.findall(r"^FAILED (\S+)", text, re.M)
    for line in failed[:20]:
        print(f"  pytest FAILED {line}")
    summary = [ln for ln in text.splitlines() if re.search(r"\d+ (passed|failed|error)", ln)]
    if cut:
        progress = "".join(re.sub(r"\s*\[ *\d+%\]$", "", ln.strip()) for ln in text.splitlines()
                           if re.fullmatch(r"[.FEsxX]+(\s+\[ *\d+%\])?", ln.strip()))
        n_pass, n_fail = progress.count("."), progress.count("F") + progress.count("E")
        detail = f"stopped at the {budget_s:.0f} s budget: {n_pass} passed, {n_fail} failed so far"
        status = "ok (partial)" if n_fail == 0 else "FAIL"
    else:
        lines = text.strip().splitlines()
        detail = summary[-1].strip("= ") if summary else (lines[-1] if lines else "no output")
        if returncode == 5:
            detail = "no test selected: " + detail
        status = "ok" if returncode == 0 and not failed else "FAIL"
    return status, detail


def pytest_rows(device, budget_s, selection=("tests", "-k", "cuda")):
    """``pytest <selection>`` in a subprocess, stopped after ``budget_s`` seconds."""
    if torch.device(device).type != "cuda":
        return [("pytest", " ".join(selection), "skipped", "needs CUDA (the suite's CUDA backend)")], 0
    if budget_s < 20:
        return [("pytest", " ".join(selection), "skipped", f"only {budget_s:.0f} s left of the budget")], 0
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--maxfail=20", "-rf", *selection]
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=budget_s)
        text, cut = res.stdout + res.stderr, False
    except subprocess.TimeoutExpired as exc:
        text = (exc.stdout or "") if isinstance(exc.stdout, str) else (exc.stdout or b"").decode(errors="replace")
        cut = True
    status, detail = pytest_summary(text, None if cut else res.returncode, budget_s)
    detail += f" ({time.perf_counter() - t0:.0f} s)"
    return [("pytest", " ".join(selection), status, detail)], int(status == "FAIL")


SECTIONS = ("opcheck", "graphs", "big", "pytest")


def run_sections(device, sections, *, big_size, budget_end, batch=64, opcheck_ops=None):
    """The rows and failure count of the requested sections, in order (pytest last, in the
    time left before ``budget_end``, a time.time() value)."""
    rows, failures = [], 0
    for section in SECTIONS:
        if section not in sections:
            continue
        print(f"== {section}", flush=True)
        if section == "opcheck":
            r, n = opcheck_rows(device, opcheck_ops)
        elif section == "graphs":
            r, n = graph_rows(device, batch)
        elif section == "big":
            r, n = big_rows(device, big_size)
            if torch.device(device).type == "cuda":
                torch.cuda.empty_cache()  # the big batch and its outputs are gone with big_rows' frame
        else:
            r, n = pytest_rows(device, budget_end - time.time())
        for row in r:
            print("  " + " | ".join(row), flush=True)
        rows += r
        failures += n
    return rows, failures


def print_rows(rows):
    print_table(["section", "case", "result", "detail"], rows)
