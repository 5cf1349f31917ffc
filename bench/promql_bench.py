"""PromQL query speed, Vigil vs Prometheus 2.42, over HTTP, on identical data, in one run.

Data (generated, seeded):

* range workload: ``--series`` counters ``x{grp, instance}`` (10 groups) and a classic
  histogram ``x_bucket{instance, le}`` (10 buckets, ``--series``/10 series), ``--hours`` of
  samples every ``--interval`` s, ending at a fixed time;
* instant workload: ``--instant-series`` counters ``y{instance, mode}`` (8 modes) over the
  last ``--instant-minutes`` minutes.

Prometheus gets the data by remote write, in time order, into a running server (its head cuts
blocks as it goes); Vigil gets it through its appender into a TSDB directory (compacted into
blocks as far as its head rules allow). Then both servers run on loopback (Vigil: ``bench/promql_serve.py``,
uvicorn, the real ``/api/v1``); once both are idle (background work after loading done), one
request runs at a time:

1. each range query (``--step``) ``--repeats`` times after one warm-up, the two servers taking
   turns (Vigil, Prometheus, Vigil, ...) so that both see the same background load of a shared
   machine: median wall time of the whole HTTP request, JSON body read included, and median
   CPU time of the server process (steadier on a shared machine); results are compared
   between the two servers;
2. an instant "dashboard mix" at ``--concurrency`` clients for ``--instant-requests``
   requests, one server after the other: queries/s and p50/p99 latency (``--no-instant``
   skips it).

Range queries run at every ``--step`` given (e.g. ``--step 15 --step 60``: a 24 h Grafana
panel asks for 60 s), over the last ``--window`` hours (default: all but the first hour);
``--dashboard`` adds typical panels (each series' rate, ``avg by``, a p99 per instance, one
series); ``--queries 'q1;q2'`` keeps only those.

    .venv/bin/python bench/promql_bench.py --series 1000 --hours 24 --instant-series 20000
    .venv/bin/python bench/promql_bench.py --series 500 --step 15 --step 60 --dashboard \
        --no-instant
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.support

from tests.support.ports import free_port  # noqa: E402
from tests.support.prometheus import remote_write, running_prometheus  # noqa: E402
from vigil.model.labels import Labels  # noqa: E402
from vigil.remote.codec import encode_labels  # noqa: E402
from vigil.tsdb import DB  # noqa: E402

END_MS = 1_700_006_400_000  # a fixed, hour-aligned end of the data
LE = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "+Inf")
MODES = ("idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice")
RANGE_QUERIES = [
    "sum(rate(x[5m]))",
    "sum by (grp) (rate(x[5m]))",
    "rate(x[1h])",
    "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))",
]
# Typical dashboard panels, added with --dashboard (each series' rate is a large answer at
# 10,000 series, so they are opt-in).
DASHBOARD_QUERIES = [
    "rate(x[5m])",
    "avg by (grp) (rate(x[5m]))",
    "histogram_quantile(0.99, sum by (le, instance) (rate(x_bucket[5m])))",
    'rate(x{instance="i-7"}[5m])',
]
INSTANT_MIX = [
    "sum by (mode) (rate(y[5m]))",
    "topk(10, rate(y[5m]))",
    'avg(rate(y{mode="idle"}[5m]))',
    'rate(y{instance="h-42"}[5m])',
    "count(y)",
    'sum by (instance) (rate(y{mode!="idle"}[1m])) > 100',
]


def generate(args: argparse.Namespace) -> Iterator[tuple[str, dict[str, str], np.ndarray,
                                                          np.ndarray]]:
    """Yield ``(name, labels, ts_ms, values)`` arrays for both workloads (seeded)."""
    rng = np.random.default_rng(1)
    step = args.interval * 1000
    n = args.hours * 3600 // args.interval
    # A few ms of jitter keeps samples off window boundaries, where Prometheus 2.x (left
    # closed) and 3.x / Vigil (left open) differ.
    ts = END_MS - (n - 1) * step + np.arange(n, dtype=np.int64) * step + rng.integers(1, 9, n)
    for i in range(args.series):
        vals = np.cumsum(rng.integers(0, 100, n)).astype(float)
        yield "x", {"grp": f"g{i % 10}", "instance": f"i-{i}"}, ts, vals
    for i in range(max(args.series // 100, 1)):
        obs = np.cumsum(rng.integers(0, 20, (n, len(LE))), axis=0)
        counts = np.cumsum(obs, axis=1).astype(float)  # cumulative over le, monotonic in time
        for j, le in enumerate(LE):
            yield "x_bucket", {"instance": f"i-{i}", "le": le}, ts, counts[:, j]
    m = args.instant_minutes * 60 // args.interval
    for i in range(args.instant_series):
        vals = np.cumsum(rng.integers(0, 2000, m)).astype(float)
        yield "y", {"instance": f"h-{i // len(MODES)}", "mode": MODES[i % len(MODES)]}, \
            ts[-m:], vals


def load_vigil(args: argparse.Namespace, path: Path) -> float:
    t0 = time.monotonic()
    db = DB.open(path, wal_fsync="off", retention_ms=100 * 365 * 86_400_000,
                 compact_interval_s=86_400)
    app, pending = db.appender(), 0
    for name, labels, ts, vals in generate(args):
        ls = Labels({"__name__": name, **labels})
        for t, v in zip(ts.tolist(), vals.tolist(), strict=True):
            app.append(ls, t, v)
        pending += len(ts)
        if pending >= 200_000:  # commit in batches, as scrapes would
            app.commit()
            app, pending = db.appender(), 0
    app.commit()
    db.compact()
    db.close()
    return time.monotonic() - t0


def prometheus_batches(args: argparse.Namespace) -> Iterator[list[tuple[bytes, int, float]]]:
    """All samples as remote-write batches in time order (a scrape's worth after another)."""
    groups: dict[int, tuple[np.ndarray, list[tuple[bytes, np.ndarray]]]] = {}
    for name, labels, ts, vals in generate(args):
        key = (len(ts), int(ts[0]))  # series sharing one timestamp grid
        groups.setdefault(hash(key), (ts, []))[1].append(
            (encode_labels(sorted({**labels, "__name__": name}.items())), vals))
    events = sorted((t, g, i) for g, (ts, _) in groups.items() for i, t in enumerate(ts.tolist()))
    batch: list[tuple[bytes, int, float]] = []
    for t, g, i in events:
        for lb, vals in groups[g][1]:
            batch.append((lb, t, float(vals[i])))
            if len(batch) == 2000:
                yield batch
                batch = []
    if batch:
        yield batch


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_KEEP_BODY_BYTES = 50_000_000
_SERIES_MARK = b'"metric":'


def timed_get(client: httpx.Client, path: str, params: dict[str, str]) -> tuple[float, list]:
    """(seconds for the whole request, body read, ``data.result``). A body over 50 MB is
    streamed and only its series counted: parsing it would take minutes and gigabytes, and
    holding several at once (two servers' 1.8 GB answers) could exhaust memory."""
    t0 = time.perf_counter()
    kept: list[bytes] | None = []
    size = series = 0
    tail = b""
    with client.stream("GET", path, params=params) as r:
        for chunk in r.iter_bytes():
            size += len(chunk)
            if kept is not None:
                kept.append(chunk)
                if size > _KEEP_BODY_BYTES and r.status_code == 200:
                    kept = None
            # A mark split between chunks is found in the carried-over tail plus the chunk.
            joined = tail + chunk
            series += joined.count(_SERIES_MARK)
            tail = joined[-(len(_SERIES_MARK) - 1):]
        status = r.status_code
    elapsed = time.perf_counter() - t0
    if status != 200:
        raise RuntimeError(f"{path} {params}: {status} {b''.join(kept or [])[:300]!r}")
    if kept is None:
        return elapsed, [None] * series
    return elapsed, json.loads(b"".join(kept))["data"]["result"]


# query -> (median wall s, median server CPU s, number of series, result of the last run)
RangeResults = dict[str, tuple[float, float, int, list | None]]


def settle(pid: int, quiet_share: float = 0.02, window_s: float = 5.0, limit_s: float = 900.0
           ) -> float:
    """Wait until process ``pid`` uses under ``quiet_share`` of a core over ``window_s`` (a
    server still compacting or collecting garbage after loading is not measured); at most
    ``limit_s``. Returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        cpu0 = proc_cpu_s(pid)
        time.sleep(window_s)
        if proc_cpu_s(pid) - cpu0 < quiet_share * window_s:
            break
    return time.monotonic() - t0


def range_cases(args: argparse.Namespace) -> list[tuple[str, int]]:
    """(query, step s) pairs to run: every chosen query at every step."""
    queries = RANGE_QUERIES + (DASHBOARD_QUERIES if args.dashboard else [])
    if args.queries:
        wanted = set(args.queries.split(";"))
        queries = [q for q in queries if q in wanted]
    return [(q, step) for step in args.steps for q in queries]


def case_name(query: str, step: int) -> str:
    return f"{query} @{step}s"


def range_medians(servers: dict[str, tuple[str, int]], args: argparse.Namespace
                  ) -> dict[str, RangeResults]:
    """Range-query medians per server (name -> (url, pid)), the servers taking turns; keyed
    by :func:`case_name`."""
    # An hour in, so 1h windows are full (or the last --window hours).
    start = END_MS - (args.window or args.hours - 1) * 3600_000
    out: dict[str, RangeResults] = {name: {} for name in servers}
    with contextlib.ExitStack() as stack:
        clients = {name: stack.enter_context(httpx.Client(base_url=url, timeout=1800))
                   for name, (url, _) in servers.items()}
        for q, step in range_cases(args):
            params = {"start": f"{start / 1000:.3f}", "end": f"{END_MS / 1000:.3f}",
                      "step": str(step)}
            key = case_name(q, step)
            walls: dict[str, list[float]] = {name: [] for name in servers}
            cpus: dict[str, list[float]] = {name: [] for name in servers}
            last: dict[str, list] = {}
            for c in clients.values():
                timed_get(c, "/api/v1/query_range", {**params, "query": q})  # warm-up
            for _ in range(args.repeats):
                for name, (_, pid) in servers.items():
                    cpu0 = proc_cpu_s(pid)
                    wall, last[name] = timed_get(clients[name], "/api/v1/query_range",
                                                 {**params, "query": q})
                    cpus[name].append(proc_cpu_s(pid) - cpu0)
                    walls[name].append(wall)
            for name in servers:
                result = last[name]
                # Results are kept for the comparison, except huge ones (one point per series
                # and step would hold gigabytes as Python objects; bodies over 50 MB are not kept).
                keep = result if len(result) <= 1000 and None not in result[:1] else None
                out[name][key] = (statistics.median(walls[name]),
                                  statistics.median(cpus[name]), len(result), keep)
                spread = ", ".join(f"{w * 1000:.0f}" for w in walls[name])
                print(f"  {name}: {key}: {out[name][key][0] * 1000:.1f} ms wall "
                      f"(runs {spread}), {out[name][key][1] * 1000:.0f} ms CPU", flush=True)
    return out


def same_results(a: list, b: list, rtol: float = 1e-6) -> bool:
    """Matrix results equal: same series, timestamps and values within ``rtol``."""
    def index(res: list) -> dict:
        return {tuple(sorted(r["metric"].items())): r["values"] for r in res}
    ia, ib = index(a), index(b)
    if ia.keys() != ib.keys():
        return False
    for k, va in ia.items():
        vb = ib[k]
        if [p[0] for p in va] != [p[0] for p in vb]:
            return False
        x = np.array([float(p[1]) for p in va])
        y = np.array([float(p[1]) for p in vb])
        if not np.allclose(x, y, rtol=rtol, atol=0, equal_nan=True):
            return False
    return True


def instant_mix(url: str, args: argparse.Namespace) -> tuple[float, float, float]:
    """(queries/s, p50 s, p99 s) for the instant dashboard mix at args.concurrency."""
    at = {"time": f"{(END_MS - 30_000) / 1000:.3f}"}
    per_worker = args.instant_requests // args.concurrency

    def worker(k: int) -> list[float]:
        with httpx.Client(base_url=url, timeout=600) as c:
            return [timed_get(c, "/api/v1/query", {**at, "query": INSTANT_MIX[(k + i) % len(
                INSTANT_MIX)]})[0] for i in range(per_worker)]

    with httpx.Client(base_url=url, timeout=600) as c:  # warm-up
        for q in INSTANT_MIX:
            timed_get(c, "/api/v1/query", {**at, "query": q})
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        lat = sorted(x for xs in pool.map(worker, range(args.concurrency)) for x in xs)
    wall = time.perf_counter() - t0
    return len(lat) / wall, lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]


def start_vigil(path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "promql_serve.py"),
                             str(path), str(port)])
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("vigil server exited")
        time.sleep(0.25)
    raise RuntimeError("vigil server not ready")


def report(name: str, ranges: RangeResults, mix: tuple[float, float, float] | None) -> None:
    print(f"\n== {name}")
    for q, (wall, cpu, nseries, _) in ranges.items():
        print(f"  range  {wall * 1000:9.1f} ms wall {cpu * 1000:9.1f} ms server CPU "
              f"({nseries} series)  {q}")
    if mix is not None:
        print(f"  instant mix: {mix[0]:.1f} queries/s, p50 {mix[1] * 1000:.1f} ms, "
              f"p99 {mix[2] * 1000:.1f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--series", type=int, default=1000)
    p.add_argument("--hours", type=int, default=24)
    p.add_argument("--interval", type=int, default=15, help="scrape interval, s")
    p.add_argument("--step", type=int, action="append", dest="steps",
                   help="range query step, s (repeat for several; default 15)")
    p.add_argument("--dashboard", action="store_true",
                   help="also run the dashboard panels (per-series rate, avg by, p99 by)")
    p.add_argument("--queries", default="",
                   help="only these range queries, separated by ';' (default all)")
    p.add_argument("--window", type=int, default=0,
                   help="range queries cover the last WINDOW hours (default: all but the first)")
    p.add_argument("--no-instant", action="store_true", help="skip the instant mix")
    p.add_argument("--instant-series", type=int, default=20_000)
    p.add_argument("--instant-minutes", type=int, default=10)
    p.add_argument("--instant-requests", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", choices=("vigil", "prometheus"), default=None)
    args = p.parse_args()
    args.steps = args.steps or [15]
    if args.no_instant:
        args.instant_series = 0
    print(f"machine: {os.cpu_count()} CPUs; args: {vars(args)}")
    with tempfile.TemporaryDirectory(prefix="promql-bench-") as tmp, \
            contextlib.ExitStack() as stack:
        root = Path(tmp)
        servers: dict[str, tuple[str, int]] = {}
        if args.only != "prometheus":
            print(f"loading Vigil: {load_vigil(args, root / 'vigil'):.1f} s", flush=True)
            proc, url = start_vigil(root / "vigil")
            stack.callback(proc.wait, 60)
            stack.callback(proc.terminate)
            servers["vigil"] = (url, proc.pid)
        if args.only != "vigil":
            data = root / "prom" / "data"
            data.mkdir(parents=True)
            prom = stack.enter_context(running_prometheus(
                data, extra_args=["--web.enable-remote-write-receiver"]))
            t0 = time.monotonic()
            sent = remote_write(f"{prom.url}/api/v1/write", prometheus_batches(args))
            print(f"loading Prometheus (remote write): {sent} samples, "
                  f"{time.monotonic() - t0:.1f} s", flush=True)
            servers["prometheus"] = (prom.url, prom.pid)
        for name, (_, pid) in servers.items():
            print(f"waiting for {name} to be idle: {settle(pid):.0f} s", flush=True)
        ranges = range_medians(servers, args)
        results = {name: (ranges[name], None if args.no_instant else instant_mix(url, args))
                   for name, (url, _) in servers.items()}
        for name, (ranged, mix) in results.items():
            report(name, ranged, mix)
        if len(results) == 2:
            print("\nVigil / Prometheus (wall, server CPU; same results?):")
            walls = []
            for q, step in range_cases(args):
                key = case_name(q, step)
                v, pr = results["vigil"][0][key], results["prometheus"][0][key]
                same = ("not compared (large)" if v[3] is None or pr[3] is None
                        else same_results(v[3], pr[3]))
                walls.append(v[0] / pr[0])
                print(f"  {v[0] / pr[0]:6.2f}x wall {v[1] / max(pr[1], 1e-9):6.2f}x CPU  "
                      f"series {v[2]} vs {pr[2]}, same: {same}  {key}")
            print(f"  range wall ratios: max {max(walls):.2f}x, geometric mean "
                  f"{float(np.exp(np.mean(np.log(walls)))):.2f}x")
            vmix, pmix = results["vigil"][1], results["prometheus"][1]
            if vmix is not None and pmix is not None:
                print(f"  instant mix queries/s ratio (Vigil/Prometheus): "
                      f"{vmix[0] / pmix[0]:.2f}")


if __name__ == "__main__":
    main()
