"""The Elasticsearch ``_bulk`` subset log shippers use, and the response they read back.

A body is NDJSON: an action line, then for ``index`` and ``create`` the document::

    {"index": {"_index": "logs-app", "_id": "optional"}}
    {"@timestamp": "2024-05-01T10:00:00.123Z", "message": "GET /", "log": {"level": "info"}}

Filebeat, Fluentd, Fluent Bit and rsyslog's omelasticsearch send ``index`` or ``create``;
``delete`` and ``update`` cannot apply to an append-only log store and get a per-item error
(``update``'s partial document line is consumed so the pairing holds). The document becomes an
entry through :mod:`vigil.logs.ingest.documents`; its stream labels are the request's static
labels plus ``index`` (the action's ``_index``, else the index in the URL).

The response has Elasticsearch's shape — ``took``, ``errors`` and one item per action, in
order, with ``status`` 201 or an ``error`` object (``type``, ``reason``) — because shippers
decide from it what to retry: Fluent Bit and Fluentd read ``errors``; Filebeat and rsyslog
read each item's ``status``. A line that is neither an action nor follows one is a
:class:`LineError` without an item (Elasticsearch would reject the whole body; here its
neighbours still count) and still sets ``errors``.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from vigil.logs.ingest.common import Decoded, LineError
from vigil.logs.ingest.documents import (
    DEFAULT_MAPPING,
    DocumentError,
    DocumentMapping,
    entry_from_document,
)
from vigil.model.labels import Labels

__all__ = ["BulkDecoded", "BulkItem", "bulk_response", "decode_bulk"]

_ACTIONS = ("index", "create", "update", "delete")


@dataclass(slots=True)
class BulkItem:
    """One action of the body. ``entry`` is its position in ``entries`` when accepted, or
    -1 with ``error_type`` and ``error`` saying why not."""
    action: str
    index: str
    id: str
    line: int
    entry: int = -1
    error_type: str = ""
    error: LineError | None = None


@dataclass(slots=True)
class BulkDecoded(Decoded):
    items: list[BulkItem] = field(default_factory=list)


_NOT_JSON = object()


class _Line:
    """A non-blank line of the body, parsed once (``value`` is ``_NOT_JSON`` when it is not
    JSON, ``error`` then says why)."""
    __slots__ = ("error", "number", "offset", "raw", "value")

    def __init__(self, number: int, offset: int, raw: bytes) -> None:
        self.number, self.offset, self.raw = number, offset, raw
        self.error = ""
        try:
            self.value: Any = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            self.value, self.error = _NOT_JSON, str(e)

    def action(self) -> tuple[str, dict[str, Any]] | None:
        """The action and its metadata, or None when this is not an action line."""
        value = self.value
        if isinstance(value, dict) and len(value) == 1:
            (name, meta), = value.items()
            if name in _ACTIONS and isinstance(meta, dict):
                return name, meta
        return None


def _lines(body: bytes) -> list[_Line]:
    out, offset = [], 0
    for number, raw in enumerate(body.split(b"\n"), start=1):
        if raw.strip():
            out.append(_Line(number, offset, raw))
        offset += len(raw) + 1
    return out


def decode_bulk(body: bytes, *, default_index: str = "", labels: Labels = Labels(),
                received_ns: int | None = None,
                mapping: DocumentMapping = DEFAULT_MAPPING) -> BulkDecoded:
    """``default_index`` is the index of ``/<index>/_bulk``."""
    now = time.time_ns() if received_ns is None else received_ns
    result = BulkDecoded()
    lines = _lines(body)
    stream_labels: dict[str, Labels] = {}  # per index, built once
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        parsed = line.action()
        if parsed is None:
            result.errors.append(LineError(line.number, line.offset, "", _why_not_action(line)))
            continue
        action, meta = parsed
        index = meta.get("_index", default_index)
        doc_id = meta.get("_id")
        item = BulkItem(action, index if isinstance(index, str) else "",
                        doc_id if isinstance(doc_id, str) else "", line.number)
        result.items.append(item)
        source = None
        if action in ("index", "create", "update"):
            if i < len(lines) and lines[i].action() is None:
                source = lines[i]
                i += 1

        def fail(error_type: str, where: str, message: str, at: _Line = line,
                 item: BulkItem = item) -> None:
            item.error_type = error_type
            item.error = LineError(at.number, at.offset, where, message)
            result.errors.append(item.error)

        if action in ("update", "delete"):
            fail("illegal_argument_exception", action,
                 f"{action} is not supported: the log store is append-only")
        elif not item.index:
            fail("action_request_validation_exception", "_index", "index is missing")
        elif source is None:
            fail("parse_exception", action, "the action has no document line after it")
        elif source.value is _NOT_JSON:
            fail("mapper_parsing_exception", "", f"document is not JSON: {source.error}", source)
        else:
            if item.index not in stream_labels:
                stream_labels[item.index] = labels.merge({"index": item.index})
            try:
                entry = entry_from_document(source.value, labels=stream_labels[item.index],
                                            received_ns=now, mapping=mapping)
            except DocumentError as e:
                fail("mapper_parsing_exception", e.field, str(e), source)
            else:
                item.entry = len(result.entries)
                result.entries.append(entry)
    return result


def _why_not_action(line: _Line) -> str:
    if line.value is _NOT_JSON:
        return f"malformed action line, not JSON: {line.error}"
    value = line.value
    if isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value.values())), dict):
        return f"unknown action {next(iter(value))!r}"
    return ('expected an action line ({"index": {...}} or {"create": {...}}), '
            "not a document without one")


def bulk_response(decoded: BulkDecoded, *, took_ms: int, storage_error: str | None = None
                  ) -> dict[str, Any]:
    """The ``_bulk`` response body. ``storage_error`` set means the accepted entries were
    not stored: their items get 429 ``es_rejected_execution_exception``, the status
    shippers retry."""
    items = []
    seq_no = 0
    for item in decoded.items:
        doc_id = item.id or secrets.token_urlsafe(15)
        body: dict[str, Any] = {"_index": item.index, "_id": doc_id}
        if item.error is not None:
            body["status"] = 400
            body["error"] = {"type": item.error_type, "reason": str(item.error),
                             "index": item.index}
        elif storage_error is not None:
            body["status"] = 429
            body["error"] = {"type": "es_rejected_execution_exception", "reason": storage_error,
                             "index": item.index}
        else:
            body.update({"_version": 1, "result": "created",
                         "_shards": {"total": 1, "successful": 1, "failed": 0},
                         "_seq_no": seq_no, "_primary_term": 1, "status": 201})
            seq_no += 1
        items.append({item.action: body})
    errors = bool(decoded.errors) or (storage_error is not None and bool(decoded.entries))
    return {"took": took_ms, "errors": errors, "items": items}
