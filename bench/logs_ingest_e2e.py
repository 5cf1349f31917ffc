"""Log ingest end to end: lines per CPU-second of a real ``vigil up`` process, per protocol.

Starts Vigil on loopback (logs on, the syslog TCP listener on loopback, secret masking and
WAL fsync at their defaults, no host collector, no rules), then per protocol pushes
``--lines`` lines in bodies of ``--batch`` as its shippers send them — Loki push JSON and
protobuf + snappy, JSON lines, Elasticsearch ``_bulk``, OTLP/HTTP JSON and protobuf, syslog
RFC 5424 and RFC 3164 over one TCP connection — from a client in this process, and reads the
*server* process's CPU time (``/proc/<pid>/stat`` utime + stime) around it: decoding, secret
masking, the store's append (encode + WAL), HTTP and the event loop, all in. Syslog has no
acknowledgement, so its CPU is read once the server has gone idle after the last byte.

Every run writes its own streams (``job``/``index``/``service_name``/``app`` = protocol and
run), and a LogQL ``count_over_time`` afterwards checks that each run's lines all arrived.
Best of ``--repeat`` runs per protocol, with the spread; the server's idle CPU per second is
printed too (it is included in the figures, not subtracted). Beside each figure, the same
bodies decoded in this process without storing (``decode only``, best of ``--repeat``), so
the decoders' share of the whole is read off the same run.

    .venv/bin/python bench/logs_ingest_e2e.py [--lines 100000] [--batch 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cramjam
import httpx

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

# One body: (path, headers, bytes) for HTTP, or raw bytes for syslog.
Body = tuple[str, dict[str, str], bytes]


def message(i: int) -> str:
    return (f"GET /api/v1/items/{i % 9973} HTTP/1.1 200 {i % 5000} "
            f"rid={i:08x} ua=\"curl/8.0\" dur={i % 997}ms")


def loki_json(name: str, lines: range, t0: int) -> Body:
    streams = [{"stream": {"job": name, "host": f"web{h}"},
                "values": [[str(t0 + i), message(i)] for i in lines if i % 4 == h]}
               for h in range(4)]
    return ("/loki/api/v1/push", {"Content-Type": "application/json"},
            json.dumps({"streams": streams}).encode())


def loki_protobuf(name: str, lines: range, t0: int) -> Body:
    push = PushRequest()
    for h in range(4):
        stream = push.streams.add(labels=f'{{job="{name}", host="web{h}"}}')
        for i in lines:
            if i % 4 == h:
                entry = stream.entries.add(line=message(i))
                entry.timestamp.seconds, entry.timestamp.nanos = divmod(t0 + i, 10**9)
    return ("/loki/api/v1/push", {"Content-Type": "application/x-protobuf"},
            bytes(cramjam.snappy.compress_raw(push.SerializeToString())))


def _document(i: int, t0: int) -> dict[str, object]:
    seconds, ns = divmod(t0 + i, 10**9)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return {"@timestamp": f"{stamp}.{ns:09d}Z", "message": message(i),
            "log": {"level": "info"}, "host": {"name": f"web{i % 4}"}, "status": 200}


def json_lines(name: str, lines: range, t0: int) -> Body:
    body = b"".join(json.dumps(_document(i, t0)).encode() + b"\n" for i in lines)
    return (f"/api/vigil/v1/logs/jsonl?job={name}", {"Content-Type": "application/x-ndjson"},
            body)


def bulk(name: str, lines: range, t0: int) -> Body:
    action = json.dumps({"create": {"_index": name}}).encode() + b"\n"
    body = b"".join(action + json.dumps(_document(i, t0)).encode() + b"\n" for i in lines)
    return ("/_bulk", {"Content-Type": "application/x-ndjson"}, body)


def otlp_json(name: str, lines: range, t0: int) -> Body:
    records = [{"timeUnixNano": str(t0 + i), "severityNumber": 9, "severityText": "INFO",
                "body": {"stringValue": message(i)},
                "attributes": [{"key": "http.status", "value": {"intValue": "200"}}]}
               for i in lines]
    document = {"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": name}},
                                    {"key": "host.name", "value": {"stringValue": "web1"}}]},
        "scopeLogs": [{"scope": {"name": "access"}, "logRecords": records}]}]}
    return ("/v1/logs", {"Content-Type": "application/json"}, json.dumps(document).encode())


def otlp_protobuf(name: str, lines: range, t0: int) -> Body:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.add(key="service.name").value.string_value = name
    resource_logs.resource.attributes.add(key="host.name").value.string_value = "web1"
    scope = resource_logs.scope_logs.add()
    scope.scope.name = "access"
    for i in lines:
        record = scope.log_records.add(time_unix_nano=t0 + i, severity_number=9,
                                       severity_text="INFO")
        record.body.string_value = message(i)
        record.attributes.add(key="http.status").value.int_value = 200
    return ("/v1/logs", {"Content-Type": "application/x-protobuf"}, request.SerializeToString())


def syslog_5424(name: str, lines: range, t0: int) -> bytes:
    out = []
    for i in lines:
        seconds, ns = divmod(t0 + i, 10**9)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        frame = (f"<134>1 {stamp}.{ns // 1000:06d}Z web{i % 4} {name} {i % 90} - "
                 f'[req@1 id="{i}"] {message(i)}').encode()
        out.append(b"%d %s" % (len(frame), frame))  # octet-counted, as rsyslog sends it
    return b"".join(out)


def syslog_3164(name: str, lines: range, t0: int) -> bytes:
    stamp = time.strftime("%b %e %H:%M:%S", time.gmtime(t0 // 10**9))
    return b"".join(f"<134>{stamp} web{i % 4} {name}[{i % 90}]: {message(i)}\n".encode()
                    for i in lines)


# protocol → (body builder, LogQL selector label, HTTP or syslog)
PROTOCOLS: dict[str, tuple[Callable[[str, range, int], object], str]] = {
    "Loki push, JSON": (loki_json, "job"),
    "Loki push, protobuf + snappy": (loki_protobuf, "job"),
    "JSON lines": (json_lines, "job"),
    "Elasticsearch _bulk": (bulk, "index"),
    "OTLP/HTTP, JSON": (otlp_json, "service_name"),
    "OTLP/HTTP, protobuf": (otlp_protobuf, "service_name"),
    "syslog RFC 5424 (TCP, octet-counted)": (syslog_5424, "app"),
    "syslog RFC 3164 (TCP, newline)": (syslog_3164, "app"),
}


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_idle(pid: int, quiet_s: float = 1.0, limit_s: float = 120) -> float:
    """Until the server used under 5 % of a CPU for ``quiet_s``; returns the
    ``perf_counter`` time it was last seen busy (to within 0.1 s)."""
    deadline = time.monotonic() + limit_s
    last, busy_at, quiet_since = cpu_s(pid), time.perf_counter(), time.perf_counter()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now, at = cpu_s(pid), time.perf_counter()
        if now - last > 0.02:  # more than a clock tick or two: busy
            busy_at = quiet_since = at
            last = now
        elif at - quiet_since >= quiet_s and now - last < 0.05 * quiet_s:
            return busy_at
    raise SystemExit(f"server still busy after {limit_s}s")


class Server:
    def __init__(self, work: str, fsync: str, compression_level: int) -> None:
        self.port, self.syslog_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = Path(work, "vigil.yml")
        config.write_text(
            "default_rules: false\ncollectors: {host: {enabled: false}}\n"
            f"logs:\n  wal_fsync: {fsync}\n  compression_level: {compression_level}\n"
            f"  syslog:\n    tcp: ['127.0.0.1:{self.syslog_port}']\n")
        self.log = open(Path(work, "vigil.log"), "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vigil", "up", "--config", str(config), "--data-dir",
             str(Path(work, "data")), "--listen", f"127.0.0.1:{self.port}"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"vigil exited with {self.proc.returncode}: see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit("vigil not ready after 90 s")

    def count(self, selector: str) -> int:
        r = httpx.get(f"{self.url}/loki/api/v1/query", timeout=300, params={
            "query": f"sum(count_over_time({selector}[2h]))", "time": str(time.time_ns())})
        r.raise_for_status()
        result = r.json()["data"]["result"]
        return int(float(result[0]["value"][1])) if result else 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        self.log.close()


def decode_only(bodies: list[object]) -> int:
    """Decode ``bodies`` here as the server's routes and listener do, storing nothing: the
    decoders' share of the server's figure, measured side by side."""
    decoded = 0
    for body in bodies:
        if isinstance(body, bytes):
            frames, _ = StreamFramer().feed(body)
            labels = Labels({"job": "syslog"})
            decoded += len([syslog_entry(parse_syslog(f, received_ns=time.time_ns()), labels)
                            for _, f in frames])
            continue
        path, headers, content = body  # type: ignore[misc]
        kind = headers["Content-Type"]
        if path.startswith("/loki"):
            decoded += len(decode_loki_push(content, content_type=kind).entries)
        elif path.startswith("/api/vigil"):
            decoded += len(decode_json_lines(content).entries)
        elif path.startswith("/_bulk"):
            decoded += len(decode_bulk(content).entries)
        else:
            decoded += len(decode_otlp_logs(content, content_type=kind).entries)
    return decoded


def decode_rate(protocol: str, lines: int, batch: int, repeat: int) -> float:
    build, _ = PROTOCOLS[protocol]
    t0 = time.time_ns() - 3600 * 10**9
    bodies = [build("local", range(a, min(a + batch, lines)), t0) for a in range(0, lines, batch)]
    best = 0.0
    for _ in range(repeat):
        cpu0 = time.process_time()
        decoded = decode_only(bodies)
        best = max(best, decoded / (time.process_time() - cpu0))
        assert decoded == lines, (protocol, decoded)
    return best


def run_once(server: Server, protocol: str, name: str, lines: int, batch: int
             ) -> tuple[float, float]:
    """(server CPU seconds, wall seconds) to take ``lines`` lines of ``protocol``."""
    build, _ = PROTOCOLS[protocol]
    t0 = time.time_ns() - 3600 * 10**9  # an hour ago: inside every window, before "now"
    bodies = [build(name, range(a, min(a + batch, lines)), t0) for a in range(0, lines, batch)]
    pid = server.proc.pid
    wait_idle(pid, 0.5)
    cpu0, wall0 = cpu_s(pid), time.perf_counter()
    if isinstance(bodies[0], bytes):
        with socket.create_connection(("127.0.0.1", server.syslog_port)) as sock:
            for body in bodies:
                sock.sendall(body)  # type: ignore[arg-type]
        busy_until = wait_idle(pid, 0.5)
        return cpu_s(pid) - cpu0, busy_until - wall0
    with httpx.Client(base_url=server.url, timeout=300) as client:
        for path, headers, content in bodies:  # type: ignore[misc]
            r = client.post(path, content=content, headers=headers)
            if r.status_code not in (200, 204) or b'"errors":true' in r.content[:64]:
                raise SystemExit(f"{protocol}: HTTP {r.status_code}: {r.text[:300]}")
    return cpu_s(pid) - cpu0, time.perf_counter() - wall0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=100_000, help="per protocol and run")
    ap.add_argument("--batch", type=int, default=1000, help="lines per body")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="", help="protocols whose name contains this")
    ap.add_argument("--fsync", default="batch", choices=("always", "batch", "off"),
                    help="logs.wal_fsync of the server (batch, the default: at most one a second)")
    ap.add_argument("--compression-level", type=int, default=9,
                    help="logs.compression_level of the server (9, the default)")
    args = ap.parse_args()
    protocols = [p for p in PROTOCOLS if args.only.lower() in p.lower()]
    with tempfile.TemporaryDirectory(prefix="vigil-ingest-e2e-") as work:
        server = Server(work, args.fsync, args.compression_level)
        try:
            wait_idle(server.proc.pid, 1.0)
            idle0 = cpu_s(server.proc.pid)
            time.sleep(5)
            idle = (cpu_s(server.proc.pid) - idle0) / 5
            print(f"{args.lines} lines per run in bodies of {args.batch}, best of {args.repeat}, "
                  f"wal_fsync {args.fsync}, compression level {args.compression_level}; server idle: {idle * 100:.1f} % of a CPU")
            for k, protocol in enumerate(protocols):  # imports, compiled code, caches
                run_once(server, protocol, f"e2e_warm{k}", min(args.lines, 5 * args.batch),
                         args.batch)
            print(f"{'protocol':38s} {'lines/CPU-s':>12s} {'spread':>7s} {'lines/s wall':>13s}"
                  f" {'decode only':>12s}")
            results: dict[str, list[tuple[float, float]]] = {p: [] for p in protocols}
            for run in range(args.repeat):  # protocols interleaved: the machine is shared
                for k, protocol in enumerate(protocols):
                    name = f"e2e_p{k}_r{run}"
                    results[protocol].append(run_once(server, protocol, name, args.lines,
                                                      args.batch))
            for k, protocol in enumerate(protocols):
                label = PROTOCOLS[protocol][1]
                for run in range(args.repeat):
                    stored = server.count(f'{{{label}="e2e_p{k}_r{run}"}}')
                    if stored != args.lines:
                        raise SystemExit(f"{protocol} run {run}: {stored} of {args.lines} "
                                         "lines stored")
                rates = [args.lines / cpu for cpu, _ in results[protocol]]
                best = max(rates)
                wall = max(args.lines / w for _, w in results[protocol])
                decode = decode_rate(protocol, args.lines, args.batch, args.repeat)
                print(f"{protocol:38s} {best:12,.0f} {100 * (1 - min(rates) / best):6.1f}% "
                      f"{wall:13,.0f} {decode:12,.0f}")
            print("every run's lines counted back by LogQL count_over_time: all stored")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
