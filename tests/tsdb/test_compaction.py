"""Compaction merges blocks into larger ranges (and overlapping blocks whatever their
ranges); queries read the same data before and after; a crash between writing the merged
block and deleting its sources loses nothing and leaves no duplicate."""

from __future__ import annotations

import json
import os

import numpy as np

from tests.tsdb.test_tsdb_blocks import block_dirs, check_all, fill
from vigil.model import Labels, Matcher
from vigil.tsdb import DB
from vigil.tsdb.block import Block, write_block
from vigil.tsdb.compact import compaction_ranges, merged_series, plan
from vigil.tsdb.head import SeriesData


def _metas(path: str) -> list[dict]:
    return [json.load(open(os.path.join(path, "blocks", n, "meta.json")))
            for n in block_dirs(path)]


def test_ranges_grow_by_three_up_to_a_tenth_of_retention() -> None:
    assert compaction_ranges(7_200_000, 15 * 86_400_000) == [
        21_600_000, 64_800_000]  # 6 h, 18 h (54 h would pass 10 % of 15 d)
    assert compaction_ranges(1000, 20_000) == []


def test_complete_windows_merge_and_queries_read_the_same(tmp_path) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, block_range_ms=1000, compact_interval_s=3600,
                 retention_ms=100_000)  # ranges 3 s and 9 s
    try:
        fill(db, 5, 11_000)
        before = [(s.labels, s.timestamps.tolist(), s.values.tolist())
                  for s in db.querier(0, 10**6).select([Matcher.equal("job", "t")])]
        db.compact()
        spans = sorted((m["minTime"], m["maxTime"]) for m in _metas(path))
        # [0, 9000) is one block of the 9 s range; [9000, 10000) waits for its window.
        assert spans == [(0, 9000), (9000, 10000)]
        merged = [m for m in _metas(path) if "compaction" in m]
        assert len(merged) == 1 and len(merged[0]["compaction"]["sources"]) == 3
        after = [(s.labels, s.timestamps.tolist(), s.values.tolist())
                 for s in db.querier(0, 10**6).select([Matcher.equal("job", "t")])]
        assert after == before
        check_all(db, 5, 11_000)
    finally:
        db.close()


def _block(path: str, labels: Labels, ts: list[int], end: int) -> Block:
    arr = np.array(ts, np.int64)
    return Block(write_block(path, [SeriesData(labels, arr, arr.astype(float))], end))


def test_overlapping_blocks_merge_with_one_sample_per_timestamp(tmp_path) -> None:
    blocks_dir = str(tmp_path)
    a = _block(blocks_dir, Labels.of(job="t"), [0, 10, 20, 30], 40)
    b = _block(blocks_dir, Labels.of(job="t"), [15, 20, 35], 40)  # a backfill over a
    c = _block(blocks_dir, Labels.of(job="u"), [100], 200)
    group = plan([a, b, c], [])
    assert group is not None and {x.ulid for x in group} == {a.ulid, b.ulid}
    data, end = merged_series(group)
    assert end == 40 and [d.timestamps.tolist() for d in data] == [[0, 10, 15, 20, 30, 35]]


def test_a_crash_before_sources_are_deleted_is_finished_at_open(tmp_path) -> None:
    path = str(tmp_path / "d")
    db = DB.open(path, block_range_ms=1000, compact_interval_s=3600, retention_ms=20_000)
    fill(db, 3, 5000)
    db.compact()  # blocks of 1 s; no larger range with this retention
    db.close()
    sources = block_dirs(path)
    assert len(sources) >= 3
    blocks = [Block(os.path.join(path, "blocks", n)) for n in sources]
    data, end = merged_series(blocks)
    # What a compaction that died before deleting anything leaves behind:
    write_block(os.path.join(path, "blocks"), data, end, sources=[b.ulid for b in blocks])
    for b in blocks:
        b.close()
    assert len(block_dirs(path)) == len(sources) + 1
    db = DB.open(path, block_range_ms=1000, compact_interval_s=3600, retention_ms=20_000)
    try:
        assert len(block_dirs(path)) == 1 and not set(block_dirs(path)) & set(sources)
        check_all(db, 3, 5000)
    finally:
        db.close()


def test_a_merge_in_many_slices_of_series_keeps_every_sample(tmp_path, monkeypatch) -> None:
    """The merge reads a slice of series at a time; series missing from some blocks,
    overlapping samples and slice boundaries between them change nothing."""
    monkeypatch.setattr("vigil.tsdb.compact.MERGE_BATCH_SAMPLES", 50)
    rng = np.random.default_rng(4)
    blocks_dir = str(tmp_path)
    expected: dict[Labels, dict[int, float]] = {}
    blocks = []
    for k in range(3):
        data = []
        for i in sorted(rng.choice(300, 200, replace=False).tolist(), key=str):
            lb = Labels.of(job="t", i=str(i))
            ts = np.unique(rng.integers(k * 800, k * 800 + 1200, 12)).astype(np.int64)
            vals = rng.random(len(ts))
            for t, v in zip(ts.tolist(), vals.tolist(), strict=True):
                expected.setdefault(lb, {}).setdefault(t, v)  # oldest block's copy wins
            data.append(SeriesData(lb, ts, vals))
        blocks.append(Block(write_block(blocks_dir, sorted(data, key=lambda d: d.labels),
                                        (k + 1) * 1000 + 1200)))
    stream, end = merged_series(blocks)
    got = {d.labels: dict(zip(d.timestamps.tolist(), d.values.tolist(), strict=True))
           for d in stream}
    assert end == 3 * 1000 + 1200
    assert got == expected
    merged = Block(write_block(blocks_dir, merged_series(blocks)[0], end))
    assert merged.series_labels == sorted(expected)
    assert merged.num_samples == sum(len(v) for v in expected.values())
