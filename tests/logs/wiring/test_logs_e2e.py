"""A real ``vigil up`` takes logs over Loki's push API, syslog (util-linux ``logger`` over TCP
and UDP) and a tailed file, answers LogQL on ``/loki/api/v1/query_range``, and keeps every
acknowledged push across ``kill -9``."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.vigil_proc import VigilProcess, eventually

S = 1_000_000_000

pytestmark = pytest.mark.skipif(shutil.which("logger") is None, reason="util-linux logger")


def lines(vigil: VigilProcess, query: str, since_s: int = 3600) -> list[str]:
    now = time.time_ns()
    r = httpx.get(f"{vigil.url}/loki/api/v1/query_range", params={
        "query": query, "start": str(now - since_s * S), "end": str(now + 60 * S),
        "limit": "5000", "direction": "forward"}, timeout=30)
    r.raise_for_status()
    doc = r.json()
    assert doc["status"] == "success" and doc["data"]["resultType"] == "streams"
    return [v[1] for s in doc["data"]["result"] for v in s["values"]]


def push(vigil: VigilProcess, stream: dict[str, str], texts: list[str]) -> None:
    now = time.time_ns()
    r = httpx.post(f"{vigil.url}/loki/api/v1/push", json={"streams": [{
        "stream": stream, "values": [[str(now + i), t] for i, t in enumerate(texts)]}]},
        timeout=30)
    assert r.status_code == 204, r.text


def test_push_syslog_file_query_and_kill_9(tmp_path):
    tcp, udp = free_port(), free_port()
    tailed = tmp_path / "app.log"
    tailed.write_text("before start\n")
    config = tmp_path / "vigil.yml"
    config.write_text(f"""
logs:
  syslog:
    tcp: ["127.0.0.1:{tcp}"]
    udp: ["127.0.0.1:{udp}"]
    labels: {{job: syslog, site: lab}}
  files:
    - path: {tailed}
      labels: {{job: app}}
""")
    vigil = VigilProcess(config, tmp_path / "data").start()
    try:
        push(vigil, {"app": "api", "env": "prod"}, ["GET /a 200", "GET /b 500", "GET /c 200"])
        for flag, port, text in (("--tcp", tcp, "over tcp"), ("--udp", udp, "over udp")):
            subprocess.run(["logger", flag, "--rfc5424", "-n", "127.0.0.1", "-P", str(port),
                            "-t", "sshd", "-p", "auth.warning", text], check=True, timeout=10)
        with tailed.open("a") as f:
            f.write("after start\n")
        eventually(lambda: sorted(lines(vigil, '{job="syslog", site="lab"}'))
                   == ["over tcp", "over udp"], what="syslog lines stored")
        eventually(lambda: lines(vigil, '{job="app"}') == ["before start", "after start"],
                   what="tailed lines stored")
        assert lines(vigil, '{app="api"} |= "500"') == ["GET /b 500"]
        # the syslog entries keep their level and fields (app name, facility)
        warn = lines(vigil, '{job="syslog"} | detected_level="warn"')
        assert sorted(warn) == ["over tcp", "over udp"]
        now = time.time_ns()
        r = httpx.get(f"{vigil.url}/loki/api/v1/query_range", params={
            "query": 'sum(count_over_time({app="api"}[1h]))', "start": str(now),
            "end": str(now + 60 * S), "step": "60s"}, timeout=30).json()
        assert r["data"]["resultType"] == "matrix"
        assert r["data"]["result"][0]["values"][0][1] == "3"

        # A secret is masked before it is stored (logs.secrets, on by default) and counted.
        key = "AKIA" + "Z7Q2XK4PLM3NB6VW"  # the shape of an AWS access key id, not a real one
        push(vigil, {"app": "leaky", "job": "shop"}, [f"boto3 configured with {key}"])
        [masked] = lines(vigil, '{app="leaky"}')
        assert key not in masked and "[REDACTED:aws_access_key:" in masked, masked
        metrics = httpx.get(f"{vigil.url}/metrics", timeout=10).text
        assert 'vigil_logs_secrets_detected_total{job="shop",kind="aws_access_key"} 1.0' in metrics

        # Acknowledged pushes survive kill -9: ack, kill at once, start again.
        acked = [f"acknowledged {i}" for i in range(200)]
        push(vigil, {"app": "crash"}, acked)
        vigil.stop(signal.SIGKILL)
        vigil.start()
        assert lines(vigil, '{app="crash"}') == acked
        assert sorted(lines(vigil, '{job="syslog"}')) == ["over tcp", "over udp"]
        # the tailer resumes at its position: no line again, the new one once
        with tailed.open("a") as f:
            f.write("after restart\n")
        eventually(lambda: lines(vigil, '{job="app"}')[-1:] == ["after restart"],
                   what="tailed after restart")
        # (a crash between an append and the position's save repeats lines, never loses them)
        tailed_lines = lines(vigil, '{job="app"}')
        assert set(tailed_lines) == {"before start", "after start", "after restart"}
        assert tailed_lines.count("after restart") == 1
    finally:
        vigil.stop()
