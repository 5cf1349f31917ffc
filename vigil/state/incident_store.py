"""Incidents in the state database (issue 17): the incident, the alert groups attached to it
and its timeline, on the tables of :mod:`vigil.state.incident_schema`.

Every change is ONE transaction, under the incident's lock (:func:`lock_incident`), that
updates the incident, appends its timeline event(s) and writes one audit entry (Vigil's own
changes: actor None in the timeline, ``vigil`` in the audit log). Refs (``INC-YYYYMMDD-NNN``)
are numbered under a per-day lock and the column is unique, so two replicas declaring at once
get two refs. A declaration with an ``origin_key`` (an escalation step, a candidate) finds the
incident an earlier or concurrent declaration with that key made. Every time is the
database's clock.

The rules of status moves (:data:`MOVES`) live here, next to the states, because they are
checked under the lock, against the status the transaction read.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from vigil.errors import VigilError
from vigil.state import schema
from vigil.state.access_store import _audit
from vigil.state.coordination import db_now, lock_for_transaction, upsert
from vigil.state.escalation_store import QueuedNotification
from vigil.state.incident_schema import incident_alerts, incident_events, incidents

__all__ = ["MOVES", "ROLES", "SOURCES", "STATUSES", "AttachedGroup", "Change", "GroupToAttach",
           "Incident", "IncidentError", "IncidentEvent", "IncidentStore", "NewEvent", "lock_incident",
           "record_event"]

STATUSES: tuple[str, ...] = ("investigating", "identified", "monitoring", "resolved")
# Allowed status moves: forward, skipping allowed; from monitoring back (a relapse). Resolved
# is final: only the explicit reopen action leaves it (to investigating).
MOVES: dict[str, tuple[str, ...]] = {
    "investigating": ("identified", "monitoring", "resolved"),
    "identified": ("monitoring", "resolved"),
    "monitoring": ("investigating", "identified", "resolved"),
    "resolved": (),
}
ROLES: tuple[str, ...] = ("commander", "communications", "scribe", "responders")
SOURCES: tuple[str, ...] = ("manual", "alert", "escalation", "candidate")
REF_PATTERN = re.compile(r"^INC-\d{8}-\d{3,}$", re.IGNORECASE)
VIGIL_AUDIT_ACTOR = "vigil"


class IncidentError(VigilError):
    """An incident that does not exist (``kind`` "not_found"), a change its state does not
    allow ("conflict"), or a bad argument ("invalid")."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Incident:
    id: str
    ref: str
    title: str
    summary: str
    impact: str
    severity: int
    status: str
    commander: str | None
    roles: dict[str, Any]  # {"communications": name|None, "scribe": name|None, "responders": [...]}
    components: tuple[str, ...]
    channel: str
    alert_matchers: tuple[str, ...]
    source: str
    origin_key: str | None
    declared_by: str
    started_at: datetime
    detected_at: datetime
    declared_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    next_update_at: datetime | None
    updated_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"

    @property
    def severity_name(self) -> str:
        return f"SEV-{self.severity}"


@dataclass(frozen=True)
class IncidentEvent:
    id: int
    incident_id: str
    at: datetime
    kind: str
    actor: str | None  # None: Vigil itself
    via: str
    detail: dict[str, Any]
    public: bool
    source_key: str | None = None  # set on events copied from elsewhere (see record_event)


@dataclass(frozen=True)
class AttachedGroup:
    incident_id: str
    group_key: str
    group_labels: dict[str, str]
    receiver: str
    first_alert_at: datetime | None
    attached_at: datetime
    attached_by: str | None  # None: Vigil (matchers, escalation, candidate)
    detached_at: datetime | None


@dataclass(frozen=True)
class GroupToAttach:
    """An alert group to attach: its key, labels, receiver and earliest alert start."""

    group_key: str
    group_labels: dict[str, str]
    receiver: str = ""
    first_alert_at: datetime | None = None
    matcher: str | None = None  # the incident's matcher it matched (None: attached by name)


