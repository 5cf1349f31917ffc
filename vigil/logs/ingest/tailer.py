"""Follows one local file as ``tail -F`` does, through rotation and truncation, keeping its
position across restarts in a small state file.

- **Rotation by rename** (logrotate's default, ``create``): when the path names another
  inode, the old file is read to its end (lines written before the rename are not lost),
  then the new file from its start.
- **Copytruncate and truncation**: when the file is shorter than the position, it starts
  over at 0. (What a writer adds between logrotate's copy and its truncate is lost; that is
  copytruncate's, not the tailer's, limitation.)
- **Restarts**: the state file holds the device, inode, position and a hash of the file's
  first bytes. On start, the same file (same inode and head) resumes at the position; a file
  rotated away while Vigil was down is looked for by inode beside the path and read to its end
  first; any other file starts at 0.

Only whole lines are taken (a line still being written waits for its newline), and the state
is written after the appender returned: a crash between the two repeats lines, never loses
them. One tailer per file; ``poll`` is not thread-safe.
"""

from __future__ import annotations

import asyncio
import glob
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from vigil.logs.model import LogAppender, LogEntry
from vigil.model.labels import Labels

__all__ = ["FileTailer", "TailState"]

_HEAD = 256  # bytes hashed to recognise the same file after a restart


@dataclass
class TailState:
    dev: int
    inode: int
    offset: int
    head_len: int
    head_sha256: str


def _head(fd: int, length: int) -> tuple[int, str]:
    data = os.pread(fd, min(length, _HEAD), 0)
    return len(data), hashlib.sha256(data).hexdigest()


class FileTailer:
    """``labels`` are the stream labels (``filename`` is added); each line becomes an entry
    stamped with the read time, unless ``to_entry`` builds it."""

    def __init__(self, path: str | os.PathLike[str], appender: LogAppender, *,
                 state_path: str | os.PathLike[str], labels: Labels = Labels({"job": "file"}),
                 to_entry: Callable[[str, Labels, int], LogEntry] | None = None,
                 max_line: int = 1 << 20, batch_bytes: int = 1 << 20,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.path = Path(path)
        self.appender = appender
        self.state_path = Path(state_path)
        self.labels = labels.merge({"filename": str(self.path)})
        self.to_entry = to_entry or (lambda line, labels, now: LogEntry(now, labels, line))
        self.max_line = max_line
        self.batch_bytes = max(batch_bytes, max_line)  # bytes read (and appended) at a time
        self.clock = clock
        self._fd: int | None = None
        self._offset = 0
        self._head: tuple[int, str] = (0, "")  # what the file's first bytes were at _offset
        self._started = False

    def poll(self) -> int:
        """Reads what is new and appends it; returns how many entries were stored."""
        stored = 0
        if not self._started:
            self._started = True
            stored += self._resume()
        if self._fd is None and not self._open(0):
            return stored
        assert self._fd is not None
        if os.fstat(self._fd).st_size < self._offset or (
                self._offset and _head(self._fd, self._head[0]) != self._head):
            self._offset = 0  # truncated or copytruncated (and maybe written again since)
        stored += self._read(final=False)
        try:
            current = os.stat(self.path)
            rotated = (current.st_dev, current.st_ino) != self._identity()
        except FileNotFoundError:
            rotated, current = True, None
        if rotated:
            stored += self._read(final=True)  # the rest of the old file, its last line too
            os.close(self._fd)
            self._fd = None
            if current is not None and self._open(0):
                stored += self._read(final=False)
        return stored

    async def follow(self, stop: asyncio.Event, interval_s: float = 1.0) -> None:
        """Polls every ``interval_s`` (in a worker thread) until ``stop`` is set."""
        while not stop.is_set():
            await asyncio.to_thread(self.poll)
            try:
                await asyncio.wait_for(stop.wait(), interval_s)
            except TimeoutError:
                pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _identity(self) -> tuple[int, int]:
        assert self._fd is not None
        st = os.fstat(self._fd)
        return st.st_dev, st.st_ino

    def _open(self, offset: int) -> bool:
        try:
            self._fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        self._offset = offset
        self._head = (0, "")
        return True

    def _resume(self) -> int:
        state = self._load_state()
        if state is None or not self._open(0):
            return 0
        assert self._fd is not None
        if (state.dev, state.inode) == self._identity():
            if os.fstat(self._fd).st_size >= state.offset and \
                    _head(self._fd, state.head_len) == (state.head_len, state.head_sha256):
                self._offset = state.offset
                self._head = (state.head_len, state.head_sha256)
            return 0
        # Rotated while we were down: finish the old file if it is still beside the path.
        stored = 0
        for sibling in self.path.parent.glob(glob.escape(self.path.name) + "*"):
            try:
                st = os.stat(sibling)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == (state.dev, state.inode):
                new_fd, new_offset = self._fd, 0
                self._fd, self._offset = os.open(sibling, os.O_RDONLY), state.offset
                stored = self._read(final=True)
                os.close(self._fd)
                self._fd, self._offset = new_fd, new_offset
                break
        return stored

    def _read(self, *, final: bool) -> int:
        assert self._fd is not None
        stored = 0
        while True:
            data = os.pread(self._fd, self.batch_bytes, self._offset)
            if not data:
                return stored
            end = data.rfind(b"\n")
            if end < 0 and len(data) < self.max_line and not final:
                return stored  # a line still being written
            chunk = data if end < 0 or (final and len(data) < self.batch_bytes) else data[:end + 1]
            lines = chunk.split(b"\n")
            if chunk.endswith(b"\n"):
                lines.pop()
            now = self.clock()
            entries = [self.to_entry(line.rstrip(b"\r").decode("utf-8", "replace"),
                                     self.labels, now) for line in lines]
            if entries:
                stored += self.appender.append(entries)
            self._offset += len(chunk)
            self._save_state()

    def _load_state(self) -> TailState | None:
        try:
            return TailState(**json.loads(self.state_path.read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            return None

    def _save_state(self) -> None:
        assert self._fd is not None
        dev, inode = self._identity()
        head_len, head_sha = self._head = _head(self._fd, self._offset)
        state = TailState(dev, inode, self._offset, head_len, head_sha)
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(asdict(state), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_path)
