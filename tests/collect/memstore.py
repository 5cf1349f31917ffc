"""A tiny in-memory :class:`vigil.storage.Storage` for collect tests (a fake at the seam).

Like the real head appender: samples become visible on ``commit``; an older timestamp than
a series' newest raises ``OutOfOrderSample``; the same timestamp with the same value is
ignored, with another value raises ``StorageError``. Thread-safe.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator, Sequence

import numpy as np

from vigil.errors import OutOfOrderSample, StorageError
from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, match_all
from vigil.storage import Series, is_stale


def _bits(v: float) -> bytes:
    return struct.pack("<d", v)


class MemStorage:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data: dict[Labels, list[tuple[int, float]]] = {}
        self.commits = 0

    def appender(self) -> MemAppender:
        return MemAppender(self)

    def querier(self, mint_ms: int, maxt_ms: int) -> MemQuerier:
        return MemQuerier(self, mint_ms, maxt_ms)

    def close(self) -> None:
        pass

    # -- test helpers ------------------------------------------------------------------

    def find(self, name: str, **labels: str) -> dict[Labels, list[tuple[int, float]]]:
        """Series named ``name`` whose labels include ``labels``."""
        with self.lock:
            return {ls: list(pts) for ls, pts in self.data.items()
                    if ls.name == name and all(ls.get(k) == v for k, v in labels.items())}

    def values(self, name: str, **labels: str) -> list[float]:
        """Values of the single series matching, oldest first."""
        found = self.find(name, **labels)
        assert len(found) == 1, f"expected one series {name} {labels}, got {list(found)}"
        return [v for _, v in next(iter(found.values()))]

    def last(self, name: str, **labels: str) -> float | None:
        vals = self.values(name, **labels) if self.find(name, **labels) else []
        return vals[-1] if vals else None

    def stale_series(self) -> set[Labels]:
        with self.lock:
            return {ls for ls, pts in self.data.items() if pts and is_stale(pts[-1][1])}


class MemAppender:
    def __init__(self, store: MemStorage) -> None:
        self._store = store
        self._pending: dict[Labels, list[tuple[int, float]]] = {}
        self._done = False

    def append(self, labels: Labels, ts_ms: int, value: float) -> None:
        if self._done:
            raise StorageError("appender already used")
        buf = self._pending.get(labels)
        if buf:
            last = buf[-1]
        else:
            with self._store.lock:
                pts = self._store.data.get(labels)
                last = pts[-1] if pts else None
        if last is not None:
            if ts_ms < last[0]:
                raise OutOfOrderSample(f"out of order sample: {labels} @ {ts_ms}")
            if ts_ms == last[0]:
                if _bits(value) == _bits(last[1]):
                    return
                raise StorageError(f"duplicate sample for timestamp: {labels} @ {ts_ms}")
        self._pending.setdefault(labels, []).append((int(ts_ms), float(value)))

    def commit(self) -> None:
        self._done = True
        with self._store.lock:
            for labels, pts in self._pending.items():
                self._store.data.setdefault(labels, []).extend(pts)
            self._store.commits += 1

    def rollback(self) -> None:
        self._done = True
        self._pending = {}


class MemQuerier:
    def __init__(self, store: MemStorage, mint: int, maxt: int) -> None:
        self._store, self._mint, self._maxt = store, mint, maxt

    def select(self, matchers: Sequence[Matcher]) -> Iterator[Series]:
        with self._store.lock:
            items = sorted(self._store.data.items())
        for labels, pts in items:
            if not match_all(list(matchers), labels):
                continue
            inside = [(t, v) for t, v in pts if self._mint <= t <= self._maxt]
            if inside:
                yield Series(labels, np.array([t for t, _ in inside], dtype=np.int64),
                             np.array([v for _, v in inside], dtype=np.float64))

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({k for s in self.select(matchers) for k, _ in s.labels})

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({s.labels.get(name) for s in self.select(matchers)} - {""})

    def close(self) -> None:
        pass
