"""Codegen of the MoCHi Triton kernels for sm_90, before and after issue 12.

No GPU needed: the real launchers run on meta tensors with every ``kernel[grid]``
call recorded instead of launched; each recorded launch is specialized by
Triton's own binder for a CUDA target (ints equal to 1 become constexprs,
ints and pointers divisible by 16 get ``tt.divisibility``, as on a GPU) and
compiled with ``triton.compile(ASTSource(...), target=GPUTarget("cuda", 90, 32))``.
Reported per kernel: registers and spills (bundled ``ptxas -v``), the global
loads of the PTX by vector width (``ld.global.v4`` is a 16-byte load: the sign
of contiguous, coalesced rows), the SASS 128-bit loads (``LDG.E.128``), and
the SASS instructions of the backward's loop over synthetic points (one
iteration = 16 synthetic points of one query; an inner loop counted once,
which at D = 128 is one iteration); the other kernels' loops too.

"before" is ``datagen_gpu/kernels/mochi.py`` as of ``BEFORE_REV`` (read with
``git show``), "after" the working tree. Both queue layouts: row-major (K, D)
(MoCoQueue's) and MoCo's (D, K) buffer passed as ``queue.T`` (strides (1, K)).

    python benchmarks/mochi_codegen.py                 # B=256 D=128 K=65536 N=1024 s=s'=256
    python benchmarks/mochi_codegen.py --D 512 --dtype float16
"""
import argparse
import contextlib
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

if "triton" not in sys.modules:
    os.environ.pop("TRITON_INTERPRET", None)  # compile real kernels, not the interpreter's
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # Triton 3.9's default, without its warning
import triton  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.compiler import ASTSource, make_backend  # noqa: E402
from triton.runtime.jit import JITFunction, create_function_from_signature  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import datagen_gpu.kernels  # noqa: E402,F401  (parent package of the loaded kernel modules)

KERNEL_FILE = "datagen_gpu/kernels/mochi.py"
BEFORE_REV = "69c38d56959568a7289514f28d6bb70830e68a54"  # last commit with the issue-12 kernels
TARGET = GPUTarget("cuda", 90, 32)


@contextlib.contextmanager
def _compiling():
    """Real JIT functions (not the interpreter's) while loading and compiling."""
    with triton.knobs.runtime.scope():
        triton.knobs.runtime.interpret = False
        yield


def load_kernels(source, tag):
    """Import kernel source text as ``datagen_gpu.kernels._mochi_<tag>`` with JIT kernels."""
    tmp = tempfile.NamedTemporaryFile("w", suffix=".py", prefix=f"mochi_{tag}_", delete=False)
    with tmp:
        tmp.write(source)
    spec = importlib.util.spec_from_file_location(f"datagen_gpu.kernels._mochi_{tag}", tmp.name)
    module = importlib.util.module_from_spec(spec)
    with _compiling():
        spec.loader.exec_module(module)  # triton.jit reads the source from the file here
    os.unlink(tmp.name)
    return module


