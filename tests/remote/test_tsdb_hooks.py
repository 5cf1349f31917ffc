"""The two TSDB hooks the ingest paths use: ``HeadAppender.append_columns`` (the receiver's
column-wise path) and ``DB.subscribe`` (the remote-write queue's feed)."""

from __future__ import annotations

import math
import os

import pytest

from tests.remote.conftest import read_all
from vigil.errors import DuplicateSampleForTimestamp, OutOfBounds, OutOfOrderSample
from vigil.model import Labels
from vigil.tsdb import DB


def L(name: str, **kw: str) -> Labels:
    return Labels({"__name__": name, **kw})


def test_append_columns_matches_append(db):
    app = db.appender()
    app.append_columns([L("a"), L("b"), L("c")], [10, 10, 10], [1.0, 2.0, 3.0])
    app.commit()
    app = db.appender()
    # same series twice in one call -> the general path, still in order
    app.append_columns([L("a"), L("a"), L("d")], [20, 30, 5], [4.0, 5.0, math.inf])
    app.commit()
    assert read_all(db) == {L("a"): [(10, 1.0), (20, 4.0), (30, 5.0)], L("b"): [(10, 2.0)],
                            L("c"): [(10, 3.0)], L("d"): [(5, math.inf)]}


@pytest.mark.parametrize(("ts", "vals", "error"), [
    ([10, 5], [1.0, 1.0], OutOfOrderSample),
    ([10, 10], [1.0, 9.0], DuplicateSampleForTimestamp),
])
def test_append_columns_raises_like_append(db, ts, vals, error):
    app = db.appender()
    app.append(L("x"), 10, 1.0)
    app.commit()
    app = db.appender()
    with pytest.raises(error):
        app.append_columns([L("new"), L("x")], [ts[1], ts[1]], [0.0, vals[1]])
    app.rollback()
    assert L("new") not in read_all(db)


def test_append_columns_identical_duplicate_is_skipped(db):
    app = db.appender()
    app.append_columns([L("x")], [10], [1.0])
    app.commit()
    app = db.appender()
    app.append_columns([L("x"), L("y")], [10, 10], [1.0, 2.0])
    app.commit()
    assert read_all(db) == {L("x"): [(10, 1.0)], L("y"): [(10, 2.0)]}


def test_append_columns_survives_restart(tmp_path):
    d = DB.open(str(tmp_path / "t"), wal_fsync="off")
    app = d.appender()
    app.append_columns([L("a", i=str(i)) for i in range(100)], [1000] * 100,
                       [float(i) for i in range(100)])
    app.commit()
    d.close()  # nothing is old enough to cut: the samples come back from the WAL
    assert not os.listdir(tmp_path / "t" / "blocks")
    d2 = DB.open(str(tmp_path / "t"), wal_fsync="off")
    try:
        got = read_all(d2)
        assert len(got) == 100 and got[L("a", i="7")] == [(1000, 7.0)]
    finally:
        d2.close()


def test_out_of_bounds_after_block_cut(db):
    app = db.appender()
    app.append(L("x"), 3 * 3600_000 * 2, 1.0)
    app.append(L("x", old="1"), 0, 1.0)
    app.commit()
    db.compact()
    app = db.appender()
    with pytest.raises(OutOfBounds):
        app.append_columns([L("y")], [1], [1.0])


def test_subscribe_gets_committed_batches_only(db):
    seen: list = []
    unsubscribe = db.subscribe(seen.append)
    app = db.appender()
    app.append(L("a"), 1, 1.0)
    app.append(L("a"), 2, 2.0)
    app.commit()
    app = db.appender()
    app.append_columns([L("b")], [5], [5.0])
    app.commit()
    app = db.appender()
    app.append(L("c"), 1, 1.0)
    app.rollback()
    assert seen == [[(L("a"), [1, 2], [1.0, 2.0])], [(L("b"), [5], [5.0])]]

    def broken(batch):
        raise RuntimeError("subscriber bug")
    db.subscribe(broken)
    unsubscribe()
    app = db.appender()
    app.append(L("d"), 1, 1.0)
    app.commit()  # a failing listener does not fail the commit
    assert len(seen) == 2 and L("d") in read_all(db)
