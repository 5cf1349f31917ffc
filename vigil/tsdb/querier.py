"""The querier over blocks and head together.

Each :meth:`DBQuerier.select` reads the head *first*, then the blocks: if a block is cut from
the head in between, the samples show up twice rather than not at all, and the merge drops
repeated timestamps (keeping the first copy; the copies are identical).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.storage.interface import SeriesSet
from vigil.tsdb.block import Block
from vigil.tsdb.head import Head

BlockSource = Callable[[int, int], list[Block]]


class DBQuerier:
    """Implements :class:`vigil.storage.Querier` for ``[mint_ms, maxt_ms]`` (inclusive)."""

    def __init__(self, head: Head, blocks: BlockSource, mint_ms: int, maxt_ms: int) -> None:
        self._head = head
        self._blocks = blocks
        self.mint = mint_ms
        self.maxt = maxt_ms

    def _with_blocks(self) -> list[Block]:
        return self._blocks(self.mint, self.maxt)  # acquired; caller releases

    def select(self, matchers: Sequence[Matcher]) -> SeriesSet:
        head_part = self._head.select_set(matchers, self.mint, self.maxt)
        blocks = self._with_blocks()
        try:
            parts = [b.select_set(matchers, self.mint, self.maxt) for b in blocks]
        finally:
            for b in blocks:
                b.release()
        parts.append(head_part)  # blocks ascending by time, then the head
        return merge_series_sets([p for p in parts if len(p)])

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        names = self._head.label_names(matchers)
        blocks = self._with_blocks()
        try:
            for b in blocks:
                names |= b.label_names(matchers)
        finally:
            for b in blocks:
                b.release()
        return sorted(names)

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        values = self._head.label_values(name, matchers)
        blocks = self._with_blocks()
        try:
            for b in blocks:
                values |= b.label_values(name, matchers)
        finally:
            for b in blocks:
                b.release()
        return sorted(values)

    def close(self) -> None:
        pass


def merge_series_sets(parts: list[SeriesSet]) -> SeriesSet:
    """One SeriesSet in label order from ``parts`` (each in label order) given oldest
    first. A series in several
    parts gets their samples in time order; a timestamp seen twice keeps the first copy."""
    if not parts:
        return SeriesSet.empty()
    if len(parts) == 1:
        return parts[0]  # each part comes in label order
    ids: dict[Labels, int] = {}
    sids = []
    for p in parts:
        local = np.fromiter((ids.setdefault(lb, len(ids)) for lb in p.labels), np.int64,
                            len(p.labels))
        sids.append(np.repeat(local, np.diff(p.offsets)))
    labels = list(ids)
    order = sorted(range(len(labels)), key=labels.__getitem__)
    rank = np.empty(len(labels), np.int64)
    rank[order] = np.arange(len(labels))
    sid = rank[np.concatenate(sids)]
    ts = np.concatenate([p.timestamps for p in parts])
    vals = np.concatenate([p.values for p in parts])
    # Stable: each part is already grouped and time-ordered, so this merges a few runs.
    perm = np.argsort(sid, kind="stable")
    sid, ts, vals = sid[perm], ts[perm], vals[perm]
    if len(ts) > 1:
        same = sid[1:] == sid[:-1]
        if (same & (ts[1:] <= ts[:-1])).any():  # overlapping parts: order by time, dedupe
            perm = np.lexsort((ts, sid))
            sid, ts, vals = sid[perm], ts[perm], vals[perm]
            keep = np.concatenate(([True], (sid[1:] != sid[:-1]) | (ts[1:] != ts[:-1])))
            sid, ts, vals = sid[keep], ts[keep], vals[keep]
    counts = np.bincount(sid, minlength=len(labels))
    offsets = np.zeros(len(labels) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return SeriesSet([labels[i] for i in order], ts, vals, offsets)
