"""MemSeries: chunked in-memory storage against a plain numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.model import Labels
from vigil.storage import STALE_NAN
from vigil.tsdb.memseries import CHUNK_SAMPLES, MemSeries


def build(n: int, rng: np.random.Generator) -> tuple[MemSeries, np.ndarray, np.ndarray]:
    ts = np.cumsum(rng.integers(1, 30_000, n)).astype(np.int64)
    vals = np.round(rng.normal(0, 100, n), rng.integers(0, 4))
    vals[rng.random(n) < 0.05] = STALE_NAN
    s = MemSeries(1, Labels.of(job="t"))
    i = 0
    while i < n:  # mix single appends and array appends of random sizes
        k = int(rng.integers(1, 300))
        if k < 100:
            s.append_one(int(ts[i]), float(vals[i]))
            i += 1
        else:
            s.append_arrays(ts[i:i + k], vals[i:i + k])
            i += len(ts[i:i + k])
    return s, ts, vals


@pytest.mark.parametrize("n", [1, CHUNK_SAMPLES - 1, CHUNK_SAMPLES, CHUNK_SAMPLES + 1, 1000])
def test_chunked_series_reads_back_any_range(n: int) -> None:
    rng = np.random.default_rng(n)
    s, ts, vals = build(n, rng)
    assert s.count == n and s.last_ts == ts[-1] and s.first_ts == ts[0]
    assert len(s.chunks) == max(0, (n - 1) // CHUNK_SAMPLES)
    snap = s.snapshot()
    got_t, got_v = snap.read()
    assert got_t.tolist() == ts.tolist()
    assert got_v.view(np.uint64).tolist() == vals.view(np.uint64).tolist()
    for _ in range(20):
        a, b = sorted(rng.integers(ts[0] - 10, ts[-1] + 10, 2).tolist())
        keep = (ts >= a) & (ts <= b)
        t, v = snap.read(a, b)
        assert t.tolist() == ts[keep].tolist()
        assert v.view(np.uint64).tolist() == vals[keep].view(np.uint64).tolist()
    # The snapshot does not change when the series grows afterwards.
    s.append_arrays(ts[-1] + np.arange(1, 300), np.zeros(299))
    assert snap.read()[0].tolist() == ts.tolist()


@pytest.mark.parametrize("n", [50, 1000])
def test_drop_before_keeps_exactly_the_newer_samples(n: int) -> None:
    rng = np.random.default_rng(n + 1)
    for cut_at in rng.integers(0, n, 10).tolist() + [0, n - 1]:
        s, ts, vals = build(n, rng)
        t = int(ts[cut_at])
        s.drop_before(t)
        assert s.count == n - cut_at and s.first_ts == t
        got_t, got_v = s.snapshot().read()
        assert got_t.tolist() == ts[cut_at:].tolist()
        assert got_v.view(np.uint64).tolist() == vals[cut_at:].view(np.uint64).tolist()
        s.append_one(int(ts[-1]) + 1, 1.0)  # still appendable
        assert s.count == n - cut_at + 1
    s, ts, _ = build(n, rng)
    s.drop_before(int(ts[-1]) + 1)
    assert s.count == 0
