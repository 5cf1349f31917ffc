"""A real TSDB in a temporary directory for tests, as Prometheus's ``util/teststorage``.

Tests that need a :class:`vigil.storage.Storage` use the ``tsdb_store`` fixture (registered
for the whole tree by ``tests/conftest.py``): a :class:`TempTSDB`, which *is* a
:class:`vigil.tsdb.DB` opened in ``tmp_path`` and closed at teardown, so appends, staleness
markers, duplicate and out-of-order checks behave exactly as in a running Vigil. It adds a
few helpers to put samples in and read them back for assertions. A test that needs more
than one store calls the ``make_tsdb_store`` fixture; for a store shared by a module, open
one with :func:`open_temp_tsdb` in a directory from ``tmp_path_factory``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import pytest

from vigil.model.labels import METRIC_NAME, Labels
from vigil.model.matchers import Matcher, MatchType
from vigil.storage import is_stale
from vigil.tsdb import DB

__all__ = ["TempTSDB", "make_tsdb_store", "open_temp_tsdb", "tsdb_store"]

_ALL_TIME = (-(2**63), 2**63 - 1)
# As teststorage: blocks of a day, so that test data (hours at most) stays in the head and
# close() has nothing to cut; no retention, no WAL fsync (the directory is thrown away).
_BLOCK_RANGE_MS = 24 * 3600_000
_NO_RETENTION_MS = 2**62


class TempTSDB(DB):
    """A :class:`vigil.tsdb.DB` with helpers for tests (see the module docstring)."""

    def add(self, labels: Labels | Mapping[str, str],
            points: Iterable[tuple[int, float]]) -> None:
        """Append ``(ts_ms, value)`` points to one series and commit them."""
        lb = labels if isinstance(labels, Labels) else Labels(dict(labels))
        app = self.appender()
        for ts, v in points:
            app.append(lb, int(ts), float(v))
        app.commit()

    def series(self, name: str | None = None, **labels: str) -> dict[Labels, list[tuple[int, float]]]:
        """Every stored series (named ``name`` and carrying ``labels``, if given), with its
        ``(ts_ms, value)`` points, read back through a querier over all time."""
        matchers = [Matcher(MatchType.REGEX, METRIC_NAME, ".+") if name is None
                    else Matcher.equal(METRIC_NAME, name)]
        matchers += [Matcher.equal(k, v) for k, v in labels.items()]
        querier = self.querier(*_ALL_TIME)
        try:
            return {s.labels: list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True))
                    for s in querier.select(matchers)}
        finally:
            querier.close()

    def values(self, name: str, **labels: str) -> list[float]:
        """Values of the one series named ``name`` carrying ``labels``, oldest first."""
        found = self.series(name, **labels)
        assert len(found) == 1, f"expected one series {name} {labels}, got {list(found)}"
        return [v for _, v in next(iter(found.values()))]

    def last(self, name: str, **labels: str) -> float | None:
        """Newest value of the one series named ``name`` carrying ``labels``; None if no such
        series is stored."""
        if not self.series(name, **labels):
            return None
        return self.values(name, **labels)[-1]

    def is_stale_at(self, labels: Labels, ts_ms: int) -> bool:
        """Whether series ``labels`` has a staleness marker at ``ts_ms``."""
        points = self.series(labels.name, **{k: v for k, v in labels if k != METRIC_NAME})
        return any(t == ts_ms and is_stale(v) for t, v in points.get(labels, []))

    def stale_series(self) -> set[Labels]:
        """Series whose newest sample is a staleness marker."""
        return {lb for lb, pts in self.series().items() if pts and is_stale(pts[-1][1])}


def open_temp_tsdb(path: str | Path) -> TempTSDB:
    """Open a :class:`TempTSDB` in directory ``path``; the caller closes it."""
    db = TempTSDB.open(path, wal_fsync="off", block_range_ms=_BLOCK_RANGE_MS,
                       retention_ms=_NO_RETENTION_MS, compact_interval_s=3600.0)
    assert isinstance(db, TempTSDB)
    return db


@pytest.fixture
def make_tsdb_store(tmp_path: Path) -> Iterator[Callable[[], TempTSDB]]:
    """Opens a new, empty TSDB under ``tmp_path`` at each call; all closed when the test ends."""
    opened: list[TempTSDB] = []

    def make() -> TempTSDB:
        opened.append(open_temp_tsdb(tmp_path / f"tsdb-{len(opened)}"))
        return opened[-1]

    try:
        yield make
    finally:
        for db in opened:
            db.close()


@pytest.fixture
def tsdb_store(make_tsdb_store: Callable[[], TempTSDB]) -> TempTSDB:
    """A real TSDB in a directory under ``tmp_path``, closed when the test ends."""
    return make_tsdb_store()
