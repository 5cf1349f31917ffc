"""Idle memory of Vigil and Prometheus 2.42 side by side (issue 21, "start small").

Starts Prometheus 2.42 (scraping itself every 15 s, nothing else) and ``vigil up`` with the
embedded default configuration (no config file), each on loopback with a data directory of
its own in a temp dir, both at once. Right after each is ready it times a small range query
(``sum(rate(up[1m]))`` over the last 5 minutes) twice: the first query after start. Then it
waits (``--idle-s``, default 90 s: several scrapes and rule evaluations) and prints, for both,
VmRSS, VmHWM, threads, CPU seconds and the RSS of their mappings grouped (anonymous, heap,
stacks, each file). Last it times a big query (``count(last_over_time({__name__=~".+"}[1h]))``
at a 2 s step over 6 h: every series times 10,801 steps, far above the plain-Python kernels'
limit, so Vigil loads its compiled kernels) twice and prints RSS again.

``--restart`` first starts Vigil once on the data directory and stops it, so the measured start
is a restart (the state database's schema exists: no migration library is loaded).

``--numba-cache cold`` points Vigil's ``NUMBA_CACHE_DIR`` at an empty directory: the big
query then includes compiling the kernels; ``warm`` (the default) uses the installed cache.

Run under the benchmark lock: ``flock /tmp/vigil-bench.lock .venv/bin/python bench/idle_rss.py``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

import httpx

PROMETHEUS = "/usr/bin/prometheus"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# One client for every query: a new httpx client builds an SSL context (tens of ms) that would
# be timed along with the query.
CLIENT = httpx.Client(timeout=600)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status(pid: int) -> dict[str, str]:
    out = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, rest = line.partition(":")
        out[key] = rest.strip()
    return out


def kib(field: str) -> int:
    return int(field.split()[0])


def smaps_groups(pid: int) -> dict[str, int]:
    """RSS in KiB by mapping: "anon", "[heap]", "[stack]"s, or the file's name."""
    groups: dict[str, int] = defaultdict(int)
    name = "anon"
    for line in open(f"/proc/{pid}/smaps"):
        first = line.split(maxsplit=1)[0]
        if "-" in first and not first.endswith(":"):  # a mapping's header line
            parts = line.split(maxsplit=5)
            path = parts[5].strip() if len(parts) > 5 else ""
            if not path or path.startswith("[anon"):
                name = "anon"
            elif path.startswith("[stack"):
                name = "[stack]"
            elif path.startswith("["):
                name = path
            else:
                name = os.path.basename(path)
        elif first == "Rss:":
            groups[name] += int(line.split()[1])
    return dict(groups)


def wait_ready(base: str, proc: subprocess.Popen, timeout_s: float = 120) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if proc.poll() is not None:
            raise SystemExit(f"{base}: server exited with {proc.returncode}")
        try:
            if httpx.get(base + "/-/ready", timeout=1).status_code == 200:
                return time.monotonic() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{base} not ready after {timeout_s} s")


def range_query(base: str, query: str, span_s: int, step_s: float) -> tuple[float, int]:
    end = time.time()
    t = time.perf_counter()
    r = CLIENT.get(base + "/api/v1/query_range", params={
        "query": query, "start": f"{end - span_s:.3f}", "end": f"{end:.3f}", "step": step_s})
    took = time.perf_counter() - t
    body = r.json()
    if body.get("status") != "success":
        raise SystemExit(f"{base}: {query}: {body}")
    return took, len(body["data"]["result"])


class Server:
    def __init__(self, name: str, argv: list[str], port: int, work: str,
                 env: dict[str, str] | None = None) -> None:
        self.name, self.base = name, f"http://127.0.0.1:{port}"
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=env,
                                     stderr=open(os.path.join(work, f"{name}.log"), "w"))

    def memory(self) -> dict:
        st = status(self.proc.pid)
        return {"rss": kib(st["VmRSS"]), "hwm": kib(st["VmHWM"]), "threads": int(st["Threads"]),
                "cpu": cpu_s(self.proc.pid), "groups": smaps_groups(self.proc.pid)}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_prometheus(work: str) -> Server:
    port = free_port()
    cfg = os.path.join(work, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n"
                "scrape_configs:\n  - job_name: prometheus\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{port}']\n")
    return Server("prometheus", [PROMETHEUS, f"--config.file={cfg}",
                                 f"--storage.tsdb.path={os.path.join(work, 'prom-data')}",
                                 f"--web.listen-address=127.0.0.1:{port}"], port, work)


