"""MoCoQueue and MoCHi across torch.distributed ranks (gloo on CPU, spawned processes).

One spawn of 3 ranks (module fixture) runs every multi-process scenario: the
3-rank ones on the default group, the 2-rank ones on the subgroup {0, 1}
given as ``process_group=`` (rank 2 sits those out). Each rank saves what it
ended with; the tests compare the ranks with each other and with a
single-process MoCoQueue / MoCHi fed the same global batches (the rank-order
concatenation). A hang fails the fixture after DEADLINE seconds (the gloo
timeout inside the ranks is shorter).
"""
import datetime
import os
import time

import pytest
import torch
import torch.distributed as dist

from datagen_gpu.transforms import MoCHi, MoCoQueue

WORLD, DIM, SIZE, DEADLINE = 3, 8, 20, 90
# per-step batch sizes per rank (rank 0, 1, 2); global 9 does not divide 20; 21 > 20 keeps the last 20
EQUAL3 = [(3, 3, 3)] * 4 + [(7, 7, 7)]
UNEQUAL3 = [(3, 1, 2), (0, 4, 0), (2, 2, 2), (0, 0, 0), (5, 7, 11), (1, 0, 3)]
EQUAL2 = [(3, 3)] * 3 + [(13, 13)]
UNEQUAL2 = [(3, 0), (1, 4), (0, 0), (9, 15), (2, 5)]
MOCHI = dict(n_hard=7, n_mix=5, n_mix_query=3, temperature=0.1, seed=3)
QUERIES = 6  # global batch of queries for the MoCHi check, split evenly over the ranks


