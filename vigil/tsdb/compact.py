"""Compaction: merging blocks into larger ones.

Blocks cut from the head span ``block_range`` (2 h). Once every block of a larger aligned
range (``block_range`` × 3, × 9, …, at most 10 % of the retention time and 31 days) has been
cut, they are merged into one block of that range, as Prometheus does; blocks whose time
ranges overlap (a backfill over existing data) are merged whatever their ranges.

Crash safety: the merged block is written completely (temp directory, fsync, rename) and
names its sources in ``meta.json`` before any source is deleted. A crash in between leaves
both, which queries read without duplicates (equal timestamps are merged), and the next open
deletes the sources the merged block lists (:func:`drop_replaced`).
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterator, Sequence

from vigil.tsdb.block import Block
from vigil.tsdb.head import SeriesData
from vigil.tsdb.merge import merge_series_sets

__all__ = ["compaction_ranges", "drop_replaced", "merged_series", "plan"]

log = logging.getLogger(__name__)

MAX_BLOCK_RANGE_MS = 31 * 86_400_000


def compaction_ranges(block_range_ms: int, retention_ms: int) -> list[int]:
    """The larger block spans to merge into, smallest first."""
    limit = min(MAX_BLOCK_RANGE_MS, retention_ms // 10)
    out, r = [], block_range_ms * 3
    while r <= limit:
        out.append(r)
        r *= 3
    return out


def plan(blocks: Sequence[Block], ranges: Sequence[int]) -> list[Block] | None:
    """The next set of blocks to merge (sorted by time), or None. Overlapping blocks come
    first; then the smallest range whose aligned window is complete — every block in it,
    at least two, and a newer block after it, so the window no longer grows."""
    ordered = sorted(blocks, key=lambda b: (b.min_time, b.max_time))
    for i in range(1, len(ordered)):
        if ordered[i].min_time < ordered[i - 1].max_time:
            group = [b for b in ordered
                     if b.min_time < ordered[i - 1].max_time and b.max_time > ordered[i].min_time]
            return group if len(group) > 1 else None
    if not ordered:
        return None
    newest_start = max(b.min_time for b in ordered)
    for r in ranges:
        windows: dict[int, list[Block]] = {}
        for b in ordered:
            start = b.min_time - b.min_time % r
            if b.max_time <= start + r:  # the block fits in the window
                windows.setdefault(start, []).append(b)
        for start, group in sorted(windows.items()):
            if len(group) > 1 and newest_start >= start + r:
                return group
    return None


# Samples decoded at a time while merging (16 bytes each, and as much again for the merged
# copy): bounds the memory of a merge whatever the number of series and the range.
MERGE_BATCH_SAMPLES = 2_000_000


def merged_series(blocks: Sequence[Block]) -> tuple[Iterator[SeriesData], int]:
    """Every series of ``blocks`` merged (label order, time order, one sample per
    timestamp), produced a slice of series at a time, and the merged block's end
    (exclusive)."""
    ordered = sorted(blocks, key=lambda b: b.min_time)
    return _merge_in_slices(ordered), max(b.max_time for b in blocks)


def _merge_in_slices(blocks: list[Block]) -> Iterator[SeriesData]:
    # Each block lists its series in label order, so the series of a slice of the merged
    # label order are one contiguous range of positions in every block.
    union = sorted(set().union(*(b.series_labels for b in blocks)))
    if not union:
        return
    samples = sum(b.num_samples for b in blocks)
    step = max(64, int(MERGE_BATCH_SAMPLES * len(union) / max(samples, 1)))
    starts = [0] * len(blocks)
    for lo in range(0, len(union), step):
        last = union[min(lo + step, len(union)) - 1]
        parts = []
        for k, b in enumerate(blocks):
            end = bisect.bisect_right(b.series_labels, last, starts[k])
            if end > starts[k]:
                parts.append(b.read_positions(starts[k], end))
            starts[k] = end
        for s in merge_series_sets(parts):
            yield SeriesData(s.labels, s.timestamps, s.values)


def drop_replaced(blocks: list[Block]) -> list[Block]:
    """Blocks left after deleting those a compacted block lists as its sources (a crash
    between writing the merged block and deleting its sources)."""
    replaced = {u for b in blocks for u in b.meta.get("compaction", {}).get("sources", [])}
    kept = []
    for b in blocks:
        if b.ulid in replaced:
            log.info("compaction: deleting %s, already merged into a newer block", b.path)
            b.delete()
        else:
            kept.append(b)
    return kept
