"""A JSON document (one ``_bulk`` source, one JSON line) made a log entry.

Which keys hold the time, the message, the level and the stream labels is a
:class:`DocumentMapping`; its defaults cover what Filebeat (ECS: ``@timestamp``, ``message``,
``log.level``, ``host.name``, ``service.name``), Fluentd and Fluent Bit (``log``, ``time``),
rsyslog's omelasticsearch default template (``timereported``, ``fromhost``, ``priority``) and
syslog-ng's ``format-json`` (``ISODATE``, ``MESSAGE``, ``HOST``, ``PROGRAM``, ``PRIORITY``) and
common JSON loggers (``ts``, ``msg``, ``level``) write. Every other key, flattened to dotted
names, becomes a structured field.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vigil.logs.ingest.common import (
    flatten,
    normalise_level,
    parse_time_value,
    scalar_text,
    syslog_severity_level,
)
from vigil.logs.model import LogEntry
from vigil.model.labels import Labels

__all__ = ["DocumentError", "DocumentMapping", "entry_from_document"]


class DocumentError(ValueError):
    """A document that cannot be an entry; ``field`` names the key at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DocumentMapping:
    time_keys: tuple[str, ...] = ("@timestamp", "timestamp", "time", "ts", "timereported",
                                  "ISODATE", "date")
    message_keys: tuple[str, ...] = ("message", "msg", "log", "MESSAGE", "short_message")
    level_keys: tuple[str, ...] = ("level", "log.level", "severity", "priority", "lvl", "loglevel",
                                   "PRIORITY")
    # (dotted key, label name): the first key present sets the label; a label already given
    # by the request (its static labels) wins.
    label_keys: tuple[tuple[str, str], ...] = (
        ("service.name", "service"), ("service", "service"), ("app", "app"), ("job", "job"),
        ("PROGRAM", "app"), ("host.name", "host"), ("hostname", "host"), ("host", "host"),
        ("fromhost", "host"), ("HOST", "host"),
    )


DEFAULT_MAPPING = DocumentMapping()


def _level(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 7:
        return syslog_severity_level(value)
    return normalise_level(value) if isinstance(value, str) else ""


def entry_from_document(document: Any, *, labels: Labels, received_ns: int,
                        mapping: DocumentMapping = DEFAULT_MAPPING) -> LogEntry:
    """Raises :class:`DocumentError` when ``document`` is not an object or its time is bad.
    A document without a time takes ``received_ns``; one without a message keeps its whole
    JSON text as the line, so nothing shipped is lost."""
    if not isinstance(document, dict):
        raise DocumentError("", f"expected a JSON object, got {type(document).__name__}")
    flat = flatten(document)
    used: set[str] = set()
    ts_ns = received_ns
    for key in mapping.time_keys:
        if key in flat:
            try:
                ts_ns = parse_time_value(flat[key])
            except ValueError as e:
                raise DocumentError(key, str(e)) from None
            used.add(key)
            break
    line = None
    for key in mapping.message_keys:
        if key in flat and flat[key] is not None:
            value = flat[key]
            line = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            used.add(key)
            break
    if line is None:
        line = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    level = ""
    for key in mapping.level_keys:
        if key in flat:
            level = _level(flat[key])
            if level:
                break
    added: list[tuple[str, str]] = []
    for key, name in mapping.label_keys:
        value = flat.get(key)
        if isinstance(value, str) and value and name not in labels.names() \
                and all(name != n for n, _ in added):
            added.append((name, value))
            used.add(key)
    fields = []
    for key, value in flat.items():
        if key in used:
            continue
        if not isinstance(value, str):
            value = json.dumps(value, separators=(",", ":")) if isinstance(value, list) \
                else scalar_text(value)
        fields.append((key, value))
    return LogEntry(ts_ns=ts_ns, labels=_stream(labels, tuple(added)) if added else labels,
                    line=line, level=level, fields=tuple(fields))


@functools.lru_cache(maxsize=4096)
def _stream(labels: Labels, added: tuple[tuple[str, str], ...]) -> Labels:
    # Cached: a body's documents mostly come from a few streams; building Labels sorts.
    return labels.merge(dict(added))


def static_labels(labels: Mapping[str, str] | Labels | None) -> Labels:
    return labels if isinstance(labels, Labels) else Labels(labels or {})
