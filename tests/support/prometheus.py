"""A real Prometheus 2.42 (Debian package ``prometheus``) on loopback, loaded with given data.

Data goes in either as OpenMetrics text turned into TSDB blocks by ``promtool tsdb
create-blocks-from openmetrics`` (then served with no scrape targets), or by remote write into
a running server started with ``--web.enable-remote-write-receiver`` (:func:`remote_write`).
Used by the PromQL differential test and by the benchmarks in ``bench/``.

Times: ``ts_ms`` are int milliseconds since the epoch; OpenMetrics text carries seconds.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port
from vigil.promqltest.http import escape_label_value, openmetrics_sample

__all__ = ["PROMETHEUS", "PROMTOOL", "Prometheus", "create_blocks", "format_openmetrics",
           "remote_write", "require_prometheus", "running_prometheus"]

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"

# One series: a metric name, its labels (without __name__) and (ts_ms, value) samples.
SeriesSamples = tuple[str, dict[str, str], Sequence[tuple[int, float]]]


def require_prometheus() -> None:
    """Fail the calling test (never skip it) when Prometheus 2.42 or promtool is missing:
    a differential test that did not run must not look like one that passed."""
    for binary in (PROMETHEUS, PROMTOOL):
        if not os.access(binary, os.X_OK):
            pytest.fail(f"{binary} is not installed: apt-get install prometheus "
                        "(Debian's Prometheus 2.42; scripts/test installs it)", pytrace=False)


def format_openmetrics(series: Iterable[SeriesSamples]) -> Iterator[str]:
    """OpenMetrics lines (newline-terminated) for ``series``, grouped by metric name as the
    format requires (every family contiguous), ending with ``# EOF``. Metric families get no
    TYPE line (type unknown), so names need no ``_total``/``_bucket`` suffix rules."""
    by_name: dict[str, list[SeriesSamples]] = {}
    for s in series:
        by_name.setdefault(s[0], []).append(s)
    for name, members in by_name.items():
        for _, labels, samples in members:
            body = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sorted(labels.items()))
            head = f"{name}{{{body}}}" if body else name
            for ts_ms, v in samples:
                yield openmetrics_sample(head, v, ts_ms) + "\n"
    yield "# EOF\n"


def remote_write(url: str, batches: Iterable[Sequence[tuple[bytes, int, float]]]) -> int:
    """POST each batch of ``(encoded labels, ts_ms, value)`` samples as one snappy
    remote-write 1.0 request to ``url``; labels come from
    :func:`vigil.remote.codec.encode_labels`. Raises on a refused request; returns the number
    of samples sent. The caller orders samples in time per series (Prometheus's head takes
    in-order samples only)."""
    from vigil.remote.codec import compress, encode_series

    sent = 0
    headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
               "X-Prometheus-Remote-Write-Version": "0.1.0"}
    with httpx.Client(timeout=120) as client:
        for batch in batches:
            body = compress(b"".join(encode_series(lb, (t,), (v,)) for lb, t, v in batch))
            r = client.post(url, content=body, headers=headers)
            if r.status_code >= 300:
                raise RuntimeError(f"remote write refused: {r.status_code} {r.text}")
            sent += len(batch)
    return sent


def create_blocks(series: Iterable[SeriesSamples], data_dir: Path) -> None:
    """Write ``series`` as Prometheus TSDB blocks into ``data_dir`` (created) via promtool."""
    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir.parent / f"{data_dir.name}.om.txt"
    with source.open("w") as f:
        f.writelines(format_openmetrics(series))
    done = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(source),
                           str(data_dir)], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"promtool failed: {done.stderr or done.stdout}")
    source.unlink()


class Prometheus:
    """A client for a running Prometheus's HTTP API."""

    def __init__(self, url: str, pid: int | None = None) -> None:
        self.url = url
        self.pid = pid  # the server process, for CPU accounting in benchmarks
        self.http = httpx.Client(base_url=url, timeout=120)

    def api(self, path: str, **params: object) -> dict:
        """``GET /api/v1/<path>`` and return the whole JSON body (success or error)."""
        return self.http.get(f"/api/v1/{path}", params=params).json()

    def query(self, query: str, ts_ms: int) -> dict:
        return self.api("query", query=query, time=f"{ts_ms / 1000:.3f}")

    def query_range(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> dict:
        return self.api("query_range", query=query, start=f"{start_ms / 1000:.3f}",
                        end=f"{end_ms / 1000:.3f}", step=f"{step_ms / 1000:.3f}")


@contextmanager
def running_prometheus(data_dir: Path, *, extra_args: Sequence[str] = (),
                       ready_timeout_s: float = 60.0,
                       config_yaml: str = "global: {scrape_interval: 1h}\n") -> Iterator[Prometheus]:
    """Run Prometheus on 127.0.0.1:<free port> over the TSDB in ``data_dir`` (no scrape
    targets, an empty config unless ``config_yaml`` is given), wait until ``/-/ready``, yield a
    client, stop it afterwards.
    Retention is set far out so that old test timestamps are kept."""
    config = data_dir.parent / "prometheus.yml"
    config.write_text(config_yaml)
    port = free_port()
    log_path = data_dir.parent / "prometheus.log"
    # A high default sample limit, unless the caller sets one (a flag may be given only once).
    max_samples = ([] if any(a.startswith("--query.max-samples=") for a in extra_args)
                   else ["--query.max-samples=500000000"])
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={data_dir}",
             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y",
             *max_samples, *extra_args],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + ready_timeout_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"prometheus exited: {log_path.read_text()[-2000:]}")
                try:
                    if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"prometheus not ready: {log_path.read_text()[-2000:]}")
                time.sleep(0.1)
            client = Prometheus(url, proc.pid)
            try:
                yield client
            finally:
                client.http.close()
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
