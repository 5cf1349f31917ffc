"""Adapting a PromQL engine to the rule engine's :data:`QueryFunc` seam."""

from __future__ import annotations

from typing import Any, Protocol

from vigil.errors import QueryError
from vigil.promql.value import QueryResult, Sample, Scalar, Vector
from vigil.rules._base import QueryFunc


class InstantQuerier(Protocol):
    def instant_query(self, query: Any, ts_ms: int) -> QueryResult: ...


def engine_query_func(engine: InstantQuerier) -> QueryFunc:
    """A :data:`QueryFunc` over ``engine`` (such as ``vigil.promql.engine.Engine``). A scalar
    result becomes a one-sample vector without labels, as Prometheus's ``EngineQueryFunc``."""

    def query(expr: Any, ts_ms: int) -> Vector:
        value = engine.instant_query(expr, ts_ms).value
        if isinstance(value, Vector):
            return value
        if isinstance(value, Scalar):
            from vigil.model.labels import Labels

            return Vector([Sample(Labels(), value.ts_ms, value.value)])
        raise QueryError("rule result is not a vector or scalar")

    return query
