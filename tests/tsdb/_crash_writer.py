"""Helper process for the kill -9 tests: commits forever, printing each acknowledged round.

Usage: python _crash_writer.py DATA_DIR SERIES [FIRST_ROUND [BLOCK_RANGE_MS COMPACT_INTERVAL_S
SEGMENT_BYTES]]. Round ``r`` commits sample ``(r, r)`` for each series with
``wal_fsync="always"``, then prints ``r`` (flushed): a printed round is acknowledged. Small
blocks and a busy background compactor make a kill likely to land during block writing, WAL
checkpointing or merging (test_tsdb_crash uses 40 ms blocks; test_kill_during_compaction
20 ms blocks, whose 60 ms, 180 ms, ... ranges complete every few dozen rounds).
"""

import sys

from vigil.model import Labels
from vigil.tsdb import DB


def main() -> None:
    path, n_series = sys.argv[1], int(sys.argv[2])
    first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    block_range, interval, segment = ((int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]))
                                      if len(sys.argv) > 6 else (40, 0.01, 16384))
    db = DB.open(path, wal_fsync="always", block_range_ms=block_range,
                 compact_interval_s=interval, wal_segment_bytes=segment)
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
