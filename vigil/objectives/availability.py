"""Availability per service and the error budget left, computed by Vigil's PromQL engine from
each service's "up" query (``probe_success{...}``, ``up{...}``).

Over a window of ``D`` seconds ending at ``end`` the engine evaluates, with the configured
step ``S``:

* availability = ``avg_over_time((avg(<query>))[Ds:Ss])`` — the mean of the service's up
  value (the share of its targets up) sampled every ``S`` seconds;
* coverage = ``count_over_time((avg(<query>))[Ds:Ss]) * S / D`` — the share of the window
  that had data. Time without data counts neither as up nor as down; a low coverage says so.

Down time = (1 − availability) × coverage × D; the error budget = (1 − target) × D; the
budget left = 1 − down time / budget (negative once overspent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from vigil.config.objectives import AvailabilityService, ObjectivesConfig
from vigil.errors import VigilError
from vigil.promql.parser import ast
from vigil.promql.value import QueryResult, Scalar, Vector

__all__ = ["InstantQueryEngine", "ServiceAvailability", "availability_queries", "check_service_queries",
           "service_availability"]


class InstantQueryEngine(Protocol):
    def instant_query(self, query: str, ts_ms: int) -> QueryResult: ...


@dataclass(frozen=True)
class ServiceAvailability:
    service: str
    query: str
    start: datetime
    end: datetime
    target_percent: float
    availability_ratio: float | None  # None: no data in the window
    coverage_ratio: float
    downtime_seconds: float | None
    budget_seconds: float
    budget_remaining_ratio: float | None
    # The PromQL evaluated, so a reader can run it again.
    availability_query: str
    coverage_query: str
    error: str | None = None

    @property
    def met(self) -> bool | None:
        """Whether the target is met; None when there is no data to say."""
        if self.availability_ratio is None:
            return None
        return self.availability_ratio * 100 >= self.target_percent

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "query": self.query,
                "start": _iso(self.start), "end": _iso(self.end),
                "targetPercent": self.target_percent,
                "availabilityRatio": self.availability_ratio,
                "availabilityPercent": None if self.availability_ratio is None else self.availability_ratio * 100,
                "coverageRatio": self.coverage_ratio, "downtimeSeconds": self.downtime_seconds,
                "errorBudgetSeconds": self.budget_seconds,
                "errorBudgetRemainingRatio": self.budget_remaining_ratio, "met": self.met,
                "availabilityQuery": self.availability_query,
                "coverageQuery": self.coverage_query, "error": self.error}


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def availability_queries(query: str, duration_s: int, step_s: int) -> tuple[str, str]:
    """The availability and coverage expressions for ``query`` over ``duration_s``."""
    inner = f"(avg({query}))[{duration_s}s:{step_s}s]"
    return f"avg_over_time({inner})", f"count_over_time({inner}) * {step_s} / {duration_s}"


def _single(result: QueryResult) -> float | None:
    value = result.value
    if isinstance(value, Scalar):
        return value.value
    if isinstance(value, Vector):
        if not value.samples:
            return None
        return value.samples[0].value
    raise VigilError(f"expected an instant vector, got a {value.type}")


def service_availability(engine: InstantQueryEngine, service: AvailabilityService,
                         target_percent: float, start: datetime, end: datetime,
                         step_s: float) -> ServiceAvailability:
    """The service's availability over ``[start, end]``; a query that fails gives no
    figures and its error (the other services are still computed)."""
    duration_s = max(1, int((end - start).total_seconds()))
    step = max(1, min(int(step_s), duration_s))
    avail_q, cover_q = availability_queries(service.query, duration_s, step)
    budget = (1 - target_percent / 100) * duration_s
    end_ms = int(end.timestamp() * 1000)
    try:
        ratio = _single(engine.instant_query(avail_q, end_ms))
        coverage = _single(engine.instant_query(cover_q, end_ms)) or 0.0
    except VigilError as exc:
        return ServiceAvailability(service.name, service.query, start, end, target_percent, None, 0.0,
                                   None, budget, None, avail_q, cover_q, str(exc))
    coverage = min(1.0, coverage)
    if ratio is None:
        return ServiceAvailability(service.name, service.query, start, end, target_percent, None,
                                   coverage, None, budget, None, avail_q, cover_q)
    downtime = (1 - ratio) * coverage * duration_s
    remaining = 1 - downtime / budget
    return ServiceAvailability(service.name, service.query, start, end, target_percent, ratio,
                               coverage, downtime, budget, remaining, avail_q, cover_q)


def check_service_queries(config: ObjectivesConfig,
                          parse: Callable[[str], ast.Expr]) -> tuple[tuple[str | int, ...], str] | None:
    """The first service whose query is not an instant-vector expression (so the config
    check refuses it before Vigil runs): (its path in the config, the parser's message)."""
    for index, service in enumerate(config.services):
        path: tuple[str | int, ...] = ("objectives", "services", index, "query")
        try:
            expr = parse(service.query)
        except VigilError as exc:
            return path, f"{service.name}: {exc}"
        if expr.type not in (ast.VECTOR, ast.SCALAR):
            return path, f"{service.name}: the query must give an instant vector (1 up, 0 down), not a {ast.DOCUMENTED_TYPE[expr.type]}"
    return None
