"""Log ingest decoders, quick: lines decoded per CPU-second for each wire format (decoding
only, no store), on generated lines shaped like a busy web host's logs, in bodies of
``--batch`` lines as shippers send them. Best of ``--repeat`` runs, with the spread (the
machine is shared). The whole path through a running server is ``logs_ingest_e2e.py``.

Run: ``.venv/bin/python bench/logs_ingest_bench.py [--lines 200000] [--batch 1000]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cramjam

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vigil.logs.ingest import (  # noqa: E402
    StreamFramer,
    decode_bulk,
    decode_json_lines,
    decode_loki_push,
    decode_otlp_logs,
    parse_syslog,
    syslog_entry,
)
from vigil.logs.ingest.loki import PushRequest  # noqa: E402
from vigil.logs.ingest.otlp import ExportLogsServiceRequest  # noqa: E402
from vigil.model.labels import Labels  # noqa: E402

BASE_S = 1_764_000_000


def _message(i: int) -> str:
    return (f"GET /api/v1/items/{i % 9973} HTTP/1.1 200 {i % 5000} "
            f"rid={i:08x} ua=\"curl/8.0\" dur={i % 997}ms")


def _formats(n: int) -> dict[str, tuple[bytes, str]]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(BASE_S))
    rfc5424 = b"".join(
        f"<134>1 {stamp}.{i % 1000:03d}Z web{i % 8} nginx {i % 90} - "
        f'[req@1 id="{i}"] {_message(i)}\n'.encode() for i in range(n))
    rfc3164 = b"".join(
        f"<134>Nov 24 16:00:{i % 60:02d} web{i % 8} nginx[{i % 90}]: {_message(i)}\n".encode()
        for i in range(n))
    docs = [{"@timestamp": f"{stamp}.{i % 1000:03d}Z", "message": _message(i),
             "log": {"level": "info"}, "host": {"name": f"web{i % 8}"}, "status": 200}
            for i in range(n)]
    jsonl = b"".join(json.dumps(d).encode() + b"\n" for d in docs)
    bulk = b"".join(b'{"index":{"_index":"web"}}\n' + json.dumps(d).encode() + b"\n"
                    for d in docs)
    loki_json = json.dumps({"streams": [
        {"stream": {"job": "nginx", "host": f"web{host}"},
         "values": [[str(BASE_S * 10**9 + i), _message(i)] for i in range(host, n, 8)]}
        for host in range(8)]}).encode()
    otlp_json = json.dumps({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "nginx"}}]},
        "scopeLogs": [{"scope": {"name": "access"}, "logRecords": [
            {"timeUnixNano": str(BASE_S * 10**9 + i), "severityNumber": 9,
             "body": {"stringValue": _message(i)}} for i in range(n)]}]}]}).encode()
    push = PushRequest()
    for host in range(8):
        stream = push.streams.add(labels=f'{{job="nginx", host="web{host}"}}')
        for i in range(host, n, 8):
            entry = stream.entries.add(line=_message(i))
            entry.timestamp.seconds, entry.timestamp.nanos = BASE_S, i
    loki = bytes(cramjam.snappy.compress_raw(push.SerializeToString()))
    otlp = ExportLogsServiceRequest()
    records = otlp.resource_logs.add()
    records.resource.attributes.add(key="service.name").value.string_value = "nginx"
    scope = records.scope_logs.add()
    for i in range(n):
        record = scope.log_records.add(time_unix_nano=BASE_S * 10**9 + i, severity_number=9)
        record.body.string_value = _message(i)
    return {"syslog RFC 5424 (TCP, newline framing)": (rfc5424, "syslog"),
            "syslog RFC 3164 (TCP, newline framing)": (rfc3164, "syslog"),
            "JSON lines": (jsonl, "jsonl"), "Elasticsearch _bulk": (bulk, "bulk"),
            "Loki push, JSON": (loki_json, "loki-json"),
            "Loki push, protobuf + snappy": (loki, "loki"),
            "OTLP logs, JSON": (otlp_json, "otlp-json"),
            "OTLP logs, protobuf": (otlp.SerializeToString(), "otlp")}


def _decode(kind: str, body: bytes) -> int:
    if kind == "syslog":
        frames, _ = StreamFramer().feed(body)
        labels = Labels({"job": "syslog"})
        return len([syslog_entry(parse_syslog(f, received_ns=BASE_S * 10**9), labels)
                    for _, f in frames])
    if kind == "jsonl":
        return len(decode_json_lines(body).entries)
    if kind == "bulk":
        return len(decode_bulk(body).entries)
    if kind == "loki":
        return len(decode_loki_push(body, content_type="application/x-protobuf").entries)
    if kind == "loki-json":
        return len(decode_loki_push(body, content_type="application/json").entries)
    if kind == "otlp-json":
        return len(decode_otlp_logs(body, content_type="application/json").entries)
    return len(decode_otlp_logs(body, content_type="application/x-protobuf").entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000, help="lines per body")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="formats whose name contains this")
    args = parser.parse_args()
    print(f"{args.lines} lines in bodies of {args.batch}; best of {args.repeat} "
          "(spread: slowest run vs best)")
    for name, (body, kind) in _formats(args.batch).items():
        if args.only.lower() not in name.lower():
            continue
        bodies = [body] * (args.lines // args.batch)
        size = sum(len(b) for b in bodies)
        rates = []
        for _ in range(args.repeat):
            start = time.process_time()
            decoded = sum(_decode(kind, body) for body in bodies)
            cpu = time.process_time() - start
            assert decoded == args.batch * len(bodies), (name, decoded)
            rates.append(decoded / cpu)
        best = max(rates)
        print(f"{name:42s} {best:>10,.0f} lines/CPU-s  spread {100 * (1 - min(rates) / best):4.1f} %"
              f"  ({size * best / decoded / 1e6:,.1f} MB/CPU-s)")


if __name__ == "__main__":
    main()
