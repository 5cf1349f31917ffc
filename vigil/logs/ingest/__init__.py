"""Log ingest: decoders from what shippers send to :class:`~vigil.logs.model.LogEntry` lists,
the syslog listeners and the file tailer, each writing through a
:class:`~vigil.logs.model.LogAppender`.

Every decoder returns a :class:`Decoded`: the entries it could read and one
:class:`LineError` per bad line or record, saying where (line number, byte offset, field) and
what was wrong. A bad line never drops its neighbours; a body that cannot be read at all (bad
snappy, not JSON where a JSON document is expected) raises :class:`IngestError`.

    loki       Loki push API: JSON and protobuf + snappy, with structured metadata
    bulk       the Elasticsearch ``_bulk`` subset shippers use, and its response
    jsonlines  one JSON document a line
    documents  which keys of a JSON document hold time, message, level and stream labels
    syslog     RFC 5424 and RFC 3164 messages; octet-counted and newline framing
    listeners  the syslog TCP and UDP servers (asyncio)
    otlp       OTLP logs over HTTP, JSON and protobuf
    otlp_json  OTLP/JSON's typed (msgspec) fast path, the protobuf path reading what it cannot
    tailer     follows local files through rotation and truncation
"""

from vigil.logs.ingest.bulk import BulkDecoded, BulkItem, bulk_response, decode_bulk
from vigil.logs.ingest.common import (
    Decoded,
    IngestError,
    LineError,
    decompress_body,
    normalise_level,
)
from vigil.logs.ingest.documents import DocumentMapping
from vigil.logs.ingest.jsonlines import decode_json_lines
from vigil.logs.ingest.listeners import ListenerStats, SyslogListener
from vigil.logs.ingest.loki import decode_loki_push
from vigil.logs.ingest.otlp import decode_otlp_logs
from vigil.logs.ingest.syslog import StreamFramer, SyslogMessage, parse_syslog, syslog_entry
from vigil.logs.ingest.tailer import FileTailer

__all__ = [
    "BulkDecoded", "BulkItem", "Decoded", "DocumentMapping", "FileTailer", "IngestError",
    "LineError", "ListenerStats", "StreamFramer", "SyslogListener", "SyslogMessage",
    "bulk_response", "decode_bulk", "decode_json_lines", "decode_loki_push", "decode_otlp_logs",
    "decompress_body", "normalise_level", "parse_syslog", "syslog_entry",
]
