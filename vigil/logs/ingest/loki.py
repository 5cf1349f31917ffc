"""The Loki push API body (``POST /loki/api/v1/push``), JSON and protobuf.

JSON, as Loki documents it::

    {"streams": [{"stream": {"job": "app"},
                  "values": [["<unix ns, a string>", "<line>", {"<metadata>": "<value>"}]]}]}

Protobuf (what Promtail, Grafana Alloy and the Docker driver send), a snappy *block* holding
``logproto.PushRequest``; the message classes are built here from a descriptor, no generated
code. Only what a push carries is declared::

    message PushRequest      { repeated StreamAdapter streams = 1; }
    message StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
    message EntryAdapter     { google.protobuf.Timestamp timestamp = 1; string line = 2;
                               repeated LabelPairAdapter structuredMetadata = 3; }
    message LabelPairAdapter { string name = 1; string value = 2; }
    message Timestamp        { int64 seconds = 1; int32 nanos = 2; }

``labels`` is the stream as a label-set string, ``{job="app", host="a"}``. Structured metadata
becomes the entry's fields; a ``level`` or ``detected_level`` among them or the stream labels
sets the level. A stream whose labels are bad is one error and its entries are skipped; a bad
entry is one error and its neighbours are kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import cramjam
import msgspec
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from vigil.logs.ingest.common import (
    Decoded,
    IngestError,
    LineError,
    decompress_body,
    normalise_level,
)
from vigil.logs.model import LogEntry
from vigil.model.labels import Labels, is_label_name

__all__ = ["PushRequest", "decode_loki_json", "decode_loki_protobuf", "decode_loki_push",
           "parse_label_set"]


def _build_messages() -> dict[str, Any]:
    F = descriptor_pb2.FieldDescriptorProto
    fd = descriptor_pb2.FileDescriptorProto(name="vigil_loki_push.proto", package="logproto",
                                            syntax="proto3")

    def message(name: str, fields: Sequence[tuple[str, int, int, int, str]]) -> None:
        m = fd.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message("Timestamp", [("seconds", 1, F.TYPE_INT64, opt, ""), ("nanos", 2, F.TYPE_INT32, opt, "")])
    message("LabelPairAdapter", [("name", 1, F.TYPE_STRING, opt, ""),
                                 ("value", 2, F.TYPE_STRING, opt, "")])
    message("EntryAdapter", [("timestamp", 1, F.TYPE_MESSAGE, opt, ".logproto.Timestamp"),
                             ("line", 2, F.TYPE_STRING, opt, ""),
                             ("structuredMetadata", 3, F.TYPE_MESSAGE, rep,
                              ".logproto.LabelPairAdapter")])
    message("StreamAdapter", [("labels", 1, F.TYPE_STRING, opt, ""),
                              ("entries", 2, F.TYPE_MESSAGE, rep, ".logproto.EntryAdapter"),
                              ("hash", 3, F.TYPE_UINT64, opt, "")])
    message("PushRequest", [("streams", 1, F.TYPE_MESSAGE, rep, ".logproto.StreamAdapter")])
    pool = descriptor_pool.DescriptorPool()  # private: logproto.* may exist in the default one
    pool.Add(fd)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"logproto.{name}"))
            for name in ("PushRequest", "StreamAdapter", "EntryAdapter", "LabelPairAdapter",
                         "Timestamp")}


_MESSAGES = _build_messages()
PushRequest: Any = _MESSAGES["PushRequest"]

_PAIR = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|\})')
_ESCAPE = re.compile(r'\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))')
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a",
                   "b": "\b", "f": "\f", "v": "\v"}


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1) or m.group(2) or m.group(3)
        if code:
            return chr(int(code, 16))
        char = m.group(4)
        if char not in _SIMPLE_ESCAPES:
            raise ValueError(f"unknown escape \\{char}")
        return _SIMPLE_ESCAPES[char]
    return _ESCAPE.sub(one, text) if "\\" in text else text


def parse_label_set(text: str) -> Labels:
    """``{job="app", host="a"}`` (Go-quoted values) to Labels. Raises ValueError naming the
    character position of the fault."""
    body = text.strip()
    if not body.startswith("{"):
        raise ValueError(f"labels must start with '{{' (position 0): {text!r}")
    pairs: dict[str, str] = {}
    pos = 1
    if body[1:].strip() == "}":
        return Labels()
    while True:
        m = _PAIR.match(body, pos)
        if m is None:
            raise ValueError(f"bad label pair at position {pos}: {body[pos:pos + 40]!r}")
        name, value = m.group(1), _unescape(m.group(2))
        if name in pairs:
            raise ValueError(f"duplicate label name {name!r}")
        pairs[name] = value
        pos = m.end()
        if m.group(3) == "}":
            if body[pos:].strip():
                raise ValueError(f"text after the closing '}}' at position {pos}")
            return Labels(pairs)


def _entry(ts_ns: int, labels: Labels, line: str, metadata: list[tuple[str, str]]) -> LogEntry:
    level = ""
    for name, value in (*metadata, ("level", labels.get("level")),
                        ("detected_level", labels.get("detected_level"))):
        if name in ("level", "detected_level") and value:
            level = normalise_level(value)
            if level:
                break
    return LogEntry(ts_ns=ts_ns, labels=labels, line=line, level=level, fields=tuple(metadata))


def _check_stream(labels: Labels) -> None:
    if not labels:
        raise ValueError("a stream needs at least one label")
    for name in labels.names():
        if not is_label_name(name):
            raise ValueError(f"invalid label name {name!r}")


class _JsonStream(msgspec.Struct):
    values: list[list[str | dict[str, str]]]
    stream: dict[str, str] = {}


class _JsonPush(msgspec.Struct):
    streams: list[_JsonStream]


_JSON_PUSH = msgspec.json.Decoder(_JsonPush)


class _Slow(Exception):
    """The body has something the typed path leaves to the careful one."""


def _stream_level(labels: Labels) -> str:
    return normalise_level(labels.get("level")) or normalise_level(labels.get("detected_level"))


def _decode_json_fast(body: bytes) -> Decoded:
    """A body of well-formed streams, decoded by msgspec into typed structs: raises
    :class:`_Slow` (or msgspec's DecodeError) at anything else, for the careful path."""
    push = _JSON_PUSH.decode(body)
    result = Decoded()
    entries = result.entries
    for stream in push.streams:
        labels = _labels_of(stream.stream)
        stream_level = _stream_level(labels)
        for value in stream.values:
            if len(value) == 2:
                ts, line = value
                if ts.__class__ is not str or line.__class__ is not str or not ts.isdigit():
                    raise _Slow
                entries.append(LogEntry(int(ts), labels, line, stream_level, ()))
            elif len(value) == 3:
                ts, line, metadata = value
                if ts.__class__ is not str or line.__class__ is not str or not ts.isdigit() \
                        or metadata.__class__ is not dict:
                    raise _Slow
                entries.append(_entry(int(ts), labels, line, list(metadata.items())))
            else:
                raise _Slow
    return result


def _labels_of(raw: dict[str, str]) -> Labels:
    labels = Labels(raw)
    try:
        _check_stream(labels)
    except ValueError:
        raise _Slow from None
    return labels


def decode_loki_json(body: bytes) -> Decoded:
    """Bad values are :class:`LineError` s naming them (``streams[1].values[3]``); their
    neighbours are kept."""
    try:
        return _decode_json_fast(body)
    except (_Slow, msgspec.DecodeError):
        pass  # the careful path below reads it again and says what is wrong where
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IngestError(f"push body is not JSON: {e}") from None
    streams = document.get("streams") if isinstance(document, dict) else None
    if not isinstance(streams, list):
        raise IngestError('push body needs a "streams" array')
    result = Decoded()
    for i, stream in enumerate(streams):
        where = f"streams[{i}]"
        try:
            if not isinstance(stream, dict) or not isinstance(stream.get("stream", {}), dict):
                raise ValueError('expected {"stream": {...}, "values": [...]}')
            raw_labels = stream.get("stream", {})
            if not all(isinstance(v, str) for v in raw_labels.values()):
                raise ValueError("label values must be strings")
            labels = Labels(raw_labels)
            _check_stream(labels)
            values = stream.get("values")
            if not isinstance(values, list):
                raise ValueError('"values" must be an array')
        except ValueError as e:
            result.errors.append(LineError(0, -1, where, str(e)))
            continue
        for j, value in enumerate(values):
            try:
                result.entries.append(_json_value(value, labels))
            except ValueError as e:
                result.errors.append(LineError(0, -1, f"{where}.values[{j}]", str(e)))
    return result


def _json_value(value: Any, labels: Labels) -> LogEntry:
    if not isinstance(value, list) or len(value) not in (2, 3):
        raise ValueError('expected ["<unix ns>", "<line>"] or with a metadata object')
    ts, line = value[0], value[1]
    if isinstance(ts, str) and ts.isdigit():
        ts_ns = int(ts)
    elif isinstance(ts, int) and not isinstance(ts, bool) and ts >= 0:
        ts_ns = ts
    else:
        raise ValueError(f"timestamp must be unix nanoseconds as a string, got {ts!r}")
    if not isinstance(line, str):
        raise ValueError(f"line must be a string, got {type(line).__name__}")
    metadata: list[tuple[str, str]] = []
    if len(value) == 3:
        if not isinstance(value[2], dict) or not all(isinstance(v, str) for v in value[2].values()):
            raise ValueError("structured metadata must be an object of strings")
        metadata = list(value[2].items())
    return _entry(ts_ns, labels, line, metadata)


def decode_loki_protobuf(body: bytes, *, max_bytes: int = 64 << 20) -> Decoded:
    """``body`` is the snappy block as sent."""
    try:
        length = cramjam.snappy.decompress_raw_len(body)
        if length > max_bytes:
            raise IngestError(f"push body decompresses to {length} bytes, over {max_bytes}")
        raw = bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as e:
        raise IngestError(f"push body is not snappy-compressed: {e}") from None
    request = PushRequest()
    try:
        request.ParseFromString(raw)
    except DecodeError as e:
        raise IngestError(f"push body is not a logproto.PushRequest: {e}") from None
    result = Decoded()
    for i, stream in enumerate(request.streams):
        try:
            labels = parse_label_set(stream.labels)
            _check_stream(labels)
        except ValueError as e:
            result.errors.append(LineError(0, -1, f"streams[{i}].labels", str(e)))
            continue
        stream_level = _stream_level(labels)
        entries = result.entries
        for entry in stream.entries:
            timestamp = entry.timestamp
            ts_ns = timestamp.seconds * 1_000_000_000 + timestamp.nanos
            if entry.structuredMetadata:
                metadata = [(pair.name, pair.value) for pair in entry.structuredMetadata]
                entries.append(_entry(ts_ns, labels, entry.line, metadata))
            else:
                entries.append(LogEntry(ts_ns, labels, entry.line, stream_level, ()))
    return result


def decode_loki_push(body: bytes, *, content_type: str, content_encoding: str = "") -> Decoded:
    """As Loki chooses: ``application/json`` bodies are JSON (optionally gzip-encoded); any
    other content type is a snappy-compressed protobuf."""
    if content_type.split(";")[0].strip().lower() == "application/json":
        return decode_loki_json(decompress_body(body, content_encoding))
    return decode_loki_protobuf(body)
