"""The querier over blocks and head together.

Each :meth:`DBQuerier.select` reads the head *first*, then the blocks: if a block is cut from
the head in between, the samples show up twice rather than not at all, and the merge drops
repeated timestamps (keeping the first copy; the copies are identical).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vigil.model.matchers import Matcher
from vigil.storage.interface import SeriesSet
from vigil.tsdb.block import Block
from vigil.tsdb.head import Head
from vigil.tsdb.merge import merge_series_sets

__all__ = ["DBQuerier", "merge_series_sets"]

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
