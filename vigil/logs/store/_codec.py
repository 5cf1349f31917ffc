"""Columnar encoding of a batch of log entries: the body of a chunk and of a WAL record.

A batch is a sequence of *sections*, each ``u32 length`` (little-endian) then its bytes, in
this order (layout in ``docs/logs-format.md``)::

    0 header   u8 version, u32 entries, u32 streams, u32 levels, u32 field pairs
    1 streams  string column: each stream's labels as a JSON list of [name, value] pairs
    2 levels   string column: the distinct levels
    3 ts       int64[entries]: the first timestamp, then differences (ns)
    4 stream   uint32[entries]: index into the streams column
    5 level    uint8[entries]: index into the levels column
    6 lines    string column
    7 nfields  uint32[entries]: how many field pairs each entry has
    8 fkeys    string column (all entries' field names, in order)
    9 fvalues  string column

A *string column* is two sections: ``uint32[n]`` lengths in code points, then the strings
concatenated in UTF-8 (lone surrogates kept with ``surrogatepass`` so any ``str`` round-trips).
Columns of one kind side by side is what lets zstd compress a chunk to a fraction of its text.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vigil.errors import StorageError
from vigil.logs.model import LogEntry
from vigil.model.labels import Labels

VERSION = 1
_HEADER = struct.Struct("<BIIII")
_LEN = struct.Struct("<I")
_UTF8 = "utf-8"
_ERRORS = "surrogatepass"


@dataclass(frozen=True, slots=True)
class StringColumn:
    """Strings kept as one text and code-point offsets; ``get(i)`` slices one out."""
    text: str
    offsets: np.ndarray  # int64[n + 1]

    def get(self, i: int) -> str:
        return self.text[int(self.offsets[i]):int(self.offsets[i + 1])]

    def __len__(self) -> int:
        return len(self.offsets) - 1


def _string_sections(strings: Sequence[str]) -> tuple[bytes, bytes]:
    lengths = np.array(list(map(len, strings)), dtype="<u4")
    return lengths.tobytes(), "".join(strings).encode(_UTF8, _ERRORS)


def _string_column(lengths: bytes, blob: bytes) -> StringColumn:
    lens = np.frombuffer(lengths, dtype="<u4")
    offsets = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    text = blob.decode(_UTF8, _ERRORS)
    if offsets[-1] != len(text):
        raise ValueError("string column lengths do not add up to its text")
    return StringColumn(text, offsets)


def labels_json(labels: Labels) -> str:
    return json.dumps([list(p) for p in labels], ensure_ascii=False, separators=(",", ":"))


def labels_from_json(text: str) -> Labels:
    return Labels((str(k), str(v)) for k, v in json.loads(text))


def encode(entries: Sequence[LogEntry]) -> tuple[bytes, bytes]:
    """Encode ``entries`` in the given order; returns ``(batch, lines_utf8)`` where the second
    is the lines section alone (the token index is built from it)."""
    stream_ids: dict[Labels, int] = {}
    level_ids: dict[str, int] = {}
    n = len(entries)
    ts = np.array([e.ts_ns for e in entries], dtype="<i8")
    stream = np.array([stream_ids.setdefault(e.labels, len(stream_ids)) for e in entries],
                      dtype="<u4")
    level_index = [level_ids.setdefault(e.level, len(level_ids)) for e in entries]
    if len(level_ids) > 256:
        raise StorageError(f"more than 256 distinct levels in one batch: {sorted(level_ids)[:5]}")
    level = np.array(level_index, dtype="u1")
    nfields = np.array([len(e.fields) for e in entries], dtype="<u4")
    keys = [k for e in entries if e.fields for k, _ in e.fields]
    values = [v for e in entries if e.fields for _, v in e.fields]
    if n:
        ts[1:] = np.diff(ts)
    line_lengths, line_blob = _string_sections([e.line for e in entries])
    sections = [
        _HEADER.pack(VERSION, n, len(stream_ids), len(level_ids), len(keys)),
        *_string_sections([labels_json(s) for s in stream_ids]),
        *_string_sections(list(level_ids)),
        ts.tobytes(), stream.tobytes(), level.tobytes(),
        line_lengths, line_blob,
        nfields.tobytes(),
        *_string_sections(keys),
        *_string_sections(values),
    ]
    return b"".join(_LEN.pack(len(s)) + s for s in sections), line_blob


@dataclass(frozen=True, slots=True)
class Batch:
    """A decoded batch; entries are built only for the rows asked for."""
    ts: np.ndarray  # int64[n]
    stream: np.ndarray  # uint32[n]
    streams: list[Labels]
    level: np.ndarray  # uint8[n]
    levels: list[str]
    lines: StringColumn
    field_start: np.ndarray  # int64[n + 1]
    keys: StringColumn
    values: StringColumn

    def __len__(self) -> int:
        return len(self.ts)

    def entry(self, i: int) -> LogEntry:
        a, b = int(self.field_start[i]), int(self.field_start[i + 1])
        fields = tuple((self.keys.get(j), self.values.get(j)) for j in range(a, b))
        return LogEntry(int(self.ts[i]), self.streams[int(self.stream[i])], self.lines.get(i),
                        self.levels[int(self.level[i])], fields)


def decode(data: bytes | memoryview, where: str) -> Batch:
    """Decode a batch; ``where`` (file and offset) prefixes the error if it is malformed."""
    try:
        sections = _split(memoryview(data))
        version, n, n_streams, n_levels, n_pairs = _HEADER.unpack(sections[0])
        if version != VERSION:
            raise ValueError(f"unknown batch version {version}")
        streams_col = _string_column(sections[1], sections[2])
        levels_col = _string_column(sections[3], sections[4])
        ts = np.cumsum(np.frombuffer(sections[5], dtype="<i8"), dtype=np.int64)
        stream = np.frombuffer(sections[6], dtype="<u4")
        level = np.frombuffer(sections[7], dtype="u1")
        lines = _string_column(sections[8], sections[9])
        nfields = np.frombuffer(sections[10], dtype="<u4")
        keys = _string_column(sections[11], sections[12])
        values = _string_column(sections[13], sections[14])
        field_start = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(nfields, out=field_start[1:])
        if not (len(ts) == len(stream) == len(level) == len(lines) == len(nfields) == n
                and len(streams_col) == n_streams and len(levels_col) == n_levels
                and len(keys) == len(values) == n_pairs == field_start[-1]):
            raise ValueError("column sizes disagree with the header")
        if n and (int(stream.max()) >= n_streams or int(level.max()) >= n_levels):
            raise ValueError("stream or level index out of range")
        streams = [labels_from_json(streams_col.get(i)) for i in range(n_streams)]
        levels = [levels_col.get(i) for i in range(n_levels)]
    except (ValueError, struct.error, UnicodeDecodeError, IndexError, TypeError) as e:
        raise StorageError(f"{where}: malformed log batch: {e}") from e
    return Batch(ts, stream, streams, level, levels, lines, field_start, keys, values)


def _split(view: memoryview) -> list[bytes]:
    out: list[bytes] = []
    pos = 0
    while pos < len(view):
        (length,) = _LEN.unpack_from(view, pos)
        pos += _LEN.size
        if pos + length > len(view):
            raise ValueError(f"section {len(out)} of {length} bytes runs past the end")
        out.append(bytes(view[pos:pos + length]))
        pos += length
    if len(out) != 15:
        raise ValueError(f"{len(out)} sections, expected 15")
    return out
