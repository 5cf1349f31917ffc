"""An in-memory, appendable :class:`vigil.storage.Storage` for rule unit tests.

Input series are appended a little at a time as evaluation time advances (as promtool's
lazy loader does), and rule results are appended after every group evaluation, so the store
keeps one growing array pair per series and re-freezes only the series that changed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from vigil.errors import DuplicateSampleForTimestamp, OutOfOrderSample, StorageError
from vigil.model.labels import METRIC_NAME, Labels
from vigil.model.matchers import Matcher, MatchType
from vigil.storage import Series, SeriesSet


class _Column:
    """One series: timestamps (ms) and values, appended in time order."""

    __slots__ = ("ts", "vs", "_frozen")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.vs: list[float] = []
        self._frozen: tuple[np.ndarray, np.ndarray] | None = None

    def check(self, ts_ms: int, value: float, labels: Labels) -> None:
        if not self.ts or ts_ms > self.ts[-1]:
            return
        if ts_ms < self.ts[-1]:
            raise OutOfOrderSample(f"out of order sample for {labels} at {ts_ms}")
        last = self.vs[-1]
        if not (last == value or (math.isnan(last) and math.isnan(value))):
            raise DuplicateSampleForTimestamp(f"duplicate sample for timestamp {ts_ms} of {labels}")

    def add(self, ts_ms: int, value: float) -> None:
        if self.ts and ts_ms <= self.ts[-1]:
            self.vs[-1] = value  # same timestamp and (checked) same value: nothing new
            return
        self.ts.append(ts_ms)
        self.vs.append(value)
        self._frozen = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self._frozen is None:
            self._frozen = (np.array(self.ts, dtype=np.int64), np.array(self.vs, dtype=np.float64))
        return self._frozen


class MemoryStorage:
    """Thread-unsafe in-memory storage: appends become visible on ``commit``."""

    def __init__(self) -> None:
        self._series: dict[Labels, _Column] = {}
        # Series label sets by metric name, each list sorted (rebuilt when a name gains one):
        # rule evaluation selects by name thousands of times per test file.
        self._by_name: dict[str, list[Labels]] = {}

    def appender(self) -> _Appender:
        return _Appender(self)

    def querier(self, mint_ms: int, maxt_ms: int) -> _Querier:
        return _Querier(self, mint_ms, maxt_ms)

    def close(self) -> None:
        self._series.clear()
        self._by_name.clear()

    def _column(self, labels: Labels) -> _Column:
        col = self._series.get(labels)
        if col is None:
            col = self._series[labels] = _Column()
            self._by_name[labels.name] = sorted([*self._by_name.get(labels.name, ()), labels])
        return col

    def _candidates(self, matchers: Sequence[Matcher]) -> list[Labels]:
        for m in matchers:
            if m.name == METRIC_NAME and m.type == MatchType.EQUAL:
                return self._by_name.get(m.value, [])
        return sorted(self._series)


class _Appender:
    def __init__(self, store: MemoryStorage) -> None:
        self._store = store
        self._pending: list[tuple[Labels, int, float]] = []
        self._done = False

    def append(self, labels: Labels, ts_ms: int, value: float) -> None:
        if self._done:
            raise StorageError("appender already committed or rolled back")
        col = self._store._series.get(labels)
        if col is not None:
            col.check(int(ts_ms), float(value), labels)
        self._pending.append((labels, int(ts_ms), float(value)))

    def commit(self) -> None:
        self._done = True
        for labels, ts, v in self._pending:
            self._store._column(labels).add(ts, v)
        self._pending = []

    def rollback(self) -> None:
        self._done = True
        self._pending = []


class _Querier:
    def __init__(self, store: MemoryStorage, mint: int, maxt: int) -> None:
        self._store, self._series, self._mint, self._maxt = store, store._series, mint, maxt

    def select(self, matchers: Sequence[Matcher]) -> SeriesSet:
        return SeriesSet.of(self._matching(matchers))

    def _matching(self, matchers: Sequence[Matcher]) -> Iterator[Series]:
        for lb in self._store._candidates(matchers):
            if not all(m.matches_labels(lb) for m in matchers):
                continue
            t, v = self._series[lb].arrays()
            lo = int(np.searchsorted(t, self._mint, side="left"))
            hi = int(np.searchsorted(t, self._maxt, side="right"))
            if hi > lo:
                yield Series(lb, t[lo:hi].copy(), v[lo:hi].copy())  # caller owns them

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({k for lb in self._series if all(m.matches_labels(lb) for m in matchers)
                       for k, _ in lb})

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        return sorted({v for lb in self._series if all(m.matches_labels(lb) for m in matchers)
                       if (v := lb.get(name))})

    def close(self) -> None:
        pass
