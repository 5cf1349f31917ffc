"""Binary encoding of WAL records (also used inside checkpoints).

A record payload starts with one type byte: the record kind in the low 6 bits, and a flag
when the rest of the payload is the record's body compressed — ``0x40`` (:data:`SNAPPY`,
raw snappy block) or ``0x80`` (:data:`ZSTD`, one zstd frame); Prometheus likewise flags a
compressed record in its header. Records a commit logs use snappy: it costs a few µs per
record, where cramjam's zstd sets up a context for ~20 µs on every call, and commits are
on the ingest path. Checkpoints, written in the background in large records, use zstd,
which makes them about a third smaller. Bodies shorter than :data:`MIN_COMPRESS_BYTES` and
those the codec does not shrink stay uncompressed. All integers are little-endian.

* ``SERIES`` (1): ``u32 count`` then per series ``u64 ref, u16 npairs`` and ``npairs`` times
  ``u32 len, name utf-8, u32 len, value utf-8``.
* ``SAMPLES`` (2): ``u32 n`` then three packed arrays of ``n`` items each: ``u64 refs``,
  ``i64 timestamps (ms)``, ``f64 values`` (raw IEEE-754 bits, so NaN payloads such as the
  staleness marker survive). Written for fewer than :data:`PACKED_MIN_SAMPLES` samples,
  where the packed layout's numpy calls cost more than its bytes save.
* ``META`` (3): ``i64 min_valid_time_ms`` — written into checkpoints only; samples older than
  this already live in blocks.
* ``OOO_SAMPLES`` (4): as ``SAMPLES``, for samples accepted by the out-of-order window; replay
  puts them back into the head's out-of-order buffer whatever their time.
* ``PACKED_SAMPLES`` (5) and ``PACKED_OOO_SAMPLES`` (6), written since WAL compression:
  ``u32 n`` then three arrays of ``n`` 8-byte items, each stored as 8 *byte planes* (all
  items' byte 0, then all byte 1, ...): the refs' and the timestamps' zigzag-encoded
  differences to the previous item (the first item's to 0), and the values' raw bits. Refs
  and timestamps of a commit are close together, so their differences are small and their
  high planes all zero; values of a metric share sign, exponent and high mantissa bytes. The
  planes make those runs contiguous for the compressor (see ``bench/wal_bytes.py``).

Unknown type bytes or flags are an error: a reader never guesses.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import cramjam
import numpy as np

from vigil.errors import StorageError
from vigil.model.labels import Labels

SERIES = 1
SAMPLES = 2
META = 3
OOO_SAMPLES = 4
PACKED_SAMPLES = 5
PACKED_OOO_SAMPLES = 6
SNAPPY = 0x40
ZSTD = 0x80
Codec = Literal["snappy", "zstd"]
# Below this a compressed block's own header eats most of what it could save.
MIN_COMPRESS_BYTES = 64
# zstd level 1: at WAL record sizes higher levels save under 3 % more for 1.3x the CPU.
ZSTD_LEVEL = 1
# Fewer samples than this are written in the ``SAMPLES`` layout (see the module doc).
PACKED_MIN_SAMPLES = 256

_U32 = struct.Struct("<I")
_SERIES_HEAD = struct.Struct("<QH")
_META = struct.Struct("<Bq")
_KINDS = (SERIES, SAMPLES, META, OOO_SAMPLES, PACKED_SAMPLES, PACKED_OOO_SAMPLES)


@dataclass(frozen=True)
class SamplesRecord:
    """Columnar samples: ``refs`` uint64, ``timestamps`` int64 ms, ``values`` float64."""

    refs: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray
    out_of_order: bool = False


@dataclass(frozen=True)
class MetaRecord:
    min_valid_time_ms: int


def _record(kind: int, body: bytes, codec: Codec) -> bytes:
    """The payload for ``body``: compressed with its flag set when that makes it smaller."""
    if len(body) >= MIN_COMPRESS_BYTES:
        if codec == "zstd":
            flag, packed = ZSTD, cramjam.zstd.compress(body, level=ZSTD_LEVEL)
        else:
            flag, packed = SNAPPY, cramjam.snappy.compress_raw(body)
        if len(packed) < len(body):
            return bytes([kind | flag]) + bytes(packed)
    return bytes([kind]) + body


def encode_series(series: Iterable[tuple[int, Labels]],
                  pair_cache: dict[tuple[str, str], bytes] | None = None, *,
                  codec: Codec = "snappy") -> bytes:
    """``pair_cache``: encoded label pairs, kept by the caller across calls; most pairs
    repeat across series, and a checkpoint writes every series of the head."""
    cache = {} if pair_cache is None else pair_cache
    parts: list[bytes] = []
    append = parts.append
    count = 0
    for ref, labels in series:
        count += 1
        append(_SERIES_HEAD.pack(ref, len(labels)))
        for pair in labels:
            b = cache.get(pair)
            if b is None:
                nb = pair[0].encode()
                vb = pair[1].encode()
                b = cache[pair] = b"".join((_U32.pack(len(nb)), nb, _U32.pack(len(vb)), vb))
            append(b)
    return _record(SERIES, _U32.pack(count) + b"".join(parts), codec)


def packed_samples_body(refs: np.ndarray, timestamps: np.ndarray, values: np.ndarray) -> bytes:
    """The uncompressed body of a ``PACKED_SAMPLES`` record."""
    n = len(refs)
    if not len(timestamps) == len(values) == n:
        raise ValueError("refs, timestamps and values differ in length")
    cols = np.empty((3, n), np.uint64)  # one array, so each step below is one numpy call
    cols[0] = np.asarray(refs, dtype=np.uint64)
    cols[1] = np.asarray(timestamps, dtype=np.int64).view(np.uint64)
    cols[2] = np.asarray(values, dtype=np.float64).view(np.uint64)
    deltas = cols[:2].view(np.int64)
    if n:
        deltas[:, 1:] = np.diff(deltas, axis=1)  # wraps like uint64 arithmetic
    cols[:2] = ((deltas << 1) ^ (deltas >> 63)).view(np.uint64)  # zigzag
    planes = cols.astype("<u8", copy=False).view(np.uint8).reshape(3, n, 8).transpose(0, 2, 1)
    return _U32.pack(n) + planes.tobytes()


def encode_samples(refs: np.ndarray, timestamps: np.ndarray, values: np.ndarray, *,
                   out_of_order: bool = False, codec: Codec = "snappy") -> bytes:
    if len(refs) >= PACKED_MIN_SAMPLES:
        return _record(PACKED_OOO_SAMPLES if out_of_order else PACKED_SAMPLES,
                       packed_samples_body(refs, timestamps, values), codec)
    if not len(timestamps) == len(values) == len(refs):
        raise ValueError("refs, timestamps and values differ in length")
    body = b"".join((
        _U32.pack(len(refs)),
        np.ascontiguousarray(refs, dtype="<u8").tobytes(),
        np.ascontiguousarray(timestamps, dtype="<i8").tobytes(),
        np.ascontiguousarray(values, dtype="<f8").tobytes(),
    ))
    return _record(OOO_SAMPLES if out_of_order else SAMPLES, body, codec)


def encode_meta(min_valid_time_ms: int) -> bytes:
    return _META.pack(META, min_valid_time_ms)


def decode(payload: bytes) -> list[tuple[int, Labels]] | SamplesRecord | MetaRecord:
    """Decode one record payload. Raises :class:`StorageError` on a malformed payload."""
    if not payload:
        raise StorageError("empty WAL record")
    kind, flags = payload[0] & ~(SNAPPY | ZSTD), payload[0] & (SNAPPY | ZSTD)
    if kind not in _KINDS or flags == SNAPPY | ZSTD:
        raise StorageError(f"unknown WAL record type {payload[0]}")
    try:
        body: bytes | memoryview = memoryview(payload)[1:]
        if flags == ZSTD:
            body = bytes(cramjam.zstd.decompress(body))
        elif flags == SNAPPY:
            body = bytes(cramjam.snappy.decompress_raw(body))
        if kind == SERIES:
            return _decode_series(body)
        if kind in (SAMPLES, OOO_SAMPLES):
            return _decode_samples(body, out_of_order=kind == OOO_SAMPLES)
        if kind in (PACKED_SAMPLES, PACKED_OOO_SAMPLES):
            return _decode_packed_samples(body, out_of_order=kind == PACKED_OOO_SAMPLES)
        return MetaRecord(struct.unpack("<q", body)[0])
    except (struct.error, ValueError, UnicodeDecodeError, cramjam.DecompressionError) as e:
        raise StorageError(f"malformed WAL record of type {kind}: {e}") from e


def _decode_series(body: bytes | memoryview) -> list[tuple[int, Labels]]:
    body = bytes(body)
    (count,) = _U32.unpack_from(body, 0)
    pos = 4
    out: list[tuple[int, Labels]] = []
    for _ in range(count):
        ref, npairs = _SERIES_HEAD.unpack_from(body, pos)
        pos += _SERIES_HEAD.size
        pairs = []
        for _ in range(npairs):
            (ln,) = _U32.unpack_from(body, pos)
            name = body[pos + 4:pos + 4 + ln].decode()
            pos += 4 + ln
            (lv,) = _U32.unpack_from(body, pos)
            value = body[pos + 4:pos + 4 + lv].decode()
            pos += 4 + lv
            pairs.append((name, value))
        out.append((ref, Labels(pairs)))
    if pos != len(body):
        raise ValueError(f"{len(body) - pos} trailing bytes")
    return out


def _sample_count(body: bytes | memoryview) -> int:
    (n,) = _U32.unpack_from(body, 0)
    if len(body) != 4 + 24 * n:
        raise ValueError(f"samples record of {len(body) + 1} bytes cannot hold {n} samples")
    return n


def _decode_samples(body: bytes | memoryview, *, out_of_order: bool) -> SamplesRecord:
    n = _sample_count(body)
    refs = np.frombuffer(body, dtype="<u8", count=n, offset=4)
    ts = np.frombuffer(body, dtype="<i8", count=n, offset=4 + 8 * n)
    vals = np.frombuffer(body, dtype="<f8", count=n, offset=4 + 16 * n)
    return SamplesRecord(refs, ts, vals, out_of_order=out_of_order)


def _decode_packed_samples(body: bytes | memoryview, *, out_of_order: bool) -> SamplesRecord:
    n = _sample_count(body)
    planes = np.frombuffer(body, dtype=np.uint8, count=24 * n, offset=4).reshape(3, 8, n)
    cols = planes.transpose(0, 2, 1).copy().view("<u8").reshape(3, n)
    zig = cols[:2]
    deltas = (zig >> np.uint64(1)) ^ (np.uint64(0) - (zig & np.uint64(1)))
    refs_ts = np.cumsum(deltas.view(np.int64), axis=1)  # wraps like the encoder's subtraction
    return SamplesRecord(refs_ts[0].view(np.uint64), refs_ts[1], cols[2].view(np.float64),
                         out_of_order=out_of_order)
