"""Blocks: chunk encoding, cutting the head into blocks, WAL checkpoints, retention."""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import threading
import time

import numpy as np
import pytest

from vigil.errors import OutOfBounds, StorageError
from vigil.model import Labels, Matcher
from vigil.storage import STALE_NAN
from vigil.tsdb import DB, chunkenc

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("values", [
    np.arange(50.0),
    RNG.random(50),
    np.round(RNG.normal(100, 5, 50), 2),
    np.array([12345.67, 12346.01, 0.1, -0.0, 7.0]),
    np.array([1.5, math.nan, STALE_NAN, math.inf, -math.inf, 2.0**60]),
    np.array([2.0**53 + 2, 1.0]),
    np.array([42.0]),
    np.empty(0),
])
def test_chunk_encoding_round_trips_bit_exactly(values: np.ndarray) -> None:
    for ts in (np.arange(len(values), dtype=np.int64) * 15000 + 1_700_000_000_000,
               np.cumsum(RNG.integers(1, 2**40, len(values))) - 2**41):
        enc = chunkenc.encode(ts, values)
        got_ts, got_vals = chunkenc.decode(enc)
        assert got_ts.tolist() == ts.tolist()
        assert got_vals.view(np.uint64).tolist() == values.view(np.uint64).tolist()


def test_regular_samples_encode_small() -> None:
    ts = np.arange(1000, dtype=np.int64) * 15000
    enc = chunkenc.encode(ts, np.cumsum(np.full(1000, 3.0)))
    assert len(enc) <= 48  # zero delta-of-deltas and constant deltas vanish before compression


# These tests are about cutting blocks from the head: a retention this short leaves no
# larger range to merge blocks into (tests/tsdb/test_compaction.py covers merging).
NO_MERGE = 20_000


def fill(db: DB, series: int, until_ms: int, step_ms: int = 10, start_ms: int = 0) -> None:
    for t in range(start_ms, until_ms, step_ms):
        app = db.appender()
        for k in range(series):
            app.append(Labels.of(job="t", k=str(k)), t, float(t * 10 + k))
        app.commit()


def check_all(db: DB, series: int, until_ms: int, step_ms: int = 10, start_ms: int = 0) -> None:
    got = list(db.querier(-(2**62), 2**62).select([Matcher.equal("job", "t")]))
    assert len(got) == series
    want_ts = list(range(start_ms, until_ms, step_ms))
    for s in got:
        k = int(s.labels.get("k"))
        assert s.timestamps.tolist() == want_ts
        assert s.values.tolist() == [float(t * 10 + k) for t in want_ts]


def block_dirs(path: str) -> list[str]:
    return sorted(os.listdir(os.path.join(path, "blocks")))


def test_compaction_cuts_blocks_and_checkpoints_wal(tmp_path) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, retention_ms=NO_MERGE, block_range_ms=1000, compact_interval_s=3600, wal_segment_bytes=4096)
    fill(db, 5, 5000)
    wal_before = db.stats()["wal_bytes"]
    # [0,1000) .. [3000,4000): cutting stops once the head spans <= 1.5 block ranges.
    assert db.compact() == 4
    st = db.stats()
    assert st["blocks"] == 4 and st["head_min_time"] == 4000 and st["samples"] == 5 * 500
    assert st["wal_bytes"] < wal_before
    wal_files = os.listdir(os.path.join(path, "wal"))
    assert [n for n in wal_files if n.startswith("checkpoint.")]
    check_all(db, 5, 5000)
    # A range across the block/head boundary, and one inside a block only.
    s = next(iter(db.querier(3985, 4015).select([Matcher.equal("k", "1")])))
    assert s.timestamps.tolist() == [3990, 4000, 4010]
    s = next(iter(db.querier(1000, 1000).select([Matcher.equal("k", "1")])))
    assert s.timestamps.tolist() == [1000]
    q = db.querier(0, 999)
    assert q.label_values("k") == ["0", "1", "2", "3", "4"]
    assert q.label_names([Matcher.equal("k", "2")]) == ["job", "k"]
    db.close()


