"""The status page service: reads what the public page shows from the state database (every
replica answers the same) and changes component overrides.

It reads the configuration through a callable (a reload takes effect at the next request),
the incidents through :class:`vigil.state.incident_store.IncidentStore`, and the page's own
state through :class:`vigil.state.status_page_store.StatusPageStore`. The query results come
from the primary's recorder (:mod:`vigil.incidents.status_recorder`), never from PromQL here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.config.model import Config
from vigil.config.status_page import COMPONENT_STATUSES, StatusPageConfig
from vigil.incidents.maintenance import windows
from vigil.incidents.status_page import (
    ComponentStatus,
    DayUptime,
    MaintenanceWindow,
    PublicIncident,
    component_statuses,
    headline,
    overall_uptime,
    public_incidents,
    uptime_by_day,
)
from vigil.model.timeinterval import TimeInterval, contains_any, parse_intervals
from vigil.state.incident_store import IncidentStore
from vigil.state.status_page_store import ComponentOverride, StatusPageError, StatusPageStore

__all__ = ["StatusPageService", "StatusPageView"]

# A window that began this long before now is still found while it lasts.
_LOOK_BACK = timedelta(days=7)


@dataclass(frozen=True)
class StatusPageView:
    """Everything one rendering of the page (HTML, JSON, Atom) shows, read at ``now``."""

    title: str
    now: datetime
    status: str  # the worst component's
    sentence: str  # "All systems operational", "Partial outage", ...
    components: list[ComponentStatus]
    uptime: dict[str, list[DayUptime]]  # oldest day first
    uptime_share: dict[str, float | None]
    incidents: list[PublicIncident]  # open, with at least one public update
    history: list[PublicIncident]  # resolved within history_days
    maintenance: list[MaintenanceWindow]  # active and upcoming, by start
    history_days: int

    def groups(self) -> list[tuple[str | None, list[ComponentStatus]]]:
        """Components by group, groups in the order they first appear."""
        out: dict[str | None, list[ComponentStatus]] = {}
        for c in self.components:
            out.setdefault(c.group, []).append(c)
        return list(out.items())


class StatusPageService:
    def __init__(self, store: StatusPageStore, incidents: IncidentStore, config: Callable[[], Config]) -> None:
        self.store = store
        self.incidents = incidents
        self._config = config
        self._parsed: tuple[object, dict[str, list[TimeInterval]]] | None = None

    @property
    def section(self) -> StatusPageConfig:
        return self._config().status_page

    def _intervals(self) -> dict[str, list[TimeInterval]]:
        alerting = self._config().alerting
        if self._parsed is None or self._parsed[0] is not alerting:
            self._parsed = (alerting, parse_intervals({
                t.name: [spec.model_dump(exclude_defaults=True) for spec in t.time_intervals]
                for t in (*alerting.time_intervals, *alerting.mute_time_intervals)}))
        return self._parsed[1]

    # --- maintenance ---
    def in_maintenance(self, now: datetime) -> dict[str, str]:
        """Component -> the public description of the maintenance window it is in now."""
        section, intervals = self.section, self._intervals()
        out: dict[str, str] = {}
        for entry in section.maintenance:
            if contains_any(intervals.get(entry.time_interval, ()), now):
                for name in section.maintenance_components(entry):
                    out.setdefault(name, entry.description or "Scheduled maintenance")
        return out

    def maintenance_windows(self, now: datetime) -> list[MaintenanceWindow]:
        section, intervals = self.section, self._intervals()
        end = now + timedelta(seconds=section.maintenance_horizon)
        out = [MaintenanceWindow(entry.time_interval, entry.description or "Scheduled maintenance",
                                 section.maintenance_components(entry), start, stop)
               for entry in section.maintenance
               for start, stop in windows(intervals.get(entry.time_interval, ()), now - _LOOK_BACK, end)
               if stop > now]
        return sorted(out, key=lambda w: (w.start, w.name))

    # --- statuses ---
    def statuses(self, now: datetime | None = None) -> list[ComponentStatus]:
        """Every component's status as shown now (the database's clock)."""
        now = now or self.store.now()
        return component_statuses(self.section, checks=self.store.checks(),
                                  incidents=self.incidents.incidents(open_only=True, limit=10_000),
                                  overrides=self.store.overrides(), maintenance=self.in_maintenance(now),
                                  now=now)

    def view(self) -> StatusPageView:
        section = self.section
        now = self.store.now()
        components = self.statuses(now)
        first_day = now.date() - timedelta(days=section.history_days - 1)
        transitions = self.store.transitions(datetime.combine(first_day, datetime.min.time(), now.tzinfo))
        uptime = {c.name: uptime_by_day(transitions, c.name, days=section.history_days, now=now)
                  for c in section.components}
        since = now - timedelta(days=section.history_days)
        incidents = self.incidents.incidents(since=since, limit=10_000)
        published = public_incidents(section, incidents, self.store.public_updates(i.id for i in incidents))
        status, sentence = headline(components)
        return StatusPageView(
            title=section.title, now=now, status=status, sentence=sentence, components=components,
            uptime=uptime, uptime_share={name: overall_uptime(days) for name, days in uptime.items()},
            incidents=[p for p in published if p.resolved_at is None],
            history=[p for p in published if p.resolved_at is not None and p.resolved_at >= since],
            maintenance=self.maintenance_windows(now), history_days=section.history_days)

    # --- overrides ---
    def _check(self, component: str, status: str | None = None) -> None:
        if self.section.component(component) is None:
            raise StatusPageError(f"no status page component {component!r}", "not_found")
        if status is not None and status not in COMPONENT_STATUSES:
            raise StatusPageError(f"unknown status {status!r}; known: {', '.join(COMPONENT_STATUSES)}",
                                  "invalid")

    def set_override(self, component: str, *, status: str, message: str = "",
                     until: datetime | None = None, actor: str, remote_addr: str = "") -> ComponentOverride:
        self._check(component, status)
        return self.store.set_override(component, status=status, message=message, expires_at=until,
                                       actor=actor, remote_addr=remote_addr)

    def clear_override(self, component: str, *, actor: str, remote_addr: str = "") -> ComponentOverride:
        self._check(component)
        return self.store.clear_override(component, actor=actor, remote_addr=remote_addr)
