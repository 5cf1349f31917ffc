"""Remote-write ingest and head memory, Vigil vs Prometheus 2.42, same pre-encoded payloads.

Builds ``--series`` node_exporter-like series × ``--scrapes`` samples (timestamps spread over
``--span-h`` hours from the last 2 h block boundary, so both servers cut the same blocks and
keep the same head), encodes them as remote-write 1.0 requests of ``--batch`` samples (one sample per
series, as a Prometheus sender shards them), then for each server in turn: starts it on
loopback, sends every request in time order over ``--connections`` keep-alive connections
(request k of each scrape over connection k mod N, like the shards of Prometheus's sender,
so each series keeps its time order), and reads the server process's CPU time
(``/proc/<pid>/stat`` utime+stime) and memory (``/proc/<pid>/status``).

Three moments are measured per server: before the first request (baseline), right after the
last one, and *settled* — once the server has cut the blocks the data made due (when the span
exceeds 3 h) and its CPU has been idle for a few seconds. Reported: samples per server
CPU-second (during the sends, and including the settling, i.e. the head compaction the ingest
caused), memory growth per active series (VmRSS and RssAnon minus baseline; peak is VmHWM), and
for Prometheus also after a forced Go GC (``/debug/pprof/heap?gc=1``) with its live heap.
Disk: bytes per sample with all data in blocks (Prometheus: an admin-API snapshot, which
writes the head as a block; Vigil: the same data written as one block by the TSDB's block
writer after the server stopped).

    .venv/bin/python bench/ingest_remote_write.py --series 100000 --scrapes 80
    .venv/bin/python bench/ingest_remote_write.py --series 1000000 --scrapes 20 --span-h 1.5 --skip-disk
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import numpy as np

from vigil.remote.codec import _uvarint, compress, encode_labels, encode_series

BLOCK_MS = 2 * 3600_000  # both servers' block range
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
                labels = {"__name__": name, "instance": f"10.{inst // 62500}.{inst // 250 % 250}"
                          f".{inst % 250}:9100", "job": "node", **extra}
                out.append(encode_labels(sorted(labels.items())))
                if len(out) == n:
                    return out
        inst += 1
    return out


def make_payloads(series: list[bytes], scrapes: int, batch: int, t0_ms: int,
                  step_ms: int) -> list[bytes]:
    """Snappy requests, scrape after scrape. Every series' TimeSeries message has the same
    length in every scrape (the timestamp's varint length does not change over the run), so
    one template of all messages is laid out once and each scrape only overwrites the value
    and timestamp bytes in place — per-sample Python encoding took minutes at 1M series."""
    n = len(series)
    ts_len = len(_uvarint(t0_ms))
    if len(_uvarint(t0_ms + (scrapes - 1) * step_ms)) != ts_len:
        raise SystemExit("timestamps of the run need varints of different lengths")
    body_len = 1 + 8 + 1 + ts_len  # value field (0x09, double), timestamp field (0x10, varint)
    tail = bytes(8) + b"\x10" + bytes(ts_len)
    parts: list[bytes] = []
    vpos = np.empty(n, np.int64)
    offs = np.empty(n + 1, np.int64)
    pos = 0
    for i, lab in enumerate(series):
        head = (b"\x0a" + _uvarint(len(lab) + 2 + body_len) + lab
                + b"\x12" + _uvarint(body_len) + b"\x09")
        offs[i] = pos
        vpos[i] = pos + len(head)
        parts += (head, tail)
        pos += len(head) + len(tail)
    offs[n] = pos
    tmpl = np.frombuffer(bytearray(b"".join(parts)), np.uint8)
    del parts
    vidx = vpos[:, None] + np.arange(8)
    tidx = (vpos + 9)[:, None] + np.arange(ts_len)
    del vpos

    rng = np.random.default_rng(1)
    kind = np.arange(n) % 3  # counters, 2-decimal gauges, constants
    cur = rng.integers(0, 10_000, n).astype(float)
    out = []
    for k in range(scrapes):
        cur = np.where(kind == 0, cur + rng.integers(0, 500, n),
                       np.where(kind == 1, np.round(cur + rng.normal(0, 2, n), 2), cur))
        ts = t0_ms + k * step_ms
        tmpl[vidx] = cur.astype("<f8").view(np.uint8).reshape(n, 8)
        tmpl[tidx] = np.frombuffer(_uvarint(ts), np.uint8)
        if k == 0:  # the template must give exactly what the codec encodes
            m = min(n, 50)
            want = b"".join(encode_series(series[i], (ts,), (float(cur[i]),)) for i in range(m))
            if tmpl[:offs[m]].tobytes() != want:
                raise SystemExit("bench encoder disagrees with vigil.remote.codec")
        for a in range(0, n, batch):
            out.append(compress(tmpl[offs[a]:offs[min(a + batch, n)]].tobytes()))
    return out


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mem(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS) and RssAnon of ``pid``, in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon"):
                out[key] = int(rest.split()[0]) * 1024
    return out


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


def send_all(base: str, payloads: list[bytes], connections: int, per_scrape: int) -> float:
    """Send every request; returns the wall seconds. With several connections, as the shards
    of Prometheus's remote-write queue: request k of every scrape goes over connection
    k mod ``connections`` (each series always in the same shard), each connection sends its
    requests one after the other, so every series still arrives in time order."""
    errors: list[str] = []

    def shard(j: int) -> None:
        with httpx.Client(base_url=base, timeout=600) as c:
            for i in range(len(payloads)):
                if i % per_scrape % connections != j:
                    continue
                if errors:
                    return
                r = c.post("/api/v1/write", content=payloads[i], headers=HEADERS)
                if r.status_code != 204:
                    errors.append(f"{base}: HTTP {r.status_code}: {r.text[:300]}")

    t = time.perf_counter()
    threads = [threading.Thread(target=shard, args=(j,)) for j in range(connections)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise SystemExit(errors[0])
    return time.perf_counter() - t


def dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def count_blocks(blocks_dir: str) -> int:
    if not os.path.isdir(blocks_dir):
        return 0
    return sum(1 for name in os.listdir(blocks_dir) if ".tmp" not in name
               and os.path.exists(os.path.join(blocks_dir, name, "meta.json")))


def settle(proc: subprocess.Popen, blocks_dir: str, blocks: int, timeout_s: float = 1800) -> float:
    """Wait until ``blocks`` blocks exist and the server's CPU has been idle for 3 s (the
    compaction, head truncation and WAL checkpoint that follow a cut are done). Returns the
    seconds waited."""
    t = time.monotonic()
    while count_blocks(blocks_dir) < blocks:
        if time.monotonic() - t > timeout_s or proc.poll() is not None:
            raise SystemExit(f"{blocks_dir}: {blocks} block(s) expected, "
                             f"{count_blocks(blocks_dir)} after {timeout_s}s")
        time.sleep(0.5)
    idle = 0
    last = cpu_s(proc.pid)
    while idle < 3:
        time.sleep(1)
        now = cpu_s(proc.pid)
        idle = idle + 1 if now - last < 0.03 else 0
        last = now
        if time.monotonic() - t > timeout_s:
            raise SystemExit(f"server still busy after {timeout_s}s")
    return time.monotonic() - t


def first_timestamp() -> int:
    """The block boundary at or before now. From a boundary, which samples end in a block
    and which stay in the head is the same in every run (it decides the memory figure).
    Starting before now and running on past it (the span is hours), the data's time range
    also holds the samples Vigil's always-on self-scrape appends at the wall clock, so they
    do not widen its head's range and make it cut blocks Prometheus does not."""
    return int(time.time() * 1000) // BLOCK_MS * BLOCK_MS


