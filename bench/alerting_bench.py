"""Alerting benchmark: Vigil and Alertmanager 0.25 side by side, same Alertmanager config.

1. Throughput: ``--alerts`` alerts (default 10,000) POSTed to ``/api/v2/alerts`` in batches of
   64 (Prometheus's notifier batch size) from ``--clients`` threads; alerts accepted per
   wall-clock second, and per CPU-second of the server process (user + system, from
   ``/proc``), which is steadier on a machine shared with other work.
2. Delivery latency at that many active alerts: a new alert (its own group) is posted
   ``--probes`` times; latency = time the webhook receiver got the notification minus
   (time the POST started + group_wait). Reported as median and max, in ms.

Run: ``.venv/bin/python bench/alerting_bench.py [--alerts 10000] [--probes 20]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.ports import free_port  # noqa: E402
from tests.support.vigil_proc import eventually, wait_ready  # noqa: E402
from tests.support.webhook import WebhookReceiver  # noqa: E402

GROUP_WAIT_S = 1.0


def am_yaml(url: str) -> str:
    return textwrap.dedent(f"""\
        route:
          receiver: hook
          group_by: [alertname]
          group_wait: {int(GROUP_WAIT_S)}s
          group_interval: 1h
          repeat_interval: 4h
        receivers:
          - name: hook
            webhook_configs: [{{url: "{url}"}}]
    """)


def start_vigil(tmp: Path, url: str) -> tuple[subprocess.Popen, str]:
    (tmp / "am-vigil.yml").write_text(am_yaml(url))
    (tmp / "vigil.yml").write_text("default_rules: false\ncollectors: {host: {enabled: false}}\n"
                                   "alerting: {alertmanager_config: am-vigil.yml}\n")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "vigil", "up", "--config", str(tmp / "vigil.yml"),
                             "--data-dir", str(tmp / "vigil-data"), "--listen", f"127.0.0.1:{port}",
                             "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}", 60, proc)
    return proc, f"http://127.0.0.1:{port}"


def start_alertmanager(tmp: Path, url: str) -> tuple[subprocess.Popen, str]:
    (tmp / "am.yml").write_text(am_yaml(url))
    port = free_port()
    proc = subprocess.Popen(["/usr/bin/prometheus-alertmanager", f"--config.file={tmp / 'am.yml'}",
                             f"--storage.path={tmp / 'am-data'}", f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address=", "--log.level=warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    eventually(lambda: httpx.get(f"{base}/-/ready", timeout=2).status_code == 200, what="alertmanager")
    return proc, base


def cpu_seconds(pid: int) -> float:
    import os

    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(base: str, n: int, clients: int) -> float:
    alerts = [{"labels": {"alertname": f"Load{i // 100}", "instance": f"host-{i}", "severity": "warning"},
               "annotations": {"summary": f"load on host-{i}"}} for i in range(n)]
    batches = [alerts[i:i + 64] for i in range(0, n, 64)]

    def send(chunk: list[list[dict]]) -> None:
        with httpx.Client(timeout=60) as client:
            for batch in chunk:
                client.post(f"{base}/api/v2/alerts", json=batch).raise_for_status()

    chunks = [batches[i::clients] for i in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, chunks))
    return n / (time.perf_counter() - started)


def latencies(base: str, receiver: WebhookReceiver, probes: int, name: str) -> list[float]:
    out = []
    with httpx.Client(timeout=30) as client:
        for k in range(probes):
            alertname = f"Probe{name}{k}"
            started = time.monotonic()
            client.post(f"{base}/api/v2/alerts", json=[{"labels": {"alertname": alertname}}]).raise_for_status()
            deadline = started + 30
            while receiver.first_arrival(alertname) is None and time.monotonic() < deadline:
                time.sleep(0.005)
            arrived = receiver.first_arrival(alertname)
            if arrived is not None:
                out.append((arrived - started - GROUP_WAIT_S) * 1000)
            time.sleep(0.3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for name, start in (("Vigil", start_vigil), ("Alertmanager 0.25", start_alertmanager)):
            with WebhookReceiver() as receiver:
                proc, base = start(tmp, receiver.url)
                try:
                    cpu0 = cpu_seconds(proc.pid)
                    rate = throughput(base, args.alerts, args.clients)
                    cpu_rate = args.alerts / max(cpu_seconds(proc.pid) - cpu0, 1e-3)
                    groups = args.alerts // 100 + (args.alerts % 100 > 0)
                    eventually(lambda r=receiver, g=groups: len(r.received) >= g, timeout=120,
                               what="initial flushes")
                    active = len(httpx.get(f"{base}/api/v2/alerts", timeout=60).json())
                    lat = latencies(base, receiver, args.probes, name.split()[0])
                finally:
                    proc.terminate()
                    proc.wait(30)
            rows.append((name, rate, cpu_rate, active, statistics.median(lat), max(lat), len(lat)))
    print("| System | alerts accepted/s | per server CPU-s | active alerts | delivery after group_wait, median | max | probes |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, rate, cpu_rate, active, med, worst, n in rows:
        print(f"| {name} | {rate:,.0f} | {cpu_rate:,.0f} | {active:,} | {med:.1f} ms | {worst:.1f} ms | {n} |")


if __name__ == "__main__":
    main()
