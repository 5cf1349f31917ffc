"""Concurrent instant queries, Vigil vs Prometheus 2.42, data in both heads, in one run.

The issue's setup: ``--series`` counters ``y{instance, mode}`` (8 modes per instance) with
``--scrapes`` samples 15 s apart ending just before now, sent to both servers by remote write
(the same pre-encoded snappy requests, scrape after scrape), so the data sits in each
server's head as a scraping server's would. Vigil is the real ``vigil up`` (no default
rules, no host collector, ``query.max_concurrency`` = ``--max-concurrency``), Prometheus 2.42
runs with ``--web.enable-remote-write-receiver`` and its default query flags.

Once a server is idle after the load, the dashboard mix (the six instant queries of
``bench/promql_bench.py``) runs round-robin from ``--concurrency`` client threads for
``--requests`` requests (after one warm-up pass): queries/s, p50/p99 latency of the whole
HTTP request with the body read, and the server's CPU-seconds over the mix
(``/proc/<pid>/stat``). The two servers take turns for ``--rounds`` rounds on the same
machine; answers are compared between the servers once (series and values).

    .venv/bin/python bench/promql_concurrency.py --series 100000 --requests 200 --rounds 3
    .venv/bin/python bench/promql_concurrency.py --series 20000 --requests 60 --profile /tmp/gil.txt
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling bench modules

from ingest_remote_write import (  # noqa: E402
    HEADERS,
    cpu_s,
    free_port,
    make_payloads,
    wait_ready,
)
from promql_bench import INSTANT_MIX, MODES  # noqa: E402  (the same six queries)

from vigil.remote.codec import encode_labels  # noqa: E402

STEP_MS = 15_000
PYSPY = "/tmp/in_pyspy/bin/py-spy"


def series_labels(n: int) -> list[bytes]:
    return [encode_labels(sorted({"__name__": "y", "instance": f"h-{i // len(MODES)}",
                                  "mode": MODES[i % len(MODES)]}.items())) for i in range(n)]


def load(base: str, payloads: list[bytes]) -> float:
    t = time.perf_counter()
    with httpx.Client(base_url=base, timeout=600) as c:
        for body in payloads:
            r = c.post("/api/v1/write", content=body, headers=HEADERS)
            if r.status_code != 204:
                raise SystemExit(f"{base}: HTTP {r.status_code}: {r.text[:300]}")
    return time.perf_counter() - t


def settle(pid: int, window_s: float = 3.0, limit_s: float = 300.0) -> None:
    """Wait until the server used under 2 % of a core over ``window_s``."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        before = cpu_s(pid)
        time.sleep(window_s)
        if cpu_s(pid) - before < 0.02 * window_s:
            return


def timed_query(client: httpx.Client, query: str, at_s: float) -> tuple[float, dict]:
    t = time.perf_counter()
    r = client.get("/api/v1/query", params={"query": query, "time": f"{at_s:.3f}"})
    body = r.json()
    elapsed = time.perf_counter() - t
    if r.status_code != 200:
        raise SystemExit(f"{query}: HTTP {r.status_code}: {r.text[:300]}")
    return elapsed, body


