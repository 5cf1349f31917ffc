"""The encoded batch (WAL record and chunk body): round trip, and malformed input raises a
StorageError naming where it was, never a stray exception."""

from __future__ import annotations

import struct

import pytest

from vigil.errors import StorageError
from vigil.logs.model import LogEntry
from vigil.logs.store._codec import decode, encode
from vigil.model.labels import Labels

ENTRIES = [
    LogEntry(5, Labels.of(app="a"), "first", "info", (("k", "v"), ("n", "1"))),
    LogEntry(3, Labels.of(app="b", host="h"), "", "", ()),  # out of order: deltas go negative
    LogEntry(-(1 << 63), Labels.of(app="a"), "ünï\udcff", "error", (("", ""),)),
]


def test_round_trip():
    data, lines = encode(ENTRIES)
    assert lines == "firstünï\udcff".encode("utf-8", "surrogatepass")
    batch = decode(data, "x")
    assert [batch.entry(i) for i in range(len(batch))] == ENTRIES
    empty = decode(encode([])[0], "x")
    assert len(empty) == 0


@pytest.mark.parametrize("damage", [
    lambda d: d[:-1],  # last section cut short
    lambda d: d[:20],
    lambda d: b"",
    lambda d: struct.pack("<I", 16) + d[4:],  # header length one short
    lambda d: d[:4] + b"\x09" + d[5:],  # unknown version
    lambda d: d + struct.pack("<I", 0),  # a 16th section
])
def test_malformed_batches_raise_storage_error_with_the_place(damage):
    data, _ = encode(ENTRIES)
    with pytest.raises(StorageError, match=r"^seg 00000003: record at offset 96: malformed"):
        decode(damage(data), "seg 00000003: record at offset 96")


def test_stream_index_out_of_range_is_caught():
    data = bytearray(encode(ENTRIES)[0])
    # section 6 (stream column) holds uint32 indexes; point the first one past the table
    pos = 0
    for _ in range(6):
        (length,) = struct.unpack_from("<I", data, pos)
        pos += 4 + length
    struct.pack_into("<I", data, pos + 4, 7)
    with pytest.raises(StorageError, match="index out of range"):
        decode(bytes(data), "here")