@dataclass(frozen=True)
class NewEvent:
    """A timeline event a write appends besides its own (a page sent at declaration)."""

    kind: str
    detail: dict[str, Any] = field(default_factory=dict)
    public: bool = False
    by_vigil: bool = False  # recorded with actor None, via "vigil" (a page Vigil sent)


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _incident(row: Any) -> Incident:
    roles = dict(row["roles"] or {})
    roles.setdefault("communications", None)
    roles.setdefault("scribe", None)
    roles["responders"] = list(roles.get("responders") or [])
    return Incident(
        id=row["id"], ref=row["ref"], title=row["title"], summary=row["summary"] or "",
        impact=row["impact"] or "", severity=int(row["severity"]), status=row["status"],
        commander=row["commander"], roles=roles, components=tuple(row["components"] or ()),
        channel=row["channel"] or "", alert_matchers=tuple(row["alert_matchers"] or ()),
        source=row["source"], origin_key=row["origin_key"], declared_by=row["declared_by"],
        started_at=_utc(row["started_at"]), detected_at=_utc(row["detected_at"]),  # type: ignore[arg-type]
        declared_at=_utc(row["declared_at"]), acknowledged_at=_utc(row["acknowledged_at"]),  # type: ignore[arg-type]
        mitigated_at=_utc(row["mitigated_at"]), resolved_at=_utc(row["resolved_at"]),
        next_update_at=_utc(row["next_update_at"]), updated_at=_utc(row["updated_at"]))  # type: ignore[arg-type]


def _attached(row: Any) -> AttachedGroup:
    return AttachedGroup(row["incident_id"], row["group_key"], dict(row["group_labels"] or {}),
                         row["receiver"] or "", _utc(row["first_alert_at"]),
                         _utc(row["attached_at"]), row["attached_by"], _utc(row["detached_at"]))  # type: ignore[arg-type]


def lock_incident(conn: Connection, incident_id: str) -> None:
    """Serialise the rest of ``conn``'s transaction with every other change of the incident."""
    lock_for_transaction(conn, "incident", incident_id)


def record_event(conn: Connection, *, incident_id: str, at: datetime, kind: str, actor: str | None,
                 via: str, detail: dict[str, Any], public: bool = False,
                 source_key: str | None = None) -> int | None:
    """Append a timeline event inside ``conn``'s transaction. Returns its id, or None when an
    event with ``source_key`` exists already (copied before, by this replica or another)."""
    values = dict(incident_id=incident_id, at=at, kind=kind, actor=actor, via=via,
                  detail=dict(detail), public=public, source_key=source_key)
    if source_key is None:
        return int(conn.execute(insert(incident_events).values(**values)).inserted_primary_key[0])
    stmt = upsert(conn, incident_events).values(**values).on_conflict_do_nothing(
        index_elements=[incident_events.c.source_key]).returning(incident_events.c.id)
    row = conn.execute(stmt).first()
    return None if row is None else int(row[0])


def _find(conn: Connection, id_or_ref: str) -> Incident:
    i = incidents
    key = i.c.ref == id_or_ref.upper() if REF_PATTERN.match(id_or_ref) else i.c.id == id_or_ref
    row = conn.execute(select(i).where(key)).mappings().first()
    if row is None:
        raise IncidentError(f"no incident {id_or_ref!r}", "not_found")
    return _incident(row)


def _audit_row(conn: Connection, now: datetime, actor: str | None, action: str, inc: Incident,
               before: Any, after: Any) -> None:
    _audit(conn, now=now, actor=actor or VIGIL_AUDIT_ACTOR, action=action,
           target=f"incident {inc.ref}", before=before, after=after)


