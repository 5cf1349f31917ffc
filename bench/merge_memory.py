"""Memory and CPU of merging blocks (compaction), for a number of series.

Writes three consecutive 2 h blocks of the same node_exporter-like series (480 samples
each, as a 15 s scrape interval gives), then merges them as ``DB._merge_blocks`` does and
reports the CPU seconds and the peak RSS above what the loaded blocks take (VmHWM, reset
through ``/proc/self/clear_refs`` before the merge). ``--whole`` instead decodes the whole
group before writing, as merges did before 2026-12-03, for comparison.

    .venv/bin/python bench/merge_memory.py --series 100000
    .venv/bin/python bench/merge_memory.py --series 50000 --whole
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from head_memory import reset_peak_rss, rss  # noqa: E402
from ingest_remote_write import make_series  # noqa: E402

from vigil.model.labels import Labels  # noqa: E402
from vigil.remote._fastdecode import decode_labels  # noqa: E402
from vigil.tsdb.block import Block, write_block  # noqa: E402
from vigil.tsdb.compact import merged_series  # noqa: E402
from vigil.tsdb.head import SeriesData  # noqa: E402
from vigil.tsdb.merge import merge_series_sets  # noqa: E402

BLOCK_MS = 7_200_000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, default=100_000)
    p.add_argument("--whole", action="store_true", help="decode the whole group first")
    args = p.parse_args()
    n = args.series
    labels = sorted(Labels(decode_labels(raw)) for raw in make_series(n))
    with tempfile.TemporaryDirectory(prefix="vigil-merge-") as work:
        blocks = []
        for k in range(3):
            ts = k * BLOCK_MS + np.arange(480, dtype=np.int64) * 15_000
            vals = np.round(np.cumsum(np.full(480, 0.25)), 2)
            path = write_block(work, (SeriesData(lb, ts, vals) for lb in labels),
                               (k + 1) * BLOCK_MS)
            blocks.append(Block(path))
        del labels
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        reset_peak_rss()
        base = rss()
        cpu = time.process_time()
        if args.whole:
            sets = [b.select_set([], -(2**62), 2**62) for b in blocks]
            data = [SeriesData(s.labels, s.timestamps, s.values) for s in merge_series_sets(sets)]
            write_block(work, data, 3 * BLOCK_MS)
        else:
            stream, end = merged_series(blocks)
            write_block(work, stream, end)
        cpu = time.process_time() - cpu
        peak = rss("VmHWM") - base
        for b in blocks:
            b.close()
    how = "whole group decoded first" if args.whole else "slices of series"
    print(f"merge of 3 blocks x {n} series x 480 samples ({how}): {cpu:.2f} CPU-s, "
          f"peak RSS +{peak / 2**20:,.0f} MiB ({peak / n:,.0f} B per series)")


if __name__ == "__main__":
    main()
