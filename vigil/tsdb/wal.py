"""The write-ahead log: numbered segment files of framed records, plus one checkpoint.

Layout under ``<db>/wal/``::

    00000007            segment files, 8-digit decimal numbers, appended to in order
    00000008
    checkpoint.00000006/00000000   records equivalent to all segments <= 6

Each record is framed as ``u32 length, u32 crc32(payload)`` (little-endian) followed by the
payload (see :mod:`vigil.tsdb._records`; payloads are compressed there, flagged in their
type byte, so the crc covers the compressed bytes and a torn or corrupt compressed record is
found before anything is decompressed). Frames never span segments.

Recovery rules (:meth:`WAL.replay`): a bad frame that ends exactly at the end of the *last*
segment, or a short/zero-filled tail there, is a write torn by a crash: replay stops there,
a warning names the file and offset, and the file is truncated so new records append after
the last good one. A bad frame anywhere else is corruption and raises
:class:`~vigil.errors.StorageError` naming the segment and offset.

Durability (``fsync`` policy): records are handed to the kernel with ``os.write`` as soon as
they are logged, so a killed process loses nothing; ``fsync`` only matters for an OS crash or
power loss. ``"always"`` syncs before :meth:`WAL.sync_after_commit` returns, ``"batch"``
syncs when ``fsync_interval_s`` has passed since the last sync (a background timer in
:class:`~vigil.tsdb.DB` catches idle periods), ``"off"`` only at segment rotation and close.

Thread-safety: all methods may be called from any thread; an internal lock orders writes.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Literal

from vigil.errors import StorageError
from vigil.selfmetrics import SelfMetrics
from vigil.storage.framing import frame, fsync_dir, read_frames, write_all

log = logging.getLogger(__name__)

FsyncPolicy = Literal["always", "batch", "off"]
_SEGMENT_RE = re.compile(r"^\d{8}$")
_CHECKPOINT_RE = re.compile(r"^checkpoint\.(\d{8})$")
DEFAULT_SEGMENT_BYTES = 128 << 20


class WAL:
    """An open write-ahead log directory. Use :meth:`open`, then :meth:`replay` once before
    the first :meth:`log`."""

    def __init__(
        self,
        path: str,
        *,
        fsync: FsyncPolicy = "batch",
        fsync_interval_s: float = 1.0,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        metrics: SelfMetrics | None = None,
    ) -> None:
        self.path = path
        self.fsync = fsync
        self.fsync_interval_s = fsync_interval_s
        self.segment_bytes = segment_bytes
        self._metrics = metrics
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._segment = 0
        self._size = 0
        self._dirty = False
        self._last_sync = time.monotonic()
        self._closed = False

    @classmethod
    def open(cls, path: str, **kwargs: object) -> WAL:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".tmp"):  # a checkpoint whose writer died before the rename
                shutil.rmtree(os.path.join(path, name), ignore_errors=True)
        return cls(path, **kwargs)  # type: ignore[arg-type]

    # ---- reading -------------------------------------------------------------------------

    def _segments(self) -> list[int]:
        return sorted(int(n) for n in os.listdir(self.path) if _SEGMENT_RE.match(n))

    def _checkpoint(self) -> int | None:
        found = [int(m.group(1)) for n in os.listdir(self.path) if (m := _CHECKPOINT_RE.match(n))]
        return max(found) if found else None

    def _segment_path(self, n: int) -> str:
        return os.path.join(self.path, f"{n:08d}")

    def replay(self) -> Iterator[tuple[str, int, bytes]]:
        """Yield ``(file, offset, payload)`` for every record: the checkpoint's, then the
        segments' after it. Repairs a torn tail of the last segment (see module doc)."""
        cp = self._checkpoint()
        first = 0
        if cp is not None:
            cp_file = os.path.join(self.path, f"checkpoint.{cp:08d}", "00000000")
            yield from read_frames(cp_file, tolerate_torn_tail=False)
            first = cp + 1
        segments = [s for s in self._segments() if s >= first]
        for i, seg in enumerate(segments):
            if seg != first + i:
                raise StorageError(
                    f"{self._segment_path(seg)}: WAL segment missing before this one "
                    f"(expected {first + i:08d})")
            yield from read_frames(self._segment_path(seg), tolerate_torn_tail=i == len(segments) - 1)
        self._segment = segments[-1] if segments else first

    # ---- writing -------------------------------------------------------------------------

    def _ensure_open(self) -> int:
        if self._closed:
            raise StorageError(f"{self.path}: WAL is closed")
        if self._fd is None:
            p = self._segment_path(self._segment)
            self._fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._size = os.fstat(self._fd).st_size
            fsync_dir(self.path)
        return self._fd

    def log(self, payloads: Iterable[bytes]) -> None:
        """Append records; they are in the kernel when this returns (not necessarily synced)."""
        data = b"".join(frame(p) for p in payloads)
        with self._lock:
            fd = self._ensure_open()
            try:
                write_all(fd, data)
            except OSError:
                # Cut off a partial frame so that later records do not follow garbage.
                try:
                    os.ftruncate(fd, self._size)
                except OSError:
                    log.exception("%s: cannot cut off a partly written WAL record",
                                  self._segment_path(self._segment))
                raise
            self._size += len(data)
            self._dirty = True
            if self._size >= self.segment_bytes:
                try:
                    self._rotate_locked()
                except OSError as e:
                    # The records are written: failing now would report a commit as lost
                    # that the next open replays. The next write retries the new segment.
                    log.error("%s: cannot start a new WAL segment: %s", self.path, e)

    def sync_after_commit(self) -> None:
        """Apply the fsync policy after a commit's records were logged."""
        if self.fsync == "always":
            self.sync()
        elif self.fsync == "batch" and time.monotonic() - self._last_sync >= self.fsync_interval_s:
            self.sync()

    def sync(self) -> None:
        """fsync the current segment if anything was written since the last sync."""
        with self._lock:
            if not self._dirty or self._fd is None:
                return
            # Sync a duplicate descriptor outside the lock so that other writers are not held
            # up by the disk; a rotation meanwhile cannot close it under us.
            try:
                fd = os.dup(self._fd)
            except OSError:
                fd = -1  # out of descriptors: sync the segment's own, holding the lock
            self._dirty = False
            self._last_sync = time.monotonic()
            start = time.perf_counter()
            if fd < 0:
                self._fsync(self._fd)
        if fd >= 0:
            try:
                self._fsync(fd)
            finally:
                os.close(fd)
        if self._metrics is not None:
            self._metrics.wal_fsync_seconds.observe(time.perf_counter() - start)

    def _fsync(self, fd: int) -> None:
        try:
            os.fsync(fd)
        except OSError as e:
            raise StorageError(f"{self._segment_path(self._segment)}: syncing WAL: "
                               f"{e.strerror or e}") from e

    def sync_if_due(self) -> None:
        """Called by a timer: in ``batch`` mode, sync records older than the interval."""
        if self.fsync != "off" and time.monotonic() - self._last_sync >= self.fsync_interval_s:
            self.sync()

    def _rotate_locked(self) -> int:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
        self._segment += 1
        self._dirty = False
        self._ensure_open()
        return self._segment

    def rotate(self) -> int:
        """Start a new segment; returns the number of the last *closed* segment."""
        with self._lock:
            try:
                self._ensure_open()
                return self._rotate_locked() - 1
            except OSError as e:
                raise StorageError(f"{self.path}: cannot start a new WAL segment: "
                                   f"{e.strerror or e}") from e

    def checkpoint(self, upto: int, payloads: Iterable[bytes]) -> None:
        """Write ``payloads`` as ``checkpoint.<upto>`` (atomic rename), then delete segments
        ``<= upto`` and older checkpoints. The caller guarantees the payloads hold everything
        those segments held that is still needed. Raises :class:`StorageError` naming the
        checkpoint and the OS's reason if it cannot be written (a full disk); then the
        segments stay and nothing of the checkpoint is left."""
        final = os.path.join(self.path, f"checkpoint.{upto:08d}")
        tmp = final + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            self._write_checkpoint(tmp, payloads)
            os.replace(tmp, final)
            fsync_dir(self.path)
        except BaseException as e:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(e, OSError):
                raise StorageError(f"{final}: cannot write WAL checkpoint: "
                                   f"{e.strerror or e}") from e
            raise
        for seg in self._segments():
            if seg <= upto:
                os.remove(self._segment_path(seg))
        for name in os.listdir(self.path):
            m = _CHECKPOINT_RE.match(name)
            if m and int(m.group(1)) < upto:
                shutil.rmtree(os.path.join(self.path, name), ignore_errors=True)

    @staticmethod
    def _write_checkpoint(tmp: str, payloads: Iterable[bytes]) -> None:
        os.makedirs(tmp)
        fd = os.open(os.path.join(tmp, "00000000"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            batch: list[bytes] = []
            pending = 0
            for p in payloads:
                batch.append(frame(p))
                pending += len(batch[-1])
                if pending >= 1 << 20:
                    write_all(fd, b"".join(batch))
                    batch, pending = [], 0
            write_all(fd, b"".join(batch))
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(tmp)

    def size_bytes(self) -> int:
        total = 0
        for root, _dirs, files in os.walk(self.path):
            for f in files:
                try:
                    total += os.path.getsize(os.path.join(root, f))
                except FileNotFoundError:  # deleted by a concurrent checkpoint
                    pass
        return total

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                if self._dirty:
                    os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
            self._closed = True
