"""Where Vigil's head memory goes, per active series: an in-process breakdown.

Feeds the requests of ``bench/ingest_remote_write.py`` (same series, values and timestamps)
through the same :class:`~vigil.remote.receiver.Receiver` into a TSDB — no HTTP server; the
writes run on one worker thread, as the server hands requests to worker threads — and then:

* process memory: RSS growth per series; glibc's heap (``mallinfo2``: bytes in use vs. bytes
  free but still held) and pymalloc's arenas (``sys._debugmallocstats``);
* a walk of the head's structures with ``sys.getsizeof`` (objects shared between structures
  counted once, under the first that reaches them), per series;
* with ``--compact`` (needs a span over 3 h): process memory after ``DB.compact()`` on
  another thread, as the server's background thread runs it, and after ``malloc_trim(0)``,
  which tells memory the allocator holds apart from memory still in use; the walk then
  comes last, so that its own garbage does not blur the figures. Also the CPU time and the
  peak RSS (VmHWM, reset through ``/proc/self/clear_refs`` as each phase starts) of the cut
  (collect + write the block + truncate the head) and of the WAL checkpoint, each apart;
* with ``--loaded-blocks K``, instead: the memory K loaded blocks of the same series take
  (a block keeps its series index in memory; retention keeps many blocks loaded).

    .venv/bin/python bench/head_memory.py --series 100000 --scrapes 80 --span-h 3.5 --compact
    .venv/bin/python bench/head_memory.py --series 1000000 --scrapes 20 --span-h 1.5
    .venv/bin/python bench/head_memory.py --series 100000 --loaded-blocks 4
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from ingest_remote_write import (  # noqa: E402
    BLOCK_MS,
    expected_head,
    first_timestamp,
    make_payloads,
    make_series,
)

from vigil.remote.receiver import Receiver  # noqa: E402
from vigil.tsdb import DB  # noqa: E402


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


_LIBC = ctypes.CDLL("libc.so.6")
_LIBC.mallinfo2.restype = _MallInfo2


def rss(key: str = "VmRSS") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def reset_peak_rss() -> None:
    """Start VmHWM afresh at the current RSS (Linux 4.0+), so a phase's own peak shows."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


class Phases:
    """CPU seconds and peak RSS of the compaction's phases, by wrapping the DB's methods."""

    def __init__(self, db: DB, base_rss: int) -> None:
        self.cpu: Counter[str] = Counter()
        self.peak: dict[str, int] = {}
        self._base = base_rss
        for name, attr in (("cut", "_cut_head_before"), ("checkpoint", "_checkpoint")):
            setattr(db, attr, self._timed(name, getattr(db, attr)))

    def _timed(self, name: str, fn):  # noqa: ANN202 - a bench-only wrapper
        def run(*args, **kwargs):  # noqa: ANN202
            reset_peak_rss()
            t = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu[name] += time.process_time() - t
                self.peak[name] = max(self.peak.get(name, 0), rss("VmHWM") - self._base)
        return run

    def report(self, n: int) -> None:
        for name in ("cut", "checkpoint"):
            print(f"# {name}: {self.cpu[name]:.2f}s CPU, peak RSS growth "
                  f"{self.peak.get(name, 0) / n:,.0f} B/series")


def pymalloc() -> dict[str, int]:
    """pymalloc's own accounting, parsed from what ``sys._debugmallocstats`` prints to fd 2."""
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode()
    out = {}
    for key, pattern in (("arenas", r"# arenas allocated current\s*=\s*([\d,]+)"),
                         ("in_blocks", r"# bytes in allocated blocks\s*=\s*([\d,]+)"),
                         ("free_blocks", r"# bytes in available blocks\s*=\s*([\d,]+)"),
                         ("empty_pools", r"unused pools \* \d+ bytes\s*=\s*([\d,]+)")):
        m = re.search(pattern, text)
        out[key] = int(m.group(1).replace(",", "")) if m else 0
    return out


def snapshot() -> dict[str, int]:
    gc.collect()
    mi = _LIBC.mallinfo2()
    pm = pymalloc()
    return {"rss": rss(), "glibc_used": mi.uordblks, "glibc_free": mi.fordblks,
            "glibc_mmapped": mi.hblkhd, "arenas": pm["arenas"] << 20,
            "py_objects": pm["in_blocks"], "py_free": pm["free_blocks"] + pm["empty_pools"]}


