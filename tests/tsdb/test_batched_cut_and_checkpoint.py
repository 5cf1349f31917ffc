"""Cutting a block and checkpointing the WAL read the head a batch of series at a time.

What a user relies on: a checkpoint rebuilds exactly the head it was taken from (series and
their refs, samples bit for bit, out-of-order samples, the minimum valid time), also after
a cut; a cut read in many batches writes exactly the head's old samples; and a late sample
that arrives while a cut is being read is neither lost nor doubled."""

from __future__ import annotations

import math
import os
import shutil

import numpy as np
import pytest

from tests.tsdb.test_tsdb_blocks import NO_MERGE, block_dirs
from vigil.model import Labels, Matcher
from vigil.storage import STALE_NAN
from vigil.tsdb import DB, _records
from vigil.tsdb.head import Head
from vigil.tsdb.memseries import CHUNK_SAMPLES
from vigil.tsdb.wal import WAL

OPTS = dict(wal_fsync="off", compact_interval_s=3600, block_range_ms=1000,
            retention_ms=NO_MERGE, out_of_order_window_ms=100_000)
ODD_VALUES = [math.nan, STALE_NAN, -0.0, math.inf, -math.inf, 1e300, 0.1, 2.0**53 + 2]


def _labels(k: int) -> Labels:
    return Labels.of(__name__="m", job="t", k=f"{k:03d}")


def _bits(values: list[float]) -> list[int]:
    return np.asarray(values, np.float64).view(np.uint64).tolist()


def _fill(db: DB, until_ms: int, series: int = 30, step_ms: int = 5) -> None:
    """Series of different lengths (some with closed chunks, some with a few samples),
    values of every kind, one commit per timestamp as scrapes come."""
    rng = np.random.default_rng(7)
    for t in range(0, until_ms, step_ms):
        app = db.appender()
        for k in range(series):
            step = step_ms if k % 3 else step_ms * (k + 1)  # every third series is sparse
            if t % step == 0:
                v = ODD_VALUES[(t // step_ms + k) % len(ODD_VALUES)] if k % 5 == 0 else \
                    float(np.round(rng.normal(100, 5), 2))
                app.append(_labels(k), t, v)
        app.commit()


def _write(db: DB, labels: Labels, samples: list[tuple[int, float]]) -> None:
    app = db.appender()
    for t, v in samples:
        app.append(labels, t, v)
    app.commit()


def head_state(head: Head) -> dict:
    """Everything a checkpoint must carry, read series by series through the per-series
    snapshot (an independent path from the batched one under test)."""
    with head.lock:
        samples = {}
        for ref, s in head.series.items():
            ts, vals = s.snapshot().read()
            if len(ts):
                samples[ref] = (ts.tolist(), _bits(vals.tolist()))
        return {
            "series": {ref: s.labels for ref, s in head.series.items()},
            "samples": samples,
            "ooo": {ref: {t: _bits([v])[0] for t, v in buf.items()}
                    for ref, buf in head.ooo.items() if buf},
            "min_valid_time": head.min_valid_time,
            "num_samples": head.num_samples,
            "bounds": (head.mint, head.maxt) if head.num_samples else None,
        }


def read_all(db: DB) -> dict[Labels, list[tuple[int, int]]]:
    q = db.querier(-(2**62), 2**62)
    try:
        return {s.labels: list(zip(s.timestamps.tolist(), _bits(s.values.tolist()), strict=True))
                for s in q.select([Matcher.equal("job", "t")])}
    finally:
        q.close()


def reopen_from_checkpoint_only(path: str, copy: str) -> DB:
    """Open a copy of ``path`` holding only its WAL, whose segments after the checkpoint
    must be empty: the head it rebuilds is then the checkpoint's alone."""
    shutil.copytree(os.path.join(path, "wal"), os.path.join(copy, "wal"))
    wal_files = os.listdir(os.path.join(copy, "wal"))
    assert [n for n in wal_files if n.startswith("checkpoint.")]
    for name in wal_files:
        if not name.startswith("checkpoint."):
            assert os.path.getsize(os.path.join(copy, "wal", name)) == 0, name
    return DB.open(copy, **OPTS)


@pytest.mark.parametrize("batch_samples", [1, 37, 500_000])
def test_a_checkpoint_after_a_cut_rebuilds_exactly_the_head(tmp_path, batch_samples) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, **OPTS)
    db._head.batch_samples = batch_samples  # 1: a batch per series; 37: series split unevenly
    _write(db, _labels(80), [(100, 1.0), (200, 2.0)])  # garbage collected by the cut
    _fill(db, 4000)
    # Out-of-order samples: two stay in the head, one goes into a block with its range.
    _write(db, _labels(1), [(3455, 1.5), (3005, -2.0), (1234, 8.0)])
    _write(db, _labels(90), [(3333, 4.0)])
    _write(db, _labels(90), [(3222, STALE_NAN)])
    before = read_all(db)
    assert db.compact() == 3  # [0, 1000), [1000, 2000) with 1234 merged in, [2000, 3000)
    assert read_all(db) == before  # the cut lost and doubled nothing
    # Since the cut: a new series with out-of-order samples only, behind the head.
    _write(db, _labels(91), [(2500, 5.0), (2600, math.nan)])
    db._checkpoint()
    state = head_state(db._head)
    assert state["min_valid_time"] == 3000
    assert _labels(80) not in state["series"].values()
    only_late = [ref for ref, lb in state["series"].items() if lb == _labels(91)]
    assert only_late[0] not in state["samples"] and sorted(state["ooo"][only_late[0]]) == [2500, 2600]
    assert max(len(ts) for ts, _ in state["samples"].values()) > CHUNK_SAMPLES
    copy = reopen_from_checkpoint_only(path, str(tmp_path / "copy"))
    try:
        assert head_state(copy._head) == state
    finally:
        copy.close()
        db.close()


def test_a_checkpoint_without_a_cut_rebuilds_exactly_the_head(tmp_path) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, **OPTS)
    db._head.batch_samples = 50
    _fill(db, 1200, series=12)
    _write(db, _labels(4), [(1102, 7.0)])
    state = head_state(db._head)
    db._checkpoint()
    copy = reopen_from_checkpoint_only(path, str(tmp_path / "copy"))
    try:
        assert head_state(copy._head) == state
        assert state["min_valid_time"] == copy._head.min_valid_time < 0
    finally:
        copy.close()
        db.close()


