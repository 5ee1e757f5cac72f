"""The launch recorder (datagen_gpu/kernels/_record.py) and a quick run of
benchmarks/compile_check.py (a few variants compiled for sm_90a, no GPU needed)."""
import json
import os
import sys

import _backends  # noqa: F401  (TRITON_INTERPRET before triton is imported)
import pytest
import torch

pytest.importorskip("triton")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import compile_check as cc  # noqa: E402

import datagen_gpu.functional as F  # noqa: E402
from datagen_gpu.kernels._record import meta_like, ops_to_launchers, record_launches  # noqa: E402


def _record(fn):
    with ops_to_launchers(), record_launches(execute=False) as launches:
        fn()
    return launches


def test_specialization_like_the_jit():
    """Types from dtypes and int values; ints equal to 1 become constexprs; ints and
    addresses divisible by 16 get the divisibility attribute; constexprs are kept."""
    x = meta_like((2, 3, 32, 48), torch.uint8)
    (launch,) = _record(lambda: F.hflip(x, torch.ones(2, dtype=torch.bool, device="meta"),
                                        out_dtype=torch.bfloat16))
    assert launch.short_name == "_hflip_kernel"
    sig, attrs, consts = launch.signature, launch.attrs, launch.constexprs
    assert sig["src"] == "*u8" and sig["dst"] == "*bf16" and sig["apply"] == "*u1"
    assert sig["C"] == "i32" and attrs["C"] == ""  # 3
    assert attrs["H"] == "D" and attrs["W"] == "D" and attrs["src"] == "D"  # 32, 48, aligned
    assert sig["s_w"] == "constexpr" and consts["s_w"] == 1  # contiguous: unit stride
    assert consts["BLOCK_W"] == 64
    assert launch.resolved["num_warps"] == 4
    assert launch.grid[0] >= 1 and len(launch.grid) == 3


def test_misaligned_pointer_and_wide_ints():
    """A view at an odd storage offset is not 16-byte aligned; ints past 2^31 are i64."""
    x = meta_like((1, 3, 17, 29), torch.uint8, strides=(3 * 17 * 29, 17 * 29, 29, 1), offset=1)
    (launch,) = _record(lambda: F.hflip(x, True))
    assert launch.attrs["src"] == "" and launch.attrs["dst"] == "D"
    assert launch.attrs["H"] == "" and launch.signature["C"] == "i32"
    launches = _record(lambda: torch.ops.datagen_gpu.random_bits(
        torch.empty(4, dtype=torch.int64, device="meta"), 0xDEADBEEF, 3))
    assert launches[0].signature["key"] == "i64"


def test_execute_false_runs_nothing_and_huge_inputs_are_free():
    x = meta_like((512, 3, 4096, 4096), torch.float32, channels_last=True)  # 100 GB if real
    launches = _record(lambda: F.normalize(x, [0.5] * 3, [0.25] * 3))
    assert [l.short_name for l in launches] == ["_normalize_kernel"]


def test_execute_true_records_and_runs():
    device = "cuda" if torch.cuda.is_available() else "cpu"  # CPU: the interpreter
    x = torch.rand(2, 3, 5, 7, device=device)
    apply = torch.tensor([True, False], device=device)
    from datagen_gpu.kernels import triton_launcher

    with record_launches(execute=True) as launches:
        y = triton_launcher("hflip")(x, apply, torch.float32)
    assert len(launches) == 1 and launches[0].short_name == "_hflip_kernel"
    torch.testing.assert_close(y[0], x[0].flip(-1))
    torch.testing.assert_close(y[1], x[1])
    with record_launches(execute=False):
        pass
    y2 = triton_launcher("hflip")(x, apply, torch.float32)  # unpatched again
    torch.testing.assert_close(y2, y)


def test_every_launcher_is_covered_and_recordable():
    """Every op of LAUNCHERS is called by some case, every case records (nothing runs)."""
    case_list = cc.cases()
    assert len({c.name for c in case_list}) == len(case_list), "case names must be unique"
    called = set()
    records, errors = cc.record(case_list, called)
    assert not errors
    assert cc.uncovered(called) == []
    assert len(cc.dedup(records)) > 100


def test_quick_compile(tmp_path):
    out = tmp_path / "cc.json"
    md = tmp_path / "cc.md"
    rc = cc.main(["--quick", "--targets", "90a", "--jobs", "2", "--json", str(out), "--markdown", str(md)])
    report = json.loads(out.read_text())
    assert rc == 0, report["summary"]
    assert report["specializations"] >= 3 and report["failures"] == 0
    assert report["targets"] == ["sm_90a"]
    for row in report["variants"]:
        assert row["ok"] and row["regs"] > 0 and row["spills"] == 0 and row["warps"] >= 1
    assert "specializations x 1 targets compiled, 0 failures" in md.read_text()
