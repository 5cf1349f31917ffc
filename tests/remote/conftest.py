"""A real TSDB in a temp dir, and helpers to read it back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vigil.model import Labels, Matcher, MatchType
from vigil.tsdb import DB


@pytest.fixture
def db(tmp_path) -> Iterator[DB]:
    d = DB.open(str(tmp_path / "tsdb"), wal_fsync="off")
    yield d
    d.close()


def read_all(db: DB, *matchers: Matcher) -> dict[Labels, list[tuple[int, float]]]:
    q = db.querier(-(2**62), 2**62)
    try:
        ms = list(matchers) or [Matcher(MatchType.REGEX, "__name__", ".+")]
        return {s.labels: list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True))
                for s in q.select(ms)}
    finally:
        q.close()