def test_checkpoint_records_keep_the_format(tmp_path) -> None:
    """The records decode as before: series records, then one samples record per batch
    with each series' samples together and ascending, then the out-of-order record."""
    db = DB.open(str(tmp_path / "d"), **OPTS)
    db._head.batch_samples = 1000  # a few series per record
    try:
        _fill(db, 2000, series=20)
        _write(db, _labels(3), [(1505, 2.5)])
        recs = [_records.decode(p) for p in db._head.checkpoint_records()]
        assert isinstance(recs[0], _records.MetaRecord)
        series = [r for r in recs if isinstance(r, list)]
        samples = [r for r in recs if isinstance(r, _records.SamplesRecord)]
        assert sorted(lb for part in series for _, lb in part) == [_labels(k) for k in range(20)]
        in_order = [r for r in samples if not r.out_of_order]
        assert len(in_order) > 1 and samples[-1].out_of_order
        seen: set[int] = set()
        for r in in_order:
            runs = np.flatnonzero(np.diff(r.refs.astype(np.int64))) + 1
            for part_refs, part_ts in zip(np.split(r.refs, runs), np.split(r.timestamps, runs),
                                          strict=True):
                ref = int(part_refs[0])
                assert ref not in seen
                seen.add(ref)
                assert (np.diff(part_ts) > 0).all()
        assert samples[-1].timestamps.tolist() == [1505]
    finally:
        db.close()


def test_series_records_do_not_depend_on_the_pair_cache() -> None:
    series = [(k + 1, _labels(k % 7)) for k in range(50)] + [(99, Labels.of(a="é", b=""))]
    cache: dict[tuple[str, str], bytes] = {}
    assert _records.encode_series(series, cache) == _records.encode_series(series)
    assert _records.encode_series(series[3:9], cache) == _records.encode_series(series[3:9])
    assert _records.decode(_records.encode_series(series, cache)) == series


def test_a_cut_in_many_batches_writes_exactly_the_old_samples(tmp_path) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, **OPTS)
    db._head.batch_samples = 20
    _fill(db, 2400, step_ms=10)
    _write(db, _labels(2), [(455, 3.25)])
    before = read_all(db)
    assert db.compact() == 1  # [0, 1000)
    db.close()
    # The block alone, without the WAL: exactly the samples before 1000.
    only_blocks = str(tmp_path / "blocks")
    shutil.copytree(os.path.join(path, "blocks"), os.path.join(only_blocks, "blocks"))
    db = DB.open(only_blocks, **OPTS)
    try:
        want = {lb: [(t, b) for t, b in samples if t < 1000] for lb, samples in before.items()}
        assert read_all(db) == {lb: s for lb, s in want.items() if s}
    finally:
        db.close()


def test_a_late_sample_arriving_during_a_cut_is_kept(tmp_path) -> None:
    """A sample the out-of-order window lets in behind the cut, for a series whose batch was
    already read, is not in the block being written: the head keeps it for the next cut
    instead of dropping it with the samples the block took."""
    path = str(tmp_path / "d")
    a, b = _labels(0), _labels(1)
    db = DB.open(path, **OPTS)
    head = db._head
    head.batch_samples = 1  # one series per batch
    for lb in (a, b):
        _write(db, lb, [(t, float(t)) for t in range(0, 2600, 100)])
    cut = head.cut_before(1000)
    batches = cut.batches()
    first = next(batches)
    assert [d.labels for d in first] == [a]
    _write(db, a, [(550, -1.0)])  # a's batch is read: this one waits for the next cut
    _write(db, b, [(650, -2.0)])  # b's is not: this one goes into the block
    rest = [d for batch in batches for d in batch]
    assert [d.labels for d in rest] == [b] and 650 in rest[0].timestamps.tolist()
    db.add_block(first + rest, 1000)
    head.truncate_before(1000, cut)
    want = {a: sorted([(t, float(t)) for t in range(0, 2600, 100)] + [(550, -1.0)]),
            b: sorted([(t, float(t)) for t in range(0, 2600, 100)] + [(650, -2.0)])}
    want = {lb: [(t, _bits([v])[0]) for t, v in s] for lb, s in want.items()}
    assert read_all(db) == want
    db.compact()  # takes a's late sample into a block, merged with the one it overlaps
    assert head.oldest_out_of_order() is None and block_dirs(path)
    assert read_all(db) == want
    db.close()
    with DB.open(path, **OPTS) as db:
        assert read_all(db) == want


def test_wal_replay_of_a_checkpoint_matches_the_records(tmp_path) -> None:
    """The checkpoint file on disk holds the records the head produced, in order."""
    path = str(tmp_path / "d")
    db = DB.open(path, **OPTS)
    try:
        _fill(db, 1500, series=8)
        want = list(db._head.checkpoint_records())
        db._checkpoint()
    finally:
        db.close()
    wal = WAL.open(os.path.join(path, "wal"))
    got = [p for f, _, p in wal.replay() if "checkpoint." in f]
    # close() cut nothing (the head spans less than 1.5 block ranges): no new checkpoint.
    assert got == want
