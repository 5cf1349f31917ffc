"""The objectives (issue 19, P4) as one service the API, the page, the exported metrics and
the reports read: MTTA and MTTR per priority, severity, team or month from alert episodes and
incidents, the false-positive rate from the resolve classifications, availability and the
error budget per service through PromQL, and each target met or missed.

The record figures are in :mod:`vigil.objectives.records`, availability in
:mod:`vigil.objectives.availability`; this module decides what each target is measured on:

* ``mtta``: mean time to acknowledge of the alert episodes opened in the window;
* ``mttr``: mean time to resolve of the incidents of the configured severities (SEV-1 by
  default: "critical incidents") declared in the window;
* ``false_positive_rate``: false_positive / classified resolutions of those episodes;
* ``availability:<service>``: each service over the window.

A target with nothing to measure is neither met nor missed (``met`` None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine

from vigil.config.objectives import ObjectivesConfig
from vigil.objectives.availability import (
    InstantQueryEngine,
    ServiceAvailability,
    service_availability,
)
from vigil.objectives.records import (
    GROUPINGS,
    AlertGroup,
    IncidentGroup,
    TimeStats,
    alert_groups,
    episodes_opened,
    incident_groups,
    incidents_declared,
)
from vigil.state.coordination import db_now
from vigil.state.incident_store import IncidentStore

__all__ = ["GROUPINGS", "ObjectiveFigures", "ObjectivesService", "ServiceAvailability", "TargetResult",
           "availability_target"]


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class TargetResult:
    name: str  # mtta | mttr | false_positive_rate | availability:<service>
    target: float
    actual: float | None
    unit: str  # seconds | ratio | percent
    # "below": met when actual <= target (times, rates); "above": actual >= target.
    direction: str
    measured_on: str  # what the actual figure is computed over, in words

    @property
    def met(self) -> bool | None:
        if self.actual is None:
            return None
        return self.actual <= self.target if self.direction == "below" else self.actual >= self.target

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "target": self.target, "actual": self.actual, "unit": self.unit,
                "direction": self.direction, "met": self.met, "measuredOn": self.measured_on}


@dataclass(frozen=True)
class ObjectiveFigures:
    start: datetime
    end: datetime
    by: str
    alerts: list[AlertGroup]  # per ``by``
    alerts_total: AlertGroup
    incidents: list[IncidentGroup]  # per severity or month; one group for priority and team
    incidents_total: IncidentGroup
    mttr_incidents: IncidentGroup  # the incidents the MTTR target is measured on
    classifications: dict[str, int]
    targets: list[TargetResult]  # mtta, mttr, false_positive_rate

    def as_dict(self) -> dict[str, Any]:
        return {"start": _iso(self.start), "end": _iso(self.end), "by": self.by,
                "alerts": [g.as_dict() for g in self.alerts], "alertsTotal": self.alerts_total.as_dict(),
                "incidents": [g.as_dict() for g in self.incidents],
                "incidentsTotal": self.incidents_total.as_dict(),
                "mttrIncidents": self.mttr_incidents.as_dict(),
                "classifications": dict(self.classifications),
                "targets": [t.as_dict() for t in self.targets]}


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError(f"{dt.isoformat()} has no time zone")
    return dt.astimezone(timezone.utc)


class ObjectivesService:
    """Objective figures over a window. ``config`` is the section or a callable returning it
    (read at each use, so a reload applies); ``state_engine`` the state database's SQLAlchemy
    engine; ``query_engine`` Vigil's PromQL engine."""

    def __init__(self, config: ObjectivesConfig | Callable[[], ObjectivesConfig], state_engine: Engine,
                 incidents: IncidentStore, query_engine: InstantQueryEngine) -> None:
        self._config = config
        self.state_engine = state_engine
        self.incidents = incidents
        self.query_engine = query_engine

    @property
    def config(self) -> ObjectivesConfig:
        return self._config() if callable(self._config) else self._config

    def now(self) -> datetime:
        """The state database's clock: windows ending "now" end at the same instant on
        every replica."""
        with self.state_engine.connect() as conn:
            return db_now(conn)

    def figures(self, start: datetime, end: datetime, by: str = "priority") -> ObjectiveFigures:
        """MTTA, MTTR and false positives of the episodes opened and the incidents declared in
        ``[start, end)``, grouped ``by`` priority, severity, team or month."""
        if by not in GROUPINGS:
            raise ValueError(f"unknown grouping {by!r}; known: {', '.join(GROUPINGS)}")
        start, end = _utc(start), _utc(end)
        if end <= start:
            raise ValueError("end must be after start")
        config = self.config
        episodes = episodes_opened(self.state_engine, start, end)
        declared = incidents_declared(self.incidents, start, end)
        groups, total = alert_groups(episodes, by)
        inc_groups, inc_total = incident_groups(declared, by)
        severities = config.targets.mttr_severities
        critical = [pair for pair in declared if pair[0].severity in severities]
        mttr_incidents = IncidentGroup(
            ",".join(f"SEV-{s}" for s in severities), len(critical),
            TimeStats.of(f.to_acknowledge for _, f in critical), TimeStats.of(f.to_resolve for _, f in critical))
        classifications: dict[str, int] = {}
        for ep in episodes:
            if ep.classification:
                classifications[ep.classification] = classifications.get(ep.classification, 0) + 1
        t = config.targets
        targets = [
            TargetResult("mtta", t.mtta, total.acknowledge.mean, "seconds", "below",
                         f"{total.acknowledge.count} acknowledged alert episodes"),
            TargetResult("mttr", t.mttr, mttr_incidents.resolve.mean, "seconds", "below",
                         f"{mttr_incidents.resolve.count} resolved {mttr_incidents.key} incidents"),
            TargetResult("false_positive_rate", t.false_positive_percent / 100, total.false_positive_ratio,
                         "ratio", "below", f"{total.classified} classified resolutions"),
        ]
        return ObjectiveFigures(start, end, by, groups, total, inc_groups, inc_total, mttr_incidents,
                                classifications, targets)

    def availability(self, start: datetime, end: datetime) -> list[ServiceAvailability]:
        """Each configured service's availability and error budget over ``[start, end]``."""
        start, end = _utc(start), _utc(end)
        if end <= start:
            raise ValueError("end must be after start")
        config = self.config
        return [service_availability(self.query_engine, s, config.target_for(s), start, end,
                                     config.availability_step)
                for s in config.services]

    def targets(self, start: datetime, end: datetime) -> list[TargetResult]:
        """Every target over the window: the record-based ones, then one per service."""
        return [*self.figures(start, end).targets, *map(availability_target, self.availability(start, end))]


def availability_target(a: ServiceAvailability) -> TargetResult:
    """A service's availability as a target (percent, met at or above)."""
    return TargetResult(f"availability:{a.service}", a.target_percent,
                        None if a.availability_ratio is None else a.availability_ratio * 100, "percent",
                        "above", f"{a.coverage_ratio:.1%} of the window with data")
