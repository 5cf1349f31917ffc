"""storage.remote against a real VictoriaMetrics 1.79 (single node, loopback): write rate of
the buffered queue, catch-up rate after an outage, and query latency through Vigil versus
asking VictoriaMetrics directly.

1. **Live write**: ``--series`` series × ``--scrapes`` samples are committed to a local TSDB
   (the buffer) one scrape (all series) per commit, as fast as the appender takes them; the
   storage.remote queue (its default queue_config: capacity 100,000, 5,000 per send, 1 s
   deadline) sends them to VictoriaMetrics. Reported: samples per second from the first
   commit until VictoriaMetrics acknowledged the last request.
2. **Catch-up**: the same with VictoriaMetrics stopped while the samples are committed (the
   queue fills, then skips); VictoriaMetrics is started and the time until every sample is
   acknowledged is measured: the rate at which an outage is worked off from the buffer.
3. **Queries**: VictoriaMetrics is loaded with node_exporter-like data (``--hosts`` hosts, one
   hour at 15 s) and a small dashboard's queries (instant and 1 h range at 15 s steps) are
   asked ``--rounds`` times each through ``vigil up`` in storage.remote mode
   (``/api/v1/query[_range]``) and directly at VictoriaMetrics; medians in milliseconds.

4. **Outage under ``vigil up``**: Vigil in storage.remote mode (host collector and its own
   metrics every second, the default queue) while VictoriaMetrics is stopped for
   ``--outage-s`` seconds: time until every scrape of the outage is in the store after it
   is back, the largest gap left in ``up``, and how many samples came from the buffer.

Run: ``.venv/bin/python bench/remote_storage.py [--series 10000 --scrapes 30 --hosts 50 --rounds 30 --outage-s 60]``
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.prometheus import remote_write  # noqa: E402
from tests.support.victoriametrics import Store, running_victoria_metrics  # noqa: E402
from tests.support.vigil_proc import VigilProcess, eventually  # noqa: E402
from vigil.config.model import RemoteStorageConfig, RemoteWriteConfig  # noqa: E402
from vigil.model.labels import Labels  # noqa: E402
from vigil.remote.codec import encode_labels  # noqa: E402
from vigil.remote.queue import QueueManager  # noqa: E402
from vigil.tsdb import DB  # noqa: E402

DASHBOARD = [  # (name, query, range?)
    ("up (instant)", "up", False),
    ("cpu busy by host (range)",
     'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))', True),
    ("load1 top 5 (instant)", "topk(5, node_load1)", False),
    ("network rx by host (range)", "sum by (instance) (rate(node_network_receive_bytes_total[5m]))", True),
    ("memory available (range)", "avg(node_memory_MemAvailable_bytes)", True),
]


def _queue(store: Store, db: DB) -> QueueManager:
    defaults = RemoteStorageConfig(write_url=store.write_url, query_url=store.query_url)
    config = RemoteWriteConfig(url=store.write_url, name="bench", queue_config=defaults.queue_config)
    return QueueManager(config, buffer=db, buffer_retention_ms=7_200_000)


def _commit_scrapes(db: DB, series: int, scrapes: int, first_ms: int) -> int:
    labels = [Labels({"__name__": "bench_metric", "series": str(i)}) for i in range(series)]
    for k in range(scrapes):
        app = db.appender()
        ts = first_ms + k * 1000
        for i, lb in enumerate(labels):
            app.append(lb, ts, float(i + k))
        app.commit()
    return series * scrapes


def _wait_sent(queue: QueueManager, total: int, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while queue.sent + queue.failed < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {queue.sent} of {total} samples sent")
        time.sleep(0.01)
    if queue.failed:
        raise RuntimeError(f"{queue.failed} samples refused")


def bench_writes(tmp: Path, series: int, scrapes: int) -> None:
    with running_victoria_metrics(tmp / "vm-live") as store:
        db = DB.open(str(tmp / "buffer-live"), wal_fsync="off")
        queue = _queue(store, db)
        db.subscribe(queue.append)
        queue.start()
        started = time.monotonic()
        total = _commit_scrapes(db, series, scrapes, int(time.time() * 1000) - scrapes * 1000)
        committed = time.monotonic() - started
        _wait_sent(queue, total)
        elapsed = time.monotonic() - started
        queue.stop()
        db.close()
        print(f"live write: {total:,} samples ({series:,} series x {scrapes}) committed in "
              f"{committed:.1f} s, all acknowledged by VictoriaMetrics after {elapsed:.1f} s: "
              f"{total / elapsed:,.0f} samples/s (caught up from the buffer: {queue.caught_up:,})")

    with running_victoria_metrics(tmp / "vm-outage") as store:
        db = DB.open(str(tmp / "buffer-outage"), wal_fsync="off")
        queue = _queue(store, db)
        db.subscribe(queue.append)
        queue.start()
        store.stop()
        total = _commit_scrapes(db, series, scrapes, int(time.time() * 1000) - scrapes * 1000)
        store.start()
        started = time.monotonic()
        _wait_sent(queue, total)
        elapsed = time.monotonic() - started
        queue.stop()
        db.close()
        print(f"catch-up after an outage: {total:,} samples ({queue.deferred:,} skipped by the full "
              f"queue, {queue.caught_up:,} sent from the buffer) acknowledged {elapsed:.1f} s after "
              f"VictoriaMetrics came back: {total / elapsed:,.0f} samples/s")


def _load_hosts(store: Store, hosts: int, now_ms: int) -> int:
    batch = []
    sent = 0
    for h in range(hosts):
        instance = f"host{h}:9100"
        series = [("up", {}, 0.0), ("node_load1", {}, 0.0), ("node_memory_MemAvailable_bytes", {}, 0.0)]
        series += [("node_cpu_seconds_total", {"cpu": str(c), "mode": m}, 0.5)
                   for c in range(4) for m in ("idle", "user", "system", "iowait")]
        series += [("node_network_receive_bytes_total", {"device": f"eth{d}"}, 1e5) for d in range(2)]
        for name, extra, rate in series:
            lb = encode_labels(Labels({"__name__": name, "job": "node", "instance": instance, **extra}))
            for k in range(240):
                ts = now_ms - (239 - k) * 15_000
                value = rate * k * 15 if rate else 1.0 + (h % 7) + k % 3
                batch.append((lb, ts, value))
            if len(batch) >= 20_000:
                sent += remote_write(store.write_url, [batch])
                batch = []
    return sent + (remote_write(store.write_url, [batch]) if batch else 0)


def _median_ms(client: httpx.Client, url: str, params: dict[str, str], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        r = client.get(url, params=params)
        times.append((time.perf_counter() - t) * 1000)
        if r.status_code != 200 or r.json()["status"] != "success":
            raise RuntimeError(f"{url} {params}: {r.status_code} {r.text[:300]}")
    return statistics.median(times)


def bench_queries(tmp: Path, hosts: int, rounds: int) -> None:
    with running_victoria_metrics(tmp / "vm-query") as store:
        now_ms = int(time.time() * 1000) // 15_000 * 15_000
        loaded = _load_hosts(store, hosts, now_ms)
        eventually(lambda: len(store.query("up", now_ms)) == hosts, 60, what="loaded hosts")
        config = tmp / "vigil.yml"
        config.write_text(yaml.safe_dump({
            "default_rules": False, "collectors": {"host": {"enabled": False}},
            "storage": {"remote": {"write_url": store.write_url, "query_url": store.query_url}}}))
        vigil = VigilProcess(config, tmp / "data").start()
        try:
            print(f"queries: {loaded:,} samples of {hosts} hosts in VictoriaMetrics; median of "
                  f"{rounds} runs, ms (through Vigil / directly / difference)")
            with httpx.Client(timeout=60) as client:
                for name, query, ranged in DASHBOARD:
                    params = ({"query": query, "start": f"{(now_ms - 3_600_000) / 1000:.3f}",
                               "end": f"{now_ms / 1000:.3f}", "step": "15"} if ranged
                              else {"query": query, "time": f"{now_ms / 1000:.3f}"})
                    path = "/api/v1/query_range" if ranged else "/api/v1/query"
                    ours = _median_ms(client, vigil.url + path, params, rounds)
                    theirs = _median_ms(client, store.query_url + path, params, rounds)
                    print(f"  {name:30} {ours:7.1f} {theirs:7.1f} {ours - theirs:+7.1f}")
        finally:
            vigil.stop()


def bench_outage(tmp: Path, outage_s: float, capacity: int | None = None) -> None:
    """A real ``vigil up`` (host collector and its own metrics every second) while
    VictoriaMetrics is down for ``outage_s``: how long until every scrape of the outage is in
    the store, and the largest gap left in ``up``. ``capacity`` replaces the queue's (small:
    the outage overflows it and is sent from the buffer)."""
    with running_victoria_metrics(tmp / "vm-vigil-outage") as store:
        config = tmp / "vigil-outage.yml"
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "scrape_timeout": "900ms"}, "default_rules": False,
            "storage": {"remote": {"write_url": store.write_url, "query_url": store.query_url,
                                   **({"queue_config": {"capacity": capacity}} if capacity else {})}}}))
        vigil = VigilProcess(config, tmp / "data-outage").start()
        try:
            eventually(lambda: store.query('up{job="vigil"}'), 60, what="Vigil's samples")
            time.sleep(3)
            store.stop()
            down = time.time()
            time.sleep(outage_s)
            store.start()
            up = time.time()

            def complete() -> list[float]:
                found = store.query(f'up{{job="node"}}[{int(time.time() - down) + 60}s]')
                stamps = [float(t) for t, _ in found[0]["values"]] if found else []
                return stamps if stamps and stamps[-1] > up else []

            stamps = eventually(complete, 600, interval=0.1, what="the outage's samples")
            back = time.time() - up
            inside = [t for t in stamps if down - 2 <= t <= up + 2]
            gap = max(b - a for a, b in zip(inside, inside[1:], strict=False))
            per_scrape = sum(float(s["value"][1]) for s in store.query("scrape_samples_post_metric_relabeling"))
            log = vigil.log.read_text()
            caught = [line.split("sent ", 1)[1].split(" samples")[0] for line in log.splitlines()
                      if "samples from the local buffer (" in line]
            queue = f"queue capacity {capacity:,}" if capacity else "default queue"
            print(f"outage of {outage_s:.0f} s under `vigil up`, {queue} ({per_scrape:.0f} samples/s "
                  f"from the host collector and self metrics): every scrape in VictoriaMetrics "
                  f"{back:.1f} s after it came back, largest gap in up{{job=\"node\"}} {gap:.2f} s, "
                  f"samples sent from the buffer: {', '.join(caught) or 0}")
        finally:
            vigil.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--scrapes", type=int, default=30)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--outage-s", type=float, default=60.0)
    parser.add_argument("--outage-capacity", type=int, default=None,
                        help="queue capacity during the outage run (default: storage.remote's)")
    args = parser.parse_args()
    logging.getLogger("vigil.remote.queue").setLevel(logging.ERROR)  # the outage's retries
    with tempfile.TemporaryDirectory(prefix="vigil-bench-remote-") as tmp:
        bench_writes(Path(tmp), args.series, args.scrapes)
        bench_queries(Path(tmp), args.hosts, args.rounds)
        bench_outage(Path(tmp), args.outage_s, args.outage_capacity)


if __name__ == "__main__":
    main()
