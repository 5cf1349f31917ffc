"""Chunk format 2: the body as separately compressed columns, the lines in blocks.

Rows are stored *stream-major*: ordered by (stream labels, timestamp), so the lines of one
stream, which resemble each other, lie side by side for zstd. Every column is one zstd frame;
the lines are several (blocks of about ``BLOCK_BYTES`` of UTF-8, cut at line ends), so a
search decompresses only the lines (never the other columns' text) block by block, runs
``bytes.find`` over the UTF-8 and decodes only the lines that match. Byte layout in
``docs/logs-format.md``.
"""

from __future__ import annotations

import math
import os
import threading
import zlib
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from operator import attrgetter

import cramjam
import numpy as np

from vigil.errors import StorageError
from vigil.logs.model import EntryColumns, LogEntry
from vigil.model.labels import Labels

BLOCK_BYTES = 1 << 20
COLUMNS = ("ts", "stream", "level", "line_bytes", "nfields", "field_bytes", "field_text")
_UTF8, _ERRORS = "utf-8", "surrogatepass"
_LABELS, _TS, _LEVEL, _LINE, _FIELDS = (attrgetter(a) for a in ("labels", "ts_ns", "level",
                                                               "line", "fields"))


@dataclass(frozen=True, slots=True)
class Section:
    """One zstd frame of a chunk: where it is and what it decompresses to."""
    offset: int
    bytes: int
    crc: int
    raw: int  # decompressed bytes
    width: int = 0  # int columns: bytes per value (1, 2, 4, 8)
    unit: int = 1  # ts: the deltas' common divisor
    rows: int = 0  # line blocks: lines in the block


# ---- int columns -----------------------------------------------------------------------------

def _width(lo: int, hi: int, signed: bool) -> int:
    for w in (1, 2, 4, 8):
        bits = 8 * w
        if (-(1 << (bits - 1)) <= lo and hi < 1 << (bits - 1)) if signed else hi < 1 << bits:
            return w
    raise ValueError(f"values {lo}..{hi} do not fit 64 bits")


def encode_ints(values: np.ndarray, signed: bool) -> tuple[bytes, int]:
    """``values`` in the smallest width that holds them, byte planes transposed (every
    value's lowest byte first, then every second byte...), which zstd compresses better."""
    lo, hi = (int(values.min()), int(values.max())) if len(values) else (0, 0)
    w = _width(lo, hi, signed)
    arr = values.astype(f"<{'i' if signed else 'u'}{w}")
    return arr.view(np.uint8).reshape(len(arr), w).T.tobytes(), w


def decode_ints(data: bytes, n: int, width: int, signed: bool) -> np.ndarray:
    if width not in (1, 2, 4, 8) or len(data) != n * width:
        raise ValueError(f"int column of {len(data)} bytes is not {n} values of {width} bytes")
    planes = np.frombuffer(data, dtype=np.uint8).reshape(width, n)
    return np.ascontiguousarray(planes.T).view(f"<{'i' if signed else 'u'}{width}").reshape(n)


# ---- writing ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class EncodedBody:
    frames: list[bytes]  # the columns (in COLUMNS order), then the line blocks
    sections: list[Section]  # offsets relative to the body's start
    streams: list[Labels]  # sorted; a row's stream column indexes this
    levels: list[str]
    lines_utf8: bytes  # for the token index
    min_ts: int
    max_ts: int


