"""Columnar reads: many chunks decoded at once, series sets in label order, merged parts."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.errors import StorageError
from vigil.model import Labels
from vigil.storage import SeriesSet
from vigil.tsdb import chunkenc
from vigil.tsdb.querier import merge_series_sets


def _chunks(seed: int, count: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        n = int(rng.choice([1, 2, 3, 57, 120, 120]))
        ts = np.cumsum(rng.integers(14_990, 15_010, n)) + 1_700_000_000_000
        kind = i % 6
        if kind == 0:
            vals = np.round(rng.random(n) * 100, 2)  # 2-decimal gauge
        elif kind == 1:
            vals = np.full(n, 16e9)  # constant
        elif kind == 2:
            vals = np.cumsum(rng.integers(0, 1000, n)).astype(float)  # counter
        elif kind == 3:
            vals = rng.random(n)  # arbitrary floats: XOR
        elif kind == 4:
            vals = rng.random(n)
            vals[0] = np.nan
            vals[-1] = -0.0
        else:
            vals = np.round(1e5 + np.arange(n) * 0.25, 2)  # steady counter: order-2 deltas
        out.append(chunkenc.encode(ts, vals))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_decode_many_matches_one_by_one_bit_for_bit(seed: int) -> None:
    bufs = _chunks(seed, 400)
    ts, vals, counts = chunkenc.decode_many(bufs)
    singles = [chunkenc.decode(b) for b in bufs]
    assert counts.tolist() == [len(t) for t, _ in singles]
    assert ts.tolist() == np.concatenate([t for t, _ in singles]).tolist()
    want = np.concatenate([v for _, v in singles])
    assert np.array_equal(vals.view(np.uint64), want.view(np.uint64))


def test_decode_many_of_nothing_and_of_empty_chunks() -> None:
    ts, vals, counts = chunkenc.decode_many([])
    assert len(ts) == len(vals) == len(counts) == 0
    empty = chunkenc.encode(np.zeros(0, np.int64), np.zeros(0))
    ts, vals, counts = chunkenc.decode_many([empty, empty])
    assert counts.tolist() == [0, 0] and len(ts) == 0


def test_truncated_chunk_is_a_storage_error() -> None:
    good = _chunks(4, 3)
    with pytest.raises(StorageError, match="malformed chunk"):
        chunkenc.decode_many([good[0], good[1][:-5]])


def _set(rows: dict[str, list[int]]) -> SeriesSet:
    from vigil.storage import Series
    return SeriesSet.of(Series(Labels.of(s=k), np.array(t, np.int64), np.array(t, float) * 2)
                        for k, t in rows.items())


def test_merge_orders_by_labels_then_time_and_drops_repeated_timestamps() -> None:
    old = _set({"b": [1, 2, 3], "a": [5]})
    new = _set({"c": [9], "b": [3, 4], "a": [4, 6]})  # overlaps: b@3 twice, a out of order
    merged = merge_series_sets([old, new])
    got = {s.labels.get("s"): s.timestamps.tolist() for s in merged}
    assert [lb.get("s") for lb in merged.labels] == ["a", "b", "c"]
    assert got == {"a": [4, 5, 6], "b": [1, 2, 3, 4], "c": [9]}
    assert merged.values.tolist() == [t * 2.0 for t in merged.timestamps.tolist()]


def test_head_reads_come_in_label_order_as_series_come_and_go(tmp_path) -> None:
    from vigil.model import Matcher
    from vigil.tsdb import DB

    db = DB.open(str(tmp_path / "d"))
    try:
        def write(names: list[str], t: int) -> None:
            app = db.appender()
            for name in names:
                app.append(Labels.of(__name__="m", s=name), t, 1.0)
            app.commit()

        def names() -> list[str]:
            got = db.querier(0, 10**6).select([Matcher.equal("__name__", "m")])
            return [lb.get("s") for lb in got.labels]

        write(["m", "c", "x"], 1000)
        assert names() == ["c", "m", "x"]
        write(["b", "z", "a"], 2000)  # new series merge into the existing order
        assert names() == ["a", "b", "c", "m", "x", "z"]
        db._head.truncate_before(1500)  # the first three are garbage collected
        write(["d"], 3000)
        assert names() == ["a", "b", "d", "z"]
    finally:
        db.close()
