"""OTLP/JSON logs, the fast way: the body decoded by msgspec into typed structs (the field
names OTLP/JSON uses, lowerCamelCase; 64-bit integers as strings or numbers), then made
entries without a protobuf message per record.

What this path does not take — a field it does not know (a snake_case name, a newer field),
a ``null``, an enum by name, an id that is not hex — it leaves to the protobuf path of
:mod:`vigil.logs.ingest.otlp` (``None``), which reads each record on its own and names a bad
one exactly; so both paths give the same entries, and errors are always the careful path's.

The entry is built as :mod:`~vigil.logs.ingest.otlp` documents it: the resource attributes
in :data:`STREAM_ATTRIBUTES` are the stream labels, every other resource, scope and record
attribute a field, the level from ``severityNumber`` (else ``severityText``).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import msgspec

from vigil.logs.ingest.common import Decoded, LineError, label_name, normalise_level
from vigil.logs.model import LogEntry
from vigil.model.labels import Labels

__all__ = ["STREAM_ATTRIBUTES", "decode_otlp_json_fast", "record_level"]

# Resource attributes that name a stream (Loki's default list of index labels).
STREAM_ATTRIBUTES = frozenset((
    "service.name", "service.namespace", "service.instance.id", "deployment.environment",
    "deployment.environment.name", "cloud.region", "cloud.availability_zone",
    "k8s.cluster.name", "k8s.namespace.name", "k8s.pod.name", "k8s.container.name",
    "container.name", "k8s.replicaset.name", "k8s.deployment.name", "k8s.statefulset.name",
    "k8s.daemonset.name", "k8s.cronjob.name", "k8s.job.name",
))
_LEVELS = ("debug", "debug", "info", "warn", "error", "critical")


def record_level(number: int, text: str) -> str:
    """SeverityNumber 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL;
    else the severity text."""
    if 1 <= number <= 24:
        return _LEVELS[(number - 1) // 4]
    return normalise_level(text)


class _Base(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    pass


class AnyValue(_Base):
    string_value: str | None = None
    bool_value: bool | None = None
    int_value: int | None = None
    double_value: float | None = None
    array_value: ArrayValue | None = None
    kvlist_value: KeyValueList | None = None
    bytes_value: str | None = None


class ArrayValue(_Base):
    values: list[AnyValue] = []


class KeyValue(_Base):
    key: str = ""
    value: AnyValue | None = None


class KeyValueList(_Base):
    values: list[KeyValue] = []


class Resource(_Base):
    attributes: list[KeyValue] = []
    dropped_attributes_count: int = 0


class Scope(_Base):
    name: str = ""
    version: str = ""
    attributes: list[KeyValue] = []  # not kept, as the protobuf path
    dropped_attributes_count: int = 0


class LogRecord(_Base):
    time_unix_nano: int = 0
    observed_time_unix_nano: int = 0
    severity_number: int = 0
    severity_text: str = ""
    body: AnyValue | None = None
    attributes: list[KeyValue] = []
    dropped_attributes_count: int = 0
    flags: int = 0
    trace_id: str = ""
    span_id: str = ""
    event_name: str = ""


class ScopeLogs(_Base):
    scope: Scope | None = None
    log_records: list[LogRecord] = []
    schema_url: str = ""


class ResourceLogs(_Base):
    resource: Resource | None = None
    scope_logs: list[ScopeLogs] = []
    schema_url: str = ""


class ExportRequest(_Base):
    resource_logs: list[ResourceLogs] = []


_DECODER = msgspec.json.Decoder(ExportRequest, strict=False)
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")


class _Unsupported(Exception):
    """Something this path leaves to the protobuf one."""


def _text(value: AnyValue | None) -> str:
    if value is None:
        return ""
    if value.string_value is not None:
        return value.string_value
    if value.bool_value is not None:
        return "true" if value.bool_value else "false"
    if value.int_value is not None:
        return str(value.int_value)
    if value.double_value is not None:
        return str(value.double_value)
    if value.array_value is None and value.kvlist_value is None and value.bytes_value is None:
        return ""
    return _composite_text(value)


def _composite_text(value: AnyValue) -> str:
    if value.bytes_value is not None:
        try:
            return base64.b64encode(base64.b64decode(value.bytes_value, validate=True)).decode()
        except ValueError:
            raise _Unsupported from None
    return json.dumps(_json(value), separators=(",", ":"))


def _json(value: AnyValue) -> Any:
    if value.array_value is not None:
        return [_json(v) for v in value.array_value.values]
    if value.kvlist_value is not None:
        return {kv.key: _json(kv.value) if kv.value is not None else ""
                for kv in value.kvlist_value.values}
    for scalar in (value.int_value, value.double_value, value.bool_value):
        if scalar is not None:
            return scalar
    return _text(value)


def _hex(text: str) -> str:
    if _HEX.fullmatch(text) is None:
        raise _Unsupported
    return text.lower()


def decode_otlp_json_fast(body: bytes) -> Decoded | None:
    """The body's entries and errors, or None when the protobuf path must read it (see the
    module's docstring). Raises nothing for a body that is not JSON: None as well."""
    try:
        request = _DECODER.decode(body)
        return _entries(request)
    except (msgspec.DecodeError, _Unsupported):
        return None


def _entries(request: ExportRequest) -> Decoded:
    result = Decoded()
    entries = result.entries
    for i, rl in enumerate(request.resource_logs):
        stream: dict[str, str] = {}
        resource_fields: list[tuple[str, str]] = []
        for kv in rl.resource.attributes if rl.resource is not None else ():
            if kv.key in STREAM_ATTRIBUTES:
                stream[label_name(kv.key)] = _text(kv.value)
            else:
                resource_fields.append((kv.key, _text(kv.value)))
        labels = Labels(stream)
        for j, sl in enumerate(rl.scope_logs):
            scope = sl.scope
            head = list(resource_fields)
            if scope is not None:
                if scope.name:
                    head.append(("scope_name", scope.name))
                if scope.version:
                    head.append(("scope_version", scope.version))
            plain = tuple(head)
            for k, record in enumerate(sl.log_records):
                ts_ns = record.time_unix_nano or record.observed_time_unix_nano
                if ts_ns == 0:
                    result.errors.append(LineError(
                        0, -1, f"resourceLogs[{i}].scopeLogs[{j}].logRecords[{k}]",
                        "neither timeUnixNano nor observedTimeUnixNano is set"))
                    continue
                if record.attributes or record.severity_text or record.trace_id \
                        or record.span_id or record.event_name:
                    fields = [*head, *((kv.key, _text(kv.value)) for kv in record.attributes)]
                    if record.severity_text:
                        fields.append(("severity_text", record.severity_text))
                    if record.trace_id:
                        fields.append(("trace_id", _hex(record.trace_id)))
                    if record.span_id:
                        fields.append(("span_id", _hex(record.span_id)))
                    if record.event_name:
                        fields.append(("event_name", record.event_name))
                    field_tuple = tuple(fields)
                else:
                    field_tuple = plain
                body = record.body
                line = body.string_value if body is not None and body.string_value is not None \
                    else _text(body)
                entries.append(LogEntry(
                    ts_ns, labels, line, record_level(record.severity_number,
                                                      record.severity_text), field_tuple))
    return result
