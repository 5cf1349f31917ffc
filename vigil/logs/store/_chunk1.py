"""A chunk of format 1 (one zstd frame of an encoded batch, rows in time order), read with
the interface format-2 chunks have (:class:`vigil.logs.store._chunk2.Chunk2`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from vigil.logs.model import EntryColumns, LogEntry
from vigil.logs.store._codec import Batch
from vigil.logs.store._columns import utf8_lengths
from vigil.logs.store._select import chunk_rows
from vigil.model.labels import Labels


class Chunk1:
    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.streams = tuple(batch.streams)
        self.ts = batch.ts
        self._line_bytes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.batch)

    def select(self, wanted: set[Labels], start_ns: int, end_ns: int,
               needles: Sequence[str]) -> np.ndarray:
        return chunk_rows(self.batch, wanted, start_ns, end_ns, needles)  # in time order

    def entries(self, rows: np.ndarray) -> Iterator[LogEntry]:
        return (self.batch.entry(i) for i in rows.tolist())

    def columns(self, rows: np.ndarray) -> EntryColumns:
        if self._line_bytes is None:
            self._line_bytes = utf8_lengths(self.batch.lines.text, self.batch.lines.offsets)
        b = self.batch
        return EntryColumns(b.ts[rows].astype(np.int64), b.stream[rows].astype(np.int32),
                            self.streams, self._line_bytes[rows], b.level[rows],
                            tuple(b.levels), np.diff(b.field_start)[rows] > 0)
