"""Loki's index endpoints over the log store: the CPU cost of ``index/stats`` and
``index/volume`` (:mod:`vigil.logs.volume`) over the LogQL benchmark's sample, from the store's
column blocks and from entries (a reader without ``select_columns``), side by side with a
``count_over_time`` over the same selector and window; the counts must agree.

Figures are lines per CPU-second, best of ``--repeat`` runs with the spread (slowest/best).

Run: ``.venv/bin/python bench/logs_index_bench.py [--lines 200000] [--dir DIR] [--repeat 3]``
(``--dir`` shares the sample with ``bench/logql_bench.py --dir``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from logql_bench import EntriesOnly, build, timed  # noqa: E402

from vigil.logs.logql import LogQLEngine  # noqa: E402
from vigil.logs.model import LogReader  # noqa: E402
from vigil.logs.store import LogStore  # noqa: E402
from vigil.logs.volume import index_stats, volume  # noqa: E402
from vigil.model.matchers import Matcher, MatchType  # noqa: E402
from vigil.promql.value import Vector  # noqa: E402

EVERY_HOST = (Matcher(MatchType.REGEX, "host", ".+"),)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--dir", help="keep the sample here (shared with logql_bench.py)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(args.dir or tmp)
        start, end = build(directory, args.lines)
        with LogStore.open(str(directory / "store")) as store:
            print(f"{args.lines:,} lines; figures: lines per CPU-second, best of "
                  f"{args.repeat} (spread slowest/best)")
            query = f'sum(count_over_time({{host=~".+"}}[{(end - start) // 10**9 + 1}s]))'
            best, spread, count = timed(lambda: LogQLEngine(store).instant(query, end - 1),
                                        args.repeat)
            assert isinstance(count, Vector)
            expected = int(count.samples[0].value)
            print(f"count_over_time (engine)   {expected / best:>12,.0f}  (x{spread:.2f})")
            for name, reader in (("columns", store), ("entries", EntriesOnly(store))):
                run(name, reader, start, end, expected, args.repeat)


def run(name: str, reader: LogReader, start: int, end: int, expected: int, repeat: int) -> None:
    best, spread, stats = timed(lambda: index_stats(reader, EVERY_HOST, start, end), repeat)
    assert stats.entries == expected, (stats, expected)  # type: ignore[attr-defined]
    print(f"index/stats  from {name:8} {expected / best:>12,.0f}  (x{spread:.2f})  {stats}")
    best, spread, found = timed(lambda: volume(reader, EVERY_HOST, start, end), repeat)
    print(f"index/volume from {name:8} {expected / best:>12,.0f}  (x{spread:.2f})  "
          f"{len(found)} series")  # type: ignore[arg-type]
    step = max((end - start) // 60, 1)
    best, spread, _ = timed(lambda: volume(reader, EVERY_HOST, start, end, step_ns=step), repeat)
    print(f"volume_range from {name:8} {expected / best:>12,.0f}  (x{spread:.2f})  60 buckets")


if __name__ == "__main__":
    main()
