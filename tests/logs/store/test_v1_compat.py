"""Chunk format version 1 still reads: ``fixtures/v1-store`` was written by the version-1
store (two chunks and a WAL segment with the rest) before chunk format 2 existed; the
current store opens it, reads it like any store, and cuts new chunks in format 2 beside it."""

from __future__ import annotations

import shutil
from pathlib import Path

from vigil.logs.model import LogEntry, StreamSelection
from vigil.logs.store import LogStore, Options
from vigil.model.labels import Labels

S = 1_000_000_000
FIXTURE = Path(__file__).parent / "fixtures" / "v1-store"
WORDS = ["ok", "zürich", "err\udcff", "ñandú"]


def fixture_entries() -> list[LogEntry]:
    """What the fixture holds (it was written from this list)."""
    apps = ["api", "db", "web"]
    return [LogEntry(1_700_000_000 * S + i * S // 4, Labels.of(app=apps[i % 3], env="prod"),
                     f"request {i} {WORDS[i % 4]} id=r{i:04x}",
                     ["info", "error", ""][i % 3],
                     (("trace_id", f"t{i}"), ("user", f"ü{i % 5}")) if i % 2 else ())
            for i in range(130)]


def test_v1_chunks_and_wal_read_and_mix_with_v2(tmp_path):
    path = tmp_path / "store"
    shutil.copytree(FIXTURE, path)
    expected = fixture_entries()
    chunk_files = sorted(path.glob("chunks/*/*.chunk"))
    assert len(chunk_files) == 2 and all(f.read_bytes()[:8] == b"VLOGCHK\x01"
                                         for f in chunk_files)
    everything = StreamSelection((), 0, 1 << 62, backward=False)
    with LogStore.open(str(path), Options()) as store:
        assert store.stats().chunks == 2 and store.stats().head_entries == 30
        assert list(store.select(everything)) == expected
        needle = StreamSelection((), 0, 1 << 62, ("zürich",), backward=False)
        assert [e for e in store.select(needle) if "zürich" in e.line] == [
            e for e in expected if "zürich" in e.line]
        columns = list(store.select_columns(needle))
        assert sum(len(c.ts_ns) for c in columns) == sum("zürich" in e.line for e in expected)
    new_files = sorted(set(path.glob("chunks/*/*.chunk")) - set(chunk_files))
    assert len(new_files) == 1 and new_files[0].read_bytes()[:8] == b"VLOGCHK\x02"
    with LogStore.open(str(path), Options()) as store:
        assert list(store.select(everything)) == expected