def test_restart_after_compaction_reads_blocks_checkpoint_and_segments(tmp_path) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, retention_ms=NO_MERGE, block_range_ms=1000, compact_interval_s=3600)
    fill(db, 3, 5000)
    db.compact()
    fill(db, 3, 6000, start_ms=5000)  # after the checkpoint: in WAL segments
    db.close()
    db = DB.open(path, retention_ms=NO_MERGE, block_range_ms=1000, compact_interval_s=3600)
    check_all(db, 3, 6000)
    db.close()


def test_sample_older_than_cut_blocks_is_out_of_bounds(tmp_path) -> None:
    db = DB.open(str(tmp_path / "d"), retention_ms=NO_MERGE, block_range_ms=1000, compact_interval_s=3600)
    fill(db, 1, 5000)
    db.compact()
    app = db.appender()
    with pytest.raises(OutOfBounds, match="out of bounds"):
        app.append(Labels.of(job="t", k="new"), 3999, 1.0)
    app.append(Labels.of(job="t", k="new"), 4000, 1.0)
    app.commit()
    db.close()


def test_crash_between_block_write_and_checkpoint_does_not_duplicate(tmp_path) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, retention_ms=NO_MERGE, block_range_ms=1000, compact_interval_s=3600)
    fill(db, 2, 5000)
    db.close()  # close compacts: blocks + checkpoint
    assert len(block_dirs(path)) == 4
    # Put back a WAL that still holds everything, as if the checkpoint never happened.
    shutil.rmtree(os.path.join(path, "wal"))
    os.makedirs(os.path.join(path, "wal"))
    db = DB.open(str(tmp_path / "full"), retention_ms=NO_MERGE, block_range_ms=10**9)
    fill(db, 2, 5000)
    db.close()
    shutil.rmtree(os.path.join(path, "wal"))
    shutil.copytree(os.path.join(str(tmp_path / "full"), "wal"), os.path.join(path, "wal"))
    db = DB.open(path, retention_ms=NO_MERGE, block_range_ms=1000, compact_interval_s=3600)
    check_all(db, 2, 5000)
    db.close()


def test_unfinished_block_directory_is_removed_on_open(tmp_path) -> None:
    path = str(tmp_path / "d")
    DB.open(path).close()
    os.makedirs(os.path.join(path, "blocks", "01ABC.tmp"))
    DB.open(path).close()
    assert block_dirs(path) == []


def test_retention_deletes_whole_old_blocks(tmp_path) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, block_range_ms=1000, retention_ms=2500, compact_interval_s=3600)
    fill(db, 2, 10000)
    db.compact()
    # Blocks [0,1000) .. [8000,9000) were cut; the newest sample is 9990, so blocks ending
    # at or before 7490 go and [7000,8000), [8000,9000) stay.
    st = db.stats()
    assert st["blocks"] == 2
    assert len(block_dirs(path)) == 2
    assert list(db.querier(0, 6999).select([Matcher.equal("job", "t")])) == []
    check_all(db, 2, 10000, start_ms=7000)
    db.close()
    db = DB.open(path, block_range_ms=1000, retention_ms=2500, compact_interval_s=3600)
    check_all(db, 2, 10000, start_ms=7000)
    db.close()


def test_background_thread_compacts(tmp_path) -> None:
    db = DB.open(str(tmp_path / "d"), retention_ms=NO_MERGE, block_range_ms=1000, compact_interval_s=0.05)
    fill(db, 1, 5000)
    deadline = 200
    while db.stats()["blocks"] < 4 and deadline:
        time.sleep(0.05)
        deadline -= 1
    assert db.stats()["blocks"] == 4
    check_all(db, 1, 5000)
    db.close()


