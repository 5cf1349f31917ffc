"""Retention by size deletes whole oldest blocks; a missing or broken block file is moved
aside at open while the rest of the store stays readable; sizes read as Prometheus's."""

from __future__ import annotations

import os

import pytest

from tests.tsdb.test_tsdb_blocks import block_dirs, fill
from vigil.config.sizes import parse_bytes
from vigil.model import Matcher
from vigil.tsdb import DB

# A retention this short leaves no larger block range to merge into (10 % of it < 3 s).
NO_MERGE = 20_000


def _block_bytes(path: str) -> list[int]:
    out = []
    for name in block_dirs(path):
        d = os.path.join(path, "blocks", name)
        out.append(sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)))
    return out


def test_size_retention_deletes_oldest_blocks_until_under_the_limit(tmp_path) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, block_range_ms=1000, compact_interval_s=3600, retention_ms=NO_MERGE)
    fill(db, 20, 8000)
    assert db.compact() == 7  # [0, 1000) .. [6000, 7000); the head keeps the rest
    names, sizes = block_dirs(path), _block_bytes(path)
    wal = db.stats()["wal_bytes"]
    db.close()
    # Room for the WAL and the three newest blocks, not four.
    limit = wal + sum(sizes[-3:]) + sizes[-4] // 2
    db = DB.open(path, block_range_ms=1000, compact_interval_s=3600, retention_ms=NO_MERGE,
                 retention_bytes=limit)
    try:
        db.compact()
        assert block_dirs(path) == names[-3:]
        got = list(db.querier(0, 10_000).select([Matcher.equal("job", "t")]))
        assert {int(s.timestamps[0]) for s in got} == {4000}  # data before the kept blocks is gone
        assert {int(s.timestamps[-1]) for s in got} == {7990}  # the head is never cut
    finally:
        db.close()


def test_no_size_limit_keeps_every_block(tmp_path) -> None:
    path = str(tmp_path / "d")
    with DB.open(path, block_range_ms=1000, compact_interval_s=3600, retention_ms=NO_MERGE) as db:
        fill(db, 5, 6000)
        db.compact()
        assert len(block_dirs(path)) == 5


def test_block_without_meta_is_moved_aside(tmp_path) -> None:
    path = str(tmp_path / "d")
    with DB.open(path, block_range_ms=1000, compact_interval_s=3600, retention_ms=NO_MERGE) as db:
        fill(db, 3, 6000)
        db.compact()
    first, *rest = block_dirs(path)
    os.remove(os.path.join(path, "blocks", first, "meta.json"))
    with DB.open(path, block_range_ms=1000, compact_interval_s=3600, retention_ms=NO_MERGE) as db:
        assert block_dirs(path) == rest
        assert os.listdir(os.path.join(path, "corrupted")) == [first]
        got = list(db.querier(0, 10_000).select([Matcher.equal("job", "t")]))
        assert len(got) == 3 and all(int(s.timestamps[0]) == 1000 for s in got)


@pytest.mark.parametrize(("text", "want"), [
    ("0", 0), ("512B", 512), ("1KB", 1024), ("512MB", 512 << 20), ("10GB", 10 << 30),
    ("1TiB", 1 << 40), ("2 GB", 2 << 30),
])
def test_sizes_read_as_prometheus_reads_them(text: str, want: int) -> None:
    assert parse_bytes(text) == want


@pytest.mark.parametrize("text", ["", "10", "1.5GB", "10 gigs", "-1GB", "GB"])
def test_bad_sizes_say_what_is_wrong(text: str) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        parse_bytes(text)
