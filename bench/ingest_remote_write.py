"""Remote-write ingest, Vigil vs Prometheus 2.42, same pre-encoded payloads to both.

Builds ``--series`` node_exporter-like series × ``--scrapes`` samples (timestamps spread
over ``--span-h`` hours so Prometheus has full 2 h blocks to write), encodes them as
remote-write 1.0 requests of ``--batch`` samples (one sample per series, as a Prometheus
sender shards them), then for each server in turn: starts it on loopback, sends every request
in time order over one keep-alive connection, and reads the server process's CPU time
(``/proc/<pid>/stat`` utime+stime) and RSS before and after.

Reported per server: samples per server CPU-second, RSS growth per active series, and bytes
per sample on disk with all data in blocks (Prometheus: an admin-API snapshot, which writes
the head as a block; Vigil: the same data written as one block with the TSDB's block writer
after the server stopped).

    .venv/bin/python bench/ingest_remote_write.py --series 100000 --scrapes 20
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np

from vigil.remote.codec import compress, encode_labels, encode_series

HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Write-Version": "0.1.0", "User-Agent": "vigil-bench"}
METRICS = [  # (name, extra label sets per instance)
    ("node_cpu_seconds_total", [{"cpu": str(c), "mode": m} for c in range(8)
                                for m in ("idle", "user", "system", "iowait", "irq", "softirq",
                                          "steal", "nice")]),
    ("node_network_receive_bytes_total", [{"device": f"eth{i}"} for i in range(4)]),
    ("node_network_transmit_bytes_total", [{"device": f"eth{i}"} for i in range(4)]),
    ("node_filesystem_avail_bytes", [{"device": f"/dev/sd{c}", "fstype": "ext4",
                                      "mountpoint": f"/mnt/{c}"} for c in "abcdef"]),
    ("node_disk_io_time_seconds_total", [{"device": f"sd{c}"} for c in "abcdef"]),
    ("node_memory_MemAvailable_bytes", [{}]),
    ("node_load1", [{}]),
    ("node_load5", [{}]),
    ("node_boot_time_seconds", [{}]),
]


def make_series(n: int) -> list[bytes]:
    """Encoded label blocks of ``n`` series (sorted label names, as senders send them)."""
    out: list[bytes] = []
    inst = 0
    while len(out) < n:
        for name, extras in METRICS:
            for extra in extras:
                labels = {"__name__": name, "instance": f"10.0.{inst // 250}.{inst % 250}:9100",
                          "job": "node", **extra}
                out.append(encode_labels(sorted(labels.items())))
                if len(out) == n:
                    return out
        inst += 1
    return out


def make_payloads(series: list[bytes], scrapes: int, batch: int, t0_ms: int,
                  step_ms: int) -> list[bytes]:
    rng = np.random.default_rng(1)
    n = len(series)
    kind = np.arange(n) % 3
    cur = rng.integers(0, 10_000, n).astype(float)
    out = []
    for k in range(scrapes):
        cur = np.where(kind == 0, cur + rng.integers(0, 500, n),
                       np.where(kind == 1, np.round(cur + rng.normal(0, 2, n), 2), cur))
        ts = t0_ms + k * step_ms
        vals = cur.tolist()
        for a in range(0, n, batch):
            body = b"".join(encode_series(series[i], (ts,), (vals[i],))
                            for i in range(a, min(a + batch, n)))
            out.append(compress(body))
    return out


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def wait_ready(url: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready after {timeout_s}s")


def send_all(base: str, payloads: list[bytes]) -> float:
    t = time.perf_counter()
    with httpx.Client(base_url=base, timeout=120) as c:
        for body in payloads:
            r = c.post("/api/v1/write", content=body, headers=HEADERS)
            if r.status_code != 204:
                raise SystemExit(f"{base}: HTTP {r.status_code}: {r.text[:300]}")
    return time.perf_counter() - t


def dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def run_prometheus(work: str, payloads: list[bytes], n_series: int, n_samples: int) -> dict:
    cfg = os.path.join(work, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1h\n")
    data = os.path.join(work, "prom-data")
    proc = subprocess.Popen(
        ["/usr/bin/prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={data}",
         "--web.listen-address=127.0.0.1:19090", "--web.enable-remote-write-receiver",
         "--web.enable-admin-api"], stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "prom.log"), "w"))
    try:
        base = "http://127.0.0.1:19090"
        wait_ready(base + "/-/ready", proc)
        time.sleep(1)
        cpu0, rss0 = cpu_s(proc.pid), rss_bytes(proc.pid)
        wall = send_all(base, payloads)
        cpu1, rss1 = cpu_s(proc.pid), rss_bytes(proc.pid)
        r = httpx.get(base + "/api/v1/query", params={"query": "count({job=\"node\"})"}, timeout=600).json()
        stored = int(r["data"]["result"][0]["value"][1])
        snap = httpx.post(base + "/api/v1/admin/tsdb/snapshot", timeout=600).json()["data"]["name"]
        disk = dir_bytes(os.path.join(data, "snapshots", snap))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    return _figures("prometheus", cpu1 - cpu0, wall, rss1 - rss0, rss1, disk, n_series,
                    n_samples, stored)


def run_vigil(work: str, payloads: list[bytes], n_series: int, n_samples: int) -> dict:
    cfg = os.path.join(work, "vigil.yml")
    with open(cfg, "w") as f:
        f.write("default_rules: false\ncollectors:\n  host:\n    enabled: false\n")
    data = os.path.join(work, "vigil-data")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil", "up", "--config", cfg, "--data-dir", data,
         "--listen", "127.0.0.1:19494", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "vigil.log"), "w"))
    try:
        base = "http://127.0.0.1:19494"
        wait_ready(base + "/-/ready", proc)
        time.sleep(1)
        cpu0, rss0 = cpu_s(proc.pid), rss_bytes(proc.pid)
        wall = send_all(base, payloads)
        cpu1, rss1 = cpu_s(proc.pid), rss_bytes(proc.pid)
        r = httpx.get(base + "/api/v1/query", params={"query": "count({job=\"node\"})"}, timeout=600).json()
        stored = int(r["data"]["result"][0]["value"][1])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(300)
    disk = _vigil_block_bytes(os.path.join(data, "tsdb"), os.path.join(work, "vigil-blocks"))
    return _figures("vigil", cpu1 - cpu0, wall, rss1 - rss0, rss1, disk, n_series, n_samples,
                    stored)


def _vigil_block_bytes(tsdb_dir: str, out_dir: str) -> int:
    """All stored samples written as one block with the TSDB's block writer; its size."""
    from vigil.model import Matcher
    from vigil.tsdb import DB
    from vigil.tsdb.block import write_block
    from vigil.tsdb.head import SeriesData

    db = DB.open(tsdb_dir, wal_fsync="off", compact_interval_s=3600)
    try:
        q = db.querier(-(2**62), 2**62)
        data = [SeriesData(s.labels, s.timestamps, s.values)
                for s in q.select([Matcher.equal("job", "node")])]
        q.close()
    finally:
        db.close()
    os.makedirs(out_dir, exist_ok=True)
    end = max(int(d.timestamps[-1]) for d in data) + 1
    return dir_bytes(write_block(out_dir, data, end))


