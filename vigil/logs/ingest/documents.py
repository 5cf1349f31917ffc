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
    if value.__class__ is str:
        return normalise_level(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 7:
        return syslog_severity_level(value)
    return normalise_level(value) if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class _Plan:
    """Which keys of documents with one set of (flattened) keys play which role, each list in
    the mapping's order. Documents of one body mostly share their keys, so this is worked out
    once per key set, not once per document."""
    time_key: str | None
    message_keys: tuple[str, ...]
    level_keys: tuple[str, ...]
    label_keys: tuple[tuple[str, str], ...]


_PLANS_MAX = 1024


_PLANS: dict[int, tuple[DocumentMapping, dict[tuple[str, ...], _Plan]]] = {}


def _plans(mapping: DocumentMapping) -> dict[tuple[str, ...], _Plan]:
    # By identity: hashing a mapping (all its tuples) would cost more than a plan saves.
    known = _PLANS.get(id(mapping))
    if known is None or known[0] is not mapping:
        if len(_PLANS) >= 64:
            _PLANS.clear()
        known = _PLANS[id(mapping)] = (mapping, {})
    return known[1]


_DEFAULT_PLANS = _plans(DEFAULT_MAPPING)


def _plan(mapping: DocumentMapping, keys: tuple[str, ...],
          plans: dict[tuple[str, ...], _Plan]) -> _Plan:
    present = set(keys)
    plan = _Plan(next((k for k in mapping.time_keys if k in present), None),
                 tuple(k for k in mapping.message_keys if k in present),
                 tuple(k for k in mapping.level_keys if k in present),
                 tuple((k, name) for k, name in mapping.label_keys if k in present))
    if len(plans) >= _PLANS_MAX:
        plans.clear()
    plans[keys] = plan
    return plan


def _is_flat(document: dict[str, Any]) -> bool:
    for value in document.values():
        if value.__class__ is dict:
            return False
    return True


def entry_from_document(document: Any, *, labels: Labels, received_ns: int,
                        mapping: DocumentMapping = DEFAULT_MAPPING) -> LogEntry:
    """Raises :class:`DocumentError` when ``document`` is not an object or its time is bad.
    A document without a time takes ``received_ns``; one without a message keeps its whole
    JSON text as the line, so nothing shipped is lost."""
    if not isinstance(document, dict):
        raise DocumentError("", f"expected a JSON object, got {type(document).__name__}")
    flat = document if _is_flat(document) else flatten(document)
    keys = tuple(flat)
    plans = _DEFAULT_PLANS if mapping is DEFAULT_MAPPING else _plans(mapping)
    plan = plans.get(keys) or _plan(mapping, keys, plans)
    used: list[str] = []
    ts_ns = received_ns
    if plan.time_key is not None:
        try:
            ts_ns = parse_time_value(flat[plan.time_key])
        except ValueError as e:
            raise DocumentError(plan.time_key, str(e)) from None
        used.append(plan.time_key)
    line = None
    for key in plan.message_keys:
        value = flat[key]
        if value is not None:
            line = value if value.__class__ is str else json.dumps(value, separators=(",", ":"))
            used.append(key)
            break
    if line is None:
        line = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    level = ""
    for key in plan.level_keys:
        level = _level(flat[key])
        if level:
            break
    stream = labels
    if plan.label_keys:
        given = _names(labels)
        added: list[tuple[str, str]] = []
        for key, name in plan.label_keys:
            value = flat[key]
            if value.__class__ is str and value and name not in given:
                added.append((name, value))
                given = (*given, name)
                used.append(key)
        if added:
            stream = _stream(labels, tuple(added))
    fields = tuple([(key, value if value.__class__ is str else _field_text(value))
                    for key, value in flat.items() if key not in used])
    return LogEntry(ts_ns, stream, line, level, fields)


def _field_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":")) if isinstance(value, list) \
        else scalar_text(value)


# Keyed by the request labels' identity (plus what the document adds): hashing a Labels, a
# tuple of tuples whose hash Python does not keep, for every document cost more than the rest.
_NAMES: dict[int, tuple[Labels, tuple[str, ...]]] = {}
_STREAMS: dict[tuple[int, tuple[tuple[str, str], ...]], tuple[Labels, Labels]] = {}


def _names(labels: Labels) -> tuple[str, ...]:
    known = _NAMES.get(id(labels))
    if known is None or known[0] is not labels:
        if len(_NAMES) >= 1024:
            _NAMES.clear()
        known = _NAMES[id(labels)] = (labels, tuple(labels.names()))
    return known[1]


def _stream(labels: Labels, added: tuple[tuple[str, str], ...]) -> Labels:
    # Cached: a body's documents mostly come from a few streams; building Labels sorts.
    key = (id(labels), added)
    known = _STREAMS.get(key)
    if known is None or known[0] is not labels:
        if len(_STREAMS) >= 4096:
            _STREAMS.clear()
        known = _STREAMS[key] = (labels, labels.merge(dict(added)))
    return known[1]


def static_labels(labels: Mapping[str, str] | Labels | None) -> Labels:
    return labels if isinstance(labels, Labels) else Labels(labels or {})