def mix(base: str, pid: int, at_s: float, args: argparse.Namespace) -> dict[str, float]:
    per_client = args.requests // args.concurrency

    def client(k: int) -> list[float]:
        with httpx.Client(base_url=base, timeout=600) as c:
            return [timed_query(c, INSTANT_MIX[(k + i) % len(INSTANT_MIX)], at_s)[0]
                    for i in range(per_client)]

    with httpx.Client(base_url=base, timeout=600) as c:  # warm-up
        for q in INSTANT_MIX:
            timed_query(c, q, at_s)
    cpu0, t0 = cpu_s(pid), time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        lat = sorted(x for xs in pool.map(client, range(args.concurrency)) for x in xs)
    wall = time.perf_counter() - t0
    return {"qps": len(lat) / wall, "p50": lat[len(lat) // 2],
            "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))], "wall": wall,
            "cpu": cpu_s(pid) - cpu0, "n": len(lat)}


def answers(base: str, at_s: float) -> list[dict]:
    """Each mix query's result as {labels: value}, for comparing the servers."""
    out = []
    with httpx.Client(base_url=base, timeout=600) as c:
        for q in INSTANT_MIX:
            result = timed_query(c, q, at_s)[1]["data"]["result"]
            out.append({tuple(sorted(s["metric"].items())): float(s["value"][1])
                        for s in result})
    return out


def same(a: dict, b: dict, rtol: float = 1e-6) -> bool:
    return a.keys() == b.keys() and all(
        abs(a[k] - b[k]) <= rtol * max(abs(a[k]), abs(b[k]), 1e-12) for k in a)


def start(argv: list[str], base: str, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(argv, stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_ready(base + "/-/ready", proc)
    return proc


def profile_gil(pid: int, base: str, at_s: float, args: argparse.Namespace) -> None:
    """py-spy --gil over one mix: where the server holds the GIL while queries run."""
    spy = subprocess.Popen([PYSPY, "record", "--gil", "--format", "raw",
                            "--rate", "200", "--pid", str(pid), "--output", args.profile],
                           stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    time.sleep(1.0)  # py-spy attaches
    result = mix(base, pid, at_s, args)
    spy.send_signal(2)
    spy.wait(60)
    print(f"  profiled mix: {result['qps']:.2f} q/s; py-spy raw output in {args.profile}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--series", type=int, default=100_000)
    p.add_argument("--scrapes", type=int, default=40, help="samples per series, 15 s apart")
    p.add_argument("--batch", type=int, default=2000, help="samples per remote-write request")
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--max-concurrency", type=int, default=20, help="Vigil's query.max_concurrency")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--only", choices=("vigil", "prometheus"))
    p.add_argument("--profile", help="write a py-spy --gil profile of Vigil over one more mix")
    args = p.parse_args()
    print(f"machine: {os.cpu_count()} CPUs; args: {vars(args)}", flush=True)

    now_ms = int(time.time() * 1000)
    t0_ms = now_ms - args.scrapes * STEP_MS
    at_s = (t0_ms + (args.scrapes - 1) * STEP_MS + 5_000) / 1000  # just after the last scrape
    t = time.perf_counter()
    payloads = make_payloads(series_labels(args.series), args.scrapes, args.batch, t0_ms,
                             STEP_MS)
    print(f"encoded {len(payloads)} requests in {time.perf_counter() - t:.1f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="promql-conc-") as tmp:
        work = Path(tmp)
        servers: dict[str, tuple[subprocess.Popen, str]] = {}
        try:
            if args.only != "prometheus":
                cfg = work / "vigil.yml"
                cfg.write_text("default_rules: false\ncollectors: {host: {enabled: false}}\n"
                               f"query: {{max_concurrency: {args.max_concurrency}}}\n")
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                servers["vigil"] = (start(
                    [sys.executable, "-m", "vigil", "up", "--config", str(cfg), "--data-dir",
                     str(work / "vigil"), "--listen", f"127.0.0.1:{port}", "--log-level",
                     "warning"], base, work / "vigil.log"), base)
            if args.only != "vigil":
                cfg = work / "prometheus.yml"
                cfg.write_text("global: {scrape_interval: 1h}\n")
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                servers["prometheus"] = (start(
                    ["/usr/bin/prometheus", f"--config.file={cfg}",
                     f"--storage.tsdb.path={work / 'prom'}", f"--web.listen-address={base[7:]}",
                     "--web.enable-remote-write-receiver"], base, work / "prom.log"), base)
            for name, (_, base) in servers.items():
                print(f"loading {name}: {load(base, payloads):.1f} s", flush=True)
            for proc, _ in servers.values():
                settle(proc.pid)
            if len(servers) == 2:
                ours, theirs = (answers(servers[n][1], at_s) for n in ("vigil", "prometheus"))
                agree = [same(a, b) for a, b in zip(ours, theirs, strict=True)]
                print("same answers: " + ", ".join(
                    f"{q}: {'yes' if ok else 'NO'}" for q, ok in zip(INSTANT_MIX, agree,
                                                                   strict=True)), flush=True)
            results: dict[str, list[dict[str, float]]] = {n: [] for n in servers}
            for r in range(args.rounds):
                for name, (proc, base) in servers.items():
                    m = mix(base, proc.pid, at_s, args)
                    results[name].append(m)
                    print(f"round {r + 1} {name:10s} {m['qps']:6.2f} q/s  p50 {m['p50'] * 1000:7.0f} ms"
                          f"  p99 {m['p99'] * 1000:7.0f} ms  server CPU {m['cpu']:6.1f} s over "
                          f"{m['wall']:5.1f} s wall ({m['cpu'] / m['n'] * 1000:.0f} ms/query)",
                          flush=True)
            for name, ms in results.items():
                qps = [m["qps"] for m in ms]
                p99 = [m["p99"] for m in ms]
                print(f"{name}: q/s median {statistics.median(qps):.2f} "
                      f"({min(qps):.2f}-{max(qps):.2f}), p99 median "
                      f"{statistics.median(p99) * 1000:.0f} ms "
                      f"({min(p99) * 1000:.0f}-{max(p99) * 1000:.0f})")
            if args.profile and "vigil" in servers:
                proc, base = servers["vigil"]
                profile_gil(proc.pid, base, at_s, args)
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(120)


if __name__ == "__main__":
    main()