def keys_for(name, step, rank, n, dtype=torch.float32):
    """Rank ``rank``'s keys at ``step`` of scenario ``name``: the same in every process."""
    seed = (sum(map(ord, name)) * 1000 + step * 10 + rank) % 2**31
    keys = torch.randn(n, DIM, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return torch.nn.functional.normalize(keys, dim=1).to(dtype)


def global_batches(name, sizes, dtype=torch.float32):
    return [torch.cat([keys_for(name, step, r, n, dtype) for r, n in enumerate(row)])
            for step, row in enumerate(sizes)]


def queries():
    g = torch.Generator().manual_seed(11)
    q = torch.nn.functional.normalize(torch.randn(QUERIES, DIM, generator=g), dim=1)
    k = torch.nn.functional.normalize(torch.randn(QUERIES, DIM, generator=g), dim=1)
    return q, k


def _feed(name, sizes, rank, dtype=torch.float32, **kwargs):
    queue = MoCoQueue(DIM, SIZE, dtype=dtype, **kwargs)
    for step, row in enumerate(sizes):
        queue.enqueue(keys_for(name, step, rank, row[rank], dtype))
    return {"queue": queue.queue.clone(), "ptr": queue.ptr.clone()}, queue


def _mochi(queue, rank, world):
    q, k = queries()
    rows = slice(rank * QUERIES // world, (rank + 1) * QUERIES // world)
    (logits, _), params = MoCHi(**MOCHI)(q[rows], k[rows], queue, sample_ids=torch.arange(QUERIES)[rows] + 100,
                                         return_params=True)
    return {"logits": logits, **params}


def _worker(rank, init_file, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD,
                            timeout=datetime.timedelta(seconds=45))
    pair = dist.new_group([0, 1])  # every rank must create it
    res = {}
    res["equal3"], queue3 = _feed("equal3", EQUAL3, rank)
    res["mochi3"] = _mochi(queue3, rank, WORLD)
    res["equal3_bf16"], _ = _feed("bf16", EQUAL3[:2], rank, torch.bfloat16)
    res["unequal3"], _ = _feed("unequal3", UNEQUAL3, rank, equal_batches=False)
    # invalid keys on rank 1 only: every rank raises, nobody hangs, the group stays usable
    queue = MoCoQueue(DIM, SIZE, equal_batches=False)
    try:
        queue.enqueue(torch.zeros(2, DIM - 1) if rank == 1 else torch.zeros(2, DIM))
        res["invalid3"] = "no error"
    except ValueError as e:
        res["invalid3"] = str(e)
    res["invalid3_ptr"] = int(queue.ptr)
    if rank == 2:
        try:
            MoCoQueue(DIM, SIZE, process_group=pair).enqueue(torch.zeros(1, DIM))
            res["not_member"] = "no error"
        except RuntimeError as e:
            res["not_member"] = str(e)
    else:
        res["equal2"], queue2 = _feed("equal2", EQUAL2, rank, process_group=pair)
        res["mochi2"] = _mochi(queue2, rank, 2)
        res["unequal2"], _ = _feed("unequal2", UNEQUAL2, rank, process_group=pair, equal_batches=False)
    dist.barrier()
    torch.save(res, os.path.join(out_dir, f"rank{rank}.pt"))
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Spawn WORLD gloo ranks once; returns each rank's results."""
    import torch.multiprocessing as mp

    out = tmp_path_factory.mktemp("dist")
    ctx = mp.start_processes(_worker, args=(str(out / "init"), str(out)), nprocs=WORLD, join=False,
                             start_method="spawn")
    deadline = time.monotonic() + DEADLINE
    try:
        while not ctx.join(timeout=max(deadline - time.monotonic(), 0.1)):
            if time.monotonic() > deadline:
                pytest.fail(f"distributed ranks did not finish within {DEADLINE} s (hang?)")
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.terminate()
                p.join(5)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]


def reference(name, sizes, dtype=torch.float32):
    queue = MoCoQueue(DIM, SIZE, dtype=dtype)
    for batch in global_batches(name, sizes, dtype):
        queue.enqueue(batch)
    return queue


@pytest.mark.parametrize("scenario, sizes, world", [
    ("equal3", EQUAL3, 3), ("unequal3", UNEQUAL3, 3), ("equal2", EQUAL2, 2), ("unequal2", UNEQUAL2, 2)])
def test_queues_identical_and_equal_to_single_process(ranks, scenario, sizes, world):
    ref = reference(scenario, sizes)
    assert sum(map(sum, sizes)) % SIZE != 0 and max(map(sum, sizes)) > SIZE  # wraps, and overflows once
    for r in range(world):
        assert torch.equal(ranks[r][scenario]["queue"], ref.queue), f"rank {r}"
        assert ranks[r][scenario]["ptr"].item() == ref.ptr.item()
        assert not ranks[r][scenario]["queue"].requires_grad


def test_bfloat16_queue_gathered_in_its_dtype(ranks):
    ref = reference("bf16", EQUAL3[:2], torch.bfloat16)
    for r in range(WORLD):
        assert ranks[r]["equal3_bf16"]["queue"].dtype == torch.bfloat16
        assert torch.equal(ranks[r]["equal3_bf16"]["queue"], ref.queue)


def test_invalid_keys_on_one_rank_raise_on_every_rank(ranks):
    for r in range(WORLD):
        assert ranks[r]["invalid3"].startswith("keys:"), ranks[r]["invalid3"]
        assert ranks[r]["invalid3_ptr"] == 0  # nothing written
    assert "(2, 7)" in ranks[1]["invalid3"] and "rank(s) [1]" in ranks[0]["invalid3"]


def test_rank_outside_the_group_refuses(ranks):
    assert "not a member" in ranks[2]["not_member"]


@pytest.mark.parametrize("world", [2, 3])
def test_mochi_logits_do_not_depend_on_world_size(ranks, world):
    q, k = queries()
    queue = reference(f"equal{world}", EQUAL3 if world == 3 else EQUAL2)
    (logits, _), params = MoCHi(**MOCHI)(q, k, queue, sample_ids=torch.arange(QUERIES) + 100, return_params=True)
    assert logits.shape[1] == 1 + SIZE + MOCHI["n_mix"] + MOCHI["n_mix_query"]
    got = {key: torch.cat([ranks[r][f"mochi{world}"][key] for r in range(world)]) for key in ("logits", *params)}
    for key in params:
        assert torch.equal(got[key], params[key]), key
    # same queue, same draws; only the (B, D) x (D, K) matmul may round differently at another batch size
    torch.testing.assert_close(got["logits"], logits, atol=1e-6, rtol=1e-6)


def test_single_process_makes_no_collective(monkeypatch):
    assert not dist.is_initialized()

    def forbidden(*args, **kwargs):
        raise AssertionError("collective called in a single process")

    for name in ("all_gather_into_tensor", "all_gather_single", "all_gather", "get_world_size"):
        if hasattr(dist, name):
            monkeypatch.setattr(dist, name, forbidden)
    for equal in (True, False):
        queue = MoCoQueue(DIM, SIZE, equal_batches=equal)
        queue.enqueue(keys_for("single", 0, 0, 7))
        assert queue.ptr.item() == 7
    with pytest.raises(TypeError, match="equal_batches"):
        MoCoQueue(DIM, SIZE, equal_batches=1)


def test_state_dict_resumes_queue_and_mochi_warmup():
    batches = global_batches("resume", [(7,), (9,), (5,), (11,)])
    full = MoCoQueue(DIM, SIZE)
    for b in batches:
        full.enqueue(b)
    first = MoCoQueue(DIM, SIZE)
    for b in batches[:2]:
        first.enqueue(b)
    state = first.state_dict()
    assert set(state) == {"queue", "ptr"} and state["ptr"].item() == 16
    resumed = MoCoQueue(DIM, SIZE, seed=5)  # another start: everything comes from the state
    resumed.load_state_dict(state)
    for b in batches[2:]:
        resumed.enqueue(b)
    assert torch.equal(resumed.queue, full.queue) and resumed.ptr.item() == full.ptr.item()

    q, k = queries()
    kw = dict(MOCHI, warmup_steps=2)
    mochi = MoCHi(**kw)
    assert mochi(q, k, full)[0].shape[1] == 1 + SIZE  # the first warm-up call
    state = mochi.state_dict()
    assert state["_extra_state"]["steps"] == 1
    again = MoCHi(**kw)
    again.load_state_dict(state)
    assert again.steps == 1
    assert again(q, k, full)[0].shape[1] == 1 + SIZE  # the second warm-up call
    assert again(q, k, full)[0].shape[1] == 1 + SIZE + 8  # mixing from step 2, as without the restart
    # the base class's extra state (its running sample counter, if it has one) travels along with ours
    extra = again.state_dict()["_extra_state"]
    assert extra["steps"] == 3
    fresh = MoCHi(**kw)
    fresh.load_state_dict(again.state_dict())
    assert fresh.get_extra_state() == extra and fresh.steps == 3
    if "next_id" in extra:
        assert extra["next_id"] == QUERIES and int(fresh._next_id) == QUERIES
    with pytest.raises(ValueError, match="steps"):
        again.set_extra_state({"next_id": 0})