def start_vigil(work: str, cold_cache: bool) -> Server:
    port = free_port()
    env = dict(os.environ)
    if cold_cache:
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="numba-cold-", dir=work)
    return Server("vigil", [sys.executable, "-m", "vigil", "up",
                            "--data-dir", os.path.join(work, "vigil-data"),
                            "--listen", f"127.0.0.1:{port}", "--log-level", "warning"],
                  port, work, env)


def print_memory(label: str, mems: dict[str, dict]) -> None:
    names = list(mems)
    print(f"\n## {label}")
    print(f"{'':24}" + "".join(f"{n:>14}" for n in names))
    for key, title in (("rss", "VmRSS MB"), ("hwm", "VmHWM MB")):
        print(f"{title:24}" + "".join(f"{mems[n][key] / 1024:14.1f}" for n in names))
    print(f"{'threads':24}" + "".join(f"{mems[n]['threads']:14d}" for n in names))
    print(f"{'CPU s since start':24}" + "".join(f"{mems[n]['cpu']:14.2f}" for n in names))
    for n in names:
        groups = sorted(mems[n]["groups"].items(), key=lambda kv: -kv[1])
        top = ", ".join(f"{g} {v / 1024:.1f}" for g, v in groups[:12] if v >= 512)
        print(f"  {n} RSS by mapping (MB): {top}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--idle-s", type=float, default=90)
    p.add_argument("--numba-cache", choices=["warm", "cold"], default="warm")
    p.add_argument("--restart", action="store_true", help="measure Vigil's second start")
    a = p.parse_args()
    print(f"# {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; idle {a.idle_s:.0f} s; "
          f"numba cache {a.numba_cache}; vigil {'restart' if a.restart else 'first start'}")
    with tempfile.TemporaryDirectory(prefix="idle-rss-") as work:
        if a.restart:
            first = start_vigil(work, cold_cache=False)
            wait_ready(first.base, first.proc)
            first.stop()
        servers = {"vigil": start_vigil(work, a.numba_cache == "cold"),
                   "prometheus": start_prometheus(work)}
        try:
            small = "sum(rate(up[1m]))"
            for name, s in servers.items():
                ready = wait_ready(s.base, s.proc)
                first, _ = range_query(s.base, small, 300, 15)
                again, _ = range_query(s.base, small, 300, 15)
                print(f"{name:>10}: ready after {ready:.2f} s; {small} over 5 min: first "
                      f"{first * 1000:.1f} ms, again {again * 1000:.1f} ms")
            start = min(s.started for s in servers.values())
            time.sleep(max(0.0, a.idle_s - (time.monotonic() - start)))
            cpu0 = {n: cpu_s(s.proc.pid) for n, s in servers.items()}
            time.sleep(15)
            print("CPU s in the last 15 s: " + ", ".join(
                f"{n} {cpu_s(s.proc.pid) - cpu0[n]:.2f}" for n, s in servers.items()))
            idle = {n: s.memory() for n, s in servers.items()}
            print_memory(f"idle, {time.monotonic() - start:.0f} s after start", idle)
            print(f"vigil / prometheus VmRSS: {idle['vigil']['rss'] / idle['prometheus']['rss']:.2f}")
            big = 'count(last_over_time({__name__=~".+"}[1h]))'
            print()
            for name, s in servers.items():
                first, n = range_query(s.base, big, 6 * 3600, 2)
                again, _ = range_query(s.base, big, 6 * 3600, 2)
                print(f"{name:>10}: {big} over 6 h at 2 s step (10,801 steps): "
                      f"first {first * 1000:.0f} ms, again {again * 1000:.0f} ms")
            print_memory("after the big query", {n: s.memory() for n, s in servers.items()})
        finally:
            for s in servers.values():
                s.stop()


if __name__ == "__main__":
    main()
