"""Quick ingest benchmark for the embedded TSDB (ours only; the Prometheus side-by-side is later).

Simulates scrapes: every ``--interval-s`` one appender receives one sample for each of
``--series`` series, then commits. Prints samples per CPU-second of ingest (commit included)
and bytes per sample on disk (blocks only, and everything including the WAL).

    .venv/bin/python bench/tsdb_ingest.py --series 1000 --samples 1440
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np

from vigil.model import Labels, Matcher
from vigil.tsdb import DB


def make_values(n_series: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Shape (samples, series): a third counters, a third 2-decimal gauges, a third constant-ish."""
    kind = np.arange(n_series) % 3
    vals = np.empty((n_samples, n_series))
    counters = np.cumsum(rng.integers(0, 50, (n_samples, n_series)), axis=0).astype(float)
    gauges = np.round(50 + np.cumsum(rng.normal(0, 0.5, (n_samples, n_series)), axis=0), 2)
    consts = np.repeat(rng.integers(0, 4, (1, n_series)), n_samples, axis=0).astype(float)
    vals[:, kind == 0] = counters[:, kind == 0]
    vals[:, kind == 1] = gauges[:, kind == 1]
    vals[:, kind == 2] = consts[:, kind == 2]
    return vals


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, default=1000)
    p.add_argument("--samples", type=int, default=1440, help="samples per series")
    p.add_argument("--interval-s", type=float, default=15.0)
    p.add_argument("--jitter-ms", type=int, default=0, help="random scrape timestamp jitter")
    p.add_argument("--fsync", default="batch", choices=["always", "batch", "off"])
    p.add_argument("--dir", default=None, help="data directory (default: a temp dir, removed)")
    args = p.parse_args()

    rng = np.random.default_rng(42)
    labels = [Labels.of(__name__=f"bench_metric_{i % 50}", instance=f"host-{i // 50}:9100",
                        job="bench") for i in range(args.series)]
    vals = make_values(args.series, args.samples, rng)
    start_ms = 1_700_000_000_000
    step = int(args.interval_s * 1000)
    jitter = rng.integers(0, args.jitter_ms + 1, args.samples) if args.jitter_ms else None

    path = args.dir or tempfile.mkdtemp(prefix="vigil-bench-")
    db = DB.open(path, wal_fsync=args.fsync, compact_interval_s=3600)
    try:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for j in range(args.samples):
            ts = start_ms + j * step + (int(jitter[j]) if jitter is not None else 0)
            row = vals[j].tolist()
            app = db.appender()
            for lb, v in zip(labels, row, strict=True):
                app.append(lb, ts, v)
            app.commit()
        cpu_ingest, wall_ingest = time.process_time() - cpu0, time.perf_counter() - wall0
        cpu1 = time.process_time()
        db.compact()
        cpu_compact = time.process_time() - cpu1
        stats = db.stats()
    finally:
        db.close()
    cpu2 = time.process_time()
    db = DB.open(path, compact_interval_s=3600)  # replays checkpoint + WAL into the head
    cpu_reopen = time.process_time() - cpu2
    reopened = db.stats()
    cpu3 = time.process_time()
    q = db.querier(start_ms, start_ms + args.samples * step)
    selected = sum(len(s.timestamps) for s in q.select([Matcher.equal("job", "bench")]))
    cpu_query = time.process_time() - cpu3
    db.close()
    total = args.series * args.samples
    wal_bytes = stats["wal_bytes"]
    block_bytes = stats["block_bytes"]
    print(f"series={args.series} samples/series={args.samples} total={total:,}")
    print(f"ingest: {total / cpu_ingest:,.0f} samples/CPU-s "
          f"({cpu_ingest:.2f} CPU-s, {wall_ingest:.2f} s wall)")
    print(f"compaction: {cpu_compact:.2f} CPU-s for {stats['block_samples']:,} samples "
          f"into {stats['blocks']} block(s)")
    if stats["block_samples"]:
        print(f"disk: {block_bytes / stats['block_samples']:.3f} bytes/sample in blocks")
    print(f"disk: {(block_bytes + wal_bytes) / total:.3f} bytes/sample incl. WAL "
          f"(blocks {block_bytes:,} B, WAL+checkpoint {wal_bytes:,} B)")
    print(f"reopen: {cpu_reopen:.2f} CPU-s to replay {reopened['head_samples']:,} head samples "
          f"from the WAL")
    print(f"query: {cpu_query:.2f} CPU-s to select all {selected:,} samples (blocks + head)")
    if args.dir is None:
        shutil.rmtree(path, ignore_errors=True)
    else:
        print(f"data left in {os.path.abspath(path)}")


if __name__ == "__main__":
    main()
