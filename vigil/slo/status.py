"""The state of each SLO at an instant: error budget left over the SLO period and the burn rate
over each of the alert windows — what the ``/slos`` page, the API and the reports show.

Every figure is the SLI's own error-ratio query with ``{{.window}}`` set to the window,
evaluated through Vigil's PromQL engine. It does not read the recorded ``slo:*`` series, so a
status is right from the first minute (the recordings need the whole window of history) and for
any past instant a report asks about.

Public interface for the reports::

    from vigil.slo.loader import config_slos
    from vigil.slo.status import slo_statuses
    statuses = slo_statuses(engine, config_slos(config), at)   # list[SLOStatus]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from vigil.promql.value import QueryResult, Scalar, Vector
from vigil.slo.model import SLOFile, SLOSpec
from vigil.slo.windows import DEFAULT_WINDOWS, AlertWindows, sli_error_ratio_query

__all__ = ["BurnRate", "InstantEngine", "SLOStatus", "slo_status", "slo_statuses"]


class InstantEngine(Protocol):
    def instant_query(self, query: str, ts_ms: int) -> QueryResult: ...


@dataclass(frozen=True)
class BurnRate:
    """How fast the budget burns over ``window``: the error ratio over the window divided by
    the error budget (1.0 spends exactly the budget in the SLO period)."""

    window: str
    error_ratio: float | None
    burn_rate: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"window": self.window, "errorRatio": self.error_ratio,
                "burnRate": self.burn_rate}


@dataclass(frozen=True)
class SLOStatus:
    service: str
    name: str
    slo_id: str
    description: str
    objective_percent: float
    window: str                          # the SLO period, e.g. "30d"
    error_budget_ratio: float            # 1 - objective/100
    period_error_ratio: float | None     # None: no data in the period
    error_budget_left_ratio: float | None  # 1 = untouched, 0 = spent, < 0 = overspent
    burn_rates: tuple[BurnRate, ...]     # one per alert window, shortest first
    problems: tuple[str, ...] = ()       # queries that failed

    @property
    def met(self) -> bool | None:
        if self.error_budget_left_ratio is None:
            return None
        return self.error_budget_left_ratio >= 0

    def as_dict(self) -> dict[str, Any]:
        """The API's JSON (camelCase keys, as Vigil's other APIs)."""
        return {
            "service": self.service, "name": self.name, "sloId": self.slo_id,
            "description": self.description, "objectivePercent": self.objective_percent,
            "window": self.window, "errorBudgetRatio": self.error_budget_ratio,
            "periodErrorRatio": self.period_error_ratio,
            "errorBudgetLeftRatio": self.error_budget_left_ratio, "met": self.met,
            "burnRates": [b.as_dict() for b in self.burn_rates],
            "problems": list(self.problems),
        }


def _worst_ratio(result: QueryResult) -> float | None:
    """The highest finite value of an instant result (an SLI query not aggregated to one series
    gives one ratio per series: the status shows the worst), None when there is none."""
    value = result.value
    if isinstance(value, Vector):
        values = [sample.value for sample in value.samples]
    elif isinstance(value, Scalar):
        values = [value.value]
    else:
        values = []
    ratios = [v for v in values if math.isfinite(v)]
    return max(ratios) if ratios else None


def _error_ratio(engine: InstantEngine, slo: SLOSpec, window: str, ts_ms: int,
                 problems: list[str]) -> float | None:
    query = sli_error_ratio_query(slo, window)
    try:
        return _worst_ratio(engine.instant_query(query, ts_ms))
    except Exception as exc:  # noqa: BLE001 — a bad query is shown on the SLO, not raised
        problems.append(f"{window}: {exc}")
        return None


def slo_status(engine: InstantEngine, spec: SLOFile, slo: SLOSpec, at: datetime,
               windows: AlertWindows = DEFAULT_WINDOWS) -> SLOStatus:
    ts_ms = int(at.timestamp() * 1000)
    budget = (100 - slo.objective) / 100
    problems: list[str] = []

    def burn(ratio: float | None) -> float | None:
        if ratio is None or budget <= 0:
            return None
        return ratio / budget

    rates = tuple(BurnRate(w, r, burn(r)) for w in windows.burn_windows()
                  for r in [_error_ratio(engine, slo, w, ts_ms, problems)])
    period_ratio = _error_ratio(engine, slo, windows.period, ts_ms, problems)
    period_burn = burn(period_ratio)
    return SLOStatus(
        service=spec.service, name=slo.name, slo_id=spec.slo_id(slo),
        description=slo.description, objective_percent=slo.objective, window=windows.period,
        error_budget_ratio=budget, period_error_ratio=period_ratio,
        error_budget_left_ratio=None if period_burn is None else 1 - period_burn,
        burn_rates=rates, problems=tuple(problems))


def slo_statuses(engine: InstantEngine, slos: Sequence[SLOFile], at: datetime,
                 windows: AlertWindows = DEFAULT_WINDOWS) -> list[SLOStatus]:
    """The status of every SLO of every file at ``at`` (timezone-aware), in file order."""
    return [slo_status(engine, spec, slo, at, windows) for spec in slos for slo in spec.slos]
