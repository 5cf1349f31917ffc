"""The log store's write-ahead log: what is acknowledged but not yet in a chunk.

``<store>/wal/`` holds numbered segments (``00000007``, 8 decimal digits). Each record is
``u32 length, u32 crc32(payload)`` (little-endian) then the payload, an encoded batch
(:mod:`._codec`). Records are handed to the kernel with ``os.write`` before ``append``
returns, so a killed process loses nothing; ``fsync`` (policy ``always``/``batch``/``off``)
only matters for an OS crash or power loss.

When the head is cut into chunks, each chunk records the segment number it was cut at; the
segments up to it are then deleted. A crash between writing the chunks and deleting the
segments is recovered at open: segments a chunk already covers are deleted, not replayed.

Recovery: a short, zero-filled or crc-failing frame at the very end of the *last* segment is a
write torn by a crash: replay stops there, a warning names file and offset, and the file is
truncated. Anything else that is malformed raises :class:`StorageError` naming the place.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from typing import Literal

from vigil.errors import StorageError
from vigil.storage.framing import frame, fsync_dir, read_frames, write_all

log = logging.getLogger(__name__)

FsyncPolicy = Literal["always", "batch", "off"]
_SEGMENT_RE = re.compile(r"^\d{8}$")


class WAL:
    """Not thread-safe: the store serialises calls under its own lock."""

    def __init__(self, path: str, fsync: FsyncPolicy = "batch", fsync_interval_s: float = 1.0):
        self.path = path
        self.fsync = fsync
        self.fsync_interval_s = fsync_interval_s
        self.segment = 0
        self._fd: int | None = None
        self._size = 0
        self._dirty = False
        self._last_sync = time.monotonic()
        os.makedirs(path, exist_ok=True)

    def segments(self) -> list[int]:
        return sorted(int(n) for n in os.listdir(self.path) if _SEGMENT_RE.match(n))

    def segment_path(self, n: int) -> str:
        return os.path.join(self.path, f"{n:08d}")

    def replay(self, persisted_upto: int) -> Iterator[tuple[str, int, bytes]]:
        """Delete segments ``<= persisted_upto`` (already in chunks), then yield
        ``(file, offset, payload)`` of every record of the others, oldest first."""
        segments = self.segments()
        for seg in segments:
            if seg <= persisted_upto:
                os.remove(self.segment_path(seg))
        rest = [s for s in segments if s > persisted_upto]
        for i, seg in enumerate(rest):
            yield from read_frames(self.segment_path(seg), tolerate_torn_tail=i == len(rest) - 1)
        self.segment = rest[-1] if rest else persisted_upto + 1

    def log(self, payload: bytes) -> None:
        """Append one record; it is in the kernel when this returns."""
        if self._fd is None:
            self._fd = os.open(self.segment_path(self.segment),
                               os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._size = os.fstat(self._fd).st_size
            fsync_dir(self.path)
        data = frame(payload)
        try:
            write_all(self._fd, data)
        except OSError as e:
            try:  # cut off a partial frame so that later records do not follow garbage
                os.ftruncate(self._fd, self._size)
            except OSError:
                log.exception("%s: cannot cut off a partly written WAL record",
                              self.segment_path(self.segment))
            raise StorageError(f"{self.segment_path(self.segment)}: writing WAL: "
                               f"{e.strerror or e}") from e
        self._size += len(data)
        self._dirty = True
        if self.fsync == "always" or (
                self.fsync == "batch"
                and time.monotonic() - self._last_sync >= self.fsync_interval_s):
            self.sync()

    def sync_if_due(self) -> None:
        if self.fsync != "off" and time.monotonic() - self._last_sync >= self.fsync_interval_s:
            self.sync()

    def sync(self) -> None:
        if self._fd is not None and self._dirty:
            try:
                os.fsync(self._fd)
            except OSError as e:
                raise StorageError(f"{self.segment_path(self.segment)}: syncing WAL: "
                                   f"{e.strerror or e}") from e
            self._dirty = False
            self._last_sync = time.monotonic()

    def truncate_upto(self, segment: int) -> None:
        """Everything logged so far is in chunks: delete segments ``<= segment`` and start
        the next one."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        # The next records go to a new segment even if a deletion below fails: a segment
        # <= ``segment`` is deleted unread at the next open.
        self.segment = segment + 1
        self._dirty = False
        for seg in self.segments():
            if seg <= segment:
                os.remove(self.segment_path(seg))

    def size_bytes(self) -> int:
        return sum(os.path.getsize(self.segment_path(s)) for s in self.segments())

    def close(self) -> None:
        if self._fd is not None:
            self.sync()
            os.close(self._fd)
            self._fd = None
