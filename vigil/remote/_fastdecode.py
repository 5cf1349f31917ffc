"""A hand-written decoder for the few WriteRequest fields remote-write 1.0 uses: the hot path.

Why not only the generated protobuf classes: reading every field through them costs ~8 µs
per sample from Python. Here one pass over the bytes yields each time series as its *raw
label bytes* (the contiguous ``labels`` entries, usable as a cache key: the same series
arrives with the same bytes in every request) plus its samples. Labels are decoded only for
bytes not seen before, by :func:`decode_labels`.

Input the fast path does not expect (labels after samples, unusual field order inside a
sample) is still decoded correctly by the general branches; malformed input raises
:class:`~vigil.remote.codec.WireError`.
"""

from __future__ import annotations

import struct
from collections.abc import Container

from vigil.remote.codec import WireError

__all__ = ["Columns", "decode_labels", "scan_write_request"]

_DOUBLE = struct.Struct("<d").unpack_from
_U64 = struct.Struct("<Q").unpack_from
_TRUNC = "protobuf: unexpected EOF"



class Columns:
    """A decoded request as flat columns (few objects: cheap for the garbage collector).

    ``labels[k]`` is series k's raw label bytes and ``counts[k]`` its number of samples;
    the samples of all series follow each other in ``ts`` (ms) and ``vals``."""

    __slots__ = ("counts", "labels", "ts", "vals")

    def __init__(self) -> None:
        self.labels: list[bytes] = []
        self.counts: list[int] = []
        self.ts: list[int] = []
        self.vals: list[float] = []


