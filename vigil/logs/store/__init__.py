"""The embedded log store: append-only, time-partitioned, zstd-compressed chunks with a
stream index and a per-chunk trigram Bloom filter, a WAL for the head, retention by age and
size. The on-disk layout is in ``docs/logs-format.md``."""

from vigil.logs.store.store import LogStore, Options, Stats

__all__ = ["LogStore", "Options", "Stats"]
