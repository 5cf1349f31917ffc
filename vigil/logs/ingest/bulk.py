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

import base64
import itertools
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
from vigil.logs.ingest.jsonlines import NOT_JSON, json_line
from vigil.model.labels import Labels

__all__ = ["BulkDecoded", "BulkItem", "bulk_response", "decode_bulk"]

_ACTIONS = ("index", "create", "update", "delete")
_SHARDS = {"total": 1, "successful": 1, "failed": 0}  # shared by the items: read-only


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


_UNSEEN = object()


class _Lines:
    """The body's lines, each parsed once and only when reached. Action lines repeat byte for
    byte within a body (``{"index":{"_index":"logs"}}``), so their parse is shared."""
    __slots__ = ("_actions", "_offsets", "raws", "values", "whys")

    def __init__(self, body: bytes) -> None:
        self.raws = body.split(b"\n")
        self.values: list[Any] = [None] * len(self.raws)
        self.whys: list[str] = [""] * len(self.raws)
        self._actions: dict[bytes, tuple[str, dict[str, Any]] | None] = {}
        self._offsets: list[int] | None = None

    def next_line(self, i: int) -> int:
        """The index of the first non-blank line at or after ``i`` (``len`` at the end)."""
        raws = self.raws
        while i < len(raws) and (not raws[i] or raws[i].isspace()):
            i += 1
        return i

    def action(self, i: int) -> tuple[str, dict[str, Any]] | None:
        """Line ``i``'s action and metadata, or None when it is not an action line."""
        raw = self.raws[i]
        known = self._actions.get(raw, _UNSEEN)
        if known is not _UNSEEN:
            return known  # type: ignore[return-value]
        value = self.value(i)
        parsed = None
        if isinstance(value, dict) and len(value) == 1:
            (name, meta), = value.items()
            if name in _ACTIONS and isinstance(meta, dict):
                parsed = name, meta
        if parsed is not None or len(self._actions) < 64:
            self._actions[raw] = parsed
        return parsed

    def value(self, i: int) -> Any:
        value = self.values[i]
        if value is None:
            value, self.whys[i] = json_line(self.raws[i])
            self.values[i] = value
        return value

    def where(self, i: int) -> tuple[int, int]:
        """(1-based line number, byte offset) of line ``i``; offsets are summed on the first
        call only, as only errors need them."""
        if self._offsets is None:
            self._offsets = [0, *itertools.accumulate(len(r) + 1 for r in self.raws)]
        return i + 1, self._offsets[i]


def decode_bulk(body: bytes, *, default_index: str = "", labels: Labels = Labels(),
                received_ns: int | None = None,
                mapping: DocumentMapping = DEFAULT_MAPPING) -> BulkDecoded:
    """``default_index`` is the index of ``/<index>/_bulk``."""
    now = time.time_ns() if received_ns is None else received_ns
    result = BulkDecoded()
    lines = _Lines(body)
    stream_labels: dict[str, Labels] = {}  # per index, built once
    n = len(lines.raws)
    i = lines.next_line(0)
    while i < n:
        at = i
        i = lines.next_line(i + 1)
        parsed = lines.action(at)
        if parsed is None:
            number, offset = lines.where(at)
            result.errors.append(LineError(number, offset, "", _why_not_action(lines, at)))
            continue
        action, meta = parsed
        index = meta.get("_index", default_index)
        doc_id = meta.get("_id")
        item = BulkItem(action, index if isinstance(index, str) else "",
                        doc_id if isinstance(doc_id, str) else "", at + 1)
        result.items.append(item)
        source = -1
        if action in ("index", "create", "update") and i < n and lines.action(i) is None:
            source, i = i, lines.next_line(i + 1)

        if action in ("update", "delete"):
            _fail(result, item, lines, at, "illegal_argument_exception", action,
                  f"{action} is not supported: the log store is append-only")
        elif not item.index:
            _fail(result, item, lines, at, "action_request_validation_exception", "_index",
                  "index is missing")
        elif source < 0:
            _fail(result, item, lines, at, "parse_exception", action,
                  "the action has no document line after it")
        elif lines.value(source) is NOT_JSON:
            _fail(result, item, lines, source, "mapper_parsing_exception", "",
                  f"document is not JSON: {lines.whys[source]}")
        else:
            stream = stream_labels.get(item.index)
            if stream is None:
                stream = stream_labels[item.index] = labels.merge({"index": item.index})
            try:
                entry = entry_from_document(lines.value(source), labels=stream,
                                            received_ns=now, mapping=mapping)
            except DocumentError as e:
                _fail(result, item, lines, source, "mapper_parsing_exception", e.field, str(e))
            else:
                item.entry = len(result.entries)
                result.entries.append(entry)
    return result


def _fail(result: BulkDecoded, item: BulkItem, lines: _Lines, at: int, error_type: str,
          where: str, message: str) -> None:
    number, offset = lines.where(at)
    item.error_type = error_type
    item.error = LineError(number, offset, where, message)
    result.errors.append(item.error)


def _why_not_action(lines: _Lines, i: int) -> str:
    value = lines.value(i)
    if value is NOT_JSON:
        return f"malformed action line, not JSON: {lines.whys[i]}"
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
    # Random ids as Elasticsearch makes them (20 URL-safe characters): one draw for the body.
    ids = base64.urlsafe_b64encode(secrets.token_bytes(15 * len(decoded.items))).decode()
    for n, item in enumerate(decoded.items):
        doc_id = item.id or ids[20 * n:20 * n + 20]
        body: dict[str, Any]
        if item.error is not None:
            body = {"_index": item.index, "_id": doc_id, "status": 400,
                    "error": {"type": item.error_type, "reason": str(item.error),
                              "index": item.index}}
        elif storage_error is not None:
            body = {"_index": item.index, "_id": doc_id, "status": 429,
                    "error": {"type": "es_rejected_execution_exception",
                              "reason": storage_error, "index": item.index}}
        else:
            body = {"_index": item.index, "_id": doc_id, "_version": 1, "result": "created",
                    "_shards": _SHARDS, "_seq_no": seq_no, "_primary_term": 1, "status": 201}
            seq_no += 1
        items.append({item.action: body})
    errors = bool(decoded.errors) or (storage_error is not None and bool(decoded.entries))
    return {"took": took_ms, "errors": errors, "items": items}