def test_queries_during_compaction_see_no_gaps_or_duplicates(tmp_path) -> None:
    # Blocks are cut and merged (20 ms -> 60 -> 180 -> 540 ms ranges) while reads go on.
    db = DB.open(str(tmp_path / "d"), block_range_ms=20, compact_interval_s=3600,
                 wal_fsync="off")
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        try:
            for t in range(600):
                app = db.appender()
                for k in range(4):
                    app.append(Labels.of(job="t", k=str(k)), t, float(t))
                app.commit()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            done.set()

    def compact() -> None:
        try:
            while not done.is_set():
                db.compact()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    def read() -> None:
        try:
            while not done.is_set():
                for s in db.querier(0, 10**6).select([Matcher.equal("job", "t")]):
                    # Written as 0, 1, 2, ...: a gap or repeat would mean a lost or doubled cut.
                    assert s.timestamps.tolist() == list(range(len(s.timestamps)))
                    assert (s.values == s.timestamps).all()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=f) for f in (write, compact, read, read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    metas = [json.loads((p / "meta.json").read_text())
             for p in (tmp_path / "d" / "blocks").iterdir()]
    assert any("compaction" in m for m in metas)  # merged blocks were made and read
    got = list(db.querier(0, 10**6).select([Matcher.equal("job", "t")]))
    assert [s.timestamps.tolist() for s in got] == [list(range(600))] * 4
    db.close()


def test_corrupt_block_page_is_reported_with_its_file(tmp_path) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, retention_ms=NO_MERGE, block_range_ms=1000, compact_interval_s=3600)
    fill(db, 2, 5000)
    db.close()
    chunks = os.path.join(path, "blocks", block_dirs(path)[0], "chunks")
    with open(chunks, "r+b") as f:
        f.seek(20)
        b = f.read(1)
        f.seek(20)
        f.write(bytes([b[0] ^ 0xFF]))
    db = DB.open(path, retention_ms=NO_MERGE, block_range_ms=1000, compact_interval_s=3600)
    with pytest.raises(StorageError, match=r"chunks: corrupt page at offset 0"):
        list(db.querier(0, 999).select([Matcher.equal("job", "t")]))
    db.close()
    bad = os.path.dirname(chunks)
    os.remove(os.path.join(bad, "index"))
    # A block that cannot be loaded is moved aside; everything else stays readable.
    db = DB.open(path, retention_ms=NO_MERGE, block_range_ms=1000, compact_interval_s=3600)
    try:
        assert os.listdir(os.path.join(path, "corrupted")) == [os.path.basename(bad)]
        got = list(db.querier(0, 5000).select([Matcher.equal("job", "t")]))
        assert len(got) == 2 and all(s.timestamps[0] == 1000 for s in got)
    finally:
        db.close()


def test_batch_encoding_is_byte_for_byte_the_single_one() -> None:
    rng = np.random.default_rng(11)
    series = []
    for n, kind, _ in itertools.product((0, 1, 2, 3, 5, 46, 120), range(9), range(20)):
        ts = np.sort(rng.integers(0, 10**6, n)).astype(np.int64) if kind == 8 else (
            np.arange(n, dtype=np.int64) * 15_000 + 1_700_000_000_000
            + rng.integers(-3, 4, n))
        vals = [
            np.cumsum(rng.integers(0, 50, n)).astype(float),       # counter
            np.round(50 + np.cumsum(rng.normal(0, 0.5, n)), 2),    # 2-decimal gauge
            np.full(n, 3.0),                                       # constant
            rng.random(n),                                         # arbitrary floats
            np.where(rng.random(n) < 0.2, math.nan, 1.5),          # NaN inside
            np.where(rng.random(n) < 0.5, -0.0, 0.0),              # signed zeros
            np.arange(n) * 2.0**50,                                # too big for decimal
            np.round(rng.normal(0, 1e6, n), 3),                    # wide 3-decimal
            rng.integers(-2**40, 2**40, n).astype(float),          # wide integers
        ][kind]
        series.append((ts, vals))
    got = chunkenc.encode_many(series)
    assert got == [chunkenc.encode(t, v) for t, v in series]
