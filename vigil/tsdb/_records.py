"""Binary encoding of WAL records (also used inside checkpoints).

A record payload starts with one type byte. All integers are little-endian.

* ``SERIES`` (1): ``u32 count`` then per series ``u64 ref, u16 npairs`` and ``npairs`` times
  ``u32 len, name utf-8, u32 len, value utf-8``.
* ``SAMPLES`` (2): ``u32 n`` then three packed arrays of ``n`` items each: ``u64 refs``,
  ``i64 timestamps (ms)``, ``f64 values`` (raw IEEE-754 bits, so NaN payloads such as the
  staleness marker survive).
* ``META`` (3): ``i64 min_valid_time_ms`` — written into checkpoints only; samples older than
  this already live in blocks.
* ``OOO_SAMPLES`` (4): as ``SAMPLES``, for samples accepted by the out-of-order window; replay
  puts them back into the head's out-of-order buffer whatever their time.

Unknown type bytes are an error: a reader never guesses.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from vigil.errors import StorageError
from vigil.model.labels import Labels

SERIES = 1
SAMPLES = 2
META = 3
OOO_SAMPLES = 4

_U32 = struct.Struct("<I")
_SERIES_HEAD = struct.Struct("<QH")
_META = struct.Struct("<Bq")


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
    return bytes([SERIES]) + _U32.pack(count) + b"".join(parts)


def encode_samples(refs: np.ndarray, timestamps: np.ndarray, values: np.ndarray, *,
                   out_of_order: bool = False) -> bytes:
    n = len(refs)
    return b"".join((
        bytes([OOO_SAMPLES if out_of_order else SAMPLES]),
        _U32.pack(n),
        np.ascontiguousarray(refs, dtype="<u8").tobytes(),
        np.ascontiguousarray(timestamps, dtype="<i8").tobytes(),
        np.ascontiguousarray(values, dtype="<f8").tobytes(),
    ))


def encode_meta(min_valid_time_ms: int) -> bytes:
    return _META.pack(META, min_valid_time_ms)


def decode(payload: bytes) -> list[tuple[int, Labels]] | SamplesRecord | MetaRecord:
    """Decode one record payload. Raises :class:`StorageError` on a malformed payload."""
    if not payload:
        raise StorageError("empty WAL record")
    kind = payload[0]
    try:
        if kind == SERIES:
            return _decode_series(payload)
        if kind in (SAMPLES, OOO_SAMPLES):
            return _decode_samples(payload)
        if kind == META:
            return MetaRecord(_META.unpack_from(payload, 0)[1])
    except (struct.error, ValueError, UnicodeDecodeError) as e:
        raise StorageError(f"malformed WAL record of type {kind}: {e}") from e
    raise StorageError(f"unknown WAL record type {kind}")


def _decode_series(payload: bytes) -> list[tuple[int, Labels]]:
    (count,) = _U32.unpack_from(payload, 1)
    pos = 5
    out: list[tuple[int, Labels]] = []
    for _ in range(count):
        ref, npairs = _SERIES_HEAD.unpack_from(payload, pos)
        pos += _SERIES_HEAD.size
        pairs = []
        for _ in range(npairs):
            (ln,) = _U32.unpack_from(payload, pos)
            name = payload[pos + 4:pos + 4 + ln].decode()
            pos += 4 + ln
            (lv,) = _U32.unpack_from(payload, pos)
            value = payload[pos + 4:pos + 4 + lv].decode()
            pos += 4 + lv
            pairs.append((name, value))
        out.append((ref, Labels(pairs)))
    if pos != len(payload):
        raise ValueError(f"{len(payload) - pos} trailing bytes")
    return out


def _decode_samples(payload: bytes) -> SamplesRecord:
    (n,) = _U32.unpack_from(payload, 1)
    if len(payload) != 5 + 24 * n:
        raise ValueError(f"samples record of {len(payload)} bytes cannot hold {n} samples")
    buf = memoryview(payload)
    refs = np.frombuffer(buf, dtype="<u8", count=n, offset=5)
    ts = np.frombuffer(buf, dtype="<i8", count=n, offset=5 + 8 * n)
    vals = np.frombuffer(buf, dtype="<f8", count=n, offset=5 + 16 * n)
    return SamplesRecord(refs, ts, vals, out_of_order=payload[0] == OOO_SAMPLES)