def process_memory(label: str, base: dict[str, int], n: int) -> int:
    """Print the growth since ``base`` per series; returns the RSS growth in bytes."""
    now = snapshot()
    d = {k: (now[k] - base[k]) / n for k in now}
    print(f"\n## {label}: RSS growth {d['rss']:,.0f} B/series "
          f"({(now['rss'] - base['rss']) / 2**20:,.0f} MiB)")
    print(f"  glibc heap: in use {d['glibc_used']:+,.0f}, free but held {d['glibc_free']:+,.0f}, "
          f"large mmapped blocks {d['glibc_mmapped']:+,.0f} B/series")
    print(f"  pymalloc (1 MiB arenas): {d['arenas']:+,.0f} B/series, of which in objects "
          f"{d['py_objects']:+,.0f}, free {d['py_free']:+,.0f}")
    return now["rss"] - base["rss"]


def walk(db: DB, receiver: Receiver) -> Counter[str]:
    """Bytes by structure; each object counted once, under the first structure reaching it."""
    size = sys.getsizeof
    seen: set[int] = set()
    out: Counter[str] = Counter()

    def once(cat: str, obj: object) -> None:
        if id(obj) not in seen:
            seen.add(id(obj))
            out[cat] += size(obj)

    head = db._head
    distinct_str: dict[str, int] = {}
    distinct_pair: dict[tuple[str, str], int] = {}
    for s in head.series.values():
        out["MemSeries objects (8 slots)"] += size(s)
        for v in (s.ref, s.count, s.last_ts, s.last_val):
            if not (isinstance(v, int) and -5 <= v <= 256):  # small ints are shared singletons
                once("MemSeries ints/float (ref, last_ts, last_val, count)", v)
        out["open chunk: 2 array.array (header + buffer)"] += size(s.ts) + size(s.vals)
        out["closed chunks: list"] += size(s.chunks)
        for c in s.chunks:
            out["closed chunks: HeadChunk + data bytes + ints"] += (
                size(c) + size(c.data) + size(c.mint) + size(c.maxt))
        lb = s.labels
        once("labels: Labels tuple", lb)
        for pair in lb:
            once("labels: (name, value) tuples", pair)
            distinct_pair.setdefault(pair, size(pair))
            for x in pair:
                once("labels: name and value strings", x)
                distinct_str.setdefault(x, size(x))
    out["head.series dict (ref -> MemSeries)"] += size(head.series)
    out["head.by_labels dict (Labels -> MemSeries)"] += size(head.by_labels)
    out["head order lists + rank array"] += (size(head._unordered) + size(head._in_label_order)
                                             + head._rank.nbytes)
    idx = head.index
    out["postings: dicts"] += size(idx._postings)
    for name, values in idx._postings.items():
        once("labels: name and value strings", name)
        out["postings: dicts"] += size(values)
        for value, refs in values.items():
            once("labels: name and value strings", value)
            out["postings: sets of refs"] += size(refs)
    out["postings: set of all refs"] += size(idx._all)
    for b in db._blocks:  # each loaded block keeps its series index in memory, as columns
        idx = b.index
        for lb in idx.labels:
            once("blocks: Labels tuples (shared through the DB's pool)", lb)
            for pair in lb:
                once("blocks: (name, value) tuples", pair)
                for x in pair:
                    once("blocks: symbol strings", x)
        out["blocks: labels list"] += size(idx.labels)
        out["blocks: numpy columns + postings"] += sum(
            a.nbytes for a in vars(idx).values() if isinstance(a, np.ndarray))
        out["blocks: symbol list + name ranges"] += size(idx.symbols) + size(idx._name_pairs)
    out["labels pool dict"] += size(db._labels_pool._by_value)
    cache = receiver._labels
    out["receiver label cache: dict"] += size(cache)
    for raw in cache:
        out["receiver label cache: raw label bytes"] += size(raw)
    out["_distinct strings"] = sum(distinct_str.values())
    out["_distinct pairs"] = sum(distinct_pair.values())
    return out


