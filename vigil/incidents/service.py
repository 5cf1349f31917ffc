"""Declaring incidents and every change people make to them.

Each method is one transaction of :class:`vigil.state.incident_store.IncidentStore`: the
change, its timeline event(s) and one audit entry, decided under the incident's lock against
what the database holds (two replicas, or two people, cannot both move an incident from the
same status). Refused changes raise :class:`IncidentError` whose ``kind`` the API maps to a
status (not_found 404, conflict 409, invalid 400) and whose message names the reason.

Statuses move forward (investigating → identified → monitoring → resolved, skipping allowed)
or back from monitoring (a relapse); resolved is final except for :meth:`reopen`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection

from vigil.config.model import Config
from vigil.incidents.inputs import checked_names, checked_text, group_title, severity_level
from vigil.incidents.matching import group_matches, parse_alert_matchers, to_attach
from vigil.incidents.paging import response_pages
from vigil.oncall.lifecycle import FiringGroup
from vigil.oncall.reach import Directory
from vigil.state.escalation_store import QueuedNotification
from vigil.state.incident_store import (
    MOVES,
    ROLES,
    STATUSES,
    Change,
    GroupToAttach,
    Incident,
    IncidentError,
    IncidentStore,
    NewEvent,
)
from vigil.state.lifecycle_store import LifecycleStore

__all__ = ["VIAS", "IncidentMetrics", "IncidentService", "group_title"]

log = logging.getLogger(__name__)

VIAS = ("api", "ui", "cli", "link", "vigil")
PRIORITY_SEVERITY = {"P1": 1, "P2": 2, "P3": 3, "P4": 4}  # a group's priority → its incident's default severity


class IncidentMetrics(Protocol):
    incidents_declared: Any  # counter {severity, source}


class IncidentService:
    def __init__(self, store: IncidentStore, config: Callable[[], Config], *,
                 groups: Callable[[], list[FiringGroup]] = list, directory: Directory | None = None,
                 episodes: LifecycleStore | None = None, external_url: str = "",
                 metrics: IncidentMetrics | None = None, on_enqueue: Callable[[], None] | None = None) -> None:
        self.store = store
        self.config = config
        self.groups = groups  # the alerting stage's firing groups (the primary's view is complete)
        self.directory = directory  # who a declaration pages (None: nobody is paged)
        self.episodes = episodes
        self.external_url = external_url.rstrip("/")
        self.metrics = metrics
        self.on_enqueue = on_enqueue  # wakes the outbox workers after pages were queued

    def url(self, inc: Incident) -> str:
        return f"{self.external_url}/incidents/{inc.ref}"

    # --- declaring ---
    def declare(self, *, title: str, severity: int, actor: str | None, via: str, summary: str = "",
                impact: str = "", components: Sequence[str] = (), commander: str | None = None,
                alert_matchers: Sequence[str] = (), group_keys: Sequence[str] = (), source: str = "manual",
                origin_key: str | None = None, started_at: datetime | None = None) -> Incident:
        """Declare an incident (see :meth:`declare_or_find`)."""
        return self.declare_or_find(
            title=title, severity=severity, actor=actor, via=via, summary=summary, impact=impact,
            components=components, commander=commander, alert_matchers=alert_matchers,
            group_keys=group_keys, source=source, origin_key=origin_key, started_at=started_at)[0]

    def declare_or_find(self, *, title: str, severity: int, actor: str | None, via: str, summary: str = "",
                        impact: str = "", components: Sequence[str] = (), commander: str | None = None,
                        alert_matchers: Sequence[str] = (), group_keys: Sequence[str] = (),
                        source: str = "manual", origin_key: str | None = None,
                        started_at: datetime | None = None) -> tuple[Incident, bool]:
        """Declare an incident, attaching the groups named by ``group_keys`` and every firing
        group ``alert_matchers`` match (groups matching later are attached by the timeline
        loop while it is open), and page the severity's ``response``. With an ``origin_key``
        declared before: (that incident, False), nothing else done."""
        severity = severity_level(severity)
        title = checked_text(title, "title", required=True, limit=512)
        if via not in VIAS:
            raise IncidentError(f"via must be one of {', '.join(VIAS)}, not {via!r}", "invalid")
        if commander is not None:
            commander = checked_text(commander, "commander", required=True, limit=256)
        matchers = parse_alert_matchers(alert_matchers)
        firing = self.groups()
        chosen: dict[str, GroupToAttach] = {}
        for key in group_keys:
            chosen[key] = self._group(key, firing)
        for g in firing:
            if g.key not in chosen and group_matches(matchers, g):
                chosen[g.key] = to_attach(g, ", ".join(alert_matchers))
        config = self.config()
        sev = config.incidents.severity(severity)

        def pages(inc: Incident) -> tuple[list[QueuedNotification], list[NewEvent]]:
            if self.directory is None:
                return [], []
            return response_pages(inc, sev, config, self.directory, at=inc.declared_at, url=self.url(inc))

        inc, created = self.store.declare(
            title=title, severity=severity, actor=actor, via=via, summary=checked_text(summary, "summary"),
            impact=checked_text(impact, "impact"), components=checked_names(components, "components"), commander=commander,
            alert_matchers=[checked_text(m, "alert_matchers", required=True, limit=1024) for m in alert_matchers],
            groups=list(chosen.values()), source=source, origin_key=origin_key,
            channel_pattern=config.incidents.channel_pattern, started_at=started_at,
            update_interval_s=sev.update_interval, pages=pages)
        if created:
            log.info("incident %s declared (%s, %s) by %s: %s", inc.ref, sev.name, source, actor or "vigil", title)
            if self.metrics is not None:
                self.metrics.incidents_declared.labels(str(severity), source).inc()
            if self.on_enqueue is not None and self.directory is not None and not sev.response.empty():
                self.on_enqueue()
        return inc, created

    def declare_from_group(self, group_key: str, *, actor: str | None, via: str, severity: int | None = None,
                           title: str | None = None) -> tuple[Incident, bool]:
        """The one-click declaration from an alert group: titled after its labels, severity
        from its episode's priority (P1 → SEV-1 … P4 → SEV-4; SEV-3 without one) unless
        given, the group attached. Clicking twice for the same episode finds the incident
        the first click made."""
        group = self._group(group_key, self.groups())
        episode = self.episodes.unresolved_for_group(group_key) if self.episodes is not None else None
        if severity is None:
            severity = PRIORITY_SEVERITY.get(episode.priority if episode else "", 3)
        started = group.first_alert_at.isoformat() if group.first_alert_at else ""
        origin = f"group:{episode.id}" if episode is not None else f"group:{group_key}:{started}"
        return self.declare_or_find(title=title or group_title(group.group_labels), severity=severity, actor=actor,
                                    via=via, group_keys=[group_key], source="alert", origin_key=origin[:256])

    def _group(self, key: str, firing: list[FiringGroup]) -> GroupToAttach:
        for g in firing:
            if g.key == key:
                return to_attach(g)
        episode = self.episodes.unresolved_for_group(key) if self.episodes is not None else None
        if episode is not None:  # its alerts resolved a moment ago; the episode still knows it
            return GroupToAttach(key, dict(episode.group_labels), episode.receiver, episode.opened_at)
        raise IncidentError(f"no firing alert group {key!r}", "not_found")

    # --- status ---
    def set_status(self, id_or_ref: str, status: str, *, actor: str | None, via: str, note: str = "") -> Incident:
        if status not in STATUSES:
            raise IncidentError(f"status must be one of {', '.join(STATUSES)}, not {status!r}", "invalid")
        note = checked_text(note, "note")

        def apply(_conn: Connection, inc: Incident, now: datetime) -> Change:
            allowed = MOVES[inc.status]
            if status not in allowed:
                hint = ("; reopen it to go back to investigating" if inc.status == "resolved"
                        else f"; allowed from {inc.status}: {', '.join(allowed)}")
                same = " (it is already there)" if status == inc.status else ""
                raise IncidentError(f"incident {inc.ref} cannot move from {inc.status} to {status}{same}{hint}",
                                    "conflict")
            values: dict[str, Any] = {"status": status}
            if status == "monitoring" and inc.mitigated_at is None:
                values["mitigated_at"] = now
            if status == "resolved":
                values["resolved_at"] = now
                values["next_update_at"] = None
                if inc.mitigated_at is None:
                    values["mitigated_at"] = now
            return Change(values, [NewEvent("status", {"from": inc.status, "to": status, "note": note})],
                          before={"status": inc.status}, after={"status": status, "note": note})

        return self.store.change(id_or_ref, actor=actor, via=via, action="incident.status", apply=apply)

    def reopen(self, id_or_ref: str, *, actor: str | None, via: str, note: str = "") -> Incident:
        """Take a resolved incident back to investigating (its resolution time is cleared;
        the timeline keeps both)."""
        note = checked_text(note, "note")

        def apply(_conn: Connection, inc: Incident, now: datetime) -> Change:
            if inc.status != "resolved":
                raise IncidentError(f"incident {inc.ref} is {inc.status}, not resolved: only a resolved "
                                    "incident can be reopened", "conflict")
            interval = self.config().incidents.severity(inc.severity).update_interval
            values = {"status": "investigating", "resolved_at": None,
                      "next_update_at": None if interval is None else now + timedelta(seconds=interval)}
            return Change(values, [NewEvent("status", {"from": "resolved", "to": "investigating", "note": note,
                                                       "reopened": True})],
                          before={"status": "resolved"}, after={"status": "investigating", "note": note})

        return self.store.change(id_or_ref, actor=actor, via=via, action="incident.reopen", apply=apply)

    def acknowledge(self, id_or_ref: str, *, actor: str, via: str, note: str = "") -> Incident:
        """Someone took the incident (first time: ``acknowledged_at``)."""
        note = checked_text(note, "note")

        def apply(_conn: Connection, inc: Incident, now: datetime) -> Change:
            if inc.acknowledged_at is not None:
                raise IncidentError(f"incident {inc.ref} was acknowledged already", "conflict")
            return Change({"acknowledged_at": now}, [NewEvent("acknowledged", {"note": note})],
                          before={"acknowledged_at": None}, after={"acknowledged": True, "note": note})

        return self.store.change(id_or_ref, actor=actor, via=via, action="incident.acknowledge", apply=apply)

    # --- severity, roles, notes ---
    def set_severity(self, id_or_ref: str, severity: int, *, actor: str | None, via: str,
                     note: str = "") -> Incident:
        """Change the severity. A worse severity pages its ``response`` (an incident raised
        from SEV-3 to SEV-1 reaches the SEV-1 team); "Next update" follows the new cadence."""
        severity = severity_level(severity)
        note = checked_text(note, "note")
        config = self.config()
        sev = config.incidents.severity(severity)

        def apply(_conn: Connection, inc: Incident, now: datetime) -> Change | None:
            if inc.severity == severity:
                raise IncidentError(f"incident {inc.ref} is {inc.severity_name} already", "conflict")
            values: dict[str, Any] = {"severity": severity}
            if inc.is_open:
                due = None if sev.update_interval is None else now + timedelta(seconds=sev.update_interval)
                if due is None or inc.next_update_at is None or due < inc.next_update_at:
                    values["next_update_at"] = due
            events = [NewEvent("severity", {"from": inc.severity, "to": severity, "note": note})]
            queued: list[QueuedNotification] = []
            if severity < inc.severity and inc.is_open and self.directory is not None:
                queued, pages = response_pages(inc, sev, config, self.directory, at=now, url=self.url(inc),
                                               reason="severity raised")
                events += [NewEvent(p.kind, p.detail, by_vigil=True) for p in pages]
            return Change(values, events, notifications=queued, before={"severity": inc.severity},
                          after={"severity": severity, "note": note})

        inc = self.store.change(id_or_ref, actor=actor, via=via, action="incident.severity", apply=apply)
        if self.on_enqueue is not None and not sev.response.empty():
            self.on_enqueue()
        return inc

    def set_role(self, id_or_ref: str, role: str, user: str | None, *, actor: str | None, via: str,
                 remove: bool = False) -> Incident:
        """Set (``user``) or clear (None) the commander, communications or scribe; add a
        responder, or remove one with ``remove``. The first commander acknowledges."""
        if role not in ROLES:
            raise IncidentError(f"role must be one of {', '.join(ROLES)}, not {role!r}", "invalid")
        if user is not None:
            user = checked_text(user, "user", required=True, limit=256)
        if role == "responders" and user is None:
            raise IncidentError("responders: name the user to add or remove", "invalid")

        def apply(_conn: Connection, inc: Incident, now: datetime) -> Change:
            roles = {**inc.roles, "responders": list(inc.roles["responders"])}
            values: dict[str, Any] = {}
            if role == "responders":
                present = user in roles["responders"]
                if remove != present:
                    raise IncidentError(f"{user} is {'not ' if remove else ''}a responder of {inc.ref}"
                                        f"{'' if remove else ' already'}", "conflict")
                previous = list(roles["responders"])
                roles["responders"] = [u for u in previous if u != user] if remove else [*previous, user]
                values["roles"] = roles
                detail = {"role": role, "user": user, "action": "remove" if remove else "add"}
                before, after = {"responders": previous}, {"responders": roles["responders"]}
            else:
                previous = inc.commander if role == "commander" else roles.get(role)
                if previous == user:
                    raise IncidentError(f"{user or 'nobody'} is the {role} of {inc.ref} already", "conflict")
                if role == "commander":
                    values["commander"] = user
                    if user is not None and inc.acknowledged_at is None:
                        values["acknowledged_at"] = now
                else:
                    roles[role] = user
                    values["roles"] = roles
                detail = {"role": role, "user": user, "previous": previous, "action": "set" if user else "clear"}
                before, after = {role: previous}, {role: user}
            return Change(values, [NewEvent("role", detail)], before=before, after=after)

        return self.store.change(id_or_ref, actor=actor, via=via, action="incident.role", apply=apply)

    def add_note(self, id_or_ref: str, text: str, *, actor: str | None, via: str) -> Incident:
        text = checked_text(text, "text", required=True)
        return self.store.change(id_or_ref, actor=actor, via=via, action="incident.note", apply=lambda _c, _i, _n: Change(
            events=[NewEvent("note", {"text": text})], after={"text": text}))

    # --- what it is about ---
    def edit(self, id_or_ref: str, *, actor: str | None, via: str, title: str | None = None,
             summary: str | None = None, impact: str | None = None) -> Incident:
        """Change the title, summary and/or impact (those given)."""
        given = {"title": None if title is None else checked_text(title, "title", required=True, limit=512),
                 "summary": None if summary is None else checked_text(summary, "summary"),
                 "impact": None if impact is None else checked_text(impact, "impact")}
        wanted = {k: v for k, v in given.items() if v is not None}
        if not wanted:
            raise IncidentError("give at least one of title, summary, impact", "invalid")

        def apply(_conn: Connection, inc: Incident, _now: datetime) -> Change:
            changes = {k: {"from": getattr(inc, k), "to": v} for k, v in wanted.items() if getattr(inc, k) != v}
            if not changes:
                raise IncidentError(f"incident {inc.ref} has that {', '.join(wanted)} already", "conflict")
            return Change({k: c["to"] for k, c in changes.items()}, [NewEvent("edited", {"changes": changes})],
                          before={k: c["from"] for k, c in changes.items()},
                          after={k: c["to"] for k, c in changes.items()})

        return self.store.change(id_or_ref, actor=actor, via=via, action="incident.edit", apply=apply)

    def set_components(self, id_or_ref: str, components: Sequence[str], *, actor: str | None,
                       via: str) -> Incident:
        """Replace the impacted components (status page names; unknown ones are kept and
        ignored by the status page)."""
        wanted = checked_names(components, "components")

        def apply(_conn: Connection, inc: Incident, _now: datetime) -> Change:
            added = [c for c in wanted if c not in inc.components]
            removed = [c for c in inc.components if c not in wanted]
            if not added and not removed:
                raise IncidentError(f"incident {inc.ref} has those components already", "conflict")
            return Change({"components": wanted}, [NewEvent("component", {
                "added": added, "removed": removed, "components": wanted})],
                before={"components": list(inc.components)}, after={"components": wanted})

        return self.store.change(id_or_ref, actor=actor, via=via, action="incident.components", apply=apply)

    # --- alert groups ---
    def attach(self, id_or_ref: str, group_keys: Sequence[str], *, actor: str | None, via: str) -> Incident:
        """Attach firing alert groups by key (one not firing is refused, naming it)."""
        if not group_keys:
            raise IncidentError("name at least one group_key", "invalid")
        firing = self.groups()
        groups = [self._group(k, firing) for k in dict.fromkeys(group_keys)]

        def apply(conn: Connection, inc: Incident, _now: datetime) -> Change:
            if not inc.is_open:
                raise IncidentError(f"incident {inc.ref} is resolved: reopen it to attach alert groups", "conflict")
            present = self.store.attached_keys(conn, inc.id)
            new = [g for g in groups if g.group_key not in present]
            if not new:
                raise IncidentError(f"those alert groups are attached to {inc.ref} already", "conflict")
            return Change(attach=new, after={"attached": [g.group_key for g in new]})

        return self.store.change(id_or_ref, actor=actor, via=via, action="incident.attach", apply=apply)

    def detach(self, id_or_ref: str, group_key: str, *, actor: str | None, via: str) -> Incident:
        def apply(conn: Connection, inc: Incident, now: datetime) -> Change:
            if not self.store.detach_in(conn, inc.id, group_key, now):
                raise IncidentError(f"alert group {group_key!r} is not attached to {inc.ref}", "not_found")
            return Change(events=[NewEvent("alert_detached", {"group_key": group_key})],
                          before={"attached": [group_key]}, after={"detached": [group_key]})

        return self.store.change(id_or_ref, actor=actor, via=via, action="incident.detach", apply=apply)

    def attach_matching(self, firing: list[FiringGroup] | None = None) -> list[tuple[str, str]]:
        """Attach, as Vigil, firing groups that match an open incident's matchers and are not
        attached to it (never re-attaching one a person detached). Returns (ref, group key)
        pairs attached by this call."""
        firing = self.groups() if firing is None else firing
        done: list[tuple[str, str]] = []
        for inc in self.store.incidents(open_only=True, limit=100_000):
            if not inc.alert_matchers:
                continue
            try:
                matchers = parse_alert_matchers(inc.alert_matchers)
            except IncidentError:
                continue  # stored before validation existed; nothing can match
            known = {g.group_key for g in self.store.attached(inc.id, include_detached=True)}
            new = [to_attach(g, ", ".join(inc.alert_matchers)) for g in firing
                   if g.key not in known and group_matches(matchers, g)]
            if not new:
                continue

            def apply(conn: Connection, current: Incident, _now: datetime,
                      new: list[GroupToAttach] = new) -> Change | None:
                if not current.is_open:
                    return None
                present = self.store.attached_keys(conn, current.id, include_detached=True)
                fresh = [g for g in new if g.group_key not in present]
                return Change(attach=fresh, after={"attached": [g.group_key for g in fresh]}) if fresh else None

            before = {g.group_key for g in self.store.attached(inc.id)}
            after = self.store.change(inc.id, actor=None, via="vigil", action="incident.attach", apply=apply)
            done += [(after.ref, g.group_key) for g in self.store.attached(inc.id) if g.group_key not in before]
        return done

    # --- escalation (vigil.oncall.escalation.IncidentDeclarer) ---
    def declare_for_escalation(self, *, origin_key: str, severity: int, title: str | None,
                               group_key: str) -> tuple[str, bool]:
        """The incident of an escalation's ``declare_incident`` step: the episode's group
        attached, declared by Vigil, once per ``origin_key``."""
        existing = self.store.by_origin(origin_key)
        if existing is not None:
            return existing.ref, False
        group = self._group(group_key, self.groups())
        inc, created = self.declare_or_find(title=title or group_title(group.group_labels), severity=severity,
                                            actor=None, via="vigil", group_keys=[group_key], source="escalation",
                                            origin_key=origin_key)
        return inc.ref, created
