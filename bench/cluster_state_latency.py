"""The extra latency of PostgreSQL state versus SQLite: ``POST /api/v2/alerts`` on one Vigil
node, one client, one request at a time (p50 / p99 / mean), for single-alert bodies and for
batches of 64 (Prometheus's notifier batch). PostgreSQL runs on the same machine (loopback),
as the tests start it; across a network add its round trips.

Run: ``.venv/bin/python bench/cluster_state_latency.py [--quick] [--requests 2000]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from cluster_common import (
    Node,
    Postgres,
    alert,
    print_table,
    route_yaml,
    start_vigil,
    workdir,
    write_results,
)


def latencies(node: Node, requests: int, batch: int) -> list[float]:
    out = []
    with httpx.Client(timeout=30) as client:
        for k in range(requests):
            body = [alert(f"Lat{k % 50}", f"host-{k}-{i}") for i in range(batch)]
            started = time.perf_counter()
            client.post(f"{node.url}/api/v2/alerts", json=body).raise_for_status()
            out.append((time.perf_counter() - started) * 1000)
    return out


def measure(work: Path, name: str, state_url: str | None, requests: int) -> list[dict[str, Any]]:
    # A route that never sends during the run: only acceptance is timed.
    node = start_vigil(work, name, am_yaml=route_yaml("http://127.0.0.1:9/none", group_wait=3600))
    rows = []
    try:
        for batch, count in ((1, requests), (64, max(requests // 10, 20))):
            latencies(node, min(50, count), batch)  # warm-up: connections, caches
            ms = sorted(latencies(node, count, batch))
            rows.append({"state": name, "batch": batch, "requests": count,
                         "p50_ms": statistics.median(ms), "p99_ms": ms[int(len(ms) * 0.99) - 1],
                         "mean_ms": statistics.fmean(ms)})
    finally:
        node.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 requests: a smoke run")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    if args.quick:
        args.requests = 200
    results = []
    with workdir("vigil-bench-latency-") as work:
        results += measure(work, "SQLite", None, args.requests)
        with Postgres() as pg:
            results += measure(work, "PostgreSQL", pg.database("vigil_latency"), args.requests)
    print_table(["state", "alerts per POST", "requests", "p50 (ms)", "p99 (ms)", "mean (ms)"],
                [(r["state"], r["batch"], r["requests"], r["p50_ms"], r["p99_ms"], r["mean_ms"])
                 for r in results])
    write_results("cluster_state_latency", args, results)


if __name__ == "__main__":
    main()
