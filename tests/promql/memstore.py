"""A tiny in-memory :class:`vigil.storage.Storage` for engine tests (no persistence)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np

from vigil.model.labels import Labels
from vigil.model.matchers import Matcher
from vigil.storage.interface import Series


class MemStorage:
    def __init__(self) -> None:
        self._data: dict[Labels, dict[int, float]] = {}
        self._lock = threading.Lock()

    def add_series(self, labels: Labels | dict[str, str], ts_ms: Sequence[int],
                   values: Sequence[float]) -> None:
        """Shortcut for tests: append and commit one series' samples."""
        app = self.appender()
        lb = labels if isinstance(labels, Labels) else Labels(labels)
        for t, v in zip(ts_ms, values, strict=True):
            app.append(lb, int(t), float(v))
        app.commit()

    def appender(self) -> _Appender:
        return _Appender(self)

    def querier(self, mint_ms: int, maxt_ms: int) -> _Querier:
        with self._lock:
            snap = {lb: dict(pts) for lb, pts in self._data.items()}
        return _Querier(snap, mint_ms, maxt_ms)

    def close(self) -> None:
        pass


class _Appender:
    def __init__(self, store: MemStorage) -> None:
        self._store = store
        self._pending: list[tuple[Labels, int, float]] = []

    def append(self, labels: Labels, ts_ms: int, value: float) -> None:
        self._pending.append((labels, ts_ms, value))

    def commit(self) -> None:
        with self._store._lock:
            for lb, t, v in self._pending:
                self._store._data.setdefault(lb, {})[t] = v
        self._pending = []

    def rollback(self) -> None:
        self._pending = []


class _Querier:
    def __init__(self, data: dict[Labels, dict[int, float]], mint: int, maxt: int) -> None:
        self._data, self._mint, self._maxt = data, mint, maxt

    def select(self, matchers: Sequence[Matcher]) -> Iterator[Series]:
        for lb in sorted(self._data):
            if not all(m.matches_labels(lb) for m in matchers):
                continue
            ts = sorted(t for t in self._data[lb] if self._mint <= t <= self._maxt)
            if ts:
                yield Series(lb, np.array(ts, dtype=np.int64),
                             np.array([self._data[lb][t] for t in ts], dtype=np.float64))

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({k for lb in self._data for k, _ in lb})

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({lb.get(name) for lb in self._data if lb.get(name)})

    def close(self) -> None:
        pass
