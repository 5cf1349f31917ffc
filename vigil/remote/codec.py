"""The remote-write 1.0 wire format: a snappy-block-compressed ``prometheus.WriteRequest``.

Decoding on the hot path is :mod:`vigil.remote._fastdecode`; encoding is written by hand
here (senders pre-encode each series' labels once). The protobuf message classes, built at
import time from a descriptor written here in Python (no ``protoc``, no generated code), are
the reference decoder the tests compare both against. Only the fields remote-write 1.0 defines for
samples are declared::

    message WriteRequest { repeated TimeSeries timeseries = 1; }
    message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
    message Label        { string name = 1; string value = 2; }
    message Sample       { double value = 1; int64 timestamp = 2; }

Anything else a sender includes (metadata, exemplars, native histograms) parses as an
unknown field and is ignored, as Prometheus 2.42 ignores what it does not store.

Timestamps are int64 milliseconds since the Unix epoch, as on the wire.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from vigil.errors import VigilError

__all__ = [
    "CONTENT_ENCODING", "CONTENT_TYPE", "PROTOCOL_VERSION", "DecodedSeries", "WireError",
    "WriteRequest", "compress", "decode_write_request", "decompress", "encode_labels",
    "encode_series", "encode_write_request",
]

CONTENT_TYPE = "application/x-protobuf"
CONTENT_ENCODING = "snappy"
PROTOCOL_VERSION = "0.1.0"  # the X-Prometheus-Remote-Write-Version header of protocol 1.0

# (labels as (name, value) pairs in wire order, timestamps ms, values)
DecodedSeries = tuple[list[tuple[str, str]], list[int], list[float]]


class WireError(VigilError):
    """The payload is not valid snappy or not a valid WriteRequest (an HTTP 400)."""


def _build_messages() -> dict[str, Any]:
    F = descriptor_pb2.FieldDescriptorProto
    fd = descriptor_pb2.FileDescriptorProto(name="vigil_remote_write.proto", package="prometheus",
                                            syntax="proto3")

    def message(name: str, fields: Sequence[tuple[str, int, int, int, str]]) -> None:
        m = fd.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message("Label", [("name", 1, F.TYPE_STRING, opt, ""), ("value", 2, F.TYPE_STRING, opt, "")])
    message("Sample", [("value", 1, F.TYPE_DOUBLE, opt, ""), ("timestamp", 2, F.TYPE_INT64, opt, "")])
    message("TimeSeries", [("labels", 1, F.TYPE_MESSAGE, rep, ".prometheus.Label"),
                           ("samples", 2, F.TYPE_MESSAGE, rep, ".prometheus.Sample")])
    message("WriteRequest", [("timeseries", 1, F.TYPE_MESSAGE, rep, ".prometheus.TimeSeries")])
    # A private pool: the default one may already hold a prometheus.* from another library.
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"prometheus.{name}"))
            for name in ("Label", "Sample", "TimeSeries", "WriteRequest")}


_DOUBLE = struct.Struct("<d").pack
_MESSAGES = _build_messages()
WriteRequest: Any = _MESSAGES["WriteRequest"]


def decompress(body: bytes, *, max_bytes: int) -> bytes:
    """Snappy block format -> bytes. Raises :class:`WireError` for corrupt input or when the
    declared decompressed size exceeds ``max_bytes`` (checked before allocating)."""
    size = _uvarint_prefix(body)
    if size is None:
        raise WireError("snappy: corrupt input")
    if size > max_bytes:
        raise WireError(f"snappy: decompressed size {size} exceeds the limit of {max_bytes} bytes")
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except Exception as e:  # cramjam raises its own DecompressionError
        raise WireError(f"snappy: {e}") from None


def compress(data: bytes) -> bytes:
    """Bytes -> snappy block format (what remote-write senders put on the wire)."""
    return bytes(cramjam.snappy.compress_raw(data))


def decode_write_request(data: bytes) -> list[DecodedSeries]:
    """Parse an uncompressed WriteRequest into plain Python lists.

    Raises :class:`WireError` for bytes that are not a WriteRequest (including strings that
    are not UTF-8, which proto3 forbids)."""
    try:
        req = WriteRequest.FromString(data)
    except DecodeError as e:
        raise WireError(f"protobuf: {e}") from None
    out: list[DecodedSeries] = []
    for ts in req.timeseries:
        samples = ts.samples
        out.append(([(lb.name, lb.value) for lb in ts.labels],
                    [s.timestamp for s in samples], [s.value for s in samples]))
    return out


def encode_labels(labels: Iterable[tuple[str, str]]) -> bytes:
    """The ``labels`` entries of one TimeSeries, in the given order (Prometheus sends them
    sorted). Reusable: a sender encodes each series' labels once."""
    out = bytearray()
    for name, value in labels:
        n, v = name.encode("utf-8"), value.encode("utf-8")
        entry = b"\x0a" + _uvarint(len(n)) + n + b"\x12" + _uvarint(len(v)) + v
        out += b"\x0a" + _uvarint(len(entry)) + entry
    return bytes(out)


def encode_series(labels: bytes, timestamps: Sequence[int], values: Sequence[float]) -> bytes:
    """One ``timeseries`` field of a WriteRequest from pre-encoded ``labels``
    (:func:`encode_labels`); concatenate these to make a request."""
    parts = [labels]
    for t, v in zip(timestamps, values, strict=True):
        body = b"\x09" + _DOUBLE(v) + b"\x10" + _uvarint(t & 0xFFFF_FFFF_FFFF_FFFF)
        parts.append(b"\x12" + _uvarint(len(body)) + body)
    ts = b"".join(parts)
    return b"\x0a" + _uvarint(len(ts)) + ts


def encode_write_request(series: Iterable[tuple[Iterable[tuple[str, str]],
                                                Sequence[int], Sequence[float]]]) -> bytes:
    """Serialize ``(labels, timestamps_ms, values)`` triples (uncompressed; see :func:`compress`)."""
    return b"".join(encode_series(encode_labels(lb), t, v) for lb, t, v in series)


def _uvarint(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _uvarint_prefix(b: bytes) -> int | None:
    value = shift = 0
    for i in range(min(len(b), 10)):
        byte = b[i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value
        shift += 7
    return None
