"""What the public status page shows (issue 17), computed from plain values: no database, no
PromQL (:mod:`vigil.incidents.status_page_service` reads them, the recorder evaluates the
queries through a callable).

A component's status, in this order:

1. a manual override in force wins outright;
2. otherwise its base status is Under maintenance during one of its maintenance windows,
   else its query's newest result (:func:`query_status`; Operational before the first check);
3. open incidents that name the component raise it to their severity's impact
   (``status_page.incident_impact``) when that is worse: the worst of both is shown.

Statuses rank operational < under_maintenance < degraded_performance < partial_outage <
major_outage. Uptime (:func:`uptime_by_day`) is the share of each UTC day the component was
not in Partial or Major outage, from the transitions log; days before its first transition
have no data.

Publishing: an open incident is listed (with its public updates) once it has at least one
public update (a ``public_update`` timeline event); an incident nobody has written a public
word about still raises its components' status, but its title stays internal. Only the
updates' ``status`` and ``message`` (and the title) are public: never notes, roles, alerts or
people.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from math import isnan

from vigil.config.status_page import COMPONENT_STATUSES, StatusPageConfig
from vigil.state.incident_store import Incident, IncidentEvent
from vigil.state.status_page_store import ComponentCheck, ComponentOverride, StatusTransition

__all__ = ["OUTAGES", "STATUS_LABELS", "ComponentStatus", "DayUptime", "MaintenanceWindow",
           "PublicIncident", "PublicUpdate", "component_statuses", "headline", "overall_uptime",
           "public_incidents",
           "query_status", "rank", "uptime_by_day", "worst"]

STATUS_LABELS: dict[str, str] = {
    "operational": "Operational",
    "under_maintenance": "Under maintenance",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
}
# What counts against uptime.
OUTAGES = frozenset({"partial_outage", "major_outage"})
INCIDENT_STATUS_LABELS: dict[str, str] = {"investigating": "Investigating", "identified": "Identified",
                                          "monitoring": "Monitoring", "resolved": "Resolved"}


def rank(status: str) -> int:
    return COMPONENT_STATUSES.index(status)


def worst(statuses: Iterable[str]) -> str:
    """The worst of ``statuses``; operational when there is none."""
    return max(statuses, key=rank, default="operational")


def query_status(values: Sequence[float], partial_outage_below: float) -> tuple[str, int, int]:
    """(status, healthy series, series) of one evaluation of a component's query. A series
    is healthy when its value is above 0 (NaN is down). All healthy: operational; none
    healthy or no series: major outage; otherwise degraded performance while the healthy
    share is at least ``partial_outage_below``, partial outage below it."""
    total = len(values)
    healthy = sum(1 for v in values if not isnan(v) and v > 0)
    if total and healthy == total:
        return "operational", healthy, total
    if healthy == 0:
        return "major_outage", healthy, total
    share = healthy / total
    return ("degraded_performance" if share >= partial_outage_below else "partial_outage"), healthy, total


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    description: str
    group: str | None
    status: str
    source: str  # override | incident | maintenance | query | none (never checked)
    message: str = ""  # the override's or the maintenance window's public text
    checked_at: datetime | None = None
    override_until: datetime | None = None

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


def component_statuses(section: StatusPageConfig, *, checks: Mapping[str, ComponentCheck],
                       incidents: Sequence[Incident], overrides: Mapping[str, ComponentOverride],
                       maintenance: Mapping[str, str], now: datetime) -> list[ComponentStatus]:
    """Each configured component's status (see the module's rule), in config order.
    ``maintenance``: component -> description of the window it is in now."""
    impact: dict[str, list[str]] = {}
    for inc in incidents:
        if inc.is_open:
            for name in inc.components:
                impact.setdefault(name, []).append(section.incident_impact.get(inc.severity, "operational"))
    out = []
    for comp in section.components:
        check = checks.get(comp.name)
        common = {"name": comp.name, "description": comp.description, "group": comp.group,
                  "checked_at": None if check is None else check.checked_at}
        override = overrides.get(comp.name)
        if override is not None and override.in_force(now):
            out.append(ComponentStatus(**common, status=override.status, source="override",
                                       message=override.message, override_until=override.expires_at))
            continue
        if comp.name in maintenance:
            status, source, message = "under_maintenance", "maintenance", maintenance[comp.name]
        elif check is not None:
            status, source, message = check.status, "query", ""
        else:
            status, source, message = "operational", "none", ""
        by_incidents = worst(impact.get(comp.name, ()))
        if rank(by_incidents) > rank(status):
            status, source, message = by_incidents, "incident", ""
        out.append(ComponentStatus(**common, status=status, source=source, message=message))
    return out


def headline(statuses: Sequence[ComponentStatus]) -> tuple[str, str]:
    """(status, sentence) of the whole page: the worst component's."""
    status = worst(c.status for c in statuses)
    sentence = {"operational": "All systems operational",
                "under_maintenance": "Maintenance in progress"}.get(status, STATUS_LABELS[status])
    return status, sentence


