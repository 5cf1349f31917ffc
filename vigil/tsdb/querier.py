"""The querier over blocks and head together.

Each :meth:`DBQuerier.select` reads the head *first*, then the blocks: if a block is cut from
the head in between, the samples show up twice rather than not at all, and the merge drops
repeated timestamps (keeping the first copy; the copies are identical).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.storage.interface import Series
from vigil.tsdb.block import Block
from vigil.tsdb.head import Head, SeriesData

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

    def select(self, matchers: Sequence[Matcher]) -> Iterator[Series]:
        head_part = self._head.select(matchers, self.mint, self.maxt)
        blocks = self._with_blocks()
        try:
            parts: dict[Labels, list[SeriesData]] = {}
            for b in blocks:  # ascending by time
                for d in b.select(matchers, self.mint, self.maxt):
                    parts.setdefault(d.labels, []).append(d)
        finally:
            for b in blocks:
                b.release()
        for d in head_part:
            parts.setdefault(d.labels, []).append(d)
        out = [_merge(labels, pieces) for labels, pieces in parts.items()]
        out.sort(key=lambda s: s.labels)
        return iter(out)

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


def _merge(labels: Labels, pieces: list[SeriesData]) -> Series:
    if len(pieces) == 1:
        p = pieces[0]
        return Series(labels, p.timestamps, p.values)
    ts = np.concatenate([p.timestamps for p in pieces])
    vals = np.concatenate([p.values for p in pieces])
    if len(ts) > 1 and not (np.diff(ts) > 0).all():
        order = np.argsort(ts, kind="stable")
        ts, vals = ts[order], vals[order]
        keep = np.concatenate(([True], ts[1:] != ts[:-1]))
        ts, vals = ts[keep], vals[keep]
    return Series(labels, ts, vals)