def report(parts: Counter[str], n: int, rss_growth: int) -> None:
    print(f"\n  {'structure':<55} {'B/series':>9}")
    total = 0
    for cat, b in sorted(parts.items(), key=lambda kv: -kv[1]):
        if cat.startswith("_"):
            continue
        total += b
        print(f"  {cat:<55} {b / n:>9,.0f}")
    print(f"  {'sum of structures':<55} {total / n:>9,.0f}")
    print(f"  {'RSS growth not in these structures':<55} {(rss_growth - total) / n:>9,.0f}")
    strings = parts["labels: name and value strings"]
    pairs = parts["labels: (name, value) tuples"]
    print(f"  if label strings were interned: {parts['_distinct strings'] / n:,.1f} B/series "
          f"instead of {strings / n:,.0f}; pairs interned: {parts['_distinct pairs'] / n:,.1f} "
          f"instead of {pairs / n:,.0f}")


def loaded_blocks(n: int, k: int) -> None:
    """RSS of ``k`` loaded blocks of the same ``n`` series: a block keeps its whole series
    index (labels, entries, postings) in memory, so this is paid per series per block."""
    from vigil.model.labels import Labels
    from vigil.remote._fastdecode import decode_labels
    from vigil.tsdb.block import write_block
    from vigil.tsdb.head import SeriesData

    labels = sorted(Labels(decode_labels(raw)) for raw in make_series(n))
    ts = np.arange(30, dtype=np.int64) * 60_000
    vals = np.arange(30, dtype=np.float64)
    with tempfile.TemporaryDirectory(prefix="vigil-blockmem-") as work:
        blocks_dir = os.path.join(work, "blocks")
        os.makedirs(blocks_dir)
        start = first_timestamp() - k * 3 * BLOCK_MS
        for b in range(k):  # 6 h apart: no two in one merge window, so none are merged
            t = start + b * 3 * BLOCK_MS
            write_block(blocks_dir, [SeriesData(lb, ts + t, vals) for lb in labels], t + BLOCK_MS)
        del labels
        base = snapshot()
        db = DB.open(work, compact_interval_s=10**9)
        process_memory(f"{k} blocks of the same {n} series loaded (per series per block)",
                       base, n * k)
        db.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, default=100_000)
    p.add_argument("--scrapes", type=int, default=80)
    p.add_argument("--batch", type=int, default=2000)
    p.add_argument("--span-h", type=float, default=3.5)
    p.add_argument("--compact", action="store_true", help="cut due blocks and measure again")
    p.add_argument("--loaded-blocks", type=int, default=0, metavar="K",
                   help="instead: the memory of K loaded blocks of --series series")
    args = p.parse_args()
    if args.series < 1 or args.scrapes < 2 or args.batch < 1 or args.span_h <= 0:
        p.error("--series and --batch must be positive, --scrapes at least 2, --span-h > 0")
    n = args.series
    if args.loaded_blocks:
        loaded_blocks(n, args.loaded_blocks)
        return
    step_ms = int(args.span_h * 3600_000 / (args.scrapes - 1))
    t0 = first_timestamp()
    stamps = [t0 + k * step_ms for k in range(args.scrapes)]
    blocks, head_samples = expected_head(stamps)
    payloads = make_payloads(make_series(n), args.scrapes, args.batch, t0, step_ms)
    print(f"# {n} series x {args.scrapes} scrapes, step {step_ms / 1000:.0f}s; "
          f"{blocks} block(s) due, then {head_samples} samples per series in the head")
    with tempfile.TemporaryDirectory(prefix="vigil-headmem-") as work:
        base = snapshot()
        # Long intervals: compaction only when asked (--compact), as a server between ticks.
        db = DB.open(work, compact_interval_s=10**9)
        receiver = Receiver(db)
        t = time.perf_counter()
        with ThreadPoolExecutor(1) as pool:
            for body in payloads:
                pool.submit(receiver.write, body).result()
        print(f"# ingested in {time.perf_counter() - t:.1f}s")
        growth = process_memory("after ingest", base, n)
        if not args.compact:
            report(walk(db, receiver), n, growth)
        else:  # the walk's own garbage would blur what the compaction leaves behind
            if not blocks:
                raise SystemExit("--compact needs a --span-h over 3 so that a block is due")
            phases = Phases(db, base["rss"])
            cpu = time.process_time()
            th = threading.Thread(target=db.compact)
            th.start()
            th.join()
            print(f"\n# compaction: {time.process_time() - cpu:.1f}s CPU")
            phases.report(n)
            process_memory("after compaction (on another thread)", base, n)
            _LIBC.malloc_trim(0)
            growth = process_memory("after compaction and malloc_trim(0)", base, n)
            report(walk(db, receiver), n, growth)
        db.close()


if __name__ == "__main__":
    main()
