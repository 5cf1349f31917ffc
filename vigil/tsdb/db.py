"""The database: head + WAL + blocks in one directory, behind :class:`vigil.storage.Storage`.

Directory layout (``docs/tsdb-format.md``)::

    <dir>/lock              flock'ed while a DB has the directory open
    <dir>/wal/              write-ahead log segments and the latest checkpoint
    <dir>/blocks/<ULID>/    immutable blocks (meta.json, index, chunks)

Lifecycle: :meth:`DB.open` loads the blocks, replays the WAL into the head, and starts one
background thread that applies the ``batch`` fsync policy and, every ``compact_interval_s``,
runs :meth:`DB.compact` (cut old head data into blocks, checkpoint the WAL, apply retention).
:meth:`DB.close` stops the thread, compacts once more and syncs the WAL.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import logging
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from typing import Any

from vigil.errors import StorageError
from vigil.model.labels import Labels
from vigil.selfmetrics import SelfMetrics
from vigil.tsdb import _records
from vigil.tsdb.appender import CommitListener, HeadAppender
from vigil.tsdb.block import Block, write_block
from vigil.tsdb.compact import compaction_ranges, drop_replaced, merged_series, plan
from vigil.tsdb.head import MIN_TIME, Head, SeriesData
from vigil.tsdb.labels_pool import LabelsPool
from vigil.tsdb.querier import DBQuerier
from vigil.tsdb.wal import WAL, FsyncPolicy

log = logging.getLogger(__name__)

DEFAULT_BLOCK_RANGE_MS = 2 * 3600_000
DEFAULT_RETENTION_MS = 15 * 86400_000


class DB:
    """An open TSDB directory. Thread-safe. Construct with :meth:`open`."""

    def __init__(self, path: str, lock_fd: int, head: Head, wal: WAL, blocks: list[Block], *,
                 retention_ms: int, retention_bytes: int, block_range_ms: int,
                 compact_interval_s: float, labels_pool: LabelsPool) -> None:
        self.path = path
        self._labels_pool = labels_pool
        self.retention_ms = retention_ms
        self.retention_bytes = retention_bytes
        self.block_range_ms = block_range_ms
        self._lock_fd = lock_fd
        self._head = head
        self._wal = wal
        self._blocks = blocks
        self._blocks_lock = threading.Lock()
        self._compact_lock = threading.Lock()
        self._compact_interval_s = compact_interval_s
        self._stop = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._listeners: list[CommitListener] = []
        self.apply_retention = True
        # Blocks found unloadable at open and moved aside, one message each.
        self.corrupted_blocks: list[str] = []

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        retention_ms: int = DEFAULT_RETENTION_MS,
        retention_bytes: int = 0,
        wal_fsync: FsyncPolicy = "batch",
        fsync_interval_s: float = 1.0,
        metrics: SelfMetrics | None = None,
        block_range_ms: int = DEFAULT_BLOCK_RANGE_MS,
        compact_interval_s: float = 60.0,
        wal_segment_bytes: int = 128 << 20,
        out_of_order_window_ms: int = 0,
        apply_retention: bool = True,
    ) -> DB:
        """Open (creating if needed) the TSDB in directory ``path``.

        ``retention_ms``: blocks whose end is older than this before the newest sample are
        deleted. ``retention_bytes`` (0 = no limit): the oldest blocks are deleted while
        blocks and WAL together take more than this. A block that cannot be loaded is
        moved to ``<path>/corrupted/`` and reported; the rest opens. ``wal_fsync``/``fsync_interval_s``: see :mod:`vigil.tsdb.wal`.
        ``block_range_ms``: span of a block; head data is cut into blocks once the head spans
        more than 1.5 of it. ``out_of_order_window_ms`` (0 = off, as Prometheus): how far
        behind the newest sample a sample older than its series' newest is still accepted.
        ``apply_retention=False``: never delete blocks for their age or size — for tools that
        open a server's store (``vigil tsdb import``), which leave retention to the server
        and its configured limits.
        Raises :class:`StorageError` if the directory is in use by
        another DB or the WAL is corrupt before its last record.
        """
        path = os.fspath(path)
        if wal_fsync not in ("always", "batch", "off"):
            raise StorageError(f"wal_fsync must be always, batch or off, not {wal_fsync!r}")
        if out_of_order_window_ms < 0:
            raise StorageError("out_of_order_window_ms must not be negative")
        os.makedirs(os.path.join(path, "blocks"), exist_ok=True)
        lock_fd = os.open(os.path.join(path, "lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise StorageError(f"{path}: TSDB directory is in use by another process") from None
        try:
            labels_pool = LabelsPool()
            blocks, problems = _load_blocks(os.path.join(path, "blocks"),
                                            os.path.join(path, "corrupted"), labels_pool)
            blocks = drop_replaced(blocks)
            labels_pool.sweep()  # series only the replaced blocks listed
            head = Head(metrics)
            head.ooo_window_ms = out_of_order_window_ms
            if blocks:
                head.min_valid_time = max(b.max_time for b in blocks)
            wal = WAL.open(os.path.join(path, "wal"), fsync=wal_fsync,
                           fsync_interval_s=fsync_interval_s, segment_bytes=wal_segment_bytes,
                           metrics=metrics)
            _replay(wal, head)
        except BaseException:
            os.close(lock_fd)
            raise
        if metrics is not None:
            metrics.head_series.set(len(head.series))
        db = cls(path, lock_fd, head, wal, blocks, retention_ms=retention_ms,
                 retention_bytes=retention_bytes, block_range_ms=block_range_ms,
                 compact_interval_s=compact_interval_s, labels_pool=labels_pool)
        db.apply_retention = apply_retention
        db.corrupted_blocks = problems
        db._start_background(fsync_interval_s if wal_fsync == "batch" else compact_interval_s)
        return db

    # ---- Storage -----------------------------------------------------------------------

    def appender(self) -> HeadAppender:
        self._check_open()
        return HeadAppender(self._head, self._wal, self._listeners)

    def subscribe(self, listener: CommitListener) -> Callable[[], None]:
        """Call ``listener(batch)`` after every commit that stored samples, with the samples
        stored: a list of ``(labels, timestamps_ms, values)``, each series ascending.

        Called in the committing thread, after the WAL write and outside the head lock: in
        commit order per thread, but two threads' batches may arrive in either order. It must
        be fast and must not raise (hand the batch to a queue; the batch is shared by all
        listeners and never reused: keep it, do not mutate it). Samples replayed from the
        WAL on open are not delivered. Returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def add_block(self, data: Sequence[SeriesData], end_ms: int) -> str:
        """Write ``data`` (sorted by labels) as a block ending at ``end_ms`` (exclusive) and
        make it visible; used by backfill. The head refuses samples older than ``end_ms``
        from now on (as after a restart). Returns the block directory."""
        self._check_open()
        with self._compact_lock:
            block = Block(write_block(os.path.join(self.path, "blocks"), data, end_ms),
                          self._labels_pool)
            with self._blocks_lock:
                self._blocks.append(block)
                self._blocks.sort(key=lambda b: b.min_time)
            with self._head.lock:
                self._head.min_valid_time = max(self._head.min_valid_time, block.max_time)
        return block.path

    def querier(self, mint_ms: int, maxt_ms: int) -> DBQuerier:
        self._check_open()
        return DBQuerier(self._head, self._acquire_blocks, mint_ms, maxt_ms)

    def close(self) -> None:
        """Stop background work, cut what is due into blocks, sync and close. Idempotent."""
        if self._closed:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.compact()
        finally:
            self._closed = True
            self._wal.close()
            with self._blocks_lock:
                for b in self._blocks:
                    b.close()
                self._blocks = []
            os.close(self._lock_fd)

    def __enter__(self) -> DB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- maintenance -------------------------------------------------------------------

    def compact(self) -> int:
        """Cut head data older than the newest ``block_range_ms``-aligned window into blocks
        (while the head spans more than 1.5 block ranges), checkpoint the WAL if anything
        was cut, then apply retention. Returns the number of blocks written."""
        with self._compact_lock:
            head, rng = self._head, self.block_range_ms
            written = 0
            while True:
                with head.lock:
                    if head.num_samples == 0:
                        break
                    mint = max(head.mint, head.min_valid_time)
                    maxt = head.maxt
                if maxt - mint <= rng * 3 // 2:
                    break
                end = (mint // rng + 1) * rng
                written += self._cut_head_before(end)
            written += self._cut_out_of_order()
            if written:
                # The head's trimmed open chunks are new allocations; the buffers they
                # replace go back to the OS before the checkpoint allocates its own, or the
                # checkpoint's peak stacks on top of them (~450 B per series).
                _return_freed_memory()
                self._checkpoint()
            merged = self._merge_blocks()
            self._apply_retention()
            if written or merged:
                _return_freed_memory()
            return written

    def _cut_out_of_order(self) -> int:
        """Cut out-of-order samples older than the head's minimum valid time (behind blocks
        already written) into blocks, one per aligned block range; they overlap older blocks
        and :meth:`_merge_blocks` merges them in. Returns the number of blocks written."""
        head, rng = self._head, self.block_range_ms
        written = 0
        while True:
            oldest = head.oldest_out_of_order()
            with head.lock:
                mvt = head.min_valid_time
            if oldest is None or oldest >= mvt:
                return written
            written += self._cut_head_before(min((oldest // rng + 1) * rng, mvt))

    def _cut_head_before(self, end: int) -> int:
        """Write the head's samples older than ``end`` as a block and drop them from the
        head; returns 1 if a block was written."""
        head = self._head
        with head.lock:
            floor = head.min_valid_time
        # Read and written a batch of series at a time: holding every series' old samples
        # at once doubled the resident memory during a cut (bench/head_memory.py).
        cut = head.cut_before(end)
        written = not cut.is_empty()
        if written:
            try:
                block = Block(write_block(os.path.join(self.path, "blocks"), cut.series(), end),
                              self._labels_pool)
            except StorageError:
                # The samples stay in the head: take the floor back so that the next cut
                # starts at the same aligned range rather than spanning two.
                with head.lock:
                    head.min_valid_time = floor
                raise
            with self._blocks_lock:
                self._blocks.append(block)
                self._blocks.sort(key=lambda b: b.min_time)
            # What the batches' decoding and encoding freed goes back to the OS before the
            # head's trimmed open chunks are allocated, or the two peaks add up.
            _return_freed_memory()
        head.truncate_before(end, cut)
        return 1 if written else 0

    def _merge_blocks(self) -> int:
        """Merge blocks as :mod:`vigil.tsdb.compact` plans, one group at a time; returns
        the number of merged blocks written."""
        ranges = compaction_ranges(self.block_range_ms, self.retention_ms)
        merged_count = 0
        while True:
            with self._blocks_lock:
                group = plan(self._blocks, ranges)
            if group is None:
                if merged_count:
                    self._labels_pool.sweep()  # the deleted blocks' series
                return merged_count
            merged_count += 1
            data, end = merged_series(group)
            merged = Block(write_block(os.path.join(self.path, "blocks"), data, end,
                                       sources=[b.ulid for b in group]), self._labels_pool)
            with self._blocks_lock:
                self._blocks = sorted([b for b in self._blocks if b not in group] + [merged],
                                      key=lambda b: b.min_time)
            log.info("compaction: merged %d blocks into %s (%d..%d)", len(group), merged.path,
                     merged.min_time, merged.max_time)
            for b in group:
                b.delete()

    def _checkpoint(self) -> None:
        with self._head.lock:  # no commit may land between the rotation and the snapshot
            last_segment = self._wal.rotate()
            records = self._head.checkpoint_records()
        self._wal.checkpoint(last_segment, records)

    def _apply_retention(self) -> None:
        """Delete whole blocks: those past ``retention_ms``, then the oldest while blocks and
        WAL exceed ``retention_bytes``. The head is never cut short by retention."""
        if not self.apply_retention:
            return
        wal_bytes = self._wal.size_bytes() if self.retention_bytes else 0
        with self._blocks_lock:
            if not self._blocks:
                return
            newest = max(self._head.maxt, max(b.max_time for b in self._blocks))
            cutoff = newest - self.retention_ms
            doomed = [(b, "time") for b in self._blocks if b.max_time <= cutoff]
            kept = [b for b in self._blocks if b.max_time > cutoff]
            if self.retention_bytes:
                sizes = [b.size_bytes() for b in kept]  # oldest first
                total = sum(sizes) + wal_bytes
                while kept and total > self.retention_bytes:
                    total -= sizes.pop(0)
                    doomed.append((kept.pop(0), "size"))
            self._blocks = kept
        for b, why in doomed:
            log.info("retention (%s): deleting block %s (%d..%d)", why, b.path, b.min_time,
                     b.max_time)
            b.delete()
        if doomed:
            del b, doomed
            self._labels_pool.sweep()

    def _acquire_blocks(self, mint: int, maxt: int) -> list[Block]:
        with self._blocks_lock:
            picked = [b for b in self._blocks if b.min_time <= maxt and b.max_time > mint]
            for b in picked:
                b.acquire()
        return picked

    def stats(self) -> dict[str, Any]:
        """Numbers for ``vigil tsdb stats``: series and samples in the head, blocks, bytes."""
        head = self._head
        with head.lock:
            h = {"head_series": len(head.series), "head_samples": head.num_samples,
                 "head_min_time": head.mint if head.num_samples else None,
                 "head_max_time": head.maxt if head.num_samples else None,
                 "min_valid_time": head.min_valid_time if head.min_valid_time > MIN_TIME
                 else None}
        with self._blocks_lock:
            blocks = list(self._blocks)
        block_samples = sum(b.num_samples for b in blocks)
        return {
            "series": h["head_series"],
            "samples": h["head_samples"] + block_samples,
            **h,
            "blocks": len(blocks),
            "block_samples": block_samples,
            "block_bytes": sum(b.size_bytes() for b in blocks),
            "wal_bytes": self._wal.size_bytes(),
        }

    def series_labels(self) -> set[Labels]:
        """The distinct label sets in the head and all blocks (for cardinality reports)."""
        with self._head.lock:
            out: set[Labels] = set(self._head.by_labels)
        with self._blocks_lock:
            blocks = list(self._blocks)
        for b in blocks:
            out.update(b.series_labels)
        return out

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"{self.path}: TSDB is closed")

    def _start_background(self, tick_s: float) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(max(0.01, min(tick_s, self._compact_interval_s)),),
            name="vigil-tsdb", daemon=True)
        self._thread.start()

    def _run(self, tick_s: float) -> None:
        since_compact = 0.0
        while not self._stop.wait(tick_s):
            try:
                self._wal.sync_if_due()
                since_compact += tick_s
                if since_compact >= self._compact_interval_s:
                    since_compact = 0.0
                    self.compact()
            except Exception:  # keep the store running; the next round retries
                log.exception("%s: background TSDB maintenance failed", self.path)


def _load_libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


_malloc_trim = _load_libc()


def _return_freed_memory() -> None:
    """Hand the heap pages that cutting or merging freed back to the OS. glibc keeps them
    otherwise: measured at 100k series, a cut left ~2.5 KB per series free but held, which
    doubled the resident memory per series (bench/head_memory.py)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _load_blocks(blocks_dir: str, corrupted_dir: str,
                 labels_pool: LabelsPool) -> tuple[list[Block], list[str]]:
    """The loadable blocks, and one message per block moved to ``corrupted_dir``."""
    blocks, problems = [], []
    for name in sorted(os.listdir(blocks_dir)):
        full = os.path.join(blocks_dir, name)
        if name.endswith(".tmp"):  # a block whose writer died before the rename
            shutil.rmtree(full, ignore_errors=True)
            continue
        if not os.path.isdir(full):
            continue
        try:
            blocks.append(Block(full, labels_pool))
        except StorageError as e:
            # Keep the store usable and the bad block for inspection, out of the way.
            os.makedirs(corrupted_dir, exist_ok=True)
            os.replace(full, os.path.join(corrupted_dir, name))
            problems.append(f"{e}; moved to {os.path.join(corrupted_dir, name)}")
            log.error("%s", problems[-1])
    blocks.sort(key=lambda b: b.min_time)
    return blocks, problems


def _replay(wal: WAL, head: Head) -> None:
    for file, offset, payload in wal.replay():
        try:
            rec = _records.decode(payload)
        except StorageError as e:
            raise StorageError(f"{file}: WAL record at offset {offset}: {e}") from e
        if isinstance(rec, _records.SamplesRecord):
            head.replay_samples(rec)
        elif isinstance(rec, _records.MetaRecord):
            head.min_valid_time = max(head.min_valid_time, rec.min_valid_time_ms)
        else:
            head.replay_series(rec)
