"""JSON lines: one JSON object a line (``application/x-ndjson``), as Fluent Bit's ``http``
output with ``format json_lines``, syslog-ng's ``http()`` destination with ``format-json`` and
most JSON loggers write. Blank lines are skipped; a line that is not a JSON object, or whose
time is bad, is a :class:`LineError` with its line number and byte offset."""

from __future__ import annotations

import json
import time
from typing import Any

import msgspec

from vigil.logs.ingest.common import Decoded, LineError
from vigil.logs.ingest.documents import (
    DEFAULT_MAPPING,
    DocumentError,
    DocumentMapping,
    entry_from_document,
)
from vigil.model.labels import Labels

__all__ = ["NOT_JSON", "decode_json_lines", "json_line"]

NOT_JSON = object()
_decode = msgspec.json.Decoder().decode


def json_line(raw: bytes) -> tuple[Any, str]:
    """One line's JSON value and ``""``, or ``(NOT_JSON, why)``. msgspec reads it (several
    times faster than ``json``); a line it refuses is read again by ``json``, whose message
    (line and column) is the one reported, and which also takes what msgspec does not
    (``NaN``), so the lines accepted are ``json``'s."""
    try:
        return _decode(raw), ""
    except msgspec.DecodeError:
        try:
            return json.loads(raw), ""
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            return NOT_JSON, str(e)


def decode_json_lines(body: bytes, *, labels: Labels = Labels(), received_ns: int | None = None,
                      mapping: DocumentMapping = DEFAULT_MAPPING) -> Decoded:
    """``labels`` are the stream labels every entry gets (a request's static labels)."""
    now = time.time_ns() if received_ns is None else received_ns
    result = Decoded()
    entries, errors = result.entries, result.errors
    offset = 0
    for number, raw in enumerate(body.split(b"\n"), start=1):
        start, offset = offset, offset + len(raw) + 1
        if not raw or raw.isspace():
            continue
        document, why = json_line(raw)
        if document is NOT_JSON:
            errors.append(LineError(number, start, "", f"not JSON: {why}"))
            continue
        try:
            entries.append(entry_from_document(document, labels=labels, received_ns=now,
                                               mapping=mapping))
        except DocumentError as e:
            errors.append(LineError(number, start, e.field, str(e)))
    return result
