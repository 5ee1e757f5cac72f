"""Every peer's version of every pipeline builds and produces ours' kind of output, or says why not;
the timing harness; the per-image worker pool. Tiny sizes, no timing assertions."""
import time

import pytest
import torch

from datagen_gpu.bench import cases, peers, timing
from datagen_gpu.bench.cases import Settings, Unavailable
from datagen_gpu.bench.inputs import image_batch, shapes, tensor_bytes
from datagen_gpu.bench.peers_audio import torch_mixup, torch_specaugment
from datagen_gpu.bench.peers_workers import WorkerPool
from datagen_gpu.bench.run import build_all

SETTINGS = Settings(device="cpu", batch=2, size=24, source="procedural", threads=1)
_OURS = {}


def _ours_output(pipeline):
    if pipeline.name not in _OURS:
        try:
            transform = pipeline.ours(SETTINGS)
        except Unavailable:
            _OURS[pipeline.name] = None
        else:
            _OURS[pipeline.name] = shapes(cases.call(transform, pipeline.make_inputs(SETTINGS)))
    return _OURS[pipeline.name]


@pytest.mark.parametrize("peer,name", [(peer, name) for name, p in cases.PIPELINES.items() for peer in peers.PEERS
                                       if peers.applies(peer, p)])
def test_peer_matches_ours_or_says_why(peer, name):
    pipeline = cases.PIPELINES[name]
    inputs = pipeline.make_inputs(SETTINGS)
    try:
        built = peers.build(peer, pipeline, inputs, SETTINGS)
    except Unavailable as e:
        assert str(e)
        pytest.skip(f"{peer}/{name}: {e}")
    try:
        out = built.run()
        want = _ours_output(pipeline)
        if want is None:  # no preset here: the peer's output still has the pipeline's shape
            want = ((SETTINGS.batch, 3, SETTINGS.size, SETTINGS.size), "float32")
        assert shapes(out) == want
        assert all(torch.isfinite(t).all() for t in (out if isinstance(out, tuple) else (out,))
                   if t.is_floating_point())
    finally:
        close = getattr(built.run, "close", None)
        if close:
            close()


def test_views_peers_normalize_like_ours():
    """Normalized outputs of the SimCLR view stay in the ImageNet-normalized range for every peer."""
    lo = (0 - max(cases.IMAGENET_MEAN)) / min(cases.IMAGENET_STD) - 1e-3
    hi = (1 - min(cases.IMAGENET_MEAN)) / min(cases.IMAGENET_STD) + 1e-3
    pipeline = cases.PIPELINES["simclr"]
    built, _ = build_all(pipeline, pipeline.make_inputs(SETTINGS), SETTINGS, list(peers.PEERS), lambda m: None)
    try:
        for name, b in built.items():
            for view in b.run():
                assert lo <= float(view.min()) and float(view.max()) <= hi, name
    finally:
        for b in built.values():
            getattr(b.run, "close", lambda: None)()


def test_torch_specaugment_fills_masks_with_the_sample_mean():
    torch.manual_seed(0)
    x = torch.randn(3, 40, 300)
    y = torch_specaugment(x)
    changed = y != x
    assert changed.any() and not changed.all()
    means = x.mean((1, 2))
    for b in range(3):
        assert torch.allclose(y[b][changed[b]], means[b].expand(int(changed[b].sum())))


def test_torch_mixup_targets_are_convex_and_smoothed():
    torch.manual_seed(0)
    x, y = torch.rand(6, 3, 16, 16), torch.randint(0, 1000, (6,))
    out, target = torch_mixup(x, y)
    assert out.shape == x.shape and target.shape == (6, 1000)
    assert torch.allclose(target.sum(1), torch.ones(6)) and float(target.min()) > 0


def test_worker_pool_collates_views_in_order():
    items = [torch.full((1, 2, 2), float(i)) for i in range(5)]
    pool = WorkerPool(lambda: (lambda t: (t * 2, t + 1)), items, workers=2)
    try:
        a, b = pool()
    finally:
        pool.close()
    assert torch.equal(a[:, 0, 0, 0], torch.arange(5.0) * 2) and torch.equal(b[:, 0, 0, 0], torch.arange(5.0) + 1)


