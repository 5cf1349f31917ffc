"""What a report definition builds with: Vigil's PromQL engine, its records (alert episodes,
incidents, shifts), the objectives and SLO sources, the config, the time zone the report is
read in, and a ``progress`` callback the definition calls once per section done.

The objectives and SLO sources are described here as protocols (what the reports read of
them); a source left None makes its sections say "not available" instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from vigil.config.model import Config
from vigil.objectives.service import ObjectiveFigures, ServiceAvailability
from vigil.promql.value import QueryResult
from vigil.reports.forecast import ForecastSettings
from vigil.shifts.service import ShiftService
from vigil.slo.status import SLOStatus
from vigil.state.incident_store import IncidentStore
from vigil.state.lifecycle_store import LifecycleStore

__all__ = ["ObjectivesSource", "QueryEngineLike", "ReportContext", "SLOSource"]


class QueryEngineLike(Protocol):
    """Vigil's PromQL engine (:class:`vigil.promql.engine.Engine`): every metric figure of a
    report is computed through it, never by reading the TSDB directly."""

    def instant_query(self, query: str, ts_ms: int) -> QueryResult: ...

    def range_query(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult: ...


class ObjectivesSource(Protocol):
    """What the reports read of :class:`vigil.objectives.service.ObjectivesService`."""

    def figures(self, start: datetime, end: datetime, by: str = "priority") -> ObjectiveFigures: ...

    def availability(self, start: datetime, end: datetime) -> Sequence[ServiceAvailability]: ...


# The SLO statuses at an instant (vigil.slo.status.slo_statuses bound to the engine and the
# SLOs loaded from the config).
SLOSource = Callable[[datetime], Sequence[SLOStatus]]


def _no_progress(section: str) -> None:
    return None


@dataclass
class ReportContext:
    engine: QueryEngineLike
    config: Config
    timezone: str = "UTC"
    lifecycle: LifecycleStore | None = None
    incidents: IncidentStore | None = None
    objectives: ObjectivesSource | None = None
    slos: SLOSource | None = None
    shifts: ShiftService | None = None
    # How capacity is forecast: the window the line is fitted over, its step, the confidence.
    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    # Called with a section's title when it is done (the runner counts them).
    progress: Callable[[str], None] = _no_progress
    # Problems met while building (a query that failed): the report shows them at the top.
    problems: list[str] = field(default_factory=list)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