@dataclass(frozen=True)
class PublicUpdate:
    id: int  # the timeline event's id: stable, used in feed entry ids
    at: datetime
    status: str  # investigating | identified | monitoring | resolved (as the writer chose)
    message: str

    @property
    def label(self) -> str:
        return INCIDENT_STATUS_LABELS.get(self.status, self.status.capitalize())


@dataclass(frozen=True)
class PublicIncident:
    id: str
    title: str
    impact: str  # the status its severity gives the components it names
    components: tuple[str, ...]
    status: str  # the newest update's status; resolved once the incident is
    started_at: datetime  # the first public update
    resolved_at: datetime | None
    updates: tuple[PublicUpdate, ...]  # newest first

    @property
    def impact_label(self) -> str:
        return STATUS_LABELS[self.impact]

    @property
    def status_label(self) -> str:
        return INCIDENT_STATUS_LABELS.get(self.status, self.status.capitalize())


def _update(event: IncidentEvent) -> PublicUpdate | None:
    if event.kind != "public_update" or not event.public:
        return None
    message = event.detail.get("message")
    if not isinstance(message, str) or not message.strip():
        return None
    status = event.detail.get("status")
    return PublicUpdate(event.id, event.at, status if isinstance(status, str) else "", message)


def public_incidents(section: StatusPageConfig, incidents: Sequence[Incident],
                     events: Mapping[str, Sequence[IncidentEvent]]) -> list[PublicIncident]:
    """The incidents of ``incidents`` that have at least one public update, newest first
    update first. ``events``: incident id -> its timeline (other kinds are ignored)."""
    known = {c.name for c in section.components}
    out = []
    for inc in incidents:
        updates = sorted((u for u in map(_update, events.get(inc.id, ())) if u is not None),
                         key=lambda u: (u.at, u.id), reverse=True)
        if not updates:
            continue
        status = "resolved" if not inc.is_open else (updates[0].status or inc.status)
        out.append(PublicIncident(
            id=inc.id, title=inc.title, impact=section.incident_impact.get(inc.severity, "operational"),
            components=tuple(c for c in inc.components if c in known), status=status,
            started_at=updates[-1].at, resolved_at=inc.resolved_at, updates=tuple(updates)))
    return sorted(out, key=lambda p: p.started_at, reverse=True)


@dataclass(frozen=True)
class DayUptime:
    day: date
    share: float | None  # of the observed part of the day not in outage; None: no data
    worst: str | None  # the worst status seen that day


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=timezone.utc)


def uptime_by_day(transitions: Sequence[StatusTransition], component: str, *, days: int,
                  now: datetime) -> list[DayUptime]:
    """The last ``days`` UTC days of ``component`` up to ``now`` (today last): the share
    of each day, from the component's first transition on, that was not Partial or Major
    outage. A status holds from its transition to the next one (or to ``now``)."""
    rows = sorted((t for t in transitions if t.component == component), key=lambda t: t.since)
    spans = [(t.since, rows[i + 1].since if i + 1 < len(rows) else now, t.status)
             for i, t in enumerate(rows)]
    today = now.astimezone(timezone.utc).date()
    out = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        d0, d1 = _day_start(day), min(_day_start(day + timedelta(days=1)), now)
        observed = down = 0.0
        seen: list[str] = []
        for start, end, status in spans:
            s, e = max(start, d0), min(end, d1)
            if e <= s:
                continue
            seconds = (e - s).total_seconds()
            observed += seconds
            seen.append(status)
            if status in OUTAGES:
                down += seconds
        share = None if observed <= 0 else (observed - down) / observed
        out.append(DayUptime(day, share, worst(seen) if seen else None))
    return out


def overall_uptime(days: Sequence[DayUptime]) -> float | None:
    """The mean share over the days that have data (None when none has)."""
    shares = [d.share for d in days if d.share is not None]
    return None if not shares else sum(shares) / len(shares)


@dataclass(frozen=True)
class MaintenanceWindow:
    name: str  # the time interval's name
    description: str
    components: tuple[str, ...]
    start: datetime
    end: datetime

    def active(self, now: datetime) -> bool:
        return self.start <= now < self.end
