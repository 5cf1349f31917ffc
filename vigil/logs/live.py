"""Live tail: new log entries handed to subscribers as they are stored (Loki's
``/loki/api/v1/tail``).

Every append path of :class:`vigil.logs.runtime.LogsRuntime` (HTTP sources, syslog, file
tailers) goes through :class:`PublishingAppender`, which stores first and then offers the
stored entries to the :class:`TailHub`. A :class:`Subscription` keeps those whose stream
matches its selector in a bounded buffer: when a slow client lets the buffer fill, further
entries are *dropped* for that client (their labels and times are kept, up to a bound, so the
client can be told, as Loki's ``dropped_entries``); ingest never waits for a client.
Publishing may happen on any thread; a subscriber waits on its own event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Sequence

from vigil.logs.model import LogAppender, LogEntry
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher

__all__ = ["PublishingAppender", "Subscription", "TailHub"]

BUFFER_ENTRIES = 10_000  # per subscriber; past that the client is too slow and entries drop
DROPPED_KEPT = 1_000  # dropped entries remembered per subscriber between two sends


class Subscription:
    """One tailing client: entries of streams matching ``matchers``, in arrival order."""

    def __init__(self, matchers: Sequence[Matcher], loop: asyncio.AbstractEventLoop,
                 capacity: int = BUFFER_ENTRIES) -> None:
        self.matchers = tuple(matchers)
        self.capacity = capacity
        self._loop = loop
        self._lock = threading.Lock()
        self._buffer: deque[LogEntry] = deque()
        self._dropped: list[tuple[Labels, int]] = []
        self._dropped_total = 0
        self._ready = asyncio.Event()
        self._matches: dict[Labels, bool] = {}

    def _selects(self, labels: Labels) -> bool:
        found = self._matches.get(labels)
        if found is None:
            found = all(m.matches_labels(labels) for m in self.matchers)
            if len(self._matches) < 10_000:  # a bound on the cache, not on correctness
                self._matches[labels] = found
        return found

    def offer(self, entries: Sequence[LogEntry]) -> None:
        """Called by the hub on the appending thread; never blocks on the client."""
        wake = False
        with self._lock:
            for entry in entries:
                if not self._selects(entry.labels):
                    continue
                if len(self._buffer) >= self.capacity:
                    self._dropped_total += 1
                    if len(self._dropped) < DROPPED_KEPT:
                        self._dropped.append((entry.labels, entry.ts_ns))
                    continue
                if not self._buffer:
                    wake = True
                self._buffer.append(entry)
        if wake:
            try:
                self._loop.call_soon_threadsafe(self._ready.set)
            except RuntimeError:  # the client's loop is closed: it is going away
                pass

    async def wait(self) -> None:
        """Until entries are buffered (returns at once if some are)."""
        await self._ready.wait()

    def take(self) -> tuple[list[LogEntry], list[tuple[Labels, int]], int]:
        """The buffered entries, the dropped ones remembered and how many dropped in all,
        since the last take."""
        with self._lock:
            entries = list(self._buffer)
            self._buffer.clear()
            dropped, self._dropped = self._dropped, []
            total, self._dropped_total = self._dropped_total, 0
            self._ready.clear()
        return entries, dropped, total


class TailHub:
    """The subscriptions of a running Vigil."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: tuple[Subscription, ...] = ()

    def subscribe(self, matchers: Sequence[Matcher], capacity: int = BUFFER_ENTRIES) -> Subscription:
        """Must be called on the subscriber's running event loop."""
        sub = Subscription(matchers, asyncio.get_running_loop(), capacity)
        with self._lock:
            self._subscriptions = (*self._subscriptions, sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subscriptions = tuple(s for s in self._subscriptions if s is not sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def publish(self, entries: Sequence[LogEntry]) -> None:
        for sub in self._subscriptions:  # a snapshot: subscribing never waits on publishing
            sub.offer(entries)


class PublishingAppender:
    """A LogAppender that stores through ``store`` and then offers what it stored to ``hub``
    (entries an append refused are never shown live)."""

    def __init__(self, store: LogAppender, hub: TailHub) -> None:
        self.store = store
        self.hub = hub

    def append(self, entries: Sequence[LogEntry]) -> int:
        stored = self.store.append(entries)
        if self.hub.subscribers and entries:
            self.hub.publish(entries)
        return stored
