"""Incident figures (issue 17, K1 noise figures, first step): per incident and across
incidents, as the incident page, the post-mortem and reports read them.

Per incident (seconds; None when the time it needs is not there yet):
  * ``alerts``: distinct alert fingerprints in the timeline's ``alert_firing`` events of its
    attached groups; ``groups``: alert groups attached (not detached);
  * ``first_alert_at``: the earliest start among its attached groups and alert events;
  * ``to_declare``: first alert → declaration (how long the alerts went without an incident);
  * ``to_detect``: start of the impact → detection;
  * ``to_acknowledge``: detection → acknowledgement (someone took it; the time-to-acknowledge
    of the on-call figures, counted from the first alert when there is one);
  * ``to_mitigate`` and ``to_resolve``: start of the impact → first monitoring, → resolution
    (the outage's length as users saw it).
Across incidents: how many, mean alerts per incident, and the median of each time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import mean, median
from typing import Any

from vigil.incidents.times import parse_time
from vigil.state.incident_store import AttachedGroup, Incident, IncidentEvent, IncidentStore

__all__ = ["FiguresSummary", "IncidentFigures", "figures_across", "figures_of", "incident_figures",
           "summarize"]


@dataclass(frozen=True)
class IncidentFigures:
    incident_id: str
    ref: str
    severity: int
    alerts: int
    groups: int
    first_alert_at: datetime | None
    to_declare: float | None
    to_detect: float | None
    to_acknowledge: float | None
    to_mitigate: float | None
    to_resolve: float | None

    def as_dict(self) -> dict[str, Any]:
        first = self.first_alert_at
        return {"incidentId": self.incident_id, "ref": self.ref, "severity": self.severity,
                "alerts": self.alerts, "groups": self.groups,
                "firstAlertAt": None if first is None else first.isoformat().replace("+00:00", "Z"),
                "secondsToDeclare": self.to_declare, "secondsToDetect": self.to_detect,
                "secondsToAcknowledge": self.to_acknowledge, "secondsToMitigate": self.to_mitigate,
                "secondsToResolve": self.to_resolve}


@dataclass(frozen=True)
class FiguresSummary:
    incidents: int
    alerts_per_incident: float | None  # mean
    to_declare: float | None  # medians, seconds
    to_acknowledge: float | None
    to_mitigate: float | None
    to_resolve: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"incidents": self.incidents, "alertsPerIncident": self.alerts_per_incident,
                "medianSecondsToDeclare": self.to_declare,
                "medianSecondsToAcknowledge": self.to_acknowledge,
                "medianSecondsToMitigate": self.to_mitigate, "medianSecondsToResolve": self.to_resolve}


def _since(end: datetime | None, start: datetime | None) -> float | None:
    if end is None or start is None:
        return None
    return max(0.0, (end - start).total_seconds())


def incident_figures(incident: Incident, attached: Sequence[AttachedGroup],
                     events: Sequence[IncidentEvent]) -> IncidentFigures:
    """The figures of one incident from its attached groups and timeline (see the module's
    docstring)."""
    keys = {g.group_key for g in attached}
    fingerprints: set[str] = set()
    starts = [g.first_alert_at for g in attached if g.first_alert_at is not None]
    for ev in events:
        if ev.kind != "alert_firing" or ev.detail.get("group_key") not in keys:
            continue
        fingerprint = ev.detail.get("fingerprint") or repr(sorted((ev.detail.get("labels") or {}).items()))
        fingerprints.add(str(fingerprint))
        start = parse_time(ev.detail.get("starts_at"))
        if start is not None:
            starts.append(start)
    first = min(starts) if starts else None
    return IncidentFigures(
        incident.id, incident.ref, incident.severity, len(fingerprints), len(attached), first,
        _since(incident.declared_at, first), _since(incident.detected_at, incident.started_at),
        _since(incident.acknowledged_at, incident.detected_at),
        _since(incident.mitigated_at, incident.started_at), _since(incident.resolved_at, incident.started_at))


def summarize(figures: Sequence[IncidentFigures]) -> FiguresSummary:
    """Across incidents: the mean alerts per incident and the median times."""

    def middle(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return median(known) if known else None

    return FiguresSummary(
        len(figures), mean(f.alerts for f in figures) if figures else None,
        middle([f.to_declare for f in figures]), middle([f.to_acknowledge for f in figures]),
        middle([f.to_mitigate for f in figures]), middle([f.to_resolve for f in figures]))


def figures_of(store: IncidentStore, id_or_ref: str) -> IncidentFigures:
    """The figures of one incident, read from the database."""
    incident = store.get(id_or_ref)
    return incident_figures(incident, store.attached(incident.id), store.events(incident.id))


def figures_across(store: IncidentStore, *, since: datetime | None = None,
                   limit: int = 500) -> tuple[list[IncidentFigures], FiguresSummary]:
    """The figures of the incidents declared or resolved since ``since`` (all but the
    newest ``limit`` are left out), and their summary."""
    each = [incident_figures(i, store.attached(i.id), store.events(i.id))
            for i in store.incidents(since=since, limit=limit)]
    return each, summarize(each)