def source_at(rev):
    return subprocess.run(["git", "show", f"{rev}:{KERNEL_FILE}"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout


def record(module, launcher, *args):
    """Run ``module.<launcher>(*args)`` with every kernel launch recorded, not run."""
    launches = []

    class Recorder:
        def __init__(self, fn):
            self.fn = fn

        def __getitem__(self, grid):
            return lambda *a, **kw: launches.append((self.fn, grid, a, kw))

    kernels = {k: v for k, v in vars(module).items() if isinstance(v, JITFunction) and k.endswith("_kernel")}
    try:
        for k, v in kernels.items():
            setattr(module, k, Recorder(v))
        getattr(module, launcher)(*args)
    finally:
        for k, v in kernels.items():
            setattr(module, k, v)
    return launches


def compile_launch(fn, args, kwargs):
    """Compile one recorded launch as the JIT would on an sm_90 GPU."""
    backend = make_backend(TARGET)
    binder = create_function_from_signature(fn.signature, fn.params, backend)
    with _compiling():
        bound, specialization, options = binder(*args, **kwargs)
        options, signature, constexprs, attrs = fn._pack_args(backend, kwargs, bound, specialization, options)
        return triton.compile(ASTSource(fn, signature, constexprs, attrs), target=TARGET, options=options.__dict__)


def _tool(name):
    return getattr(triton.knobs.nvidia, name).path


def ptxas_info(ptx, arch="sm_90a"):
    """(registers, spill stores + loads bytes, SASS text) from the bundled ptxas and cuobjdump."""
    with tempfile.TemporaryDirectory() as d:
        src, obj = os.path.join(d, "k.ptx"), os.path.join(d, "k.cubin")
        Path(src).write_text(ptx)
        log = subprocess.run([_tool("ptxas_blackwell"), "-v", "--regAllocOptLevel=2", f"--gpu-name={arch}", src,
                              "-o", obj], check=True, capture_output=True, text=True).stderr
        sass = subprocess.run([_tool("cuobjdump"), "-sass", obj], check=True, capture_output=True, text=True).stdout
    regs = int(re.search(r"Used (\d+) registers", log).group(1))
    spills = sum(int(x) for x in re.findall(r"(\d+) bytes spill (?:stores|loads)", log))
    return regs, spills, sass


def ptx_memory(ptx, op="ld"):
    """Global loads (op="ld") or stores ("st") of the PTX by vector width: {'v4': n, 'v2': n, 'scalar': n}."""
    counts = {"v4": 0, "v2": 0, "scalar": 0}
    for ins in re.findall(rf"^\s*(?:@!?%p\d+\s+)?({op}\.global[\w.:]*)", ptx, re.M):
        width = re.search(r"\.(v[24])\.", ins)
        counts[width.group(1) if width else "scalar"] += 1
    return counts


_SASS = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(.*?);")


def sass_instructions(sass):
    """[(address, text)] of the SASS instructions."""
    return [(int(a, 16), t.strip()) for a, t in _SASS.findall(sass)]


def sass_loads(sass):
    """(128-bit, narrower) LDG instructions."""
    ldg = [t for _, t in sass_instructions(sass) if re.search(r"\bLDG\b", t)]
    wide = sum(".128" in t for t in ldg)
    return wide, len(ldg) - wide


def loops(sass):
    """Loops of the SASS as nested (instructions, [inner loops]) lists, from the backward branches
    (a branch to a lower address closes a loop whose body starts at the target)."""
    ins = sass_instructions(sass)
    spans = set()
    for addr, text in ins:
        m = re.search(r"\bBRA\b.*?(0x[0-9a-f]+)", text)
        if m and int(m.group(1), 16) < addr:
            spans.add((int(m.group(1), 16), addr))

    def tree(lo, hi):
        inside = [sp for sp in spans if lo <= sp[0] and sp[1] <= hi and sp != (lo, hi)]
        top = [sp for sp in inside if not any(o != sp and o[0] <= sp[0] and sp[1] <= o[1] for o in inside)]
        return [(sum(1 for a, _ in ins if a0 <= a <= a1), tree(a0, a1)) for a0, a1 in sorted(top)]

    return tree(-1, float("inf"))


def loops_text(tree):
    """'672 [180]': a loop of 672 SASS instructions holding one of 180."""
    return " ".join(f"{n}" + (f" [{loops_text(inner)}]" if inner else "") for n, inner in tree)


def meta_inputs(B, D, K, N, S1, S2, dtype, layout):
    meta = dict(device="meta")
    q = torch.empty(B, D, dtype=dtype, **meta)
    queue = torch.empty(K, D, dtype=dtype, **meta) if layout == "row-major" else \
        torch.empty(D, K, dtype=dtype, **meta).t()
    return (q, queue, torch.empty(B, N, dtype=torch.int64, **meta), torch.empty(B, S1, 2, dtype=torch.int64, **meta),
            torch.empty(B, S1, **meta), torch.empty(B, S2, dtype=torch.int64, **meta), torch.empty(B, S2, **meta))


_SHORT = {"_mochi_logits_kernel": "logits", "_mochi_negatives_kernel": "negatives",
          "_mochi_logits_backward_kernel": "backward", "_mochi_backward_coef_kernel": "backward coef",
          "_mochi_transpose_kernel": "transpose copy"}


def codegen(B=256, D=128, K=65536, N=1024, S1=256, S2=256, dtype=torch.float32, before_rev=BEFORE_REV,
            layouts=("row-major", "(D, K).T"), ops=("mochi_logits", "mochi_negatives", "mochi_logits_backward")):
    """One row per compiled kernel: version, layout, op, kernel and the codegen numbers."""
    versions = {"after": load_kernels((ROOT / KERNEL_FILE).read_text(), "after")}
    if before_rev:
        versions = {"before": load_kernels(source_at(before_rev), "before"), **versions}
    rows = []
    for version, module in versions.items():
        for layout in layouts:
            args = meta_inputs(B, D, K, N, S1, S2, dtype, layout)
            for op in ops:
                extra = {"mochi_logits": (0.2,), "mochi_negatives": (), "mochi_logits_backward": (0.2,)}[op]
                pre = (torch.empty(B, S1 + S2, dtype=dtype, device="meta"),) if op == "mochi_logits_backward" else ()
                for fn, grid, a, kw in record(module, op, *pre, *args, *extra):
                    k = compile_launch(fn, a, kw)
                    ptx = k.asm["ptx"]
                    regs, spills, sass = ptxas_info(ptx)
                    loads, stores = ptx_memory(ptx, "ld"), ptx_memory(ptx, "st")
                    wide, narrow = sass_loads(sass)
                    rows.append(dict(version=version, layout=layout, op=op.replace("mochi_", ""),
                                     kernel=_SHORT.get(fn.__name__, fn.__name__), grid=tuple(grid), regs=regs,
                                     spills=spills, ld_v4=loads["v4"], ld_v2=loads["v2"], ld_scalar=loads["scalar"],
                                     ldg128=wide, ldg_narrow=narrow, st_v4=stores["v4"],
                                     st_narrow=stores["v2"] + stores["scalar"], shared=k.metadata.shared,
                                     sass=len(sass_instructions(sass)), loops=loops_text(loops(sass))))
    return rows


def format_table(rows):
    head = ["version", "queue", "op", "kernel", "grid", "regs", "spill B", "ld.v4", "ld.v2", "ld.scalar",
            "LDG.128", "LDG<128", "st.v4/other", "smem B", "SASS", "loops (SASS)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        vals = [r["version"], r["layout"], r["op"], r["kernel"], "x".join(map(str, r["grid"])), r["regs"],
                r["spills"], r["ld_v4"], r["ld_v2"], r["ld_scalar"], r["ldg128"], r["ldg_narrow"],
                f"{r['st_v4']}/{r['st_narrow']}", r["shared"], r["sass"],
                r["loops"]]
        lines.append("| " + " | ".join(map(str, vals)) + " |")
    return "\n".join(lines)


def test_codegen_tiny():
    """Tiny shapes, after only: every kernel compiles for sm_90 without spills, and with the
    transposed queue gathering >= K rows the launchers copy it and gather with 16-byte loads.
    In a process whose triton was imported under TRITON_INTERPRET=1 (its own library functions,
    tl.sum included, are then interpreter functions and cannot compile) it runs in a subprocess."""
    if not isinstance(triton.language.standard.sum, JITFunction):
        env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
        subprocess.run([sys.executable, __file__, "--tiny"], check=True, env=env, cwd=ROOT)
        return None
    rows = codegen(B=4, D=32, K=16, N=8, S1=3, S2=2, before_rev=None, layouts=("(D, K).T",),
                   ops=("mochi_logits", "mochi_logits_backward"))
    kernels = [r["kernel"] for r in rows]
    assert kernels == ["transpose copy", "logits", "transpose copy", "backward"], kernels
    for r in rows:
        assert r["spills"] == 0 and r["regs"] > 0, r
        assert r["ld_v4"] > 0 and r["ldg128"] > 0, r
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (("B", 256), ("D", 128), ("K", 65536), ("N", 1024), ("s", 256), ("s2", 256)):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--dtype", default="float32", choices=["float16", "bfloat16", "float32", "float64"])
    p.add_argument("--before", default=BEFORE_REV, help="git revision of the 'before' kernels ('' to skip)")
    p.add_argument("--tiny", action="store_true", help="run test_codegen_tiny and print its table")
    a = p.parse_args(argv)
    if a.tiny:
        print(format_table(test_codegen_tiny()))
        return
    rows = codegen(a.B, a.D, a.K, a.N, a.s, a.s2, getattr(torch, a.dtype), a.before or None)
    print(f"sm_90 codegen, B={a.B} D={a.D} K={a.K} N={a.N} s={a.s} s'={a.s2} {a.dtype} "
          f"(triton {triton.__version__})")
    print(format_table(rows))


if __name__ == "__main__":
    main()
