"""The MoCo queue's key gather across ranks: gloo all_gather_into_tensor on CPU.

Each of ``world`` spawned ranks contributes ``global_batch // world`` keys of
``dim`` features and receives everyone's (what ``MoCoQueue.enqueue`` does per
step under torch.distributed). Timed per call, after a barrier, as the
slowest rank's time (the gather is done when the last rank has its data);
median and min over ``repeats`` calls, after two warm-up calls. Also timed:
the whole ``MoCoQueue.enqueue`` (gather + ring-buffer write into a
K = 65536 queue), with ``equal_batches=True`` (one collective) and ``False``
(the size exchange first, then the gather).

    python benchmarks/bench_queue_gather.py [--ranks 2 3] [--global-batch 4096] [--dim 128]

Results and the NCCL estimates: docs/distributed.md ("Communication cost").
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from datagen_gpu.transforms import MoCoQueue  # noqa: E402

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
QUEUE_SIZE = 65536


def _time(fn, repeats):
    """Per-call seconds, each the slowest rank's."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        dist.barrier()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times = torch.tensor(times, dtype=torch.float64)
    dist.all_reduce(times, op=dist.ReduceOp.MAX)
    return times.tolist()


def _rank(rank, world, init_file, out_file, global_batch, dim, dtypes, repeats):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=120))
    gather = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor
    local = global_batch // world
    rows = []
    for name in dtypes:
        dtype = DTYPES[name]
        keys = torch.nn.functional.normalize(torch.randn(local, dim), dim=1).to(dtype)
        out = torch.empty(world * local, dim, dtype=dtype)
        row = {"world": world, "dtype": name, "local": local, "dim": dim,
               "bytes_in": keys.numel() * keys.element_size(), "bytes_out": out.numel() * out.element_size()}
        row["gather"] = _time(lambda: gather(out, keys), repeats)
        for equal in (True, False):
            queue = MoCoQueue(dim, QUEUE_SIZE, dtype=dtype, equal_batches=equal)
            row["enqueue" if equal else "enqueue_unequal"] = _time(lambda: queue.enqueue(keys), repeats)
        rows.append(row)
    if rank == 0:
        with open(out_file, "w") as f:
            json.dump(rows, f)
    dist.destroy_process_group()


def measure(world, global_batch=4096, dim=128, dtypes=("float32", "bfloat16"), repeats=7, timeout=300):
    """Spawn ``world`` gloo ranks and time the gather; a list of rows, one per dtype."""
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, "result.json")
        ctx = mp.start_processes(_rank, args=(world, os.path.join(tmp, "init"), out_file, global_batch, dim,
                                              list(dtypes), repeats),
                                 nprocs=world, join=False, start_method="spawn")
        deadline = time.monotonic() + timeout
        try:
            while not ctx.join(timeout=max(deadline - time.monotonic(), 0.1)):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{world} ranks did not finish within {timeout} s")
        finally:
            for p in ctx.processes:
                if p.is_alive():
                    p.terminate()
                    p.join(5)
        with open(out_file) as f:
            return json.load(f)


def _ms(times, how=statistics.median):
    return f"{how(times) * 1e3:.2f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--global-batch", type=int, default=4096)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    rows = [row for world in args.ranks for row in measure(world, args.global_batch, args.dim, repeats=args.repeats)]
    print(f"gloo all_gather_into_tensor on CPU, global batch {args.global_batch}, D = {args.dim}, "
          f"median (min) of {args.repeats} calls, ms; torch {torch.__version__}, {os.cpu_count()} CPUs")
    print("| ranks | dtype | B_local | sent / rank | received / rank | gather | enqueue | enqueue, unequal |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        received = r["bytes_out"] - r["bytes_in"]
        cells = [f"{_ms(r[k])} ({_ms(r[k], min)})" for k in ("gather", "enqueue", "enqueue_unequal")]
        print(f"| {r['world']} | {r['dtype']} | {r['local']} | {r['bytes_in'] / 2**10:.0f} KiB | "
              f"{received / 2**10:.0f} KiB | " + " | ".join(cells) + " |")
    return rows


def test_bench_queue_gather_small():
    rows = measure(2, global_batch=16, dim=8, dtypes=("float32", "bfloat16"), repeats=2, timeout=90)
    assert [r["dtype"] for r in rows] == ["float32", "bfloat16"]
    assert rows[0]["bytes_in"] == 8 * 8 * 4 and rows[1]["bytes_out"] == 16 * 8 * 2
    assert all(len(r["gather"]) == 2 and min(r["enqueue"]) > 0 for r in rows)


if __name__ == "__main__":
    main()