def _figures(name: str, cpu: float, wall: float, rss_growth: int, rss: int, disk: int,
             n_series: int, n_samples: int, stored_series: int) -> dict:
    return {"server": name, "samples": n_samples, "series_stored": stored_series,
            "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
            "samples_per_cpu_s": round(n_samples / cpu) if cpu else None,
            "rss_mb": round(rss / 2**20, 1),
            "rss_growth_per_series_bytes": round(rss_growth / n_series),
            "disk_bytes_per_sample": round(disk / n_samples, 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, default=100_000)
    p.add_argument("--scrapes", type=int, default=20)
    p.add_argument("--batch", type=int, default=2000, help="samples per request")
    p.add_argument("--span-h", type=float, default=3.5, help="hours the timestamps span")
    p.add_argument("--only", choices=["vigil", "prometheus"])
    args = p.parse_args()
    step_ms = int(args.span_h * 3600_000 / max(1, args.scrapes - 1))
    t0 = (int(time.time() * 1000) - int(args.span_h * 3600_000)) // 60_000 * 60_000
    t = time.perf_counter()
    payloads = make_payloads(make_series(args.series), args.scrapes, args.batch, t0, step_ms)
    n_samples = args.series * args.scrapes
    print(f"# {len(payloads)} requests, {n_samples} samples, "
          f"{sum(map(len, payloads)) / 2**20:.1f} MiB compressed, encoded in "
          f"{time.perf_counter() - t:.1f}s", file=sys.stderr)
    work = tempfile.mkdtemp(prefix="vigil-bench-rw-")
    try:
        results = []
        if args.only != "prometheus":
            results.append(run_vigil(work, payloads, args.series, n_samples))
        if args.only != "vigil":
            results.append(run_prometheus(work, payloads, args.series, n_samples))
        for r in results:
            print(json.dumps(r))
        if len(results) == 2:
            print(f"# vigil/prometheus samples per CPU-second: "
                  f"{results[0]['samples_per_cpu_s'] / results[1]['samples_per_cpu_s']:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
