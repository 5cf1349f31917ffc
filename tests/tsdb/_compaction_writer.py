"""Helper process for test_kill_during_compaction: commits until killed while the background
compactor cuts and merges blocks all the time.

Usage: python _compaction_writer.py DATA_DIR SERIES FIRST_ROUND. Round ``r`` commits sample
``(r, r)`` for each series with ``wal_fsync="always"``, then prints ``r`` (flushed): a
printed round is acknowledged. Blocks of 20 ms and the default retention make larger ranges
(60 ms, 180 ms, ...) complete every few dozen rounds, so merges run constantly.
"""

import sys

from vigil.model import Labels
from vigil.tsdb import DB

BLOCK_RANGE_MS = 20


def main() -> None:
    path, n_series, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    db = DB.open(path, wal_fsync="always", block_range_ms=BLOCK_RANGE_MS,
                 compact_interval_s=0.005, wal_segment_bytes=32 << 10)
    labels = [Labels.of(job="t", k=str(k)) for k in range(n_series)]
    r = first
    while True:
        app = db.appender()
        for lb in labels:
            app.append(lb, r, float(r))
        app.commit()
        print(r, flush=True)
        r += 1


if __name__ == "__main__":
    main()