def _varint(b: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(b) or shift > 63:
            raise WireError(_TRUNC if pos >= len(b) else "protobuf: varint overflow")
        byte = b[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _skip(b: bytes, pos: int, wire: int) -> int:
    """Skip one field's payload (after its tag); returns the position after it."""
    if wire == 0:
        return _varint(b, pos)[1]
    if wire == 1:
        pos += 8
    elif wire == 2:
        ln, pos = _varint(b, pos)
        pos += ln
    elif wire == 5:
        pos += 4
    else:
        raise WireError(f"protobuf: unsupported wire type {wire}")
    if pos > len(b):
        raise WireError(_TRUNC)
    return pos


def scan_write_request(b: bytes, known: Container[bytes] = ()) -> Columns:
    """Split a WriteRequest into :class:`Columns`.

    ``known`` holds label regions seen before (the receiver's label cache: every key came
    out of this function, so it is a run of well-formed ``labels`` entries). A series that
    is one of those followed by exactly one sample with a 6-byte timestamp varint (any time
    from 1971 to 2109) is decoded without walking its labels: the sender's common case."""
    out = Columns()
    labels_append, counts_append = out.labels.append, out.counts.append
    ts_append, vals_append = out.ts.append, out.vals.append
    ts_cache: dict[bytes, int] = {}  # a request's samples mostly share a few timestamps
    pos, n = 0, len(b)
    while pos < n:
        tag = b[pos]
        if tag != 0x0A:  # not `timeseries`: metadata etc. are ignored
            key, pos = _varint(b, pos)
            pos = _skip(b, pos, key & 7)
            continue
        ln = b[pos + 1] if pos + 1 < n else 0x80
        if ln < 0x80:
            pos += 2
        elif pos + 2 < n and b[pos + 2] < 0x80:  # two-byte length: series of 128..16383 bytes, the usual
            ln = (ln & 0x7F) | (b[pos + 2] << 7)
            pos += 3
        else:
            ln, pos = _varint(b, pos + 1)
        end = pos + ln
        if end > n:
            raise WireError(_TRUNC)
        smp = end - 18  # where a lone trailing sample field starts: 12 09 <8> 10 <6-byte varint>
        if smp > pos and b[smp] == 0x12 and b[smp + 1] == 0x10 and b[smp + 2] == 0x09 \
                and b[smp + 11] == 0x10 and b[end - 1] < 0x80:
            raw = b[pos:smp]
            if raw in known or _only_labels(raw):
                tsraw = b[smp + 12:end]
                t = ts_cache.get(tsraw)
                if t is None:
                    t, tend = _varint(tsraw, 0)
                    if tend != len(tsraw):  # a shorter varint and more fields: general path
                        _series(b, pos, end, out)
                        pos = end
                        continue
                    ts_cache[tsraw] = t
                labels_append(raw)
                counts_append(1)
                ts_append(t)
                vals_append(_DOUBLE(b, smp + 3)[0])
                pos = end
                continue
        _series(b, pos, end, out)
        pos = end
    return out


def _only_labels(raw: bytes) -> bool:
    """Whether ``raw`` is exactly a run of ``labels`` entries (field 1, length-delimited)."""
    pos, n = 0, len(raw)
    while pos < n:
        if raw[pos] != 0x0A:
            return False
        try:
            ln, pos = _varint(raw, pos + 1)
        except WireError:
            return False
        pos += ln
    return pos == n


def _series(b: bytes, pos: int, end: int, out: Columns) -> None:
    start = pos
    # The usual layout: all labels first, then all samples.
    while pos < end and b[pos] == 0x0A:
        ln = b[pos + 1] if pos + 1 < end else 0x80
        if ln < 0x80:
            pos += 2 + ln
        else:
            ln, pos = _varint(b, pos + 1)
            pos += ln
    if pos > end:
        raise WireError(_TRUNC)
    labels = b[start:pos]
    extra_labels: list[bytes] = []
    tss, vals = out.ts, out.vals
    n0 = len(tss)
    while pos < end:
        tag = b[pos]
        if tag == 0x12:
            ln = b[pos + 1] if pos + 1 < end else 0x80
            if ln < 0x80:
                pos += 2
            else:
                ln, pos = _varint(b, pos + 1)
            s_end = pos + ln
            if s_end > end:
                raise WireError(_TRUNC)
            if ln >= 10 and b[pos] == 0x09 and b[pos + 9] == 0x10:
                # value then timestamp, the order every encoder writes
                v = _DOUBLE(b, pos + 1)[0]
                t, p = _varint(b, pos + 10)
                if p != s_end:
                    t, v = _sample(b, pos, s_end)
            else:
                t, v = _sample(b, pos, s_end)
            if t >= 1 << 63:
                t -= 1 << 64
            tss.append(t)
            vals.append(v)
            pos = s_end
        elif tag == 0x0A:  # a label after samples: legal protobuf, rare
            lstart = pos
            ln, pos = _varint(b, pos + 1)
            pos += ln
            extra_labels.append(b[lstart:pos])
        else:
            key, pos = _varint(b, pos)
            pos = _skip(b, pos, key & 7)
    if pos != end:
        raise WireError(_TRUNC)
    if extra_labels:
        labels = labels + b"".join(extra_labels)
    out.labels.append(labels)
    out.counts.append(len(tss) - n0)


def _sample(b: bytes, pos: int, end: int) -> tuple[int, float]:
    t, v = 0, 0.0
    while pos < end:
        key, pos = _varint(b, pos)
        field, wire = key >> 3, key & 7
        if field == 1 and wire == 1:
            if pos + 8 > end:
                raise WireError(_TRUNC)
            v = _DOUBLE(b, pos)[0]
            pos += 8
        elif field == 2 and wire == 0:
            t, pos = _varint(b, pos)
        else:
            pos = _skip(b, pos, wire)
    if pos != end:
        raise WireError(_TRUNC)
    return t, v


def decode_labels(raw: bytes) -> list[tuple[str, str]]:
    """Decode raw ``labels`` entries into ``(name, value)`` pairs, in wire order."""
    out: list[tuple[str, str]] = []
    pos, n = 0, len(raw)
    while pos < n:
        key, pos = _varint(raw, pos)
        if key != 0x0A:
            pos = _skip(raw, pos, key & 7)
            continue
        ln, pos = _varint(raw, pos)
        end = pos + ln
        if end > n:
            raise WireError(_TRUNC)
        name = value = b""
        while pos < end:
            k, pos = _varint(raw, pos)
            if k in (0x0A, 0x12):
                fl, pos = _varint(raw, pos)
                if pos + fl > end:
                    raise WireError(_TRUNC)
                if k == 0x0A:
                    name = raw[pos:pos + fl]
                else:
                    value = raw[pos:pos + fl]
                pos += fl
            else:
                pos = _skip(raw, pos, k & 7)
        if pos != end:
            raise WireError(_TRUNC)
        try:
            out.append((name.decode("utf-8"), value.decode("utf-8")))
        except UnicodeDecodeError:
            raise WireError("protobuf: label is not valid UTF-8") from None
    return out
