"""A demo Vigil with every source the shipped dashboards read, for
``test_shipped_dashboards.py``: ``vigil up --demo`` (web app, milk meters over MQTT, dairy
ERP, event pipeline, host collector) plus, configured as an operator would, the real
PostgreSQL primary and replica and Redis servers of the exporter tests, an HTTP and an HTTPS
probe, Vigil's audit log read by a SQL collector, a webhook receiving the alerts (and one
nobody answers, for the failed-notification series), a scrape
target that is down and a rule that fails to evaluate (so the failure panels have series).
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests.support.ports import free_port
from tests.support.tls import TestCA
from tests.support.vigil_proc import stop_process, wait_ready
from tests.support.webhook import WebhookReceiver

SCRAPE_INTERVAL_S = 5.0

# Vigil's audit log as the Security dashboard reads it (SQLite syntax; docs/dashboards.md has
# PostgreSQL's): failures and throttled logins over the last hour and day.
AUDIT_QUERIES = """
      queries:
        - metric: vigil_audit_login_failures_1h
          query: >-
            SELECT count(*) AS value FROM audit_log
            WHERE action IN ('login.failure', 'basic.failure', 'sso.failure')
            AND at >= datetime('now', '-1 hour')
        - metric: vigil_audit_login_failures_24h
          query: >-
            SELECT count(*) AS value FROM audit_log
            WHERE action IN ('login.failure', 'basic.failure', 'sso.failure')
            AND at >= datetime('now', '-1 day')
        - metric: vigil_audit_logins_throttled_1h
          query: >-
            SELECT count(*) AS value FROM audit_log
            WHERE action LIKE '%.throttled' AND at >= datetime('now', '-1 hour')
"""

# Evaluated every scrape; fails every time (many-to-many matching), so
# vigil_rule_evaluation_failures_total has a series to show.
FAILING_RULES = """
groups:
  - name: dashboard-test-failing
    interval: 5s
    rules:
      - record: test:many_to_many
        expr: up * on () group_left up
"""


@dataclass
class DemoVigil:
    url: str
    log: Path

    def get(self, path: str, params: Sequence[tuple[str, str]] | dict[str, str]) -> dict:
        resp = httpx.get(f"{self.url}{path}", params=params, timeout=30)
        body = resp.json()
        if resp.status_code != 200 or body.get("status") != "success":
            raise AssertionError(f"{path} {params}: HTTP {resp.status_code}: {body.get('error', body)}")
        return body["data"]


class HTTPVariableSource:
    """Variable options from Vigil's HTTP API (the dashboards' VariableSource protocol)."""

    def __init__(self, vigil: DemoVigil) -> None:
        self.vigil = vigil

    def label_values(self, label: str, selectors: Sequence[str], start: float, end: float) -> list[str]:
        params = [("start", str(start)), ("end", str(end)), *(("match[]", s) for s in selectors)]
        return list(self.vigil.get(f"/api/v1/label/{label}/values", params))

    def label_names(self, selectors: Sequence[str], start: float, end: float) -> list[str]:
        params = [("start", str(start)), ("end", str(end)), *(("match[]", s) for s in selectors)]
        return list(self.vigil.get("/api/v1/labels", params))

    def series(self, expr: str, at: float) -> list[tuple[dict[str, str], str]]:
        data = self.vigil.get("/api/v1/query", {"query": expr, "time": str(at)})
        if data["resultType"] in ("scalar", "string"):
            return [({}, str(data["result"][1]))]
        return [(s["metric"], str(s["value"][1])) for s in data["result"]]


@contextmanager
def https_server(directory: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1 with a certificate from a test CA: (URL, CA file)."""
    ca = TestCA(directory)
    pair = ca.issue("shop", server=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pair.cert), str(pair.key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/health", ca.cert_file
    finally:
        server.shutdown()
        server.server_close()


def write_config(tmp: Path, *, port: int, pg_primary: str, pg_replica: str, redis_address: str, redis_password: str, https_url: str, ca_file: Path,
                 webhook_url: str) -> Path:
    (tmp / "failing.rules.yml").write_text(FAILING_RULES)
    (tmp / "redis-password").write_text(redis_password)
    state_db = tmp / "data" / "state.db"
    config = tmp / "vigil.yml"
    config.write_text(f"""
global:
  scrape_interval: {SCRAPE_INTERVAL_S:g}s
  scrape_timeout: 4s
  evaluation_interval: {SCRAPE_INTERVAL_S:g}s
rule_files: [{tmp / "failing.rules.yml"}]
scrape_configs:
  - job_name: gone
    static_configs:
      - targets: ["127.0.0.1:{free_port()}"]
collectors:
  postgres:
    - name: primary
      dsn: {pg_primary}
      password_env: DASHBOARD_TEST_PGPASSWORD
    - name: replica
      dsn: {pg_replica}
      password_env: DASHBOARD_TEST_PGPASSWORD
  redis:
    - name: cache
      address: {redis_address}
      password_file: {tmp / "redis-password"}
  probes:
    - name: vigil-self
      module: http
      target: http://127.0.0.1:{port}/-/healthy
    - name: shop-tls
      module: http
      target: {https_url}
      ca_file: {ca_file}
  sql:
    - name: vigil-audit
      dsn: sqlite:///{state_db}
{AUDIT_QUERIES}
alerting:
  receivers:
    - name: hook
      webhook_configs:
        - url: {webhook_url}
        - url: http://127.0.0.1:{free_port()}/nobody-listens
          timeout: 1s
  route:
    receiver: hook
    group_wait: 1s
    group_interval: 5s
""")
    return config


@contextmanager
def demo_vigil(tmp: Path, *, pg_primary: str, pg_replica: str, pg_password: str,
               redis_address: str, redis_password: str) -> Iterator[DemoVigil]:
    """``vigil up --demo`` with every source the shipped dashboards read, until the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / "vigil.log"
    with https_server(tmp / "tls") as (https_url, ca_file), WebhookReceiver() as hook:
        config = write_config(tmp, port=port, pg_primary=pg_primary, pg_replica=pg_replica,
                              redis_address=redis_address,
                              redis_password=redis_password, https_url=https_url, ca_file=ca_file,
                              webhook_url=hook.url)
        env = {k: v for k, v in os.environ.items() if k != "VIGIL_DEMO_POSTGRES_DSN"}
        env |= {"PYTHONUNBUFFERED": "1", "DASHBOARD_TEST_PGPASSWORD": pg_password}
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "vigil", "up", "--demo", "--data-dir", str(tmp / "data"),
                 "--listen", f"127.0.0.1:{port}", "--config", str(config)],
                stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            wait_ready(url, 60, proc, log)
            yield DemoVigil(url, log)
        finally:
            stop_process(proc)
