"""The public status page's state (issue 17): manual overrides of components, the newest
health check of each component and the log of status transitions, on the tables of
:mod:`vigil.state.status_page_schema`.

An override change is one transaction that also writes its audit entry
(``statuspage.override``). Transitions are appended under one lock and only when a
component's shown status differs from its newest row, so a second replica (or a retried
pass) appends nothing twice. Every time is the database's clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select

from vigil.errors import VigilError
from vigil.state.access_store import _audit
from vigil.state.coordination import db_now, lock_for_transaction, upsert
from vigil.state.incident_schema import incident_events
from vigil.state.incident_store import IncidentEvent
from vigil.state.status_page_schema import (
    status_page_checks,
    status_page_overrides,
    status_page_transitions,
)

__all__ = ["ComponentCheck", "ComponentOverride", "StatusPageError", "StatusPageStore", "StatusTransition"]


class StatusPageError(VigilError):
    """No such override (``kind`` "not_found") or a bad argument ("invalid")."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ComponentOverride:
    component: str
    status: str
    message: str
    set_by: str
    set_at: datetime
    expires_at: datetime | None  # None: until cleared

    def in_force(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at

    def audit_json(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, "set_by": self.set_by,
                "expires_at": None if self.expires_at is None else self.expires_at.isoformat()}


@dataclass(frozen=True)
class ComponentCheck:
    component: str
    status: str
    healthy: int
    total: int
    checked_at: datetime


@dataclass(frozen=True)
class StatusTransition:
    component: str
    status: str
    since: datetime
    source: str  # query | incident | override | maintenance


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _override(row: Any) -> ComponentOverride:
    return ComponentOverride(row["component"], row["status"], row["message"], row["set_by"],
                             _utc(row["set_at"]), _utc(row["expires_at"]))  # type: ignore[arg-type]


def _transition(row: Any) -> StatusTransition:
    return StatusTransition(row["component"], row["status"], _utc(row["since"]), row["source"])  # type: ignore[arg-type]


class StatusPageStore:
    """Overrides, checks and transitions on ``engine`` (the :class:`vigil.state.Store`'s)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def now(self) -> datetime:
        with self.engine.connect() as conn:
            return db_now(conn)

    # --- overrides ---
    def overrides(self) -> dict[str, ComponentOverride]:
        """Every stored override by component, expired ones included (callers compare
        ``expires_at`` with the database's clock)."""
        with self.engine.connect() as conn:
            return {r["component"]: _override(r)
                    for r in conn.execute(select(status_page_overrides)).mappings()}

    def _get_override(self, conn: Connection, component: str) -> ComponentOverride | None:
        o = status_page_overrides
        row = conn.execute(select(o).where(o.c.component == component)).mappings().first()
        return None if row is None else _override(row)

    def set_override(self, component: str, *, status: str, message: str, expires_at: datetime | None,
                     actor: str, remote_addr: str = "") -> ComponentOverride:
        """Set (or replace) the override of ``component``; refuses an expiry not in the
        future. Audited as ``statuspage.override`` in the same transaction."""
        o = status_page_overrides
        with self.engine.begin() as conn:
            lock_for_transaction(conn, "status_page_override", component)
            now = db_now(conn)
            if expires_at is not None and expires_at <= now:
                raise StatusPageError(f"until {expires_at.isoformat()} is not in the future", "invalid")
            before = self._get_override(conn, component)
            values = {"status": status, "message": message, "set_by": actor, "set_at": now,
                      "expires_at": expires_at}
            stmt = upsert(conn, o).values(component=component, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=[o.c.component], set_=values))
            after = self._get_override(conn, component)
            assert after is not None
            _audit(conn, now=now, actor=actor, action="statuspage.override",
                   target=f"status-page/components/{component}", remote_addr=remote_addr,
                   before=None if before is None or not before.in_force(now) else before.audit_json(),
                   after=after.audit_json())
            return after

    def clear_override(self, component: str, *, actor: str, remote_addr: str = "") -> ComponentOverride:
        """Remove the override of ``component`` (the one removed is returned); audited."""
        o = status_page_overrides
        with self.engine.begin() as conn:
            lock_for_transaction(conn, "status_page_override", component)
            now = db_now(conn)
            before = self._get_override(conn, component)
            if before is None or not before.in_force(now):
                raise StatusPageError(f"component {component!r} has no override in force", "not_found")
            conn.execute(delete(o).where(o.c.component == component))
            _audit(conn, now=now, actor=actor, action="statuspage.override",
                   target=f"status-page/components/{component}", remote_addr=remote_addr,
                   before=before.audit_json(), after=None)
            return before

    # --- health checks ---
    def checks(self) -> dict[str, ComponentCheck]:
        with self.engine.connect() as conn:
            return {r["component"]: ComponentCheck(r["component"], r["status"], r["healthy"], r["total"],
                                                   _utc(r["checked_at"]))  # type: ignore[arg-type]
                    for r in conn.execute(select(status_page_checks)).mappings()}

    def record_checks(self, checks: Iterable[ComponentCheck]) -> None:
        c = status_page_checks
        with self.engine.begin() as conn:
            for check in checks:
                values = {"status": check.status, "healthy": check.healthy, "total": check.total,
                          "checked_at": check.checked_at}
                stmt = upsert(conn, c).values(component=check.component, **values)
                conn.execute(stmt.on_conflict_do_update(index_elements=[c.c.component], set_=values))

    # --- transitions ---
    def latest_transitions(self) -> dict[str, StatusTransition]:
        """The newest transition of every component that has one."""
        t = status_page_transitions
        newest = select(func.max(t.c.id)).group_by(t.c.component).scalar_subquery()
        with self.engine.connect() as conn:
            return {r["component"]: _transition(r)
                    for r in conn.execute(select(t).where(t.c.id.in_(newest))).mappings()}

    def transitions(self, since: datetime) -> list[StatusTransition]:
        """Transitions from ``since`` on, and for each component the newest one before it
        (its status at ``since``), in order of component and time."""
        t = status_page_transitions
        before = (select(func.max(t.c.id)).where(t.c.since < since).group_by(t.c.component)
                  .scalar_subquery())
        stmt = (select(t).where((t.c.since >= since) | t.c.id.in_(before))
                .order_by(t.c.component, t.c.since, t.c.id))
        with self.engine.connect() as conn:
            return [_transition(r) for r in conn.execute(stmt).mappings()]

    def record_transitions(self, shown: Mapping[str, tuple[str, str]], at: datetime | None = None
                           ) -> list[StatusTransition]:
        """Append a transition for each component of ``shown`` (component -> (status,
        source)) whose newest row has another status (or that has none); returns those
        appended. ``at`` defaults to the database's clock."""
        t = status_page_transitions
        with self.engine.begin() as conn:
            lock_for_transaction(conn, "status_page_transitions")
            since = at or db_now(conn)
            newest = select(func.max(t.c.id)).group_by(t.c.component).scalar_subquery()
            current = {r["component"]: r["status"]
                       for r in conn.execute(select(t).where(t.c.id.in_(newest))).mappings()}
            added = [StatusTransition(name, status, since, source)
                     for name, (status, source) in sorted(shown.items()) if current.get(name) != status]
            if added:
                conn.execute(insert(t), [{"component": a.component, "status": a.status, "since": a.since,
                                          "source": a.source} for a in added])
            return added

    def prune_transitions(self, before: datetime) -> int:
        """Delete the transitions older than ``before`` but each component's newest one
        before it (its status at ``before``, where its uptime starts). Returns how many."""
        t = status_page_transitions
        keep = select(func.max(t.c.id)).where(t.c.since < before).group_by(t.c.component).scalar_subquery()
        with self.engine.begin() as conn:
            return conn.execute(delete(t).where(t.c.since < before, t.c.id.not_in(keep))).rowcount or 0

    # --- what incidents published ---
    def public_updates(self, incident_ids: Iterable[str]) -> dict[str, list[IncidentEvent]]:
        """The public ``public_update`` timeline events of ``incident_ids`` (one query, not one
        per incident: the public page reads them on every request), by incident, in order."""
        v = incident_events
        ids = list(incident_ids)
        out: dict[str, list[IncidentEvent]] = {i: [] for i in ids}
        if not ids:
            return out
        stmt = (select(v).where(v.c.incident_id.in_(ids), v.c.kind == "public_update", v.c.public.is_(True))
                .order_by(v.c.at, v.c.id))
        with self.engine.connect() as conn:
            for r in conn.execute(stmt).mappings():
                out[r["incident_id"]].append(IncidentEvent(
                    r["id"], r["incident_id"], _utc(r["at"]), r["kind"], r["actor"], r["via"],  # type: ignore[arg-type]
                    dict(r["detail"] or {}), bool(r["public"])))
        return out