def encode_body(entries: Sequence[LogEntry], level: int) -> EncodedBody:
    """Encode ``entries`` (any order) as a format-2 body compressed at zstd ``level``."""
    # map() over attrgetters: no Python frame per row (this runs for every line stored)
    labels = list(map(_LABELS, entries))
    streams = sorted(set(labels))
    rank = {s: i for i, s in enumerate(streams)}
    n = len(entries)
    stream = np.fromiter(map(rank.__getitem__, labels), dtype=np.int64, count=n)
    ts = np.fromiter(map(_TS, entries), dtype=np.int64, count=n)
    order = np.lexsort((ts, stream))  # stable: equal (stream, ts) keep their arrival order
    rows = list(map(entries.__getitem__, order.tolist()))
    ts, stream = ts[order], stream[order]
    row_levels = list(map(_LEVEL, rows))
    level_ids = {v: i for i, v in enumerate(dict.fromkeys(row_levels))}
    if len(level_ids) > 256:
        raise StorageError(f"more than 256 distinct levels in one chunk: {sorted(level_ids)[:5]}")
    levels = np.fromiter(map(level_ids.__getitem__, row_levels), dtype=np.int64, count=n)
    line_strs = list(map(_LINE, rows))
    text = "".join(line_strs)
    if text.isascii():  # the common case: code points are bytes, no line to encode alone
        blob = text.encode("ascii")
        line_bytes = np.fromiter(map(len, line_strs), dtype=np.int64, count=n)
    else:
        lines = [line.encode(_UTF8, _ERRORS) for line in line_strs]
        blob = b"".join(lines)
        line_bytes = np.fromiter(map(len, lines), dtype=np.int64, count=n)
    pairs = [s.encode(_UTF8, _ERRORS) for e in rows if e.fields for kv in e.fields for s in kv]
    min_ts = int(ts.min())
    deltas = np.diff(ts, prepend=min_ts)  # first row: its offset from the chunk's min_ts
    unit = math.gcd(*np.unique(np.abs(deltas)).tolist()) or 1
    raw_columns: list[tuple[bytes, int, int]] = [  # (data, width, unit)
        (*encode_ints(deltas // unit, signed=True), unit),
        (*encode_ints(stream, signed=False), 1),
        (*encode_ints(levels, signed=False), 1),
        (*encode_ints(line_bytes, signed=False), 1),
        (*encode_ints(np.fromiter(map(len, map(_FIELDS, rows)), dtype=np.int64, count=n),
                      signed=False), 1),
        (*encode_ints(np.fromiter(map(len, pairs), dtype=np.int64, count=len(pairs)),
                      signed=False), 1),
        (b"".join(pairs), 0, 1),
    ]
    frames: list[bytes] = []
    sections: list[Section] = []
    offset = 0

    def add(data: bytes, width: int = 0, unit: int = 1, rows: int = 0) -> None:
        nonlocal offset
        frame = bytes(cramjam.zstd.compress(data, level=level))
        frames.append(frame)
        sections.append(Section(offset, len(frame), zlib.crc32(frame), len(data), width, unit,
                                rows))
        offset += len(frame)

    for data, width, unit_ in raw_columns:
        add(data, width, unit_)
    ends = np.cumsum(line_bytes)
    first = 0
    while first < len(rows):  # blocks of whole lines, each about BLOCK_BYTES
        start = int(ends[first - 1]) if first else 0
        last = max(first + 1, int(np.searchsorted(ends, start + BLOCK_BYTES, side="left")) + 1)
        last = min(last, len(rows))
        add(blob[start:int(ends[last - 1])], rows=last - first)
        first = last
    return EncodedBody(frames, sections, streams, list(level_ids), blob, min_ts,
                       int(ts.max()))


# ---- reading ---------------------------------------------------------------------------------

class Chunk2:
    """A format-2 chunk's columns, read at construction; line blocks and fields are read
    when asked for (not kept: a scan through many chunks holds one at a time)."""

    def __init__(self, path: str, body_offset: int, sections: Sequence[Section],
                 streams: tuple[Labels, ...], levels: tuple[str, ...], entries: int,
                 min_ts: int) -> None:
        self.path = path
        self.streams = streams
        self.levels = levels
        self._body_offset = body_offset
        self._columns = dict(zip(COLUMNS, sections[:len(COLUMNS)], strict=True))
        self.blocks = list(sections[len(COLUMNS):])
        n = entries
        try:
            ts = self._ints("ts", n, signed=True).astype(np.int64)
            self.ts = np.cumsum(ts * self._columns["ts"].unit, dtype=np.int64) + min_ts
            self.stream = self._ints("stream", n, signed=False).astype(np.int32)
            self.level = self._ints("level", n, signed=False)
            self.line_bytes = self._ints("line_bytes", n, signed=False).astype(np.int64)
            if n and (int(self.stream.max()) >= len(streams)
                      or int(self.level.max()) >= len(levels)):
                raise ValueError("stream or level index out of range")
            if sum(b.rows for b in self.blocks) != n:
                raise ValueError("line blocks do not hold every row")
        except ValueError as e:
            raise StorageError(f"{path}: corrupt chunk: {e}") from e
        self.line_start = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(self.line_bytes, out=self.line_start[1:])
        self.block_row = np.zeros(len(self.blocks) + 1, dtype=np.int64)
        np.cumsum([b.rows for b in self.blocks], out=self.block_row[1:])
        self._fields: tuple[np.ndarray, list[str]] | None = None
        self._has_fields: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ts)

    def _frame(self, s: Section, what: str) -> bytes:
        offset = self._body_offset + s.offset
        with open(self.path, "rb") as f:
            f.seek(offset)
            data = f.read(s.bytes)
        if len(data) != s.bytes or zlib.crc32(data) != s.crc:
            raise StorageError(f"{self.path}: corrupt chunk: {what} (body at offset {offset}): "
                               "crc mismatch")
        try:
            raw = cramjam.zstd.decompress(data)
        except Exception as e:  # cramjam raises its own DecompressionError
            raise StorageError(f"{self.path}: corrupt chunk: {what} (body at offset {offset}): "
                               f"{e}") from e
        if len(raw) != s.raw:
            raise StorageError(f"{self.path}: corrupt chunk: {what} (body at offset {offset}): "
                               f"{len(raw)} bytes, expected {s.raw}")
        return bytes(raw)

    def _ints(self, name: str, n: int, signed: bool) -> np.ndarray:
        s = self._columns[name]
        return decode_ints(self._frame(s, f"column {name}"), n, s.width, signed)

    def block(self, b: int) -> bytes:
        """The UTF-8 of line block ``b`` (rows ``block_row[b]`` up to ``block_row[b + 1]``)."""
        data = self._frame(self.blocks[b], f"line block {b}")
        if len(data) != self.line_start[self.block_row[b + 1]] - self.line_start[self.block_row[b]]:
            raise StorageError(f"{self.path}: corrupt chunk: line block {b} disagrees with "
                               "the line lengths")
        return data

    def rows_containing(self, candidates: np.ndarray, needles: Sequence[str]) -> np.ndarray:
        """A mask of the rows whose line holds every needle, looked for only in the blocks
        that have a candidate row (``candidates`` is a mask)."""
        hits = np.zeros(len(self), dtype=bool)
        encoded = [n.encode(_UTF8, _ERRORS) for n in needles]
        wanted = [b for b in range(len(self.blocks))
                  if candidates[self.block_row[b]:self.block_row[b + 1]].any()]
        # cramjam releases the GIL while it decompresses: the pool reads ahead while this
        # thread searches (bytes.find holds the GIL)
        blocks = _pool().map(self.block, wanted) if len(wanted) > 1 else map(self.block, wanted)
        for b, data in zip(wanted, blocks, strict=True):
            lo, hi = int(self.block_row[b]), int(self.block_row[b + 1])
            starts = self.line_start[lo:hi + 1] - self.line_start[lo]
            block_hits = np.ones(hi - lo, dtype=bool)
            for needle in encoded:
                block_hits &= _find_rows(data, starts, needle)
            hits[lo:hi] = block_hits
        return hits

    def select(self, wanted: set[Labels], start_ns: int, end_ns: int,
               needles: Sequence[str]) -> np.ndarray:
        """Rows in the window, of a wanted stream, holding every needle; in (timestamp,
        stream labels) order (the streams are sorted, so stream index order is label order)."""
        mask = (self.ts >= start_ns) & (self.ts < end_ns)
        stream_ok = np.fromiter((s in wanted for s in self.streams), dtype=bool,
                                count=len(self.streams))
        if not stream_ok.all():
            mask &= stream_ok[self.stream]
        if needles and mask.any():
            mask &= self.rows_containing(mask, needles)
        rows = np.flatnonzero(mask)
        return rows[np.lexsort((self.stream[rows], self.ts[rows]))]

    def entries(self, rows: np.ndarray) -> Iterator[LogEntry]:
        """The entries of ``rows``, in that order; each line block is read once, when first
        needed."""
        decoded: dict[int, bytes] = {}
        blocks = np.searchsorted(self.block_row, rows, side="right") - 1
        for i, b in zip(rows.tolist(), blocks.tolist(), strict=True):
            data = decoded.get(b)
            if data is None:
                data = decoded[b] = self.block(b)
            base = int(self.line_start[self.block_row[b]])
            a, z = int(self.line_start[i]) - base, int(self.line_start[i + 1]) - base
            yield LogEntry(int(self.ts[i]), self.streams[int(self.stream[i])],
                           data[a:z].decode(_UTF8, _ERRORS), self.levels[int(self.level[i])],
                           self._entry_fields(i))

    def _entry_fields(self, i: int) -> tuple[tuple[str, str], ...]:
        if self._fields is None:
            n = len(self)
            nfields = self._ints("nfields", n, signed=False).astype(np.int64)
            pair_start = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(nfields, out=pair_start[1:])
            s = self._columns["field_bytes"]
            lengths = decode_ints(self._frame(s, "column field_bytes"), int(pair_start[-1]) * 2,
                                  s.width, signed=False).astype(np.int64)
            text = self._frame(self._columns["field_text"], "column field_text")
            ends = np.cumsum(lengths).tolist()
            if ends and ends[-1] != len(text):
                raise StorageError(f"{self.path}: corrupt chunk: field lengths disagree with "
                                   "their text")
            bounds = [0, *ends]
            strings = [text[a:z].decode(_UTF8, _ERRORS)
                       for a, z in zip(bounds[:-1], bounds[1:], strict=True)]
            self._fields = (pair_start, strings)
        pair_start, strings = self._fields
        a, z = int(pair_start[i]), int(pair_start[i + 1])
        return tuple((strings[2 * j], strings[2 * j + 1]) for j in range(a, z))

    def columns(self, rows: np.ndarray) -> EntryColumns:
        if self._has_fields is None:
            self._has_fields = self._ints("nfields", len(self), signed=False) > 0
        return EntryColumns(self.ts[rows], self.stream[rows], self.streams,
                            self.line_bytes[rows], self.level[rows], self.levels,
                            self._has_fields[rows])


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="log-blocks")
        return _POOL


def _find_rows(data: bytes, starts: np.ndarray, needle: bytes) -> np.ndarray:
    """A mask of the lines (``starts``: their byte offsets in ``data``, then its length)
    that contain ``needle``; ``bytes.find`` over the whole block, one hit per line."""
    hits = np.zeros(len(starts) - 1, dtype=bool)
    if not needle:
        hits[:] = True
        return hits
    # Python ints and bisect: a common word hits thousands of lines per block, and numpy's
    # scalar calls cost several times what the search does per hit.
    bounds = starts.tolist()
    found: list[int] = []
    size = len(needle)
    pos = data.find(needle)
    while pos >= 0:
        row = bisect_right(bounds, pos) - 1
        end = bounds[row + 1]
        # A first hit running past its line's end means none inside the line: a later
        # start in it would run past the end too. Either way, go on at the next line.
        if pos + size <= end:
            found.append(row)
        pos = data.find(needle, end)
    hits[found] = True
    return hits
