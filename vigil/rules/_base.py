"""What recording and alerting rules share: the query seam, health bookkeeping, time helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Literal

from vigil.errors import QueryError
from vigil.promql.value import Vector

QueryFunc = Callable[[Any, int], Vector]
"""Runs an instant query: ``(expr, ts_ms) -> Vector``. ``expr`` is a parsed PromQL AST
(``vigil.promql``); ``ts_ms`` is the evaluation time in Unix milliseconds. Raises on failure.

The query function of another rule language (the manager's ``languages``, e.g. LogQL for
Loki ruler files) gets either what that language's parser made of a rule's ``expr``
(``Rule.parsed``) or the text of a query an alert template runs (``{{ query "..." }}``),
and must take both."""


class RuleEvalError(QueryError):
    """A rule's result could not be used (duplicate label sets, limit exceeded)."""


def ms_to_dt(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)


def dt_to_ms(dt: datetime | None) -> int | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return round(dt.timestamp() * 1000)


class RuleHealth:
    """Mutable health of one rule, updated by its group after each evaluation."""

    def __init__(self) -> None:
        self.health: Literal["ok", "err", "unknown"] = "unknown"
        self.last_error = ""
        self.last_evaluation_ms: int | None = None
        self.evaluation_time_s = 0.0

    def record(self, ts_ms: int, duration_s: float, error: str | None) -> None:
        self.last_evaluation_ms = ts_ms
        self.evaluation_time_s = duration_s
        self.health = "err" if error is not None else "ok"
        self.last_error = error or ""
