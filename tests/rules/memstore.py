"""An in-memory :class:`vigil.storage.Storage` for rule tests (a fake at the storage seam).

Samples become visible on ``commit``; an append older than the series' newest sample raises
``OutOfOrderSample`` as the real head does. Thread-safe (the manager evaluates in threads).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np

from vigil.errors import OutOfOrderSample, StorageError
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.storage import Series, is_stale


class MemStorage:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.series: dict[Labels, list[tuple[int, float]]] = {}

    def appender(self) -> MemAppender:
        return MemAppender(self)

    def querier(self, mint_ms: int, maxt_ms: int) -> MemQuerier:
        return MemQuerier(self, mint_ms, maxt_ms)

    def close(self) -> None:
        pass

    def add(self, labels: Labels | dict[str, str], points: Sequence[tuple[int, float]]) -> None:
        """Test helper: append ``(ts_ms, value)`` points to one series and commit."""
        app = self.appender()
        for ts, v in points:
            app.append(Labels(labels), ts, v)
        app.commit()

    def get(self, name: str, **labels: str) -> dict[Labels, list[tuple[int, float]]]:
        """Series named ``name`` that carry ``labels`` (a subset match)."""
        with self._lock:
            return {ls: list(pts) for ls, pts in self.series.items()
                    if ls.name == name and all(ls.get(k) == v for k, v in labels.items())}

    def is_stale_at(self, labels: Labels, ts_ms: int) -> bool:
        with self._lock:
            return any(t == ts_ms and is_stale(v) for t, v in self.series.get(labels, []))


class MemAppender:
    def __init__(self, store: MemStorage) -> None:
        self._store = store
        self._pending: list[tuple[Labels, int, float]] = []
        self._done = False

    def append(self, labels: Labels, ts_ms: int, value: float) -> None:
        if self._done:
            raise StorageError("appender already used")
        with self._store._lock:
            pts = self._store.series.get(labels)
            if pts and ts_ms < pts[-1][0]:
                raise OutOfOrderSample(f"out of order sample for {labels} at {ts_ms}")
        self._pending.append((labels, int(ts_ms), float(value)))

    def commit(self) -> None:
        self._done = True
        with self._store._lock:
            for labels, ts, v in self._pending:
                self._store.series.setdefault(labels, []).append((ts, v))

    def rollback(self) -> None:
        self._done = True
        self._pending = []


class MemQuerier:
    def __init__(self, store: MemStorage, mint: int, maxt: int) -> None:
        self._store, self._mint, self._maxt = store, mint, maxt

    def select(self, matchers: Sequence[Matcher]) -> Iterator[Series]:
        with self._store._lock:
            items = sorted((ls, list(pts)) for ls, pts in self._store.series.items())
        for labels, pts in items:
            if not all(m.matches_labels(labels) for m in matchers):
                continue
            inside = sorted((t, v) for t, v in pts if self._mint <= t <= self._maxt)
            if inside:
                yield Series(labels, np.array([t for t, _ in inside], dtype=np.int64),
                             np.array([v for _, v in inside], dtype=np.float64))

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({k for s in self.select(matchers) for k, _ in s.labels})

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({s.labels.get(name) for s in self.select(matchers)} - {""})

    def close(self) -> None:
        pass
