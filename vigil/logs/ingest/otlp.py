"""OTLP logs over HTTP (``POST /v1/logs``): ``ExportLogsServiceRequest`` as protobuf or as
OTLP/JSON. The message classes are built here from a descriptor; only the fields a log record
carries are declared (field numbers from opentelemetry-proto ``logs/v1``)::

    ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
    ResourceLogs  { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
    Resource      { repeated KeyValue attributes = 1; }
    ScopeLogs     { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; }
    InstrumentationScope { string name = 1; string version = 2; }
    LogRecord     { fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11;
                    SeverityNumber severity_number = 2; string severity_text = 3;
                    AnyValue body = 5; repeated KeyValue attributes = 6; fixed32 flags = 8;
                    bytes trace_id = 9; bytes span_id = 10; string event_name = 12; }
    KeyValue      { string key = 1; AnyValue value = 2; }
    AnyValue      { oneof value { string string_value = 1; bool bool_value = 2;
                    int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5;
                    KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }

Both encodings go through the protobuf message (OTLP/JSON is protobuf's JSON mapping except
that trace and span ids are hex), so they decode alike. As Loki's OTLP ingestion does, the
resource attributes that identify a service (``service.name``, ``k8s.namespace.name`` …)
become stream labels with dots made underscores, and every other resource, scope and record
attribute becomes a field; the level comes from ``severity_number`` (else ``severity_text``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError

from vigil.logs.ingest.common import Decoded, IngestError, LineError, label_name
from vigil.logs.ingest.otlp_json import STREAM_ATTRIBUTES, decode_otlp_json_fast, record_level
from vigil.logs.model import LogEntry
from vigil.model.labels import Labels

__all__ = ["ExportLogsServiceRequest", "STREAM_ATTRIBUTES", "decode_otlp_json",
           "decode_otlp_logs", "decode_otlp_protobuf"]

def _build_messages() -> dict[str, Any]:
    F = descriptor_pb2.FieldDescriptorProto
    fd = descriptor_pb2.FileDescriptorProto(name="vigil_otlp_logs.proto",
                                            package="vigil.otlp", syntax="proto3")
    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED

    def message(name: str, fields: Sequence[tuple[str, int, int, int, str]],
                oneof: str = "") -> None:
        m = fd.message_type.add(name=name)
        if oneof:
            m.oneof_decl.add(name=oneof)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label,
                            json_name=_camel(fname))
            if type_name:
                f.type_name = f".vigil.otlp.{type_name}"
            if oneof:
                f.oneof_index = 0

    message("AnyValue", [("string_value", 1, F.TYPE_STRING, opt, ""),
                         ("bool_value", 2, F.TYPE_BOOL, opt, ""),
                         ("int_value", 3, F.TYPE_INT64, opt, ""),
                         ("double_value", 4, F.TYPE_DOUBLE, opt, ""),
                         ("array_value", 5, F.TYPE_MESSAGE, opt, "ArrayValue"),
                         ("kvlist_value", 6, F.TYPE_MESSAGE, opt, "KeyValueList"),
                         ("bytes_value", 7, F.TYPE_BYTES, opt, "")], oneof="value")
    message("ArrayValue", [("values", 1, F.TYPE_MESSAGE, rep, "AnyValue")])
    message("KeyValueList", [("values", 1, F.TYPE_MESSAGE, rep, "KeyValue")])
    message("KeyValue", [("key", 1, F.TYPE_STRING, opt, ""),
                         ("value", 2, F.TYPE_MESSAGE, opt, "AnyValue")])
    message("Resource", [("attributes", 1, F.TYPE_MESSAGE, rep, "KeyValue")])
    message("InstrumentationScope", [("name", 1, F.TYPE_STRING, opt, ""),
                                     ("version", 2, F.TYPE_STRING, opt, "")])
    message("LogRecord", [("time_unix_nano", 1, F.TYPE_FIXED64, opt, ""),
                          ("severity_number", 2, F.TYPE_INT32, opt, ""),
                          ("severity_text", 3, F.TYPE_STRING, opt, ""),
                          ("body", 5, F.TYPE_MESSAGE, opt, "AnyValue"),
                          ("attributes", 6, F.TYPE_MESSAGE, rep, "KeyValue"),
                          ("flags", 8, F.TYPE_FIXED32, opt, ""),
                          ("trace_id", 9, F.TYPE_BYTES, opt, ""),
                          ("span_id", 10, F.TYPE_BYTES, opt, ""),
                          ("observed_time_unix_nano", 11, F.TYPE_FIXED64, opt, ""),
                          ("event_name", 12, F.TYPE_STRING, opt, "")])
    message("ScopeLogs", [("scope", 1, F.TYPE_MESSAGE, opt, "InstrumentationScope"),
                          ("log_records", 2, F.TYPE_MESSAGE, rep, "LogRecord")])
    message("ResourceLogs", [("resource", 1, F.TYPE_MESSAGE, opt, "Resource"),
                             ("scope_logs", 2, F.TYPE_MESSAGE, rep, "ScopeLogs")])
    message("ExportLogsServiceRequest", [("resource_logs", 1, F.TYPE_MESSAGE, rep,
                                          "ResourceLogs")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"vigil.otlp.{name}"))
            for name in ("ExportLogsServiceRequest", "Resource", "InstrumentationScope",
                         "LogRecord")}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_MESSAGES = _build_messages()
ExportLogsServiceRequest: Any = _MESSAGES["ExportLogsServiceRequest"]
# (resource, [(scope, [(record index, record)])]) per resourceLogs, in body order
_Tree = list[tuple[Any, list[tuple[Any, list[tuple[int, Any]]]]]]


def _any_text(value: Any) -> str:
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    if kind == "string_value":
        return str(value.string_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind in ("int_value", "double_value"):
        return str(getattr(value, kind))
    return json.dumps(_any_json(value), separators=(",", ":"))


def _any_json(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_any_json(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_json(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind in ("int_value", "double_value", "bool_value") \
        else _any_text(value)


def _entries(tree: _Tree, result: Decoded) -> Decoded:
    for i, (resource, scopes) in enumerate(tree):
        stream: dict[str, str] = {}
        resource_fields: list[tuple[str, str]] = []
        for kv in resource.attributes:
            if kv.key in STREAM_ATTRIBUTES:
                stream[label_name(kv.key)] = _any_text(kv.value)
            else:
                resource_fields.append((kv.key, _any_text(kv.value)))
        labels = Labels(stream)
        for j, (scope, records) in enumerate(scopes):
            scope_fields = [(k, v) for k, v in (("scope_name", scope.name),
                                                ("scope_version", scope.version)) if v]
            head = (*resource_fields, *scope_fields)
            entries = result.entries
            for k, record in records:
                ts_ns = record.time_unix_nano or record.observed_time_unix_nano
                if ts_ns == 0:
                    result.errors.append(LineError(
                        0, -1, f"resourceLogs[{i}].scopeLogs[{j}].logRecords[{k}]",
                        "neither timeUnixNano nor observedTimeUnixNano is set"))
                    continue
                severity_text = record.severity_text
                attributes = record.attributes
                fields: tuple[tuple[str, str], ...] = head
                # Each field read costs: the optional ones only when the record has any.
                if attributes or severity_text or record.trace_id or record.span_id \
                        or record.event_name:
                    extra = [*head, *((kv.key, _any_text(kv.value)) for kv in attributes)]
                    if severity_text:
                        extra.append(("severity_text", severity_text))
                    if record.trace_id:
                        extra.append(("trace_id", record.trace_id.hex()))
                    if record.span_id:
                        extra.append(("span_id", record.span_id.hex()))
                    if record.event_name:
                        extra.append(("event_name", record.event_name))
                    fields = tuple(extra)
                body = record.body
                line = body.string_value if body.WhichOneof("value") == "string_value" \
                    else _any_text(body)
                entries.append(LogEntry(ts_ns, labels, line,
                                        record_level(record.severity_number, severity_text),
                                        fields))
    return result


def decode_otlp_protobuf(body: bytes) -> Decoded:
    request = ExportLogsServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as e:
        raise IngestError(f"body is not an ExportLogsServiceRequest: {e}") from None
    tree: _Tree = [(rl.resource, [(sl.scope, list(enumerate(sl.log_records)))
                                  for sl in rl.scope_logs]) for rl in request.resource_logs]
    return _entries(tree, Decoded())


def _ids_hex_to_base64(node: Any) -> None:
    """OTLP/JSON writes traceId/spanId as hex where protobuf's JSON mapping wants base64."""
    if isinstance(node, dict):
        for key in ("traceId", "spanId", "trace_id", "span_id"):
            value = node.get(key)
            if isinstance(value, str) and value:
                try:
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    raise IngestError(f"{key} {value!r} is not hex") from None
        for child in node.values():
            _ids_hex_to_base64(child)
    elif isinstance(node, list):
        for child in node:
            _ids_hex_to_base64(child)


