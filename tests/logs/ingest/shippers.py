"""The real log shippers the ingest tests run on loopback: rsyslog (Debian's package, with
rsyslog-elasticsearch) and syslog-ng (Debian's packages unpacked by scripts/test, since the
syslog-ng package conflicts with rsyslog). Each reads syslog lines the test sends to its TCP
input and forwards them as its configuration says. Also: the HTTP server standing in for
Elasticsearch and for syslog-ng's http() peer, which hands bodies to Vigil's decoders."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.ports import free_port
from vigil.logs.ingest.bulk import bulk_response, decode_bulk
from vigil.logs.ingest.common import Decoded, LineError
from vigil.logs.ingest.jsonlines import decode_json_lines
from vigil.logs.model import LogAppender
from vigil.model.labels import Labels

RSYSLOGD = "/usr/sbin/rsyslogd"
RSYSLOG_MODULES = "/usr/lib/x86_64-linux-gnu/rsyslog"
SYSLOG_NG_ROOT = Path(os.environ.get("VIGIL_SYSLOG_NG_ROOT",
                                     Path.home() / ".cache/vigil-test/syslog-ng"))


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited with {process.returncode}: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"{process.args[0]} did not listen on {port}: {log.read_text()}")


class _Shipper:
    """Started with its TCP input on ``input_port``; ``send`` writes newline-framed lines."""
    process: subprocess.Popen[bytes]
    input_port: int
    log: Path

    def send(self, *lines: bytes) -> None:
        with socket.create_connection(("127.0.0.1", self.input_port)) as s:
            s.sendall(b"".join(line + b"\n" for line in lines))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Rsyslog(_Shipper):
    def __init__(self, workdir: Path, ruleset: str, preamble: str = "") -> None:
        if not (os.access(RSYSLOGD, os.X_OK)
                and Path(RSYSLOG_MODULES, "omelasticsearch.so").exists()):
            pytest.fail("rsyslog is not installed: apt-get install rsyslog rsyslog-elasticsearch "
                        "(scripts/test installs them)")
        workdir.mkdir(parents=True, exist_ok=True)
        self.input_port = free_port()
        self.log = workdir / "rsyslogd.log"
        conf = workdir / "rsyslog.conf"
        conf.write_text(
            f'global(workDirectory="{workdir}")\n'
            'module(load="imtcp")\nmodule(load="omelasticsearch")\n'
            f'input(type="imtcp" address="127.0.0.1" port="{self.input_port}" ruleset="fwd")\n'
            f"{preamble}\n"
            f'ruleset(name="fwd") {{\n{ruleset}\n}}\n')
        self.process = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(conf), "-i", str(workdir / "rsyslogd.pid")],
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT, env={**os.environ, "TZ": "UTC"})
        _wait_for_port(self.input_port, self.process, self.log)


class SyslogNg(_Shipper):
    def __init__(self, workdir: Path, destinations: str, log_paths: str) -> None:
        root = SYSLOG_NG_ROOT
        binary = root / "usr/sbin/syslog-ng"
        if not os.access(binary, os.X_OK):
            pytest.fail(f"syslog-ng is not unpacked in {root}: run scripts/test (it downloads "
                        "and unpacks syslog-ng-core and syslog-ng-mod-http)")
        workdir.mkdir(parents=True, exist_ok=True)
        self.input_port = free_port()
        self.log = workdir / "syslog-ng.log"
        conf = workdir / "syslog-ng.conf"
        conf.write_text(
            "@version: 3.38\noptions { keep-hostname(yes); frac-digits(3); };\n"
            # syslog-protocol: the input lines are RFC 5424 (network() reads BSD syslog by default).
            f'source s_in {{ network(ip("127.0.0.1") port({self.input_port}) transport("tcp") '
            "flags(syslog-protocol)); };\n"
            f"{destinations}\n{log_paths}\n")
        libs = [root / "usr/lib/x86_64-linux-gnu", root / "usr/lib/syslog-ng",
                root / "lib/x86_64-linux-gnu"]
        self.process = subprocess.Popen(
            [str(binary), "-F", "-f", str(conf), "--module-path", str(root / "usr/lib/syslog-ng/3.38"),
             "-R", str(workdir / "syslog-ng.persist"), "-p", str(workdir / "syslog-ng.pid"),
             "-c", str(workdir / "syslog-ng.ctl")],
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
            env={**os.environ, "TZ": "UTC", "LD_LIBRARY_PATH": ":".join(map(str, libs))})
        _wait_for_port(self.input_port, self.process, self.log)


class IngestHTTPServer:
    """Elasticsearch's ``_bulk`` (answered with :func:`bulk_response`) and a JSON-lines
    endpoint on one loopback port; what each body decoded to goes to ``appender``."""

    def __init__(self, appender: LogAppender, labels: Labels = Labels()) -> None:
        self.appender = appender
        self.errors: list[LineError] = []
        self.bodies: list[tuple[str, bytes]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                # rsyslog's omelasticsearch checks the server is up before it sends.
                self._reply(200, {"version": {"number": "8.11.0"}, "tagline": "vigil test"})

            def do_HEAD(self) -> None:  # noqa: N802
                self.do_GET()

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                path = self.path.split("?")[0]
                server.bodies.append((path, body))
                start = time.monotonic()
                if path.endswith("/_bulk"):
                    index = path.removesuffix("/_bulk").strip("/")
                    decoded: Decoded = decode_bulk(body, default_index=index, labels=labels)
                else:
                    decoded = decode_json_lines(body, labels=labels)
                server.errors.extend(decoded.errors)
                if decoded.entries:
                    server.appender.append(decoded.entries)
                took = int((time.monotonic() - start) * 1000)
                if path.endswith("/_bulk"):
                    self._reply(200, bulk_response(decoded, took_ms=took))  # type: ignore[arg-type]
                else:
                    self._reply(400 if decoded.errors else 200, {"errors": len(decoded.errors)})

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