def test_interleaved_times_callables_and_streams():
    calls = []

    def stream():
        while True:
            calls.append("s")
            yield 1
    progress = type("P", (), {"total": 0.0, "update": lambda self, x: setattr(self, "total", self.total + x)})()
    timed = timing.interleaved({"fast": lambda: calls.append("f"), "stream": timing.Stream(stream, 3, 1)},
                               {"fast": "cpu", "stream": "cpu"}, seconds=0.0, min_rounds=4, progress=progress)
    assert len(timed["fast"].times_ms) == 4 and len(timed["stream"].times_ms) == 4
    assert calls.count("s") == 4 * 4 and calls.count("f") == 4 + 1  # + one warm-up call
    assert progress.total > 0
    lo, q1, q3, hi = timed["fast"].spread
    assert lo <= q1 <= timed["fast"].median <= q3 <= hi


def test_interleaved_stops_after_the_budget():
    t0 = time.perf_counter()
    timed = timing.interleaved({"sleep": lambda: time.sleep(0.01)}, {"sleep": "cpu"}, seconds=0.1, min_rounds=1)
    assert 0.1 <= time.perf_counter() - t0 < 2.0 and 5 <= len(timed["sleep"].times_ms) <= 12


def test_copy_bandwidth_and_threads():
    assert timing.copy_bandwidth("cpu", nbytes=1 << 20, repeats=2) > 0
    before = torch.get_num_threads()
    with timing.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_inputs():
    x = image_batch(3, 20, "procedural", seed=1)
    assert x.shape == (3, 3, 20, 20) and x.dtype == torch.uint8 and x.float().std() > 5
    assert torch.equal(x, image_batch(3, 20, "procedural", seed=1))
    assert tensor_bytes((x, [x.float()])) == x.numel() * 5


def test_a_library_that_raises_is_dropped_not_fatal():
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        if calls["n"] == 3:
            raise ValueError("first line\nbits must be between or equal to 1 and 8")
    timed = timing.interleaved({"ok": lambda: None, "flaky": flaky}, {"ok": "cpu", "flaky": "cpu"}, seconds=0.0,
                               min_rounds=5, max_rounds=5)
    assert len(timed["ok"].times_ms) == 5 and len(timed["flaky"].times_ms) == 1
    assert timed["flaky"].error == "ValueError: bits must be between or equal to 1 and 8"


def test_run_pipeline_reports_a_failing_peer(monkeypatch):
    from datagen_gpu.bench import run as R

    monkeypatch.setattr(peers, "installed", lambda peer: peer == "torch")
    state = {"n": 0}

    def fake_build(peer, pipeline, inputs, settings):
        def run():
            state["n"] += 1
            if state["n"] > 2:
                raise RuntimeError("worker died")
            return torch.zeros_like(inputs.tensor)
        return peers.Built(run, "cpu", "")
    monkeypatch.setattr(peers, "build", fake_build)
    rows, skips = R.run_pipeline(cases.PIPELINES["specaugment"], SETTINGS, ["torch"], 0.0, {}, log=lambda m: None)
    assert [r.library for r in rows] == ["datagen_gpu"] and rows[0].ratio is None
    assert skips[0].library == "torch" and skips[0].reason.startswith("failed while timed")
    assert "RuntimeError: worker died" in skips[0].reason


def test_sweep_passes_are_pooled(monkeypatch):
    from datagen_gpu.bench import run as R

    monkeypatch.setattr(peers, "installed", lambda peer: False)
    seen = []
    real = R.run_pipeline

    def spy(pipeline, s, *args, **kwargs):
        seen.append(s.batch)
        return real(pipeline, s, *args, **kwargs)
    monkeypatch.setattr(R, "run_pipeline", spy)
    report = R.run([cases.PIPELINES["specaugment"]], SETTINGS, [], 0.0, sweep="batch", sweep_points=[1, 2],
                   log=lambda m: None)
    assert seen == [1, 2, 2, 1, 1, 2]  # up, down, up
    assert [(r.batch, len(r.times_ms)) for r in report.rows] == [(1, 3), (2, 3)]
    assert all(r.median_ms == sorted(r.times_ms)[1] for r in report.rows)
