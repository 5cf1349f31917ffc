"""Helper process for test_tsdb_crash: commits forever, printing each acknowledged round.

Usage: python _crash_writer.py DATA_DIR SERIES. Round ``r`` commits sample ``(r, r)`` for each
series, with ``wal_fsync="always"``, then prints ``r``. Small blocks and a busy background
compactor make a kill likely to land during block writing or WAL checkpointing too.
"""

import sys

from vigil.model import Labels
from vigil.tsdb import DB


def main() -> None:
    path, n_series = sys.argv[1], int(sys.argv[2])
    db = DB.open(path, wal_fsync="always", block_range_ms=40, compact_interval_s=0.01,
                 wal_segment_bytes=16384)
    labels = [Labels.of(job="t", k=str(k)) for k in range(n_series)]
    r = 0
    while True:
        app = db.appender()
        for lb in labels:
            app.append(lb, r, float(r))
        app.commit()
        print(r, flush=True)
        r += 1


if __name__ == "__main__":
    main()
