"""Appending, committing and querying the head: matchers, ordering rules, concurrency."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from vigil.errors import OutOfOrderSample, StorageError
from vigil.model import Labels, Matcher, MatchType
from vigil.storage import STALE_NAN, Storage, is_stale
from vigil.tsdb import DB, DuplicateSampleForTimestamp


def L(**kw: str) -> Labels:
    return Labels.of(job="t", **kw)


def test_db_satisfies_storage_protocol(db: DB) -> None:
    store: Storage = db
    assert callable(store.appender) and callable(store.querier)


def test_nothing_visible_until_commit_and_rollback_discards(db: DB, read_all, bits) -> None:
    app = db.appender()
    app.append(L(a="1"), 1000, 1.0)
    assert read_all(db) == {}
    app.commit()
    assert read_all(db) == {L(a="1"): [(1000, bits(1.0))]}
    app2 = db.appender()
    app2.append(L(a="1"), 2000, 2.0)
    app2.rollback()
    assert read_all(db) == {L(a="1"): [(1000, bits(1.0))]}
    with pytest.raises(StorageError):
        app2.commit()


def test_select_restricts_range_sorts_and_skips_empty_series(db: DB, read_all, bits) -> None:
    app = db.appender()
    for i in range(10):
        app.append(L(a="2"), i * 10, float(i))
        app.append(L(a="1"), i * 10, float(-i))
    app.append(L(a="0"), 1000, 5.0)
    app.commit()
    q = db.querier(25, 55)
    got = list(q.select([Matcher.equal("job", "t")]))
    assert [s.labels for s in got] == [L(a="1"), L(a="2")]
    assert got[1].timestamps.tolist() == [30, 40, 50]
    assert got[1].values.tolist() == [3.0, 4.0, 5.0]
    # Both bounds inclusive.
    assert [s.timestamps.tolist() for s in db.querier(30, 50).select([Matcher.equal("a", "2")])] \
        == [[30, 40, 50]]
    # Returned arrays belong to the caller.
    got[1].values[:] = 99
    assert read_all(db, 30, 30, [Matcher.equal("a", "2")])[L(a="2")] == [(30, bits(3.0))]


@pytest.mark.parametrize(("matchers", "expected"), [
    ([("=", "a", "x")], ["x1", "x2"]),
    ([("=", "a", "x"), ("=", "b", "1")], ["x1"]),
    ([("!=", "a", "x")], ["none", "y"]),              # != also selects series without "a"
    ([("=~", "a", "x|y")], ["x1", "x2", "y"]),
    ([("=~", "a", "x|")], ["none", "x1", "x2"]),      # regex matching "" selects missing label
    ([("!~", "a", "x.*")], ["none", "y"]),
    ([("=~", "a", ".+")], ["x1", "x2", "y"]),
    ([("=", "a", "")], ["none"]),                     # a="" means: no label a
    ([("!=", "a", "")], ["x1", "x2", "y"]),
    ([("=~", "a", "X")], []),                         # regexes are case-sensitive and anchored
    ([("=~", "a", "x"), ("!=", "b", "1")], ["x2"]),
    ([("=", "nope", "v")], []),
])
def test_matchers_follow_prometheus_semantics(db: DB, matchers, expected) -> None:
    app = db.appender()
    for name, lb in {"x1": L(a="x", b="1", id="x1"), "x2": L(a="x", b="2", id="x2"),
                     "y": L(a="y", id="y"), "none": L(id="none")}.items():
        app.append(lb, 1, 1.0)
        assert lb.get("id") == name
    app.commit()
    ms = [Matcher(MatchType(op), n, v) for op, n, v in matchers]
    got = list(db.querier(0, 10).select(ms))
    assert sorted(s.labels.get("id") for s in got) == expected
    assert [s.labels for s in got] == sorted(s.labels for s in got)


def test_label_names_and_values_honour_matchers(db: DB) -> None:
    app = db.appender()
    app.append(Labels.of(__name__="m1", job="a", zone="z1"), 1, 1.0)
    app.append(Labels.of(__name__="m2", job="b"), 1, 1.0)
    app.commit()
    q = db.querier(0, 10)
    assert q.label_names() == ["__name__", "job", "zone"]
    assert q.label_names([Matcher.equal("job", "b")]) == ["__name__", "job"]
    assert q.label_values("job") == ["a", "b"]
    assert q.label_values("__name__", [Matcher.equal("zone", "z1")]) == ["m1"]
    assert q.label_values("zone", [Matcher.equal("job", "b")]) == []


def test_out_of_order_rejected_rest_of_batch_commits(db: DB, read_all, bits) -> None:
    app = db.appender()
    app.append(L(a="1"), 100, 1.0)
    app.commit()
    app = db.appender()
    with pytest.raises(OutOfOrderSample, match="out of order sample"):
        app.append(L(a="1"), 50, 2.0)
    app.append(L(a="1"), 200, 3.0)
    app.append(L(a="2"), 10, 4.0)
    with pytest.raises(OutOfOrderSample):  # also against samples buffered in this appender
        app.append(L(a="2"), 5, 4.0)
    app.commit()
    assert read_all(db) == {L(a="1"): [(100, bits(1.0)), (200, bits(3.0))],
                            L(a="2"): [(10, bits(4.0))]}


def test_duplicate_timestamp_same_value_ignored_other_value_rejected(db: DB, read_all, bits) -> None:
    app = db.appender()
    app.append(L(), 100, 1.0)
    app.append(L(), 100, 1.0)  # same value in the same batch: ignored
    app.commit()
    app = db.appender()
    app.append(L(), 100, 1.0)
    with pytest.raises(DuplicateSampleForTimestamp, match="duplicate sample for timestamp"):
        app.append(L(), 100, 2.0)
    app.commit()
    app = db.appender()
    app.append(L(), 200, math.nan)
    app.commit()
    app = db.appender()
    app.append(L(), 200, math.nan)  # the same NaN bits: a duplicate, ignored
    with pytest.raises(DuplicateSampleForTimestamp):
        app.append(L(), 200, STALE_NAN)  # another NaN is another value
    app.commit()
    assert read_all(db)[L()] == [(100, bits(1.0)), (200, bits(math.nan))]
    assert db.stats()["samples"] == 2


def test_commit_drops_samples_another_appender_made_out_of_order(db: DB, read_all) -> None:
    a1, a2 = db.appender(), db.appender()
    a1.append(L(), 100, 1.0)
    a1.append(L(), 300, 3.0)
    a2.append(L(), 200, 2.0)
    a2.append(L(), 400, 4.0)
    a2.commit()
    a1.commit()  # 100 and 300 are now out of order: dropped at commit, no exception
    assert [t for t, _ in read_all(db)[L()]] == [200, 400]


def test_nan_and_stale_markers_bit_exact(db: DB, bits) -> None:
    app = db.appender()
    app.append(L(), 1, math.nan)
    app.append(L(), 2, STALE_NAN)
    app.append(L(), 3, -0.0)
    app.append(L(), 4, math.inf)
    app.commit()
    s = next(iter(db.querier(0, 10).select([Matcher.equal("job", "t")])))
    assert [is_stale(v) for v in s.values.tolist()] == [False, True, False, False]
    assert s.values.view(np.uint64).tolist() == [bits(math.nan), bits(STALE_NAN), bits(-0.0),
                                                 bits(math.inf)]


def test_empty_labels_rejected(db: DB) -> None:
    with pytest.raises(StorageError, match="empty labelset"):
        db.appender().append(Labels(), 1, 1.0)


def test_concurrent_appenders_and_queriers(db: DB, read_all) -> None:
    errors: list[BaseException] = []
    n_writers, n_rounds = 4, 200

    def write(w: int) -> None:
        try:
            for r in range(n_rounds):
                app = db.appender()
                for k in range(5):
                    app.append(L(w=str(w), k=str(k)), r, float(r))
                app.commit()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def read() -> None:
        try:
            for _ in range(100):
                for s in db.querier(0, n_rounds).select([Matcher.equal("job", "t")]):
                    assert (np.diff(s.timestamps) > 0).all()
                    assert (s.values == s.timestamps).all()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(n_writers)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    got = read_all(db)
    assert len(got) == n_writers * 5
    assert all(len(v) == n_rounds for v in got.values())
