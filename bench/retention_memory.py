"""Memory that loaded blocks cost, Vigil vs Prometheus 2.42, with the same blocks.

Retention keeps many blocks open and each lists most long-lived series, so what a server
holds per series per loaded block decides its memory over weeks of data. This bench writes
``--blocks`` 2 h blocks of the same ``--series`` node_exporter-like series (two samples
each), ``--spacing-h`` hours apart so that no compaction range merges them, as one
OpenMetrics file; loads it with ``promtool tsdb create-blocks-from openmetrics`` and with
``vigil tsdb import``; then starts each server on its blocks (retention 60 d: ranges up to
54 h) and on an empty directory, and reports the difference per series per block:

* after start (Prometheus: after a forced Go GC as well);
* after a range query that reads every series of every block (``count({job="node"})`` at
  each block's second sample), which makes both touch their indexes and chunks.

VmRSS includes pages of files a process has mapped (Prometheus maps its block indexes and
chunks; the kernel may drop those pages under pressure); RssAnon is the process's own
memory. Both are reported.

    .venv/bin/python bench/retention_memory.py --series 100000 --blocks 12
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import httpx  # noqa: E402
from ingest_remote_write import BLOCK_MS, make_series, mem, wait_ready  # noqa: E402

from vigil.remote._fastdecode import decode_labels  # noqa: E402

RETENTION = "60d"  # 10 % of it is 6 d: ranges 6 h, 18 h, 54 h; blocks 84 h apart never merge


def write_openmetrics(path: str, n: int, blocks: int, spacing_ms: int) -> int:
    """Write the file; returns its first timestamp (ms). One series' samples are contiguous
    and in time order; series sorted by metric name, as OpenMetrics wants families whole."""
    now = int(time.time() * 1000)
    t0 = (now - blocks * spacing_ms - BLOCK_MS) // BLOCK_MS * BLOCK_MS
    times = [t0 + k * spacing_ms + d for k in range(blocks) for d in (0, 60_000)]
    lines = []
    for raw in make_series(n):
        pairs = decode_labels(raw)
        name = next(v for k, v in pairs if k == "__name__")
        inner = ",".join(f'{k}="{v}"' for k, v in pairs if k != "__name__")
        lines.append((name, inner))
    lines.sort()
    with open(path, "w") as f:
        for name, inner in lines:
            f.writelines(f"{name}{{{inner}}} {i} {t / 1000:.3f}\n" for i, t in enumerate(times))
        # One newer series: Vigil's import puts the newest block-range window into the head,
        # so this keeps every real sample in blocks on both sides.
        last = times[-1] + 2 * BLOCK_MS
        f.write(f"bench_marker 1 {last / 1000:.3f}\n# EOF\n")
    return times[0]


class Server:
    def __init__(self, name: str, argv: list[str], base: str, log: str) -> None:
        self.name, self.base = name, base
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
        wait_ready(base + "/-/ready", self.proc, timeout_s=600)
        time.sleep(5)
        if self.proc.poll() is not None:  # another server on the port answered for it
            raise SystemExit(f"{name} exited with {self.proc.returncode}; see {log}")

    def memory(self) -> dict[str, int]:
        return mem(self.proc.pid)

    def after_gc(self) -> dict[str, int]:
        if self.name == "prometheus":
            httpx.get(self.base + "/debug/pprof/heap", params={"gc": "1"}, timeout=600)
            time.sleep(3)
        return self.memory()

    def read_everything(self, first_ms: int, step_ms: int, blocks: int) -> int:
        """``count({job="node"})`` at the second sample of every block: the total count."""
        r = httpx.get(self.base + "/api/v1/query_range", timeout=1800, params={
            "query": 'count({job="node"})', "start": f"{(first_ms + 60_000) / 1000:.3f}",
            "end": f"{(first_ms + 60_000 + (blocks - 1) * step_ms) / 1000:.3f}",
            "step": f"{step_ms / 1000:.3f}"}).json()
        if r.get("status") != "success":
            raise SystemExit(f"{self.name}: {r}")
        return sum(int(v) for _, v in r["data"]["result"][0]["values"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(600)


def prometheus(work: str, data: str) -> Server:
    cfg = os.path.join(work, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1h\n")
    return Server("prometheus", [
        "/usr/bin/prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={data}",
        f"--storage.tsdb.retention.time={RETENTION}", "--web.listen-address=127.0.0.1:19190"],
        "http://127.0.0.1:19190", os.path.join(work, f"prometheus-{os.path.basename(data)}.log"))


def vigil(work: str, data: str) -> Server:
    cfg = os.path.join(work, "vigil.yml")
    with open(cfg, "w") as f:
        f.write("default_rules: false\ncollectors:\n  host:\n    enabled: false\n"
                f"storage:\n  tsdb:\n    retention_time: {RETENTION}\n")
    return Server("vigil", [
        sys.executable, "-m", "vigil", "up", "--config", cfg, "--data-dir", data,
        "--listen", "127.0.0.1:19594", "--log-level", "warning"],
        "http://127.0.0.1:19594", os.path.join(work, f"vigil-{os.path.basename(data)}.log"))


def measure(start, work: str, data: str, empty: str, first: int, step_ms: int,
            blocks: int, series: int) -> dict[str, dict[str, int]]:
    out = {}
    s = start(work, empty)
    try:
        out["empty"] = s.after_gc()
    finally:
        s.stop()
    s = start(work, data)
    try:
        out["started"] = s.memory()
        out["started, after GC"] = s.after_gc()
        got = s.read_everything(first, step_ms, blocks)
        if got != series * blocks:
            raise SystemExit(f"{s.name} counted {got} series in all blocks, expected "
                             f"{series * blocks}")
        out["after reading everything"] = s.memory()
        out["after reading, after GC"] = s.after_gc()
    finally:
        s.stop()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, default=100_000)
    p.add_argument("--blocks", type=int, default=12)
    p.add_argument("--spacing-h", type=float, default=84)
    args = p.parse_args()
    n, k = args.series, args.blocks
    with tempfile.TemporaryDirectory(prefix="vigil-retention-") as work:
        om = os.path.join(work, "data.om")
        step = int(args.spacing_h * 3600_000)
        first = write_openmetrics(om, n, k, step)
        print(f"# {n} series x {k} blocks ({os.path.getsize(om) / 2**20:,.0f} MiB OpenMetrics)")
        results = {}
        prom_data = os.path.join(work, "prom")
        t = time.perf_counter()
        subprocess.run(["/usr/bin/promtool", "tsdb", "create-blocks-from", "openmetrics", om,
                        prom_data], check=True, stdout=subprocess.DEVNULL)
        print(f"# promtool create-blocks-from: {time.perf_counter() - t:.0f}s")
        results["prometheus"] = measure(prometheus, work, prom_data,
                                        os.path.join(work, "prom-empty"), first, step, k, n)
        vigil_data = os.path.join(work, "vigil")
        os.makedirs(vigil_data)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "vigil", "tsdb", "import", om, "--data-dir",
                        vigil_data], check=True, stdout=subprocess.DEVNULL)
        print(f"# vigil tsdb import: {time.perf_counter() - t:.0f}s")
        results["vigil"] = measure(vigil, work, vigil_data, os.path.join(work, "vigil-empty"),
                                   first, step, k, n)
    print("\n| server | moment | VmRSS B/series/block | RssAnon B/series/block |")
    print("|---|---|---:|---:|")
    for name, moments in results.items():
        base = moments["empty"]
        for moment, m in moments.items():
            if moment == "empty":
                continue
            per = [(m[key] - base[key]) / n / k for key in ("VmRSS", "RssAnon")]
            print(f"| {name} | {moment} | {per[0]:,.0f} | {per[1]:,.0f} |")


if __name__ == "__main__":
    main()