def _next_ref(conn: Connection, now: datetime) -> tuple[str, str, str]:
    """(ref, day, seq) of the day's next incident; the caller holds the day's lock."""
    day = now.strftime("%Y%m%d")
    prefix = f"INC-{day}-"
    refs = conn.execute(select(incidents.c.ref).where(incidents.c.ref.startswith(prefix))).scalars()
    seq = max((int(r[len(prefix):]) for r in refs if r[len(prefix):].isdigit()), default=0) + 1
    return f"{prefix}{seq:03d}", day, f"{seq:03d}"


class IncidentStore:
    """Incidents, their attached groups and timelines on ``engine`` (the Store's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- reading ---
    def now(self) -> datetime:
        with self.engine.connect() as conn:
            return db_now(conn)

    def get(self, id_or_ref: str) -> Incident:
        with self.engine.connect() as conn:
            return _find(conn, id_or_ref)

    def incidents(self, *, open_only: bool = False, since: datetime | None = None,
                  limit: int = 500) -> list[Incident]:
        """Incidents, newest declaration first; ``since``: declared or resolved at or after."""
        i = incidents
        stmt = select(i)
        if open_only:
            stmt = stmt.where(i.c.status != "resolved")
        if since is not None:
            stmt = stmt.where((i.c.declared_at >= since) | (i.c.resolved_at >= since)
                              | (i.c.status != "resolved"))
        stmt = stmt.order_by(i.c.declared_at.desc(), i.c.ref.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_incident(r) for r in conn.execute(stmt).mappings()]

    def events(self, incident_id: str, *, public_only: bool = False) -> list[IncidentEvent]:
        """The timeline, in order (time, then insertion)."""
        v = incident_events
        stmt = select(v).where(v.c.incident_id == incident_id)
        if public_only:
            stmt = stmt.where(v.c.public.is_(True))
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.order_by(v.c.at, v.c.id)).mappings()
            return [IncidentEvent(r["id"], r["incident_id"], _utc(r["at"]), r["kind"], r["actor"],  # type: ignore[arg-type]
                                  r["via"], dict(r["detail"] or {}), bool(r["public"]), r["source_key"])
                    for r in rows]

    def attached(self, incident_id: str, *, include_detached: bool = False) -> list[AttachedGroup]:
        a = incident_alerts
        stmt = select(a).where(a.c.incident_id == incident_id)
        if not include_detached:
            stmt = stmt.where(a.c.detached_at.is_(None))
        with self.engine.connect() as conn:
            return [_attached(r) for r in conn.execute(stmt.order_by(a.c.attached_at, a.c.group_key)).mappings()]

    def attached_to_open(self) -> list[tuple[Incident, AttachedGroup]]:
        """Every group attached (not detached) to an open incident, with its incident."""
        a, i = incident_alerts, incidents
        stmt = (select(a, i.c.ref).join(i, i.c.id == a.c.incident_id)
                .where(i.c.status != "resolved", a.c.detached_at.is_(None)))
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
            found = {inc.id: inc for inc in (_find(conn, iid) for iid in {r["incident_id"] for r in rows})}
        return [(found[r["incident_id"]], _attached(r)) for r in rows]

    def by_origin(self, origin_key: str) -> Incident | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(incidents).where(incidents.c.origin_key == origin_key)).mappings().first()
        return None if row is None else _incident(row)

    # --- writing ---
    def declare(self, *, title: str, severity: int, actor: str | None, via: str, summary: str = "",
                impact: str = "", components: Sequence[str] = (), commander: str | None = None,
                alert_matchers: Sequence[str] = (), groups: Sequence[GroupToAttach] = (),
                source: str = "manual", origin_key: str | None = None, channel_pattern: str = "",
                started_at: datetime | None = None, update_interval_s: float | None = None,
                pages: Callable[[Incident], tuple[Sequence[QueuedNotification], Sequence[NewEvent]]] | None = None,
                ) -> tuple[Incident, bool]:
        """Declare an incident: (the incident, True) or, when ``origin_key`` was declared
        before, (that incident, False). ``pages`` gets the new incident (ref known) and returns
        the notifications to queue in the outbox and the events recording them, all in this
        transaction."""
        if source not in SOURCES:
            raise IncidentError(f"source must be one of {', '.join(SOURCES)}, not {source!r}", "invalid")
        with self.engine.begin() as conn:
            if origin_key is not None:
                lock_for_transaction(conn, "incident_origin", origin_key)
                row = conn.execute(select(incidents).where(incidents.c.origin_key == origin_key)).mappings().first()
                if row is not None:
                    return _incident(row), False
            now = db_now(conn)
            lock_for_transaction(conn, "incident_ref", now.strftime("%Y%m%d"))
            ref, day, seq = _next_ref(conn, now)
            firsts = [g.first_alert_at for g in groups if g.first_alert_at is not None]
            detected = min([now, *firsts])
            incident_id = str(uuid.uuid4())
            channel = channel_pattern.format(date=day, seq=seq, ref=ref.lower(), id=incident_id) if channel_pattern else ""
            conn.execute(insert(incidents).values(
                id=incident_id, ref=ref, title=title, summary=summary, impact=impact, severity=severity,
                status="investigating", commander=commander,
                roles={"communications": None, "scribe": None, "responders": []},
                components=list(dict.fromkeys(components)), channel=channel,
                alert_matchers=list(alert_matchers), source=source, origin_key=origin_key,
                declared_by=actor or VIGIL_AUDIT_ACTOR, started_at=min(started_at or detected, detected),
                detected_at=detected, declared_at=now, acknowledged_at=now if commander else None,
                mitigated_at=None, resolved_at=None,
                next_update_at=None if update_interval_s is None else now + timedelta(seconds=update_interval_s),
                updated_at=now))
            inc = _find(conn, incident_id)
            record_event(conn, incident_id=incident_id, at=now, kind="declared", actor=actor, via=via, detail={
                "severity": severity, "title": title, "source": source, "commander": commander,
                "components": list(inc.components), "alert_matchers": list(alert_matchers),
                "origin_key": origin_key})
            if commander:
                record_event(conn, incident_id=incident_id, at=now, kind="role", actor=actor, via=via,
                             detail={"role": "commander", "user": commander, "previous": None})
            for g in groups:
                self._attach(conn, inc, g, now, actor, via)
            if pages is not None:
                notifications, events = pages(inc)
                _enqueue(conn, incident_id, now, notifications)
                for ev in events:
                    record_event(conn, incident_id=incident_id, at=now, kind=ev.kind, actor=None,
                                 via="vigil", detail=ev.detail, public=ev.public)
            inc = _find(conn, incident_id)
            _audit_row(conn, now, actor, "incident.declare", inc, None, {
                "ref": ref, "title": title, "severity": severity, "source": source,
                "commander": commander, "components": list(inc.components),
                "alert_matchers": list(alert_matchers), "groups": [g.group_key for g in groups]})
            return inc, True

    def _attach(self, conn: Connection, inc: Incident, g: GroupToAttach, now: datetime,
                actor: str | None, via: str) -> bool:
        """Attach ``g`` (again, if it was detached); False when it is attached already."""
        a = incident_alerts
        row = conn.execute(select(a).where(a.c.incident_id == inc.id, a.c.group_key == g.group_key)).mappings().first()
        if row is not None and row["detached_at"] is None:
            return False
        values = dict(group_labels=dict(g.group_labels), receiver=g.receiver, first_alert_at=g.first_alert_at,
                      attached_at=now, attached_by=actor, detached_at=None)
        if row is None:
            conn.execute(insert(a).values(incident_id=inc.id, group_key=g.group_key, **values))
        else:
            conn.execute(update(a).where(a.c.incident_id == inc.id, a.c.group_key == g.group_key).values(**values))
        inc = _find(conn, inc.id)  # an earlier attachment of this transaction may have moved it
        if g.first_alert_at is not None and g.first_alert_at < inc.detected_at:
            i = incidents
            conn.execute(update(i).where(i.c.id == inc.id).values(
                detected_at=g.first_alert_at, started_at=min(inc.started_at, g.first_alert_at)))
        record_event(conn, incident_id=inc.id, at=now, kind="alert_attached", actor=actor, via=via, detail={
            "group_key": g.group_key, "labels": dict(g.group_labels), "receiver": g.receiver,
            "first_alert_at": None if g.first_alert_at is None else _iso(g.first_alert_at),
            "matcher": g.matcher})
        return True

    def change(self, id_or_ref: str, *, actor: str | None, via: str, action: str,
               apply: Callable[[Connection, Incident, datetime], Change | None]) -> Incident:
        """One change of an incident: under its lock, ``apply`` gets the incident as the
        transaction reads it and the database's time, checks the change is allowed (raising
        :class:`IncidentError` if not) and says what to write, or None for nothing to do
        (no event, no audit entry). Writes the columns, the events and ONE audit entry."""
        with self.engine.begin() as conn:
            inc = _find(conn, id_or_ref)
            lock_incident(conn, inc.id)
            inc = _find(conn, inc.id)
            now = db_now(conn)
            planned = apply(conn, inc, now)
            if planned is None:
                return inc
            if planned.values:
                conn.execute(update(incidents).where(incidents.c.id == inc.id)
                             .values(**planned.values, updated_at=now))
            for g in planned.attach:
                self._attach(conn, inc, g, now, actor, via)
            for ev in planned.events:
                record_event(conn, incident_id=inc.id, at=now, kind=ev.kind,
                             actor=None if ev.by_vigil else actor, via="vigil" if ev.by_vigil else via,
                             detail=ev.detail, public=ev.public)
            _enqueue(conn, inc.id, now, planned.notifications)
            _audit_row(conn, now, actor, action, inc, planned.before, planned.after)
            return _find(conn, inc.id)

    @staticmethod
    def attached_keys(conn: Connection, incident_id: str, *, include_detached: bool = False) -> set[str]:
        """The attached groups' keys, read inside a :meth:`change`'s transaction."""
        a = incident_alerts
        stmt = select(a.c.group_key).where(a.c.incident_id == incident_id)
        if not include_detached:
            stmt = stmt.where(a.c.detached_at.is_(None))
        return set(conn.execute(stmt).scalars())

    def detach_in(self, conn: Connection, incident_id: str, group_key: str, now: datetime) -> bool:
        """Mark a group detached inside a :meth:`change`; False when it is not attached."""
        a = incident_alerts
        result = conn.execute(update(a).where(a.c.incident_id == incident_id, a.c.group_key == group_key,
                                              a.c.detached_at.is_(None)).values(detached_at=now))
        return bool(result.rowcount)


@dataclass(frozen=True)
class Change:
    """What :meth:`IncidentStore.change` writes: columns, groups to attach, timeline events
    (by the change's actor), and the audit entry's before and after."""

    values: dict[str, Any] = field(default_factory=dict)
    events: Sequence[NewEvent] = ()
    attach: Sequence[GroupToAttach] = ()
    notifications: Sequence[QueuedNotification] = ()  # pages to queue in the outbox
    before: Any = None
    after: Any = None


def _enqueue(conn: Connection, incident_id: str, now: datetime, notifications: Sequence[QueuedNotification]) -> None:
    """Queue pages in the outbox (delivered by the ``@oncall`` integrations' workers)."""
    for n in notifications:
        conn.execute(insert(schema.outbox).values(
            group_key=f"inc:{incident_id}", receiver=n.receiver, integration=n.integration,
            payload=n.payload, firing=[], resolved=[], status="pending", attempts=0,
            next_attempt_at=now + timedelta(seconds=n.delay_s), last_error="", created_at=now))


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
