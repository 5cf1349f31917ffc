"""LogQL benchmark (quick, one machine): the time of typical log and metric queries over the
log store, as lines scanned per second.

The lines are the log store benchmark's generated sample (sshd, nginx, JSON and logfmt
application lines, kernel lines), appended to a LogStore in a temporary directory. Each query
runs once over the whole time range; metric queries as a range query with a 10-second step
(so the windows of the steps cover the sample: the figure is lines in the range per second).

Run: ``.venv/bin/python bench/logql_bench.py [--lines 200000]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from logs_store_bench import NEEDLE, sample  # noqa: E402

from vigil.logs.logql import LogQLEngine  # noqa: E402
from vigil.logs.model import LogEntry  # noqa: E402
from vigil.logs.store import LogStore  # noqa: E402

LOG_QUERIES = [
    f'{{host=~"web-.*"}} |= "{NEEDLE}"',
    '{app="sshd"} |= "Failed password" | regexp "for (invalid user )?(?P<user>\\\\S+) from '
    '(?P<ip>\\\\S+)"',
    '{app="orders"} | json | duration_ms > 5000 | line_format "{{.user}} {{.msg}}"',
]
METRIC_QUERIES = [
    'sum by (app) (count_over_time({host=~".+"}[1m]))',
    'sum by (app) (rate({host=~".+"} |= "error" [1m]))',
    'sum by (level) (count_over_time({app="orders"} | json | level="error" [5m]))',
    'quantile_over_time(0.99, {app="db"} | logfmt | unwrap duration(duration) [5m]) by (host)',
    'topk(5, sum by (user) (count_over_time({app="sshd"} |= "Failed" | pattern '
    '"<_> for <_> user <user> from <_>" [10m])))',
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=200_000)
    args = ap.parse_args()
    rows = sample(args.lines)
    entries = [LogEntry(t, labels, line, level) for t, labels, line, level in rows]
    start, end = entries[0].ts_ns, entries[-1].ts_ns + 1
    with tempfile.TemporaryDirectory() as tmp:
        store = LogStore.open(str(Path(tmp) / "store"))
        for i in range(0, len(entries), 5000):
            store.append(entries[i:i + 5000])
        store.flush()
        engine = LogQLEngine(store)
        print(f"{len(entries)} lines over {(end - start) / 1e9:.0f} s")
        for query in LOG_QUERIES:
            t0 = time.perf_counter()
            streams = engine.select_logs(query, start, end, limit=1000)
            took = time.perf_counter() - t0
            found = sum(len(s.entries) for s in streams)
            print(f"{took:7.2f} s  {found:6d} entries  {query}")
        for query in METRIC_QUERIES:
            t0 = time.perf_counter()
            matrix = engine.range(query, start, end, 10 * 10**9)
            took = time.perf_counter() - t0
            print(f"{took:7.2f} s  {len(entries) / took:9.0f} sample lines/s  "
                  f"{len(matrix.series):4d} series  {query}")
        store.close()


if __name__ == "__main__":
    main()
