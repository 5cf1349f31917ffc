"""The timeline, filled automatically: a loop on the primary (about once a second) that, for
every open incident,

* attaches (as Vigil) firing groups that newly match its alert matchers;
* copies its attached groups' alerts: ``alert_firing`` at each alert's start and
  ``alert_resolved`` at its end (an alert that left the dispatcher without being seen
  resolved is recorded resolved when it was missed, ``ends_at`` None), with the labels,
  annotations, times, generator URL and fingerprint;
* copies its attached groups' episode events: escalation pages (``page``, with
  ``source: escalation``), ``acknowledged``, ``unacknowledged``, ``episode_resolved`` and
  ``sla_breach`` — of the episodes unresolved at or after the attachment, until a
  detachment. The first acknowledgement also sets the incident's ``acknowledged_at``.

Each copied event carries a ``source_key`` (unique in the table), so a second pass, a restart
or a second replica that believes it is primary adds nothing twice. Incidents that are
resolved are no longer followed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from vigil.alerting.service import Alerting
from vigil.incidents.service import IncidentService
from vigil.incidents.times import utc_iso
from vigil.model.alert import Alert
from vigil.oncall.lifecycle import FiringGroup
from vigil.oncall.primary_loop import run_while_primary
from vigil.state.incident_store import AttachedGroup, Incident, IncidentEvent
from vigil.state.incident_timeline_store import TimelineStore

__all__ = ["Timeline", "TimelineMetrics", "dispatcher_groups"]

log = logging.getLogger(__name__)

# Episode event kinds copied, and their kind in the incident's timeline.
EPISODE_KINDS = {"escalation": "page", "acknowledged": "acknowledged", "unacknowledged": "unacknowledged",
                 "resolved": "episode_resolved", "sla_breach": "sla_breach"}

CopiedEvent = tuple[str, datetime, str, str | None, str, dict[str, Any]]


class TimelineMetrics(Protocol):
    incidents_open: Any  # gauge {severity}


def dispatcher_groups(alerting: Alerting) -> list[FiringGroup]:
    """Every group of the dispatcher with every alert it holds, resolved ones included (the
    timeline records resolutions; :func:`vigil.oncall.lifecycle.firing_groups` drops them)."""
    now = alerting.clock()
    out = []
    for group in alerting.dispatcher.groups():
        alerts = tuple(group.alerts.values())
        if alerts:
            active = any(not a.resolved(now) for a in alerts)
            out.append(FiringGroup(group.key, group.route.options.receiver, group.labels, alerts, active))
    return out


def alert_detail(group_key: str, alert: Alert, now: datetime) -> dict[str, Any]:
    """What an alert event records; ``ends_at`` only once it resolved (a firing alert's
    ``ends_at`` is when it would time out, not an end)."""
    ends_at = alert.ends_at if alert.resolved(now) else None
    return {"group_key": group_key, "labels": alert.labels.to_dict(), "annotations": alert.annotations.to_dict(),
            "starts_at": utc_iso(alert.starts_at), "ends_at": utc_iso(ends_at),
            "generator_url": alert.generator_url, "fingerprint": alert.fingerprint()}


class Timeline:
    def __init__(self, service: IncidentService, groups: Callable[[], list[FiringGroup]], *,
                 metrics: TimelineMetrics | None = None, is_primary: Callable[[], bool] = lambda: True,
                 interval_s: float = 1.0) -> None:
        self.service = service
        self.store = service.store
        self.copies = TimelineStore(service.store.engine)
        self.groups = groups  # dispatcher_groups(alerting): resolved alerts included
        self.metrics = metrics
        self.is_primary = is_primary
        self.interval_s = interval_s

    def tick(self) -> int:
        """One pass (see the module's docstring). Returns how many events it added."""
        groups = {g.key: g for g in self.groups()}
        now = self.store.now()
        firing = [g for g in groups.values() if any(not a.resolved(now) for a in g.alerts)]
        self.service.attach_matching(firing)
        by_incident: dict[str, tuple[Incident, list[AttachedGroup]]] = {}
        for inc, attached in self.store.attached_to_open():
            by_incident.setdefault(inc.id, (inc, []))[1].append(attached)
        added = 0
        for inc, attached_groups in by_incident.values():
            timeline = self.store.events(inc.id)
            known = {e.source_key for e in timeline if e.source_key}
            events: list[CopiedEvent] = []
            seen: set[str] = set()
            first_ack: datetime | None = None
            for attached in attached_groups:
                events += self._alert_events(inc, attached, groups.get(attached.group_key), seen, now)
                episode_events, ack = self._episode_events(inc, attached)
                events += episode_events
                if ack is not None and (first_ack is None or ack < first_ack):
                    first_ack = ack
            events += self._gone(timeline, {a.group_key for a in attached_groups}, seen, known, now)
            new = list({e[0]: e for e in events if e[0] not in known}.values())
            ack_at = max(first_ack, inc.declared_at) if first_ack and inc.acknowledged_at is None else None
            if new or ack_at is not None:
                added += self.copies.copy_events(inc.id, new, acknowledged_at=ack_at)
        if self.metrics is not None:
            for severity, count in self.copies.open_counts().items():
                self.metrics.incidents_open.labels(str(severity)).set(count)
        return added

    @staticmethod
    def _alert_events(inc: Incident, attached: AttachedGroup, group: FiringGroup | None, seen: set[str],
                      now: datetime) -> list[CopiedEvent]:
        # One alert (fingerprint and start) is copied once per incident, even when two of its
        # attached groups hold it.
        out: list[CopiedEvent] = []
        for alert in group.alerts if group is not None else ():
            base = f"alert:{inc.id}:{alert.fingerprint()}@{int(alert.starts_at.timestamp())}"
            seen.add(base)
            detail = alert_detail(attached.group_key, alert, now)
            out.append((f"{base}:firing", alert.starts_at, "alert_firing", None, "vigil", detail))
            if alert.resolved(now):
                out.append((f"{base}:resolved", alert.ends_at or now, "alert_resolved", None, "vigil", detail))
        return out

    @staticmethod
    def _gone(timeline: list[IncidentEvent], followed: set[str], seen: set[str], known: set[str],
              now: datetime) -> list[CopiedEvent]:
        """Alerts recorded firing that left the dispatcher unseen resolved (flushed, or Vigil
        was down when they resolved): resolved now, ``ends_at`` unknown."""
        out: list[CopiedEvent] = []
        for e in timeline:
            if e.kind != "alert_firing" or not e.source_key or e.detail.get("group_key") not in followed:
                continue
            base = e.source_key[: -len(":firing")]
            if base not in seen and f"{base}:resolved" not in known:
                out.append((f"{base}:resolved", now, "alert_resolved", None, "vigil",
                            {**e.detail, "ends_at": None, "gone": True}))
        return out

    def _episode_events(self, inc: Incident, attached: AttachedGroup) -> tuple[list[CopiedEvent], datetime | None]:
        out: list[CopiedEvent] = []
        first_ack = None
        for ev in self.copies.group_episode_events(attached.group_key, attached.attached_at, attached.detached_at):
            kind = EPISODE_KINDS.get(ev["kind"])
            if kind is None or (kind == "page" and "paged" not in ev["detail"]):
                continue  # conditions (if_time, if_alerts) page nobody
            detail = {**ev["detail"], "episode_id": ev["episode_id"], "group_key": attached.group_key,
                      "priority": ev["priority"]}
            if kind == "page":
                detail["source"] = "escalation"
            out.append((f"episode:{inc.id}:{ev['id']}", ev["at"], kind, ev["actor"], ev["via"], detail))
            if kind == "acknowledged" and first_ack is None:
                first_ack = ev["at"]
        return out, first_ack

    async def run(self) -> None:
        await run_while_primary(self.tick, interval_s=self.interval_s, is_primary=self.is_primary, log=log,
                                failed="filling incident timelines failed")