def expected_head(ts: list[int]) -> tuple[int, int]:
    """(blocks cut, samples per series left in the head) under the rule both servers
    follow: while the head spans more than 1.5 block ranges, cut its oldest block-aligned
    range into a block."""
    lo, cut = 0, 0
    while ts[-1] - ts[lo] > BLOCK_MS * 3 // 2:
        end = (ts[lo] // BLOCK_MS + 1) * BLOCK_MS
        while ts[lo] < end:
            lo += 1
        cut += 1
    return cut, len(ts) - lo


class Run:
    """One server process under measurement."""

    def __init__(self, name: str, argv: list[str], base: str, blocks_dir: str, work: str) -> None:
        self.name, self.base, self.blocks_dir = name, base, blocks_dir
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(work, f"{name}.log"), "w"))

    def measure(self, payloads: list[bytes], blocks: int, last_ts_ms: int,
                connections: int = 1, per_scrape: int = 1) -> dict:
        pid = self.proc.pid
        wait_ready(self.base + "/-/ready", self.proc)
        time.sleep(3)
        cpu0, m0 = cpu_s(pid), mem(pid)
        load0 = os.getloadavg()[0]
        wall = send_all(self.base, payloads, connections, per_scrape)
        cpu1, m1 = cpu_s(pid), mem(pid)
        waited = settle(self.proc, self.blocks_dir, blocks)
        cpu2, m2 = cpu_s(pid), mem(pid)
        out = {"base": m0, "sent": m1, "settled": m2, "cpu_sent": cpu1 - cpu0,
               "load": (load0, os.getloadavg()[0]),
               "cpu_settled": cpu2 - cpu0, "wall": wall, "settle_s": waited}
        if self.name == "prometheus":
            httpx.get(self.base + "/debug/pprof/heap", params={"gc": "1"}, timeout=600)
            time.sleep(5)
            out["gc"] = mem(pid)
            out["go_heap_inuse"] = _metric(self.base, "go_memstats_heap_inuse_bytes")
        r = httpx.get(self.base + "/api/v1/query", timeout=1800, params={
            "query": 'count({job="node"})', "time": f"{last_ts_ms / 1000:.3f}"}).json()
        out["stored"] = int(r["data"]["result"][0]["value"][1])
        return out

    def stop(self, timeout_s: float) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout_s)


