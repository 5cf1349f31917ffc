"""The out-of-order window: off by default (older samples are refused, as Prometheus does);
when set, samples up to the window behind the newest one are accepted, read in time order
with the rest, survive a restart and a WAL checkpoint, and end up in blocks merged with the
blocks they fall into."""

from __future__ import annotations

import json
import os

import pytest

from tests.tsdb.test_tsdb_blocks import NO_MERGE, block_dirs
from vigil.config import load_config_text
from vigil.errors import DuplicateSampleForTimestamp, OutOfBounds, OutOfOrderSample
from vigil.model import Labels, Matcher
from vigil.promql import Engine
from vigil.tsdb import DB

SERIES = Labels.of(__name__="m", job="t")
# Blocks of 1 s, no merging into larger ranges (tests/tsdb/test_compaction.py covers those).
SMALL_BLOCKS = dict(compact_interval_s=3600, block_range_ms=1000, retention_ms=NO_MERGE)


def _write(db: DB, samples: list[tuple[int, float]], labels: Labels = SERIES) -> None:
    app = db.appender()
    for t, v in samples:
        app.append(labels, t, v)
    app.commit()


def _read(db: DB, labels: Labels = SERIES) -> list[tuple[int, float]]:
    got = [s for s in db.querier(-10**12, 10**12).select([Matcher.equal("job", "t")])
           if s.labels == labels]
    return [] if not got else list(zip(got[0].timestamps.tolist(), got[0].values.tolist(),
                                       strict=True))


def test_off_by_default_older_samples_are_refused(tmp_path) -> None:
    with DB.open(tmp_path / "d", compact_interval_s=3600) as db:
        _write(db, [(1000, 1.0), (2000, 2.0)])
        app = db.appender()
        with pytest.raises(OutOfOrderSample, match="out of order sample"):
            app.append(SERIES, 1500, 9.0)
        app.commit()
        assert _read(db) == [(1000, 1.0), (2000, 2.0)]


def test_samples_inside_the_window_are_accepted_and_read_in_order(tmp_path) -> None:
    with DB.open(tmp_path / "d", compact_interval_s=3600, out_of_order_window_ms=60_000) as db:
        _write(db, [(100_000, 1.0), (160_000, 4.0)])
        _write(db, [(120_000, 2.0), (140_000, 3.0), (130_000, 2.5)])  # any order inside
        assert _read(db) == [(100_000, 1.0), (120_000, 2.0), (130_000, 2.5), (140_000, 3.0),
                             (160_000, 4.0)]
        app = db.appender()
        with pytest.raises(OutOfBounds, match="too old sample"):
            app.append(SERIES, 99_999, 0.0)  # 160 s - 60 s = 100 s is the oldest accepted
        app.append(SERIES, 140_000, 3.0)  # the same sample again: ignored
        with pytest.raises(DuplicateSampleForTimestamp):
            app.append(SERIES, 120_000, 7.0)
        app.commit()
        assert [v for _, v in _read(db)] == [1.0, 2.0, 2.5, 3.0, 4.0]
        # An aggregation over the series sees the late samples too.
        result = Engine(db).instant_query("count_over_time(m[1m])", 160_000).value
        assert [s.value for s in result.samples] == [4.0]  # 120..160 s (left-open range)


def test_out_of_order_samples_survive_a_restart_and_a_checkpoint(tmp_path) -> None:
    path = tmp_path / "d"
    opts = dict(SMALL_BLOCKS, out_of_order_window_ms=10_000)
    with DB.open(path, **opts) as db:
        _write(db, [(t, float(t)) for t in range(0, 3000, 100)])
        _write(db, [(2950, -1.0), (2050, -2.0)])
    # close() cut [0, 1000) into a block and checkpointed the WAL: the late samples are
    # in the checkpoint now, not in the segment they were written to.
    assert any(n.startswith("checkpoint.") for n in os.listdir(path / "wal"))
    with DB.open(path, **opts) as db:
        got = dict(_read(db))
        assert got[2950] == -1.0 and got[2050] == -2.0
        assert sorted(got) == sorted(list(range(0, 3000, 100)) + [2050, 2950])


def test_samples_behind_a_cut_block_are_merged_into_it(tmp_path) -> None:
    path = tmp_path / "d"
    opts = dict(SMALL_BLOCKS, out_of_order_window_ms=5000)
    with DB.open(path, **opts) as db:
        _write(db, [(t, float(t)) for t in range(0, 4000, 100)])
        db.compact()  # [0, 1000) and [1000, 2000) are blocks now
        cut = len(block_dirs(str(path)))
        assert cut >= 2
        _write(db, [(1550, -1.0), (450, -2.0)])  # behind blocks, inside the window
        assert dict(_read(db))[1550] == -1.0
        db.compact()
        metas = [json.load(open(path / "blocks" / n / "meta.json"))
                 for n in block_dirs(str(path))]
        spans = sorted((m["minTime"], m["maxTime"]) for m in metas)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), spans
        got = _read(db)
        assert len(got) == 42 and dict(got)[450] == -2.0 and dict(got)[1550] == -1.0
        assert [t for t, _ in got] == sorted(t for t, _ in got)
    with DB.open(path, **opts) as db:
        assert len(_read(db)) == 42


def test_a_series_first_seen_behind_the_cut_is_accepted(tmp_path) -> None:
    other = Labels.of(__name__="late", job="t")
    opts = dict(SMALL_BLOCKS, out_of_order_window_ms=5000)
    with DB.open(tmp_path / "d", **opts) as db:
        _write(db, [(t, float(t)) for t in range(0, 4000, 100)])
        db.compact()
        _write(db, [(500, 5.0)], other)
        _write(db, [(3950, 6.0)], other)
        assert _read(db, other) == [(500, 5.0), (3950, 6.0)]
        db.compact()
        assert _read(db, other) == [(500, 5.0), (3950, 6.0)]


def test_the_window_is_read_from_the_config() -> None:
    config = load_config_text("storage: {tsdb: {out_of_order_time_window: 30m}}\n", "v.yml")
    assert config.storage.tsdb.out_of_order_time_window == 1800.0
    assert load_config_text("{}\n", "v.yml").storage.tsdb.out_of_order_time_window == 0
