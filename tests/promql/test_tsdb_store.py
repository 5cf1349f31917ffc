"""The engine gives the same answers whether the TSDB holds the data in its head or has cut
most of it into blocks (different encodings and read paths, merged per series)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import vigil.tsdb as tsdb
from tests.support.tsdb_store import TempTSDB
from vigil.model.labels import Labels
from vigil.promql.engine import Engine
from vigil.promql.value import Matrix, Vector
from vigil.storage.interface import STALE_NAN

QUERIES = [
    "up",
    "rate(http_requests_total[5m])",
    "sum by (job) (increase(http_requests_total[10m]))",
    "max_over_time(temp[7m])",
    "temp > 20",
    "http_requests_total / on(instance) group_left up",
    "avg_over_time(rate(http_requests_total[2m])[10m:1m])",
    'histogram_quantile(0.9, sum by (le) (rate(lat_bucket[5m])))',
    "changes(up[15m])",
]


def _fill(app) -> None:
    rng = np.random.default_rng(7)
    for inst in ("a", "b"):
        up = Labels({"__name__": "up", "instance": inst, "job": "api"})
        req = Labels({"__name__": "http_requests_total", "instance": inst, "job": "api"})
        temp = Labels({"__name__": "temp", "instance": inst})
        total = 0.0
        for i in range(240):  # one hour at 15 s
            t = i * 15_000
            total += float(rng.integers(0, 20))
            if inst == "b" and i == 120:
                total = 0.0  # a counter reset
            app.append(req, t, total)
            app.append(temp, t, 15 + 10 * math.sin(i / 20))
            app.append(up, t, STALE_NAN if (inst == "b" and 100 <= i < 110) else 1.0)
    for le, frac in (("0.1", 0.5), ("0.5", 0.8), ("1", 0.95), ("+Inf", 1.0)):
        lb = Labels({"__name__": "lat_bucket", "le": le})
        for i in range(240):
            app.append(lb, i * 15_000, float(int(i * 10 * frac)))
    app.commit()


def _as_dict(value) -> dict:
    if isinstance(value, Vector):
        return {s.labels: s.value for s in value.samples}
    assert isinstance(value, Matrix)
    return {s.labels: (s.timestamps.tolist(), s.values.tolist()) for s in value.series}


def test_same_results_from_head_and_from_blocks(tsdb_store: TempTSDB, tmp_path: Path) -> None:
    # Blocks of 10 minutes: compact() cuts all but the last quarter hour of the hour of data.
    db = tsdb.DB.open(tmp_path / "cut", block_range_ms=600_000, compact_interval_s=3600)
    try:
        _fill(db.appender())
        _fill(tsdb_store.appender())
        db.compact()
        stats = db.stats()
        assert stats["blocks"] >= 1 and stats["block_samples"] > stats["head_samples"] > 0
        assert tsdb_store.stats()["blocks"] == 0
        from_blocks, from_head = Engine(db), Engine(tsdb_store)
        for q in QUERIES:
            for t in (0, 600_000, 1_800_000, 3_540_000):
                a = _as_dict(from_blocks.instant_query(q, t).value)
                b = _as_dict(from_head.instant_query(q, t).value)
                assert a.keys() == b.keys(), (q, t)
                for k in a:
                    assert a[k] == pytest.approx(b[k], nan_ok=True), (q, t, k)
            a = _as_dict(from_blocks.range_query(q, 0, 3_600_000, 60_000).value)
            b = _as_dict(from_head.range_query(q, 0, 3_600_000, 60_000).value)
            assert a.keys() == b.keys(), q
            for k in a:
                assert a[k][0] == b[k][0], (q, k)
                assert a[k][1] == pytest.approx(b[k][1], nan_ok=True), (q, k)
        # The data really went through the engine: non-trivial answers.
        assert _as_dict(from_blocks.instant_query("sum(up)", 1_800_000).value) == {Labels(): 2.0}
    finally:
        db.close()
