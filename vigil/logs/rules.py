"""Log rules: LogQL as a query language of Vigil's rule manager (Loki's ruler files).

A Loki ruler file is a Prometheus rule file whose ``expr`` are LogQL metric queries. The rule
stage loads it with :func:`parse_rule_expr` as the language's parser and tags its groups
:data:`LOGQL`; the manager then evaluates them through :func:`logql_query_func`, an adapter
from :meth:`LogQLEngine.instant` to the rules' query-function contract
(``vigil.rules.QueryFunc``: ``(expr, ts_ms) -> Vector``, raising on failure). Recorded series
and alerts then take the same way as those of PromQL rules. This module does not import the
rule stage: the assembly (``vigil.app``) hands these functions to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vigil.logs.logql import ast
from vigil.logs.logql.engine import LogQLEngine
from vigil.logs.logql.errors import ParseError, QueryError
from vigil.logs.logql.parser import parse_expr
from vigil.model.labels import Labels
from vigil.promql.value import Sample, Scalar, Vector

__all__ = ["LOGQL", "logql_query_func", "parse_rule_expr"]

LOGQL = "logql"
"""The language name of log rule groups (``RuleGroup.language``)."""

_NS_PER_MS = 1_000_000


def parse_rule_expr(text: str) -> ast.Expr:
    """Parse a log rule's ``expr``. It must be a metric query: a log query returns lines,
    which neither a recording rule nor an alerting rule can use (Loki accepts such a file
    and fails every evaluation instead; refusing it at load time says so once, located)."""
    expr = parse_expr(text)
    if isinstance(expr, ast.LogSelector):
        raise ParseError("only sample expression supported: a rule needs a metric query such "
                         "as count_over_time({app=\"x\"} |= \"error\" [5m]), not a log query")
    return expr


def logql_query_func(engine: LogQLEngine) -> Callable[[Any, int], Vector]:
    """A rule query function over ``engine``: ``expr`` is a parsed LogQL expression or its
    text (alert templates' ``query``), ``ts_ms`` the evaluation time in Unix milliseconds.
    A scalar result is one sample without labels, as Loki's ruler makes it."""

    def query(expr: Any, ts_ms: int) -> Vector:
        value = engine.instant(expr, ts_ms * _NS_PER_MS)
        if isinstance(value, Vector):
            return value
        if isinstance(value, Scalar):
            return Vector([Sample(Labels(), value.ts_ms, value.value)])
        raise QueryError("rule result is not a vector or scalar")

    return query
