"""Reading: the rows of one chunk that a selection wants, and the time-ordered merge of
chunks and head that opens a chunk only when its turn may have come (so ``limit`` reads few)."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from vigil.logs.model import LogEntry
from vigil.logs.store._codec import Batch
from vigil.model.labels import Labels


def chunk_rows(batch: Batch, wanted: set[Labels], start_ns: int, end_ns: int,
               needles: Sequence[str]) -> np.ndarray:
    """Row numbers (ascending) of the entries of ``batch`` in the window, of a wanted stream,
    whose line holds every needle."""
    stream_ok = np.fromiter((s in wanted for s in batch.streams), dtype=bool,
                            count=len(batch.streams))
    mask = (batch.ts >= start_ns) & (batch.ts < end_ns)
    if not stream_ok.all():
        mask &= stream_ok[batch.stream]
    for needle in needles:
        mask &= _rows_containing(batch, needle)
    return np.flatnonzero(mask)


def _rows_containing(batch: Batch, needle: str) -> np.ndarray:
    """A mask of the rows whose line contains ``needle``: ``str.find`` over the chunk's whole
    text (fast, in C), each hit mapped to its line by the line offsets."""
    hits = np.zeros(len(batch), dtype=bool)
    if not needle:
        hits[:] = True
        return hits
    text, offsets = batch.lines.text, batch.lines.offsets
    positions: list[int] = []
    pos = text.find(needle)
    while pos >= 0:
        positions.append(pos)
        # next search starts at the following line: one hit per line is enough
        row = int(np.searchsorted(offsets, pos, side="right")) - 1
        pos = text.find(needle, int(offsets[row + 1]))
    if positions:
        pos_arr = np.array(positions, dtype=np.int64)
        rows = np.searchsorted(offsets, pos_arr, side="right") - 1
        # A first hit that runs past its line's end means no hit inside that line: any
        # later start in the line would run past the end too.
        inside = pos_arr + len(needle) <= offsets[rows + 1]
        hits[rows[inside]] = True
    return hits


@dataclass
class Source:
    """Something sorted to merge: ``bound`` is its first timestamp in the direction of the
    merge; ``open`` yields its entries in that direction."""
    bound: int
    open: Callable[[], Iterable[LogEntry]]


class _Item:
    __slots__ = ("entry", "it", "key", "seq")
    reverse = False

    def __init__(self, entry: LogEntry, seq: int, it: Iterator[LogEntry]) -> None:
        self.entry, self.seq, self.it = entry, seq, it
        self.key = (entry.ts_ns, entry.labels)

    def __lt__(self, other: _Item) -> bool:
        if self.key != other.key:
            return (self.key > other.key) if self.reverse else (self.key < other.key)
        return self.seq < other.seq


class _ReverseItem(_Item):
    __slots__ = ()
    reverse = True


def merge(sources: list[Source], backward: bool, limit: int) -> Iterator[LogEntry]:
    """Entries of all sources ordered by (timestamp, stream), reversed when ``backward``."""
    item = _ReverseItem if backward else _Item
    pending = sorted(sources, key=lambda s: s.bound, reverse=backward)
    pending.reverse()  # pop() from the end takes the next source to open
    heap: list[_Item] = []
    seq = 0
    emitted = 0

    def push(it: Iterator[LogEntry]) -> None:
        nonlocal seq
        for entry in it:
            heapq.heappush(heap, item(entry, seq, it))
            seq += 1
            return

    while heap or pending:
        while pending and (not heap or (pending[-1].bound >= heap[0].entry.ts_ns if backward
                                        else pending[-1].bound <= heap[0].entry.ts_ns)):
            push(iter(pending.pop().open()))
        if not heap:
            continue
        top = heapq.heappop(heap)
        yield top.entry
        emitted += 1
        if limit and emitted >= limit:
            return
        push(top.it)
