"""Shared helpers for the TSDB tests: a DB in a temp dir and a sample reader."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from vigil.model import Labels, Matcher
from vigil.tsdb import DB


@pytest.fixture
def db(tmp_path) -> Iterator[DB]:
    d = DB.open(str(tmp_path / "data"), wal_fsync="off")
    yield d
    d.close()


def _read_all(db: DB, mint: int = -(2**62), maxt: int = 2**62,
             matchers: list[Matcher] | None = None) -> dict[Labels, list[tuple[int, int]]]:
    """All samples as {labels: [(ts, value bits)]}, bits so that NaNs compare exactly."""
    q = db.querier(mint, maxt)
    out = {}
    for s in q.select(matchers or [Matcher.equal("job", "t")]):
        assert s.timestamps.dtype == np.int64 and s.values.dtype == np.float64
        out[s.labels] = list(zip(s.timestamps.tolist(), s.values.view(np.uint64).tolist(),
                                 strict=True))
    q.close()
    return out


def _bits(v: float) -> int:
    return int(np.array([v], dtype=np.float64).view(np.uint64)[0])


@pytest.fixture
def read_all():
    """``read_all(db, mint, maxt, matchers)`` -> {labels: [(ts, value bits)]} (default job="t")."""
    return _read_all


@pytest.fixture
def bits():
    """``bits(v)``: the float64 bit pattern of ``v`` as an int."""
    return _bits
