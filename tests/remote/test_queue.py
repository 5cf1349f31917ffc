"""Remote write out: the queue against a real Prometheus 2.42 receiver, and its retry rules."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import httpx
import pytest

from vigil.config.model import RemoteWriteConfig
from vigil.model import Labels
from vigil.model.relabel import Relabeller
from vigil.remote._fastdecode import decode_labels, scan_write_request
from vigil.remote.codec import compress, decompress, encode_write_request
from vigil.remote.queue import QueueManager

PROMETHEUS = "/usr/bin/prometheus"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def prometheus(tmp_path):
    if not os.path.exists(PROMETHEUS):
        pytest.fail(f"{PROMETHEUS} missing: apt-get install prometheus (scripts/test does)")
    port = free_port()
    (tmp_path / "p.yml").write_text("global:\n  scrape_interval: 1h\n")
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={tmp_path / 'p.yml'}", f"--storage.tsdb.path={tmp_path / 'p'}",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(tmp_path / "p", ignore_errors=True)


def query(base: str, expr: str) -> list[dict]:
    return httpx.get(base + "/api/v1/query", params={"query": expr}).json()["data"]["result"]


def wait_for(cond, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_committed_samples_reach_real_prometheus(prometheus, db):
    cfg = RemoteWriteConfig.model_validate({
        "url": prometheus + "/api/v1/write",
        "queue_config": {"max_samples_per_send": 50, "batch_send_deadline": "100ms"},
        "write_relabel_configs": [
            {"source_labels": ["__name__"], "regex": "secret_.*", "action": "drop"},
            {"source_labels": ["host"], "regex": "(.+)", "target_label": "instance",
             "replacement": "${1}:9100"},
            {"regex": "host", "action": "labeldrop"},
        ]})
    qm = QueueManager(cfg)
    unsubscribe = db.subscribe(qm.append)
    qm.start()
    now = int(time.time() * 1000)
    try:
        app = db.appender()
        for i in range(120):  # more than one batch
            app.append(Labels({"__name__": "vigil_test", "host": f"h{i}"}), now - 1000, float(i))
        app.append(Labels({"__name__": "secret_value", "host": "h0"}), now - 1000, 42.0)
        app.commit()
        app = db.appender()  # a second commit through the column-wise path
        app.append_columns([Labels({"__name__": "vigil_cols", "host": "a"})], [now - 500], [7.5])
        app.commit()
        wait_for(lambda: len(query(prometheus, "vigil_test")) == 120
                 and bool(query(prometheus, "vigil_cols")))
        got = query(prometheus, "vigil_test")
        assert len(got) == 120
        byinst = {r["metric"]["instance"]: float(r["value"][1]) for r in got}
        assert byinst["h7:9100"] == 7.0 and "host" not in got[0]["metric"]
        assert query(prometheus, "vigil_cols")[0]["value"][1] == "7.5"
        assert query(prometheus, "secret_value") == []
        # Prometheus already has a newer sample of vigil_ooo: it answers 400 to ours, the
        # batch is dropped (not retried) and later batches still go through.
        r = httpx.post(prometheus + "/api/v1/write", content=compress(encode_write_request(
            [([("__name__", "vigil_ooo")], [now], [1.0])])), headers={"Content-Encoding": "snappy"})
        assert r.status_code == 204
        sent = qm.sent
        app = db.appender()
        app.append(Labels({"__name__": "vigil_ooo"}), now - 60_000, 2.0)
        app.commit()
        wait_for(lambda: qm.failed == 1)
        assert qm.failed == 1 and qm.retries == 0, (qm.sent, qm.failed, qm.retries, qm.pending())
        app = db.appender()
        app.append(Labels({"__name__": "vigil_after"}), now, 3.0)
        app.commit()
        wait_for(lambda: bool(query(prometheus, "vigil_after")))
        assert query(prometheus, "vigil_after") and qm.sent == sent + 1
    finally:
        unsubscribe()
        qm.stop()


class Endpoint:
    """A fake endpoint at the HTTP seam: answers from a script of status codes."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[list[tuple[list[tuple[str, str]], list[int], list[float]]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        cols = scan_write_request(decompress(request.content, max_bytes=1 << 24))
        assert request.headers["Content-Encoding"] == "snappy"
        self.requests.append([(decode_labels(lb), [], []) for lb in cols.labels])
        status = self.statuses.pop(0) if self.statuses else 204
        return httpx.Response(status, headers={"Retry-After": "0"} if status == 429 else {})


def make_queue(endpoint: Endpoint, **queue) -> QueueManager:
    cfg = RemoteWriteConfig.model_validate({
        "url": "http://remote/api/v1/write",
        "queue_config": {"max_samples_per_send": 2, "batch_send_deadline": "50ms",
                         "min_backoff": "10ms", "max_backoff": "20ms", **queue}})
    return QueueManager(cfg, transport=httpx.MockTransport(endpoint))


def test_retries_5xx_and_429_drops_4xx():
    ep = Endpoint([500, 503, 429, 204, 400])
    qm = make_queue(ep)
    qm.start()
    try:
        qm.append([(Labels({"__name__": "a"}), [1, 2], [1.0, 2.0])])
        wait_for(lambda: qm.sent == 2)
        qm.append([(Labels({"__name__": "b"}), [3, 4], [1.0, 2.0])])
        wait_for(lambda: qm.failed == 2)
    finally:
        qm.stop()
    assert (qm.sent, qm.failed, qm.retries) == (2, 2, 3)
    assert len(ep.requests) == 5  # 4 tries of the first batch, 1 of the second


def test_full_queue_drops_instead_of_blocking_commits():
    ep = Endpoint([])
    qm = make_queue(ep, capacity=3)  # not started: nothing drains the queue
    qm.append([(Labels({"__name__": "a"}), [1, 2, 3, 4, 5], [0.0] * 5)])
    assert qm.pending() == 3 and qm.dropped == 2
    qm.start()
    qm.stop()  # flushes what is queued on the way out
    assert qm.sent == 3


def test_relabel_actions():
    from vigil.config.model import WriteRelabelConfig as R
    rl = Relabeller([
        R(source_labels=["job"], regex="node|db", action="keep"),
        R(source_labels=["__name__", "job"], separator="_", regex="(.*)_(.*)",
          target_label="combined", replacement="$2-$1"),
        R(regex="tmp_.*", action="labeldrop"),
    ])
    assert rl.process(Labels({"__name__": "up", "job": "web"})) is None
    assert rl.process(Labels({"__name__": "up", "job": "node", "tmp_x": "1"})) == Labels(
        {"__name__": "up", "job": "node", "combined": "node-up"})
