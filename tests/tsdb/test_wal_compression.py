"""WAL compression: records are compressed (commits snappy, checkpoints zstd) with a flag in
the type byte, WALs written before compression still replay, and torn or corrupt compressed
records are told apart."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

from vigil.errors import StorageError
from vigil.model import Labels, Matcher
from vigil.storage.framing import read_frames
from vigil.tsdb import DB, _records

V1_WAL = os.path.join(os.path.dirname(__file__), "data", "v1_wal")


def _expected_v1() -> dict[Labels, list[tuple[int, int]]]:
    with open(os.path.join(V1_WAL, "expected.json"), encoding="utf-8") as f:
        rows = json.load(f)
    return {Labels.of(**r["labels"]): [tuple(s) for s in r["samples"]] for r in rows}


def _copy_v1(tmp_path) -> str:
    path = str(tmp_path / "v1")
    shutil.copytree(V1_WAL, path)
    return path


def test_wal_written_before_compression_replays_exactly(tmp_path, read_all) -> None:
    path = _copy_v1(tmp_path)
    kinds = [p[0] for _, _, p in read_frames(os.path.join(path, "wal", "00000001"),
                                              tolerate_torn_tail=False)]
    assert set(kinds) == {_records.SERIES, _records.SAMPLES, _records.OOO_SAMPLES}
    db = DB.open(path, out_of_order_window_ms=600_000)
    assert read_all(db) == _expected_v1()
    # New (compressed) records follow the old ones in the same segment; both replay.
    app = db.appender()
    app.append(Labels.of(job="t", k="new"), 2_000_000, 4.5)
    for k in range(5):
        app.append(Labels.of(job="t", k=str(k), phase="b", unicode="é✓"), 2_000_000, float(k))
    app.commit()
    db.close()
    kinds = [p[0] for _, _, p in read_frames(os.path.join(path, "wal", "00000001"),
                                              tolerate_torn_tail=False)]
    assert kinds[-2:] == [_records.SERIES, _records.SAMPLES | _records.SNAPPY]
    db = DB.open(path, out_of_order_window_ms=600_000)
    want = _expected_v1()
    want[Labels.of(job="t", k="new")] = [(2_000_000, _bits(4.5))]
    for k in range(5):
        want[Labels.of(job="t", k=str(k), phase="b", unicode="é✓")].append(
            (2_000_000, _bits(float(k))))
    assert read_all(db) == want
    db.close()


def _bits(v: float) -> int:
    return int(np.array([v], dtype=np.float64).view(np.uint64)[0])


def _commit_scrape(db: DB, scrape: int, n_series: int = 300) -> None:
    app = db.appender()
    for k in range(n_series):
        app.append(Labels.of(job="t", k=str(k)), 1_000 + scrape * 15_000,
                   float(scrape * 100 + k % 7))
    app.commit()


def _frames(seg: str) -> list[tuple[int, bytes]]:
    return [(off, p) for _, off, p in read_frames(seg, tolerate_torn_tail=False)]


def test_records_are_compressed_and_smaller(tmp_path, read_all) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, wal_fsync="off")
    for s in range(10):
        _commit_scrape(db, s)
    db.close()
    frames = _frames(os.path.join(path, "wal", "00000000"))
    assert [p[0] for _, p in frames] == (
        [_records.SERIES | _records.SNAPPY] + [_records.PACKED_SAMPLES | _records.SNAPPY] * 10)
    sample_bytes = sum(8 + len(p) for _, p in frames[1:])
    assert sample_bytes / 3000 < 6  # uncompressed records took 24 bytes per sample
    db = DB.open(path)
    got = read_all(db)
    assert len(got) == 300 and all(len(v) == 10 for v in got.values())
    assert got[Labels.of(job="t", k="8")][3] == (1_000 + 3 * 15_000, _bits(301.0))
    db.close()


def _wal_of_scrapes(tmp_path, scrapes: int = 6) -> tuple[str, str, list[tuple[int, bytes]]]:
    src = str(tmp_path / "src")
    db = DB.open(src, wal_fsync="off")
    for s in range(scrapes):
        _commit_scrape(db, s)
    db.close()
    seg = os.path.join(src, "wal", "00000000")
    return src, seg, _frames(seg)


def test_compressed_record_cut_midway_is_a_torn_tail(tmp_path, read_all, caplog) -> None:
    src, seg, frames = _wal_of_scrapes(tmp_path)
    last_off, last = frames[-1]
    assert last[0] & _records.SNAPPY
    for cut in (last_off + 3, last_off + 8 + len(last) // 2, last_off + 8 + len(last) - 1):
        dst = str(tmp_path / f"cut{cut}")
        shutil.copytree(src, dst)
        os.truncate(os.path.join(dst, "wal", "00000000"), cut)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="vigil"):
            db = DB.open(dst)
        torn = [r.getMessage() for r in caplog.records if "torn WAL record" in r.getMessage()]
        assert len(torn) == 1 and f"wal/00000000: torn WAL record at offset {last_off}" in torn[0]
        got = read_all(db)
        assert len(got) == 300 and all(len(v) == 5 for v in got.values())  # scrapes 0..4
        _commit_scrape(db, 100)  # appends after the cut-off record and survives a reopen
        db.close()
        db = DB.open(dst)
        assert [t for t, _ in read_all(db)[Labels.of(job="t", k="0")]][-2:] == [
            1_000 + 4 * 15_000, 1_000 + 100 * 15_000]
        db.close()


def test_corrupt_compressed_payload_is_caught_by_the_crc(tmp_path) -> None:
    _, seg, frames = _wal_of_scrapes(tmp_path)
    off, payload = frames[2]
    assert payload[0] & _records.SNAPPY
    with open(seg, "r+b") as f:
        f.seek(off + 8 + len(payload) // 2)
        b = f.read(1)
        f.seek(off + 8 + len(payload) // 2)
        f.write(bytes([b[0] ^ 0x01]))
    with pytest.raises(StorageError, match=rf"wal/00000000: corrupt WAL record at offset {off}: "
                                           r"crc mismatch"):
        DB.open(os.path.dirname(os.path.dirname(seg)))


def test_undecodable_compressed_payload_names_segment_and_offset(tmp_path) -> None:
    """A payload the crc vouches for but snappy cannot read (a writer bug, not a tear)."""
    _, seg, frames = _wal_of_scrapes(tmp_path)
    off, payload = frames[2]
    bad = bytes([payload[0]]) + b"\xff" * (len(payload) - 1)
    with open(seg, "r+b") as f:
        f.seek(off)
        f.write(struct.pack("<II", len(bad), zlib.crc32(bad)) + bad)
    with pytest.raises(StorageError, match=rf"wal/00000000: WAL record at offset {off}: "
                                           r"malformed WAL record of type 5"):
        DB.open(os.path.dirname(os.path.dirname(seg)))


def test_checkpoint_records_are_compressed_and_replay(tmp_path, read_all) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, wal_fsync="off", compact_interval_s=3600)
    for s in range(5):
        _commit_scrape(db, s)
    before = read_all(db)
    db._checkpoint()
    db.close()
    cp = os.path.join(path, "wal", "checkpoint.00000000", "00000000")
    kinds = [p[0] for _, p in _frames(cp)]
    assert kinds == [_records.META, _records.SERIES | _records.ZSTD,
                     _records.PACKED_SAMPLES | _records.ZSTD]
    db = DB.open(path)
    assert read_all(db) == before
    db.close()


def test_sigkill_with_packed_compressed_records_loses_no_acknowledged_sample(tmp_path) -> None:
    """As test_tsdb_crash, with commits large enough for the packed, compressed layout."""
    n_series = _records.PACKED_MIN_SAMPLES + 44
    path = str(tmp_path / "d")
    writer = os.path.join(os.path.dirname(__file__), "_crash_writer.py")
    # No compaction (kills during it are test_kill_during_compaction's): every commit's
    # record stays in the segments, which rotate every 4 KiB.
    proc = subprocess.Popen([sys.executable, writer, path, str(n_series), "0", str(10**9),
                             "3600", "4096"], stdout=subprocess.PIPE, text=True)
    acked = -1
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            acked = int(line)
            if acked >= 60:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        for line in proc.stdout.read().splitlines():  # printed before the kill landed
            acked = int(line)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    segments = sorted(n for n in os.listdir(os.path.join(path, "wal")) if n.isdigit())
    kinds = {p[0] for seg in segments[:-1] for _, p in _frames(os.path.join(path, "wal", seg))}
    assert len(segments) > 1 and _records.PACKED_SAMPLES | _records.SNAPPY in kinds
    db = DB.open(path, block_range_ms=10**9, compact_interval_s=3600)
    got = list(db.querier(0, 10**9).select([Matcher.equal("job", "t")]))
    assert len(got) == n_series
    for s in got:
        assert s.timestamps[:acked + 1].tolist() == list(range(acked + 1))
        assert s.values[:acked + 1].tolist() == [float(r) for r in range(acked + 1)]
        assert len(s.timestamps) <= acked + 2
    db.close()
