"""LogQL benchmark (one machine): typical log and metric queries over the log store, the
counting queries both from columns and from entries, and a needle count next to ``grep -c`` and
``zstdgrep -c`` over the same lines as a raw and a zstd-compressed text file, in one run.

The lines are the log store benchmark's generated sample (sshd, nginx, JSON and logfmt
application lines, kernel lines), made and appended in slices of 100,000 (so 10 M lines never
sit in memory at once), and written as a text file beside the store. ``--dir`` keeps the store
and the files, and a later run with the same ``--dir`` and ``--lines`` reuses them.

Metric queries run as a range query over the whole sample with a 10-second step (figures are
lines in the range per CPU-second); the counts run also as an instant query over the whole
sample, whose answer must equal ``grep -c``'s. Each figure is the best of ``--repeat`` runs,
with the spread (slowest/best).

Run: ``.venv/bin/python bench/logql_bench.py [--lines 200000] [--dir DIR] [--repeat 3]
[--no-entries]``
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from logs_store_bench import NEEDLE, sample  # noqa: E402

from tests.logs.logql.memreader import EntriesOnly  # noqa: E402
from vigil.logs.logql import LogQLEngine  # noqa: E402
from vigil.logs.model import LogEntry  # noqa: E402
from vigil.logs.store import LogStore  # noqa: E402

SLICE = 100_000
STEP_NS = 10 * 10**9
LOG_QUERIES = [
    f'{{host=~"web-.*"}} |= "{NEEDLE}"',
    '{app="sshd"} |= "Failed password" | regexp "for (invalid user )?(?P<user>\\\\S+) from '
    '(?P<ip>\\\\S+)"',
    '{app="orders"} | json | duration_ms > 5000 | line_format "{{.user}} {{.msg}}"',
]
COLUMN_QUERIES = [  # computed from columns; also timed from entries unless --no-entries
    'sum by (app) (count_over_time({host=~".+"}[1m]))',
    'sum by (app) (rate({host=~".+"} |= "error" [1m]))',
    'sum by (host) (bytes_rate({app=~"nginx|orders"}[5m]))',
    'sum(count_over_time({host=~".+"}[1m]))',
]
ENTRY_QUERIES = [
    'sum by (level) (count_over_time({app="orders"} | json | level="error" [5m]))',
    'sum(count_over_time({app="orders"} | json | duration_ms >= 5000 [5m]))',
    'quantile_over_time(0.99, {app="db"} | logfmt | unwrap duration(duration) [5m]) by (host)',
    'topk(5, sum by (user) (count_over_time({app="sshd"} |= "Failed" | pattern '
    '"<_> for <_> user <user> from <_>" [10m])))',
]
GREP_NEEDLE = "error"  # in JSON, logfmt and nginx lines alike: a count with many hits


def slices(lines: int) -> Iterator[list[LogEntry]]:
    """The sample in slices of SLICE lines, each slice's times after the previous one's."""
    shift = 0
    for k, at in enumerate(range(0, lines, SLICE)):
        rows = sample(min(SLICE, lines - at), seed=k + 1)
        entries = [LogEntry(t + shift, labels, line, level) for t, labels, line, level in rows]
        shift = entries[-1].ts_ns - rows[0][0] + 1_000_000
        yield entries


def build(directory: Path, lines: int) -> tuple[int, int]:
    """Store and text files for ``lines`` lines in ``directory`` (reused when already made);
    returns the first time and the end (exclusive) of the sample."""
    marker = directory / f"built-{lines}"
    if marker.exists():
        start, end = marker.read_text().split()
        return int(start), int(end)
    shutil.rmtree(directory / "store", ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    start = end = 0
    with LogStore.open(str(directory / "store")) as store, \
            open(directory / "raw.log", "w", encoding="utf-8") as raw:
        for entries in slices(lines):
            start = start or entries[0].ts_ns
            end = entries[-1].ts_ns + 1
            for i in range(0, len(entries), 5000):
                store.append(entries[i:i + 5000])
            raw.writelines(e.line + "\n" for e in entries)
        store.flush()
    subprocess.run(["zstd", "-q", "-f", "-3", str(directory / "raw.log"), "-o",
                    str(directory / "raw.log.zst")], check=True)
    marker.write_text(f"{start} {end}\n")
    return start, end


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, float, object]:
    """Best CPU-seconds of ``repeat`` runs (this process and its children), the spread
    (slowest/best), the best wall-clock seconds and the last result."""
    took: list[float] = []
    walls: list[float] = []
    result: object = None
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - w0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        took.append(time.process_time() - t0 + (after.ru_utime - before.ru_utime)
                    + (after.ru_stime - before.ru_stime))
    best = min(took)
    return best, max(took) / best if best else 1.0, min(walls), result


def line(took: float, spread: float, wall: float, lines: int, what: str) -> None:
    print(f"{took:7.2f} CPU-s  x{spread:4.2f}  {wall:7.2f} s wall  "
          f"{lines / took:11,.0f} lines/CPU-s  {what}")


def grep_count(command: list[str]) -> int:
    return int(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--dir", help="keep the store and files here (reused by a later run)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-entries", action="store_true",
                    help="skip the entry-path timings and the other metric queries (slow at 10 M)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(args.dir) if args.dir else Path(tmp)
        t0 = time.perf_counter()
        start, end = build(directory, args.lines)
        print(f"{args.lines} lines over {(end - start) / 1e9:.0f} s "
              f"(store ready in {time.perf_counter() - t0:.0f} s); best CPU-s of "
              f"{args.repeat}, spread = slowest/best")
        with LogStore.open(str(directory / "store")) as store:
            run(store, start, end, args)


def run(store: LogStore, start: int, end: int, args: argparse.Namespace) -> None:
    n, repeat = args.lines, args.repeat
    columns, entries = LogQLEngine(store), LogQLEngine(EntriesOnly(store))
    raw = str(Path(store.path).parent / "raw.log")

    span = f"[{(end - start) // 10**9 + 1}s]"
    for needle in ("", GREP_NEEDLE):
        which = f"lines holding {needle!r}" if needle else "all lines"
        print(f"\n-- count of {which} over the whole sample: store vs grep")
        query = f'sum(count_over_time({{host=~".+"}}{f" |= {needle!r}" if needle else ""} {span}))'
        query = query.replace("'", '"')
        rows: list[tuple[str, Callable[[], object]]] = [
            ("LogQL from columns", lambda q=query: columns.instant(q, end))]
        if not args.no_entries:
            rows.append(("LogQL from entries", lambda q=query: entries.instant(q, end)))
        for name, fn in rows:
            took, spread, wall, result = timed(fn, repeat)
            count = int(result.samples[0].value)  # type: ignore[attr-defined]
            line(took, spread, wall, n, f"count {count}  {name}: {query}")
        for name, command in [("grep -cF", ["grep", "-cF", needle, raw]),
                              ("zstdgrep -cF", ["zstdgrep", "-cF", needle, raw + ".zst"])]:
            took, spread, wall, count = timed(lambda c=command: grep_count(c), repeat)
            line(took, spread, wall, n, f"count {count}  {name} {needle!r}")

    print(f"\n-- counting range queries ({STEP_NS // 10**9} s step): columns vs entries")
    for query in COLUMN_QUERIES:
        paths = [("columns", columns)] + ([] if args.no_entries else [("entries", entries)])
        for name, engine in paths:
            took, spread, wall, matrix = timed(
                lambda e=engine, q=query: e.range(q, start, end, STEP_NS), repeat)
            series = len(matrix.series)  # type: ignore[attr-defined]
            line(took, spread, wall, n, f"{series:3d} series  {name:7s}  {query}")
    if args.no_entries:
        return

    print("\n-- log queries (limit 1000)")
    for query in LOG_QUERIES:
        took, spread, wall, streams = timed(
            lambda q=query: columns.select_logs(q, start, end, 1000), repeat)
        found = sum(len(s.entries) for s in streams)  # type: ignore[attr-defined]
        print(f"{took:7.2f} CPU-s  x{spread:4.2f}  {wall:7.2f} s wall  {found:6d} entries  "
              f"{query}")
    print("\n-- other metric queries (entries; lines/CPU-s counts every line of the sample)")
    for query in ENTRY_QUERIES:
        took, spread, wall, matrix = timed(
            lambda q=query: columns.range(q, start, end, STEP_NS), repeat)
        series = len(matrix.series)  # type: ignore[attr-defined]
        line(took, spread, wall, n, f"{series:3d} series  {query}")

if __name__ == "__main__":
    main()
