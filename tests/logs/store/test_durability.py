"""Recovery and damage: torn WAL tails, corrupt records and chunks, a crash between writing
chunks and deleting the WAL they came from, leftovers of an interrupted chunk write."""

from __future__ import annotations

import glob
import os

import pytest

from vigil.errors import StorageError
from vigil.logs.model import LogEntry, StreamSelection
from vigil.logs.store import LogStore, Options
from vigil.logs.store._wal import WAL
from vigil.model.labels import Labels

S = 1_000_000_000
EVERYTHING = StreamSelection((), 0, 1 << 62, backward=False)


def batch(n: int, start: int) -> list[LogEntry]:
    return [LogEntry((start + i) * S, Labels.of(app="a"), f"line {start + i}") for i in range(n)]


def crash(store: LogStore) -> None:
    """Drop the store as a killed process would: no cut, no WAL sync, lock released."""
    store._wal._fd is not None and os.close(store._wal._fd)
    store._closed = True
    os.close(store._lock_fd)


def lines(path: str) -> list[str]:
    with LogStore.open(path, Options(chunk_bytes=1 << 30)) as s:
        return [e.line for e in s.select(EVERYTHING)]


def wal_segment(path: str) -> str:
    (segment,) = glob.glob(os.path.join(path, "wal", "[0-9]" * 8))
    return segment


@pytest.mark.parametrize("damage", ["cut", "zeros", "flip"])
def test_torn_wal_tail_keeps_the_records_before_it(tmp_path, damage, caplog):
    path = str(tmp_path / "s")
    s = LogStore.open(path, Options(chunk_bytes=1 << 30))
    s.append(batch(3, 0))
    s.append(batch(3, 3))
    crash(s)
    seg = wal_segment(path)
    size = os.path.getsize(seg)
    with open(seg, "r+b") as f:
        if damage == "cut":
            f.truncate(size - 5)
        elif damage == "zeros":
            f.seek(size)
            f.write(b"\0" * 64)
        else:
            f.seek(size - 2)
            f.write(bytes([f.read(1)[0] ^ 0xFF]))
    want = [f"line {i}" for i in range(3 if damage != "zeros" else 6)]
    assert lines(path) == want
    assert "torn WAL record" in caplog.text


def test_corrupt_wal_record_before_good_ones_is_an_error_naming_the_place(tmp_path):
    path = str(tmp_path / "s")
    s = LogStore.open(path, Options(chunk_bytes=1 << 30))
    s.append(batch(3, 0))
    s.append(batch(3, 3))
    crash(s)
    seg = wal_segment(path)
    with open(seg, "r+b") as f:
        f.seek(12)
        f.write(b"\xff")
    with pytest.raises(StorageError, match=r"00000001: corrupt WAL record at offset 0: crc"):
        LogStore.open(path)
    assert os.path.getsize(seg) > 0  # nothing was thrown away


def test_crash_after_the_cut_before_the_wal_is_deleted_replays_nothing_twice(tmp_path,
                                                                             monkeypatch):
    path = str(tmp_path / "s")
    s = LogStore.open(path, Options(chunk_bytes=1 << 30))
    s.append(batch(5, 0))
    monkeypatch.setattr(WAL, "truncate_upto", lambda self, seg: None)  # "dies" here
    s.flush()
    assert os.path.getsize(wal_segment(path)) > 0
    crash(s)
    monkeypatch.undo()
    assert lines(path) == [f"line {i}" for i in range(5)]
    assert glob.glob(os.path.join(path, "wal", "*")) == []


def test_leftover_tmp_chunk_is_removed_and_its_entries_come_from_the_wal(tmp_path):
    path = str(tmp_path / "s")
    s = LogStore.open(path, Options(chunk_bytes=1 << 30))
    s.append(batch(4, 0))
    crash(s)
    part = os.path.join(path, "chunks", "0")
    os.makedirs(part)
    with open(os.path.join(part, "0000000001.chunk.tmp"), "wb") as f:
        f.write(b"VLOGCHK\x01half")
    assert lines(path) == [f"line {i}" for i in range(4)]
    assert not glob.glob(os.path.join(part, "*.tmp"))


@pytest.mark.parametrize("where", ["meta", "body", "truncated"])
def test_corrupt_chunk_is_an_error_naming_the_file(tmp_path, where):
    path = str(tmp_path / "s")
    with LogStore.open(path) as s:
        s.append(batch(50, 0))
    (chunk,) = glob.glob(os.path.join(path, "chunks", "*", "*.chunk"))
    size = os.path.getsize(chunk)
    with open(chunk, "r+b") as f:
        if where == "truncated":
            f.truncate(size - 1)
        else:
            f.seek(20 if where == "meta" else size - 3)
            b = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([b[0] ^ 0x01]))
    if where == "body":  # found when the body is read, not at open
        with LogStore.open(path) as s, pytest.raises(StorageError, match="body at offset"):
            list(s.select(EVERYTHING))
    else:
        with pytest.raises(StorageError, match=r"0000000001\.chunk: corrupt chunk"):
            LogStore.open(path)
