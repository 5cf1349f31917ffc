"""LogStore: the embedded log store (an implementation of LogAppender and LogReader).

``append`` logs the batch to the WAL (in the kernel before it returns, so ``kill -9`` loses
nothing acknowledged) and adds it to the in-memory *head*. When the head holds
``Options.chunk_bytes`` of line text (or on :meth:`LogStore.flush` / :meth:`close`), it is cut:
its entries are sorted and written as one chunk per time partition, then the WAL segments
they came from are deleted. Retention (by age and by total size) deletes whole chunks,
oldest first, after each cut and on :meth:`LogStore.apply_retention`.

The stream index (each stream's labels → the chunks holding it) lives in memory, rebuilt at
open from the chunks' metas and the WAL. Thread-safety: every method may be called from any
thread; one lock orders writers, and readers work on a snapshot taken under it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from vigil.errors import StorageError
from vigil.logs.model import EntryColumns, LogEntry, StreamSelection
from vigil.logs.store import chunk as chunkfile
from vigil.logs.store._chunk1 import Chunk1
from vigil.logs.store._chunk2 import Chunk2
from vigil.logs.store._codec import decode, encode
from vigil.logs.store._columns import head_columns
from vigil.logs.store._select import Source, merge
from vigil.logs.store._wal import WAL, FsyncPolicy
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, match_all

log = logging.getLogger(__name__)
_S = 1_000_000_000


@dataclass(frozen=True)
class Options:
    chunk_bytes: int = 8 << 20  # line text in the head before it is cut into chunks
    partition_s: int = 86400  # chunks never span a partition (UTC days by default)
    retention_s: float = 0  # delete chunks whose newest entry is older; 0: keep
    max_bytes: int = 0  # delete the oldest chunks while chunks take more; 0: no limit
    fsync: FsyncPolicy = "batch"
    fsync_interval_s: float = 1.0
    zstd_level: int = 9  # sealed chunks; chosen by measurement (docs/logs-format.md)
    cached_chunks: int = 4  # chunks' decoded columns (format 1: whole bodies) kept
    now_ns: Callable[[], int] = field(default=time.time_ns)


@dataclass(frozen=True)
class Stats:
    chunks: int
    chunk_bytes: int  # chunk files on disk
    wal_bytes: int
    raw_bytes: int  # the chunks' lines as a text file (one newline each)
    entries: int  # in chunks
    head_entries: int


def _sort_key(e: LogEntry) -> tuple[int, Labels]:
    return e.ts_ns, e.labels


class LogStore:
    """Open with :meth:`open`; close with :meth:`close` (which cuts the head into chunks)."""

    def __init__(self, path: str, options: Options, lock_fd: int) -> None:
        self.path = path
        self.options = options
        self._lock_fd = lock_fd
        self._lock = threading.RLock()
        self._chunks: dict[int, chunkfile.ChunkMeta] = {}
        self._chunks_of: dict[Labels, set[int]] = {}  # the stream index
        self._head: list[LogEntry] = []
        self._head_bytes = 0
        self._next_chunk_id = 1
        self._wal = WAL(os.path.join(path, "wal"), options.fsync, options.fsync_interval_s)
        self._cache: OrderedDict[int, Chunk1 | Chunk2] = OrderedDict()
        self._closed = False

    @classmethod
    def open(cls, path: str, options: Options | None = None) -> LogStore:
        """Open (or create) the store at ``path``: read the chunks' metas, replay the WAL.
        Raises :class:`StorageError` if another process has it open or data is corrupt."""
        options = options or Options()
        os.makedirs(os.path.join(path, "chunks"), exist_ok=True)
        lock_fd = os.open(os.path.join(path, "LOCK"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(lock_fd)
            raise StorageError(f"{path}: log store is in use by another process") from e
        store = cls(path, options, lock_fd)
        try:
            store._load()
        except BaseException:
            os.close(lock_fd)
            raise
        return store

    def _load(self) -> None:
        chunks_dir = os.path.join(self.path, "chunks")
        for part in sorted(os.listdir(chunks_dir)):
            part_dir = os.path.join(chunks_dir, part)
            for name in os.listdir(part_dir):
                if name.endswith(".tmp"):  # a chunk whose writer died before the rename
                    os.unlink(os.path.join(part_dir, name))
                elif name.endswith(chunkfile.SUFFIX):
                    self._add_chunk(chunkfile.read_meta(os.path.join(part_dir, name)))
        self._next_chunk_id = max(self._chunks, default=0) + 1
        persisted = max((m.wal_segment for m in self._chunks.values()), default=0)
        for file, offset, payload in self._wal.replay(persisted):
            batch = decode(payload, f"{file}: record at offset {offset}")
            self._add_to_head([batch.entry(i) for i in range(len(batch))])
        self._apply_retention_locked()

    def _add_chunk(self, meta: chunkfile.ChunkMeta) -> None:
        self._chunks[meta.id] = meta
        for s in meta.streams:
            self._chunks_of.setdefault(s, set()).add(meta.id)

    def _drop_chunk(self, meta: chunkfile.ChunkMeta) -> None:
        del self._chunks[meta.id]
        self._cache.pop(meta.id, None)
        for s in meta.streams:
            ids = self._chunks_of[s]
            ids.discard(meta.id)
            if not ids:
                del self._chunks_of[s]
        try:
            os.unlink(meta.path)
            os.rmdir(os.path.dirname(meta.path))  # only succeeds once the partition is empty
        except FileNotFoundError:
            pass
        except OSError:
            pass

    def _add_to_head(self, entries: Sequence[LogEntry]) -> None:
        self._head.extend(entries)
        self._head_bytes += sum(len(e.line) for e in entries)

    # ---- writing -------------------------------------------------------------------------

    def append(self, entries: Sequence[LogEntry]) -> int:
        """Store ``entries``; they survive ``kill -9`` when this returns. Raises
        :class:`StorageError` (nothing stored) on an entry that cannot be stored, naming it."""
        if not entries:
            return 0
        # Which streams are acceptable (Loki wants at least one label) is ingest's policy,
        # checked line by line there; here only what cannot be stored at all is refused.
        for i, e in enumerate(entries):
            if not isinstance(e.ts_ns, int) or not -(1 << 63) <= e.ts_ns < 1 << 63:
                raise StorageError(f"entry {i}: timestamp {e.ts_ns!r} is not int64 nanoseconds")
        payload, _ = encode(entries)
        with self._lock:
            if self._closed:
                raise StorageError(f"{self.path}: log store is closed")
            self._wal.log(payload)
            self._add_to_head(entries)
            if self._head_bytes >= self.options.chunk_bytes:
                try:
                    self._cut()
                except (OSError, StorageError) as e:
                    # The entries are in the WAL: failing now would report them lost while
                    # the next open replays them. The next append retries the cut.
                    log.error("%s: cannot cut the head into chunks: %s", self.path, e)
        return len(entries)

    def flush(self) -> None:
        """Cut the head into chunks now (and apply retention)."""
        with self._lock:
            self._cut()

    def _cut(self) -> None:
        if self._head:
            by_partition: dict[int, list[LogEntry]] = {}
            part_ns = self.options.partition_s * _S
            first, last = (min(e.ts_ns for e in self._head) // part_ns,
                           max(e.ts_ns for e in self._head) // part_ns)
            if first == last:  # the usual case: no entry to sort out one by one
                by_partition[first] = self._head
            else:
                for e in self._head:
                    by_partition.setdefault(e.ts_ns // part_ns, []).append(e)
            segment = self._wal.segment
            written: list[chunkfile.ChunkMeta] = []
            try:
                for part, entries in sorted(by_partition.items()):
                    directory = os.path.join(self.path, "chunks", str(part * self.options.partition_s))
                    os.makedirs(directory, exist_ok=True)
                    written.append(chunkfile.write_chunk(
                        directory, self._next_chunk_id, entries, segment, self.options.zstd_level))
                    self._next_chunk_id += 1
            except BaseException:
                for meta in written:  # all or nothing: the WAL still holds these entries
                    os.unlink(meta.path)
                raise
            for meta in written:
                self._add_chunk(meta)
            self._head, self._head_bytes = [], 0
            self._wal.truncate_upto(segment)
        self._apply_retention_locked()

    def apply_retention(self) -> None:
        """Delete chunks past the retention time or over the size limit (oldest first)."""
        with self._lock:
            self._apply_retention_locked()

    def _apply_retention_locked(self) -> None:
        o = self.options
        oldest_first = sorted(self._chunks.values(), key=lambda m: (m.max_ts, m.id))
        if o.retention_s:
            cutoff = o.now_ns() - int(o.retention_s * _S)
            while oldest_first and oldest_first[0].max_ts < cutoff:
                self._drop_chunk(oldest_first.pop(0))
        if o.max_bytes:
            total = sum(m.file_bytes for m in oldest_first)
            while oldest_first and total > o.max_bytes:
                meta = oldest_first.pop(0)
                total -= meta.file_bytes
                self._drop_chunk(meta)

    def sync_if_due(self) -> None:
        """For a timer: in ``batch`` mode, fsync WAL records older than the interval (appends
        sync when they find the interval passed; this covers a store gone idle)."""
        with self._lock:
            if not self._closed:
                self._wal.sync_if_due()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                self._cut()
            finally:
                self._wal.close()
                self._closed = True
                os.close(self._lock_fd)

    def stats(self) -> Stats:
        with self._lock:
            metas = list(self._chunks.values())
            return Stats(len(metas), sum(m.file_bytes for m in metas), self._wal.size_bytes(),
                         sum(m.raw_bytes for m in metas), sum(m.entries for m in metas),
                         len(self._head))

    # ---- reading -------------------------------------------------------------------------

    def _snapshot(self, start_ns: int, end_ns: int) -> tuple[list[chunkfile.ChunkMeta],
                                                              list[LogEntry]]:
        with self._lock:
            metas = [m for m in self._chunks.values()
                     if m.max_ts >= start_ns and m.min_ts < end_ns]
            head = [e for e in self._head if start_ns <= e.ts_ns < end_ns]
        return metas, head

    def _chunk(self, meta: chunkfile.ChunkMeta, keep: bool) -> Chunk1 | Chunk2:
        """The chunk's decoded body, from the cache if there; ``keep`` adds it (a read of more
        chunks than the cache holds passes it by rather than evicting everything).
        Raises FileNotFoundError if retention deleted it meanwhile."""
        with self._lock:
            cached = self._cache.get(meta.id)
            if cached is not None:
                self._cache.move_to_end(meta.id)
                return cached
        chunk = chunkfile.read_body(meta)
        if keep:
            with self._lock:
                self._cache[meta.id] = chunk
                while len(self._cache) > self.options.cached_chunks:
                    self._cache.popitem(last=False)
        return chunk

    def _may_match(self, meta: chunkfile.ChunkMeta, needles: Sequence[str]) -> bool:
        return not needles or all(chunkfile.read_index(meta).may_contain(n) for n in needles)

    def select(self, selection: StreamSelection) -> Iterator[LogEntry]:
        sel = selection
        with self._lock:  # the stream index picks the chunks; the window narrows them
            head = [e for e in self._head if sel.start_ns <= e.ts_ns < sel.end_ns]
            wanted = {s for s in set(self._chunks_of) | {e.labels for e in head}
                      if match_all(sel.matchers, s)}
            ids = set().union(*(self._chunks_of.get(s, ()) for s in wanted))
            metas = [m for i in ids if (m := self._chunks[i]).max_ts >= sel.start_ns
                     and m.min_ts < sel.end_ns]
        if not wanted:
            return iter(())
        head = sorted((e for e in head
                       if e.labels in wanted and all(n in e.line for n in sel.needles)),
                      key=_sort_key)
        sources = [Source(head[-1 if sel.backward else 0].ts_ns,
                          lambda: reversed(head) if sel.backward else head)] if head else []
        keep = len(metas) <= self.options.cached_chunks
        for meta in metas:
            sources.append(Source(meta.max_ts if sel.backward else meta.min_ts,
                                  lambda meta=meta: self._chunk_entries(meta, wanted, sel, keep)))
        return merge(sources, sel.backward, sel.limit)

    def _chunk_entries(self, meta: chunkfile.ChunkMeta, wanted: set[Labels],
                       sel: StreamSelection, keep: bool) -> Iterator[LogEntry]:
        chunk = self._chunk_if_may_match(meta, sel.needles, keep)
        if chunk is None:
            return
        rows = chunk.select(wanted, sel.start_ns, sel.end_ns, sel.needles)
        yield from chunk.entries(rows[::-1] if sel.backward else rows)

    def _chunk_if_may_match(self, meta: chunkfile.ChunkMeta, needles: Sequence[str],
                            keep: bool) -> Chunk1 | Chunk2 | None:
        """The chunk, or None when its filters say the needles cannot all be in it or
        retention deleted it since the snapshot."""
        try:
            if not self._may_match(meta, needles):
                return None
            return self._chunk(meta, keep)
        except FileNotFoundError:
            return None

    def select_columns(self, selection: StreamSelection) -> Iterator[EntryColumns]:
        """The selection's entries as column blocks (one per chunk, one for the head);
        needles are applied exactly, ``backward`` and ``limit`` ignored."""
        sel = selection
        with self._lock:
            head = [e for e in self._head if sel.start_ns <= e.ts_ns < sel.end_ns]
            wanted = {s for s in set(self._chunks_of) | {e.labels for e in head}
                      if match_all(sel.matchers, s)}
            ids = set().union(*(self._chunks_of.get(s, ()) for s in wanted))
            metas = sorted((m for i in ids if (m := self._chunks[i]).max_ts >= sel.start_ns
                            and m.min_ts < sel.end_ns), key=lambda m: (m.min_ts, m.id))
        if not wanted:
            return
        keep = len(metas) <= self.options.cached_chunks
        for meta in metas:
            chunk = self._chunk_if_may_match(meta, sel.needles, keep)
            if chunk is None:
                continue
            rows = chunk.select(wanted, sel.start_ns, sel.end_ns, sel.needles)
            if len(rows):
                yield chunk.columns(rows)
        block = head_columns(head, wanted, sel.needles)
        if block is not None:
            yield block

    def streams(self, matchers: Sequence[Matcher], start_ns: int, end_ns: int) -> list[Labels]:
        metas, head = self._snapshot(start_ns, end_ns)
        found = {s for m in metas for s in m.streams} | {e.labels for e in head}
        return sorted(s for s in found if match_all(tuple(matchers), s))

    def label_names(self, start_ns: int, end_ns: int) -> list[str]:
        return sorted({n for s in self.streams((), start_ns, end_ns) for n, _ in s})

    def label_values(self, name: str, start_ns: int, end_ns: int,
                     matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({v for s in self.streams(matchers, start_ns, end_ns)
                       if (v := s.get(name))})

    def __enter__(self) -> LogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

