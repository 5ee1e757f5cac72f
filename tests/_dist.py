"""Running a function on N gloo ranks in spawned processes, with a timeout (a hang fails)."""
import multiprocessing
import os
import socket
import traceback

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(rank, world, port, fn, args, errors):
    import torch
    import torch.distributed as dist
    torch.set_num_threads(1)
    try:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
        try:
            fn(rank, world, *args)
        finally:
            dist.destroy_process_group()
    except BaseException:  # noqa: BLE001
        errors.put((rank, traceback.format_exc()))
        raise


def run_ranks(world: int, fn, *args, timeout: float = 120.0) -> None:
    """Runs ``fn(rank, world, *args)`` on ``world`` gloo ranks; fails on an error or a timeout."""
    ctx = multiprocessing.get_context("spawn")
    errors = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=_entry, args=(r, world, port, fn, args, errors)) for r in range(world)]
    env_before = os.environ.get("TRITON_INTERPRET")
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout)
    hung = [p for p in procs if p.is_alive()]
    for p in hung:
        p.terminate()
        p.join(5)
    msgs = []
    while not errors.empty():
        msgs.append("rank %d:\n%s" % errors.get())
    if hung:
        pytest.fail(f"{len(hung)} of {world} ranks still running after {timeout} s (a hang)\n" + "\n".join(msgs))
    if msgs or any(p.exitcode != 0 for p in procs):
        pytest.fail("a rank failed:\n" + "\n".join(msgs))
    assert env_before == os.environ.get("TRITON_INTERPRET")
