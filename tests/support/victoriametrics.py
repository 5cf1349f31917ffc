"""A real VictoriaMetrics 1.79 (Debian package ``victoria-metrics``, single node) on loopback,
and a real Prometheus 2.42 taking remote write, as ``storage.remote`` back ends.

Both can be stopped and started again on the same port and data (a store outage).
VictoriaMetrics runs with ``-search.latencyOffset=0s`` and ``-search.disableCache`` so that
a sample is visible to queries as soon as it is written (its default hides the last 30 s).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.prometheus import PROMETHEUS

__all__ = ["VICTORIA_METRICS", "Store", "running_prometheus_store", "running_victoria_metrics"]

VICTORIA_METRICS = "/usr/bin/victoria-metrics"


class Store:
    """A metrics store process: ``write_url``, ``query_url`` (the API base), ``query``."""

    def __init__(self, kind: str, args: Sequence[str], port: int, log: Path,
                 write_path: str, *, scheme: str = "http", **http: object) -> None:
        self.kind = kind
        self.port = port
        self.query_url = f"{scheme}://127.0.0.1:{port}"
        self.write_url = f"{self.query_url}{write_path}"
        self._args = list(args)
        self._log = log
        self.proc: subprocess.Popen | None = None
        # verify= and auth= for a store behind TLS and basic auth (Prometheus's web config).
        self._http = http
        self.http = httpx.Client(base_url=self.query_url, timeout=30, **http)  # type: ignore[arg-type]

    def start(self, ready_timeout_s: float = 60.0) -> Store:
        with self._log.open("a") as log:
            self.proc = subprocess.Popen(self._args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: {self._log.read_text()[-2000:]}")
            try:
                ready = "/health" if self.kind == "victoria-metrics" else "/-/ready"
                if httpx.get(self.query_url + ready, timeout=2,
                             **self._http).status_code == 200:  # type: ignore[arg-type]
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} not ready: {self._log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def api(self, path: str, **params: object) -> dict:
        """``GET /api/v1/<path>``: the whole JSON body."""
        return self.http.get(f"/api/v1/{path}", params=params).json()

    def query(self, expr: str, ts_ms: int | None = None) -> list[dict]:
        params: dict[str, object] = {"query": expr}
        if ts_ms is not None:
            params["time"] = f"{ts_ms / 1000:.3f}"
        body = self.api("query", **params)
        assert body["status"] == "success", body
        return body["data"]["result"]


def _require(binary: str, package: str) -> None:
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is not installed: apt-get install {package} (scripts/test "
                    "installs it)", pytrace=False)


@contextmanager
def running_victoria_metrics(data_dir: Path, *, extra_args: Sequence[str] = ()) -> Iterator[Store]:
    """VictoriaMetrics on 127.0.0.1:<free port> over ``data_dir``; stopped afterwards."""
    _require(VICTORIA_METRICS, "victoria-metrics")
    port = free_port()
    store = Store("victoria-metrics", [
        VICTORIA_METRICS, f"-storageDataPath={data_dir}", f"-httpListenAddr=127.0.0.1:{port}",
        "-retentionPeriod=100y", "-search.latencyOffset=0s", "-search.disableCache",
        "-loggerLevel=ERROR", *extra_args], port, data_dir.parent / f"vm-{port}.log",
        "/api/v1/write")
    try:
        yield store.start()
    finally:
        store.stop()
        store.http.close()


@contextmanager
def running_prometheus_store(data_dir: Path, *, web_config: Path | None = None,
                             **http: object) -> Iterator[Store]:
    """Prometheus 2.42 with its remote-write receiver on 127.0.0.1:<free port>, no targets.
    ``web_config``: Prometheus's web configuration file (TLS, basic auth users); then
    ``http`` holds what the test's own client needs (``verify=``, ``auth=``)."""
    _require(PROMETHEUS, "prometheus")
    port = free_port()
    config = data_dir.parent / f"prometheus-{port}.yml"
    config.write_text("global: {scrape_interval: 1h}\n")
    tls = web_config is not None and "tls_server_config" in web_config.read_text()
    store = Store("prometheus", [
        PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver",
        "--storage.tsdb.retention.time=100y",
        *([f"--web.config.file={web_config}"] if web_config else [])],
        port, data_dir.parent / f"prometheus-{port}.log", "/api/v1/write",
        scheme="https" if tls else "http", **http)
    try:
        yield store.start()
    finally:
        store.stop()
        store.http.close()
