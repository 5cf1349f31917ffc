"""Time to acknowledge and to resolve, and the false-positive rate, from Vigil's own records:
alert episodes (on-call, issue 16) and incidents (issue 17), grouped by priority, severity,
team or month.

Episodes counted are those *opened* in the window ``[start, end)``; incidents those
*declared* in it. An episode's time to acknowledge is opening → first acknowledgement, its
time to resolve opening → resolution; an incident's come from
:func:`vigil.incidents.figures.incident_figures` unchanged (detection → acknowledgement,
start of impact → resolution). Episodes or incidents not yet acknowledged or resolved are
counted but give no time. The false-positive rate is ``false_positive / classified``, where
classified resolutions are all four classifications (actionable, false_positive, duplicate,
no_action_needed): a duplicate or a no-action-needed alert was right to fire, so it counts
as classified and not false; resolutions without a classification (Vigil resolving an episode
when its alerts resolved) are left out of both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from statistics import fmean, median
from typing import Any

from sqlalchemy import Engine, select

from vigil.incidents.figures import IncidentFigures, incident_figures
from vigil.state.incident_store import Incident, IncidentStore
from vigil.state.lifecycle_schema import alert_episodes
from vigil.state.lifecycle_store import CLASSIFICATIONS

__all__ = ["GROUPINGS", "AlertGroup", "EpisodeTimes", "IncidentGroup", "TimeStats",
           "alert_groups", "episodes_opened", "incident_groups", "incidents_declared"]

GROUPINGS: tuple[str, ...] = ("priority", "severity", "team", "month")
NONE_KEY = "(none)"


@dataclass(frozen=True)
class TimeStats:
    """Seconds over the items that have the time: how many, mean, median and 90th
    percentile (nearest rank); None when no item has it."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Iterable[float | None]) -> TimeStats:
        known = sorted(v for v in values if v is not None)
        if not known:
            return cls(0, None, None, None)
        rank = max(1, math.ceil(0.9 * len(known)))
        return cls(len(known), fmean(known), median(known), known[rank - 1])

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "meanSeconds": self.mean, "medianSeconds": self.median,
                "p90Seconds": self.p90}


@dataclass(frozen=True)
class EpisodeTimes:
    """What the objectives read of one alert episode."""

    id: str
    priority: str
    group_labels: dict[str, str]
    opened_at: datetime
    first_acknowledged_at: datetime | None
    resolved_at: datetime | None
    classification: str | None

    @property
    def to_acknowledge(self) -> float | None:
        if self.first_acknowledged_at is None:
            return None
        return max(0.0, (self.first_acknowledged_at - self.opened_at).total_seconds())

    @property
    def to_resolve(self) -> float | None:
        if self.resolved_at is None:
            return None
        return max(0.0, (self.resolved_at - self.opened_at).total_seconds())


@dataclass(frozen=True)
class AlertGroup:
    key: str
    episodes: int
    acknowledge: TimeStats
    resolve: TimeStats
    classified: int
    false_positives: int
    # Acknowledge deadlines missed are not here: the on-call page and its metrics show them.

    @property
    def false_positive_ratio(self) -> float | None:
        return self.false_positives / self.classified if self.classified else None

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "episodes": self.episodes,
                "acknowledge": self.acknowledge.as_dict(), "resolve": self.resolve.as_dict(),
                "classified": self.classified, "falsePositives": self.false_positives,
                "falsePositiveRatio": self.false_positive_ratio}


@dataclass(frozen=True)
class IncidentGroup:
    key: str
    incidents: int
    acknowledge: TimeStats
    resolve: TimeStats

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "incidents": self.incidents,
                "acknowledge": self.acknowledge.as_dict(), "resolve": self.resolve.as_dict()}


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def episodes_opened(engine: Engine, start: datetime, end: datetime) -> list[EpisodeTimes]:
    """The alert episodes opened in ``[start, end)``, oldest first."""
    e = alert_episodes
    stmt = (select(e.c.id, e.c.priority, e.c.group_labels, e.c.opened_at, e.c.first_acknowledged_at,
                   e.c.resolved_at, e.c.classification)
            .where(e.c.opened_at >= start, e.c.opened_at < end).order_by(e.c.opened_at, e.c.id))
    with engine.connect() as conn:
        return [EpisodeTimes(r["id"], r["priority"], dict(r["group_labels"] or {}),
                             _utc(r["opened_at"]), _utc(r["first_acknowledged_at"]),  # type: ignore[arg-type]
                             _utc(r["resolved_at"]), r["classification"])
                for r in conn.execute(stmt).mappings()]


def incidents_declared(store: IncidentStore, start: datetime,
                       end: datetime) -> list[tuple[Incident, IncidentFigures]]:
    """The incidents declared in ``[start, end)`` with their figures, as the incident pages
    compute them."""
    found = []
    for incident in store.incidents(since=start, limit=1_000_000):
        if start <= incident.declared_at < end:
            found.append((incident, incident_figures(incident, store.attached(incident.id),
                                                     store.events(incident.id))))
    found.sort(key=lambda pair: (pair[0].declared_at, pair[0].ref))
    return found


def _month(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m")


def _episode_key(by: str) -> Callable[[EpisodeTimes], str]:
    if by == "priority":
        return lambda ep: ep.priority
    if by == "month":
        return lambda ep: _month(ep.opened_at)
    # severity and team are the group's labels (the route's group_by must keep them).
    return lambda ep: ep.group_labels.get(by) or NONE_KEY


def _alert_group(key: str, episodes: Sequence[EpisodeTimes]) -> AlertGroup:
    classified = [ep for ep in episodes if ep.classification in CLASSIFICATIONS]
    return AlertGroup(key, len(episodes), TimeStats.of(ep.to_acknowledge for ep in episodes),
                      TimeStats.of(ep.to_resolve for ep in episodes), len(classified),
                      sum(1 for ep in classified if ep.classification == "false_positive"))


def alert_groups(episodes: Sequence[EpisodeTimes], by: str) -> tuple[list[AlertGroup], AlertGroup]:
    """The episodes' figures per ``by`` (sorted by key) and over all of them."""
    key_of = _episode_key(by)
    grouped: dict[str, list[EpisodeTimes]] = {}
    for ep in episodes:
        grouped.setdefault(key_of(ep), []).append(ep)
    return ([_alert_group(k, grouped[k]) for k in sorted(grouped)], _alert_group("all", episodes))


def _incident_group(key: str, items: Sequence[tuple[Incident, IncidentFigures]]) -> IncidentGroup:
    return IncidentGroup(key, len(items), TimeStats.of(f.to_acknowledge for _, f in items),
                         TimeStats.of(f.to_resolve for _, f in items))


def incident_groups(items: Sequence[tuple[Incident, IncidentFigures]],
                    by: str) -> tuple[list[IncidentGroup], IncidentGroup]:
    """Incidents per severity (``SEV-n``) or month; incidents have no priority or team, so
    for those groupings they are one group, ``all``."""
    if by == "severity":
        def key_of(pair: tuple[Incident, IncidentFigures]) -> str:
            return f"SEV-{pair[0].severity}"
    elif by == "month":
        def key_of(pair: tuple[Incident, IncidentFigures]) -> str:
            return _month(pair[0].declared_at)
    else:
        return ([_incident_group("all", items)] if items else [], _incident_group("all", items))
    grouped: dict[str, list[tuple[Incident, IncidentFigures]]] = {}
    for pair in items:
        grouped.setdefault(key_of(pair), []).append(pair)
    return ([_incident_group(k, grouped[k]) for k in sorted(grouped)], _incident_group("all", items))
