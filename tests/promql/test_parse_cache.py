"""The engine keeps parsed queries: a kept tree is never changed by evaluation (the same text
at another step gets its own durations), features are part of the key, and a query that
does not parse fails every time."""

from __future__ import annotations

import pytest

from tests.support.tsdb_store import TempTSDB
from vigil.errors import ParseError
from vigil.model.features import ALL_FEATURES, DEFAULT_FEATURES
from vigil.promql.engine import Engine
from vigil.promql.value import Matrix


def test_a_kept_query_serves_every_step(tsdb_store: TempTSDB) -> None:
    tsdb_store.add({"__name__": "m"}, [(t, 1.0) for t in range(0, 100_000, 1000)])
    eng = Engine(tsdb_store, features=ALL_FEATURES)
    q = "count_over_time(m[step() * 2])"
    assert eng.parse(q) is eng.parse(q)
    for step_ms, want in ((5_000, 10.0), (2_000, 4.0), (5_000, 10.0)):
        m = eng.range_query(q, 50_000, 60_000, step_ms).value
        assert isinstance(m, Matrix) and set(m.series[0].values.tolist()) == {want}
    assert str(eng.parse(q)) == "count_over_time(m[step() * 2])"


def test_features_are_part_of_the_key(tsdb_store: TempTSDB) -> None:
    assert Engine(tsdb_store, features=ALL_FEATURES).parse("1 + step()") is not None
    for _ in range(2):
        with pytest.raises(ParseError, match='function "step" is not enabled'):
            Engine(tsdb_store, features=DEFAULT_FEATURES).parse("1 + step()")


def test_a_parse_error_is_raised_each_time(tsdb_store: TempTSDB) -> None:
    eng = Engine(tsdb_store)
    for _ in range(3):
        with pytest.raises(ParseError):
            eng.instant_query("sum(", 0)
