"""Vigil's embedded time-series store (requirement S1), implementing :class:`vigil.storage.Storage`.

One directory holds everything: a write-ahead log (``wal/``), immutable blocks
(``blocks/<ULID>/``) and a lock file. The byte-level format is in ``docs/tsdb-format.md``.

Data path::

    Appender.append -> buffer --commit--> WAL record (series + samples) -> head (chunks)
    background / close: head samples older than the newest block range -> block; WAL checkpoint
    Querier.select -> head + blocks, merged per series, sorted by labels

What is here now ("foundation"): head with inverted index and Prometheus matcher semantics,
samples kept in 120-sample encoded chunks (about 4-5 KB per series for 3 h at 15 s);
WAL with CRC-framed binary records, torn-tail repair and checkpoints; simple blocks (one
chunk per series per block, delta-of-delta timestamps, decimal-scaled or XOR values,
byte-shuffled, zlib pages); retention by time, whole blocks at a time.

Planned growth, with the format kept open for it:

* compaction of adjacent blocks into larger ones (2h -> 6h -> ... up to 10% of retention):
  blocks are immutable and self-describing (``meta.json`` can gain ``compaction.level`` and
  ``parents``), so a compactor only merges series tables and re-pages chunks;
* retention by size: ``stats()`` already reports block bytes; delete oldest blocks first;
* out-of-order window: today samples older than the head's minimum valid time are refused
  (``OutOfBounds``); an OOO head would log them in a separate WAL record type (the record
  type byte reserves space) and write overlapping blocks merged at query/compaction time;
* zstd pages and on-disk (mmap) postings: ``meta.json`` names the page compression, the
  index has a format version;
* remote-write ingest at >= 450k samples/CPU-s: an appender fast path by series ref
  (skipping the labels hash) and columnar commits straight from decoded protobuf arrays;
  closing head chunks (about a third of per-sample append cost) could move to the
  background thread;
* <= 1.2 bytes/sample on disk: blocks already measure ~0.7 on synthetic scrape data; the
  WAL (24 bytes/sample for the ~3 h head) wants a delta-encoded samples record type.

Only :class:`DB` is public; everything above ``vigil.storage`` uses the protocols, never this
package.
"""

from vigil.errors import DuplicateSampleForTimestamp
from vigil.tsdb.db import DB

__all__ = ["DB", "DuplicateSampleForTimestamp"]
