"""Column blocks for metric queries (:meth:`LogStore.select_columns`): the timestamps, stream
indexes and UTF-8 line lengths of the rows a selection wants, without a ``LogEntry`` per row."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vigil.logs.model import EntryColumns, LogEntry
from vigil.model.labels import Labels

_UTF8, _ERRORS = "utf-8", "surrogatepass"


def utf8_lengths(text: str, offsets: np.ndarray) -> np.ndarray:
    """The UTF-8 byte length of each of the strings ``text[offsets[i]:offsets[i + 1]]``
    (code-point offsets), as stored (lone surrogates with ``surrogatepass``: 3 bytes)."""
    if text.isascii():
        return np.diff(offsets).astype(np.int64)
    data = np.frombuffer(text.encode(_UTF8, _ERRORS), dtype=np.uint8)
    starts = np.flatnonzero((data & 0xC0) != 0x80)  # byte offset of each code point
    byte_offsets = np.append(starts, len(data))[offsets]
    return np.diff(byte_offsets).astype(np.int64)


def head_columns(head: Sequence[LogEntry], wanted: set[Labels],
                 needles: Sequence[str]) -> EntryColumns | None:
    """The head's entries of a wanted stream whose line holds every needle (the head is
    already cut to the window), or None when there are none."""
    rows = [e for e in head if e.labels in wanted and all(n in e.line for n in needles)]
    if not rows:
        return None
    index: dict[Labels, int] = {}
    stream = np.fromiter((index.setdefault(e.labels, len(index)) for e in rows),
                         dtype=np.int32, count=len(rows))
    ts = np.fromiter((e.ts_ns for e in rows), dtype=np.int64, count=len(rows))
    line_bytes = np.fromiter((len(e.line.encode(_UTF8, _ERRORS)) for e in rows),
                             dtype=np.int64, count=len(rows))
    levels: dict[str, int] = {}
    level = np.fromiter((levels.setdefault(e.level, len(levels)) for e in rows),
                        dtype=np.int32, count=len(rows))
    has_fields = np.fromiter((bool(e.fields) for e in rows), dtype=bool, count=len(rows))
    return EntryColumns(ts, stream, tuple(index), line_bytes, level, tuple(levels), has_fields)
