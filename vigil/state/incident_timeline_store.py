"""What the incidents' timeline loop (:mod:`vigil.incidents.timeline`) reads and writes in
the state database: the episode events of attached groups, the copying of events into a
timeline (each once, by ``source_key``), and the open incidents per severity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, func, select, update

from vigil.state.incident_schema import incidents
from vigil.state.incident_store import record_event
from vigil.state.lifecycle_schema import alert_episodes, episode_events

__all__ = ["TimelineStore"]


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


class TimelineStore:
    """On ``engine`` (the Store's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def group_episode_events(self, group_key: str, since: datetime, until: datetime | None = None,
                             ) -> list[dict[str, Any]]:
        """The events of ``group_key``'s alert episodes that were unresolved at or after
        ``since`` (and opened by ``until``), up to ``until``, in order: dicts with
        episode_id, priority, id, at, kind, actor, via, detail."""
        e, v = alert_episodes, episode_events
        stmt = (select(v, e.c.priority).join(e, e.c.id == v.c.episode_id)
                .where(e.c.group_key == group_key, (e.c.resolved_at.is_(None)) | (e.c.resolved_at >= since)))
        if until is not None:
            stmt = stmt.where(e.c.opened_at <= until, v.c.at <= until)
        with self.engine.connect() as conn:
            return [{"episode_id": r["episode_id"], "priority": r["priority"], "id": r["id"], "at": _utc(r["at"]),
                     "kind": r["kind"], "actor": r["actor"], "via": r["via"], "detail": dict(r["detail"] or {})}
                    for r in conn.execute(stmt.order_by(v.c.at, v.c.id)).mappings()]

    def copy_events(self, incident_id: str, events: Sequence[tuple[str, datetime, str, str | None, str,
                                                                    dict[str, Any]]],
                    *, acknowledged_at: datetime | None = None) -> int:
        """Copy events into the timeline, each once: (source_key, at, kind, actor, via,
        detail). ``acknowledged_at``: set it on the incident if it has none yet. One
        transaction; returns how many were new."""
        added = 0
        with self.engine.begin() as conn:
            for source_key, at, kind, actor, via, detail in events:
                if record_event(conn, incident_id=incident_id, at=at, kind=kind, actor=actor, via=via,
                                detail=detail, source_key=source_key) is not None:
                    added += 1
            if acknowledged_at is not None:
                i = incidents
                conn.execute(update(i).where(i.c.id == incident_id, i.c.acknowledged_at.is_(None))
                             .values(acknowledged_at=acknowledged_at))
        return added

    def open_counts(self) -> dict[int, int]:
        """Open incidents per severity (every severity present, 0 when none)."""
        i = incidents
        counts = {n: 0 for n in (1, 2, 3, 4)}
        with self.engine.connect() as conn:
            for severity, count in conn.execute(select(i.c.severity, func.count()).where(i.c.status != "resolved")
                                                .group_by(i.c.severity)):
                counts[int(severity)] = int(count)
        return counts