def _parse(name: str, node: Any, where: str) -> Any:
    message = _MESSAGES[name]()
    if node is None:
        return message
    try:
        _ids_hex_to_base64(node)
        json_format.ParseDict(node, message, ignore_unknown_fields=True)
    except (json_format.ParseError, IngestError, AttributeError, TypeError) as e:
        raise ValueError(f"{where}: {e}") from None
    return message


def decode_otlp_json(body: bytes) -> Decoded:
    """Each record is read on its own, so a bad one is a :class:`LineError` naming it
    (``resourceLogs[0].scopeLogs[1].logRecords[4]``) and its neighbours are kept. A body
    the typed path of :mod:`~vigil.logs.ingest.otlp_json` takes is read by it instead."""
    fast = decode_otlp_json_fast(body)
    if fast is not None:
        return fast
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IngestError(f"body is not JSON: {e}") from None
    if not isinstance(document, dict) or not isinstance(document.get("resourceLogs", []), list):
        raise IngestError('expected {"resourceLogs": [...]}')
    result = Decoded()
    tree: _Tree = []
    for i, rl in enumerate(document.get("resourceLogs", [])):
        where = f"resourceLogs[{i}]"
        try:
            if not isinstance(rl, dict) or not isinstance(rl.get("scopeLogs", []), list):
                raise ValueError(f"{where}: expected an object with a scopeLogs array")
            resource = _parse("Resource", rl.get("resource"), f"{where}.resource")
        except ValueError as e:
            result.errors.append(LineError(0, -1, where, str(e).split(": ", 1)[1]))
            continue
        scopes: list[tuple[Any, list[tuple[int, Any]]]] = []
        for j, sl in enumerate(rl.get("scopeLogs", [])):
            swhere = f"{where}.scopeLogs[{j}]"
            try:
                if not isinstance(sl, dict) or not isinstance(sl.get("logRecords", []), list):
                    raise ValueError(f"{swhere}: expected an object with a logRecords array")
                scope = _parse("InstrumentationScope", sl.get("scope"), swhere)
            except ValueError as e:
                result.errors.append(LineError(0, -1, swhere, str(e).split(": ", 1)[1]))
                scopes.append((_MESSAGES["InstrumentationScope"](), []))
                continue
            records: list[tuple[int, Any]] = []
            for k, record in enumerate(sl.get("logRecords", [])):
                rwhere = f"{swhere}.logRecords[{k}]"
                try:
                    records.append((k, _parse("LogRecord", record, rwhere)))
                except ValueError as e:
                    result.errors.append(LineError(0, -1, rwhere, str(e).split(": ", 1)[1]))
            scopes.append((scope, records))
        tree.append((resource, scopes))
    return _entries(tree, result)


def decode_otlp_logs(body: bytes, *, content_type: str) -> Decoded:
    """``application/json`` → OTLP/JSON; ``application/x-protobuf`` (or anything else) →
    protobuf. The body is already free of its Content-Encoding."""
    if content_type.split(";")[0].strip().lower() == "application/json":
        return decode_otlp_json(body)
    return decode_otlp_protobuf(body)
