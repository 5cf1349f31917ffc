"""Binary encoding of WAL records (also used inside checkpoints).

A record payload starts with one type byte: the record kind in the low 7 bits, and the flag
``0x80`` (:data:`ZSTD`) when the rest of the payload is one zstd frame holding the record's
body (Prometheus likewise flags a compressed record in its header). Bodies shorter than
:data:`MIN_COMPRESS_BYTES` and those zstd does not shrink stay uncompressed. All integers are
little-endian.

* ``SERIES`` (1): ``u32 count`` then per series ``u64 ref, u16 npairs`` and ``npairs`` times
  ``u32 len, name utf-8, u32 len, value utf-8``.
* ``SAMPLES`` (2): ``u32 n`` then three packed arrays of ``n`` items each: ``u64 refs``,
  ``i64 timestamps (ms)``, ``f64 values`` (raw IEEE-754 bits, so NaN payloads such as the
  staleness marker survive). Written before WAL compression; still read.
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
  planes make those runs contiguous for zstd: at 2,000 node_exporter-like samples per record
  a sample takes about 4 bytes instead of 24 (see ``bench/wal_bytes.py``).

Unknown type bytes or flags are an error: a reader never guesses.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

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
ZSTD = 0x80
# Below this a zstd frame's own header (about 10 bytes) eats most of what it could save.
MIN_COMPRESS_BYTES = 64
# zstd level 1: at WAL record sizes higher levels save under 3 % more for 1.3x the CPU.
ZSTD_LEVEL = 1

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


def _record(kind: int, body: bytes) -> bytes:
    """The payload for ``body``: compressed with the flag set when that makes it smaller."""
    if len(body) >= MIN_COMPRESS_BYTES:
        packed = cramjam.zstd.compress(body, level=ZSTD_LEVEL)
        if len(packed) < len(body):
            return bytes([kind | ZSTD]) + bytes(packed)
    return bytes([kind]) + body


def encode_series(series: Iterable[tuple[int, Labels]],
                  pair_cache: dict[tuple[str, str], bytes] | None = None) -> bytes:
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
    return _record(SERIES, _U32.pack(count) + b"".join(parts))


def _planes(items: np.ndarray) -> bytes:
    """Little-endian 8-byte items as 8 byte planes."""
    return np.ascontiguousarray(items, dtype="<u8").view(np.uint8).reshape(-1, 8).T.tobytes()


def _zigzag_deltas(items: np.ndarray) -> np.ndarray:
    """Differences to the previous item (wrapping, as uint64 arithmetic), zigzag-encoded so
    that small negative differences are small numbers too."""
    x = np.ascontiguousarray(items).view(np.int64)
    d = np.empty_like(x)
    if len(x):
        d[0] = x[0]
        np.subtract(x[1:], x[:-1], out=d[1:])
    return ((d << 1) ^ (d >> 63)).view(np.uint64)


def encode_samples(refs: np.ndarray, timestamps: np.ndarray, values: np.ndarray, *,
                   out_of_order: bool = False) -> bytes:
    n = len(refs)
    if not len(timestamps) == len(values) == n:
        raise ValueError("refs, timestamps and values differ in length")
    body = b"".join((
        _U32.pack(n),
        _planes(_zigzag_deltas(np.asarray(refs, dtype=np.uint64))),
        _planes(_zigzag_deltas(np.asarray(timestamps, dtype=np.int64))),
        _planes(np.asarray(values, dtype=np.float64).view(np.uint64)),
    ))
    return _record(PACKED_OOO_SAMPLES if out_of_order else PACKED_SAMPLES, body)


def encode_meta(min_valid_time_ms: int) -> bytes:
    return _META.pack(META, min_valid_time_ms)


def decode(payload: bytes) -> list[tuple[int, Labels]] | SamplesRecord | MetaRecord:
    """Decode one record payload. Raises :class:`StorageError` on a malformed payload."""
    if not payload:
        raise StorageError("empty WAL record")
    kind = payload[0] & ~ZSTD
    if kind not in _KINDS:
        raise StorageError(f"unknown WAL record type {payload[0]}")
    try:
        body: bytes | memoryview = memoryview(payload)[1:]
        if payload[0] & ZSTD:
            body = bytes(cramjam.zstd.decompress(body))
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


def _from_planes(body: bytes | memoryview, n: int, offset: int) -> np.ndarray:
    planes = np.frombuffer(body, dtype=np.uint8, count=8 * n, offset=offset).reshape(8, n)
    return np.ascontiguousarray(planes.T).view("<u8").reshape(n)


def _undo_zigzag_deltas(z: np.ndarray) -> np.ndarray:
    d = (z >> np.uint64(1)) ^ (np.uint64(0) - (z & np.uint64(1)))
    return np.cumsum(d.view(np.int64))  # wraps like the encoder's subtraction


def _decode_packed_samples(body: bytes | memoryview, *, out_of_order: bool) -> SamplesRecord:
    n = _sample_count(body)
    refs = _undo_zigzag_deltas(_from_planes(body, n, 4)).view(np.uint64)
    ts = _undo_zigzag_deltas(_from_planes(body, n, 4 + 8 * n))
    vals = _from_planes(body, n, 4 + 16 * n).view(np.float64)
    return SamplesRecord(refs, ts, vals, out_of_order=out_of_order)
