"""JSON lines: one JSON object a line (``application/x-ndjson``), as Fluent Bit's ``http``
output with ``format json_lines``, syslog-ng's ``http()`` destination with ``format-json`` and
most JSON loggers write. Blank lines are skipped; a line that is not a JSON object, or whose
time is bad, is a :class:`LineError` with its line number and byte offset."""

from __future__ import annotations

import json
import time

from vigil.logs.ingest.common import Decoded, LineError
from vigil.logs.ingest.documents import (
    DEFAULT_MAPPING,
    DocumentError,
    DocumentMapping,
    entry_from_document,
)
from vigil.model.labels import Labels

__all__ = ["decode_json_lines"]


def decode_json_lines(body: bytes, *, labels: Labels = Labels(), received_ns: int | None = None,
                      mapping: DocumentMapping = DEFAULT_MAPPING) -> Decoded:
    """``labels`` are the stream labels every entry gets (a request's static labels)."""
    now = time.time_ns() if received_ns is None else received_ns
    result = Decoded()
    offset = 0
    for number, raw in enumerate(body.split(b"\n"), start=1):
        start, offset = offset, offset + len(raw) + 1
        if not raw.strip():
            continue
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            result.errors.append(LineError(number, start, "", f"not JSON: {e}"))
            continue
        try:
            result.entries.append(entry_from_document(document, labels=labels, received_ns=now,
                                                      mapping=mapping))
        except DocumentError as e:
            result.errors.append(LineError(number, start, e.field, str(e)))
    return result