def _metric(base: str, name: str) -> float:
    for line in httpx.get(base + "/metrics", timeout=60).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise SystemExit(f"{base}/metrics has no {name}")


def free_port() -> int:
    """A loopback port nothing listens on now: a fixed port may be held by another
    benchmark's server on a shared machine, which would then answer in ours' place."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_prometheus(work: str, payloads: list[bytes], blocks: int, last_ts: int,
                   skip_disk: bool, sending: tuple[int, int]) -> tuple[dict, int | None]:
    cfg = os.path.join(work, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1h\n")
    data = os.path.join(work, "prom-data")
    port = free_port()
    run = Run("prometheus", [
        "/usr/bin/prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={data}",
        f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver",
        "--web.enable-admin-api"], f"http://127.0.0.1:{port}", data, work)
    try:
        m = run.measure(payloads, blocks, last_ts, *sending)
        disk = None
        if not skip_disk:
            snap = httpx.post(run.base + "/api/v1/admin/tsdb/snapshot",
                              timeout=1800).json()["data"]["name"]
            disk = dir_bytes(os.path.join(data, "snapshots", snap))
    finally:
        run.stop(120)
    return m, disk


def run_vigil(work: str, payloads: list[bytes], blocks: int, last_ts: int,
              skip_disk: bool, sending: tuple[int, int]) -> tuple[dict, int | None]:
    cfg = os.path.join(work, "vigil.yml")
    with open(cfg, "w") as f:
        f.write("default_rules: false\ncollectors:\n  host:\n    enabled: false\n")
    data = os.path.join(work, "vigil-data")
    port = free_port()
    run = Run("vigil", [
        sys.executable, "-m", "vigil", "up", "--config", cfg, "--data-dir", data,
        "--listen", f"127.0.0.1:{port}", "--log-level", "warning"],
        f"http://127.0.0.1:{port}", os.path.join(data, "tsdb", "blocks"), work)
    try:
        m = run.measure(payloads, blocks, last_ts, *sending)
    finally:
        run.stop(1800)
    disk = None
    if not skip_disk:
        disk = _vigil_block_bytes(os.path.join(data, "tsdb"), os.path.join(work, "vigil-blocks"))
    return m, disk


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


def figures(name: str, m: dict, disk: int | None, n_series: int, n_samples: int,
            head_samples: int) -> dict:
    def per_series(key: str, moment: str) -> int:
        return round((m[moment][key] - m["base"][key if key != "VmHWM" else "VmRSS"]) / n_series)

    out = {
        "server": name, "samples": n_samples, "series_stored": m["stored"],
        "head_samples_per_series": head_samples,
        "wall_s": round(m["wall"], 1),
        "samples_per_wall_s": round(n_samples / m["wall"]),
        # server CPU-seconds per wall second of sending: how many cores it kept busy
        "cores_busy": round(m["cpu_sent"] / m["wall"], 2),
        # 1-minute load average before and after the sends: the machine may be shared, and
        # the other load shows in the CPU figures.
        "loadavg": [round(x, 2) for x in m["load"]],
        "cpu_s_sends": round(m["cpu_sent"], 2),
        "samples_per_cpu_s": round(n_samples / m["cpu_sent"]),
        "cpu_s_with_compaction": round(m["cpu_settled"], 2),
        "samples_per_cpu_s_with_compaction": round(n_samples / m["cpu_settled"]),
        "settle_s": round(m["settle_s"], 1),
        "rss_base_mb": round(m["base"]["VmRSS"] / 2**20, 1),
        "rss_settled_mb": round(m["settled"]["VmRSS"] / 2**20, 1),
        "rss_per_series_after_sends": per_series("VmRSS", "sent"),
        "rss_per_series_settled": per_series("VmRSS", "settled"),
        "anon_per_series_settled": per_series("RssAnon", "settled"),
        "peak_rss_per_series": per_series("VmHWM", "settled"),
        "disk_bytes_per_sample": round(disk / n_samples, 3) if disk is not None else None,
    }
    if "gc" in m:
        out["rss_per_series_after_gc"] = per_series("VmRSS", "gc")
        out["go_heap_inuse_per_series"] = round(m["go_heap_inuse"] / n_series)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, default=100_000)
    p.add_argument("--scrapes", type=int, default=80)
    p.add_argument("--batch", type=int, default=2000, help="samples per request")
    p.add_argument("--span-h", type=float, default=3.5,
                   help="hours the timestamps span; over 3 the oldest 2 h are cut into a block")
    p.add_argument("--connections", type=int, default=4,
                   help="concurrent sending connections (shards; each series in one)")
    p.add_argument("--only", choices=["vigil", "prometheus"])
    p.add_argument("--skip-disk", action="store_true",
                   help="skip the bytes-per-sample step (minutes at 1M series)")
    args = p.parse_args()
    if args.series < 1 or args.scrapes < 2 or args.batch < 1 or args.span_h <= 0 \
            or args.connections < 1:
        p.error("--series, --batch and --connections must be positive, --scrapes at least 2, "
                "--span-h > 0")
    step_ms = int(args.span_h * 3600_000 / (args.scrapes - 1))
    t0 = first_timestamp()
    stamps = [t0 + k * step_ms for k in range(args.scrapes)]
    blocks, head_samples = expected_head(stamps)
    t = time.perf_counter()
    payloads = make_payloads(make_series(args.series), args.scrapes, args.batch, t0, step_ms)
    n_samples = args.series * args.scrapes
    print(f"# {len(payloads)} requests, {n_samples} samples, "
          f"{sum(map(len, payloads)) / 2**20:.1f} MiB compressed, encoded in "
          f"{time.perf_counter() - t:.1f}s; step {step_ms / 1000:.0f}s; {blocks} block(s) due, "
          f"{head_samples} samples per series left in the head", file=sys.stderr)
    work = tempfile.mkdtemp(prefix="vigil-bench-rw-")
    try:
        results = []
        runners = {"vigil": run_vigil, "prometheus": run_prometheus}
        for name in ("vigil", "prometheus"):
            if args.only in (None, name):
                m, disk = runners[name](work, payloads, blocks, stamps[-1], args.skip_disk,
                                        (args.connections, -(-args.series // args.batch)))
                results.append(figures(name, m, disk, args.series, n_samples, head_samples))
                print(json.dumps(results[-1]), flush=True)
        if len(results) == 2:
            v, pr = results
            print(f"# vigil/prometheus samples per CPU-second: "
                  f"{v['samples_per_cpu_s'] / pr['samples_per_cpu_s']:.2f}x during the sends, "
                  f"{v['samples_per_cpu_s_with_compaction'] / pr['samples_per_cpu_s_with_compaction']:.2f}x "
                  f"with the compaction; per wall second "
                  f"{v['samples_per_wall_s'] / pr['samples_per_wall_s']:.2f}x; settled RSS per series "
                  f"{v['rss_per_series_settled']} vs {pr['rss_per_series_settled']} bytes")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
