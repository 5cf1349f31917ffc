"""A LogAppender over a list, for the ingest tests (the store has its own durability tests)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from vigil.errors import StorageError
from vigil.logs.model import LogEntry


class MemoryAppender:
    def __init__(self) -> None:
        self.entries: list[LogEntry] = []
        self.batches = 0
        self.fail_next = False  # the next append raises StorageError, as a full disk would
        self._cond = threading.Condition()

    def append(self, entries: Sequence[LogEntry]) -> int:
        with self._cond:
            if self.fail_next:
                self.fail_next = False
                raise StorageError("disk full")
            self.entries.extend(entries)
            self.batches += 1
            self._cond.notify_all()
        return len(entries)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[LogEntry]:
        """The entries once there are ``count`` of them; fails the test on the deadline."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.entries) >= count, timeout):
                raise AssertionError(f"expected {count} entries, got {len(self.entries)}: "
                                     f"{[e.line for e in self.entries]}")
            return list(self.entries)
