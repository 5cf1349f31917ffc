"""Episodes of alert groups in the state database (issue 16): opened when a group fires,
acknowledged, un-acknowledged and resolved by people, resolved by Vigil when every alert of
the group has resolved, and their SLA breaches. Every change is one transaction that also
appends to the episode's event log, so who did what and when is never lost.

Replicas: a group has at most one unresolved episode (a unique ``open_key``), changes to one
group's episodes are serialised by a per-group lock, and an SLA breach is recorded by a
conditional update (``breached_at IS NULL``), so two replicas record it once. Every time is
the database's clock.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from vigil.errors import VigilError
from vigil.state.coordination import db_now, lock_for_transaction, upsert
from vigil.state.lifecycle_schema import alert_episodes, episode_events, oncall_keys

__all__ = ["CLASSIFICATIONS", "Episode", "EpisodeError", "EpisodeEvent", "LifecycleStore"]

CLASSIFICATIONS: tuple[str, ...] = ("actionable", "false_positive", "duplicate", "no_action_needed")


class EpisodeError(VigilError):
    """An episode that does not exist (``kind`` "not_found"), an action its state does not
    allow ("conflict"), or a bad argument ("invalid")."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Episode:
    id: str
    group_key: str
    receiver: str
    group_labels: dict[str, str]
    priority: str
    state: str  # open | acknowledged | resolved
    opened_at: datetime
    ack_deadline_at: datetime
    first_acknowledged_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    breached_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    classification: str | None
    procedure: str | None
    note: str | None
    previous_id: str | None
    runbooks: tuple[str, ...]

    def seconds_left(self, now: datetime) -> float | None:
        """Seconds until the acknowledge deadline (negative once passed); None when the
        episode was acknowledged or is resolved, as the deadline no longer applies."""
        if self.first_acknowledged_at is not None or self.state == "resolved":
            return None
        return (self.ack_deadline_at - now).total_seconds()


@dataclass(frozen=True)
class EpisodeEvent:
    id: int
    episode_id: str
    at: datetime
    kind: str
    actor: str | None
    via: str
    detail: dict[str, Any]


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _episode(row: Any) -> Episode:
    return Episode(
        id=row["id"], group_key=row["group_key"], receiver=row["receiver"],
        group_labels=dict(row["group_labels"]), priority=row["priority"], state=row["state"],
        opened_at=_utc(row["opened_at"]), ack_deadline_at=_utc(row["ack_deadline_at"]),  # type: ignore[arg-type]
        first_acknowledged_at=_utc(row["first_acknowledged_at"]),
        acknowledged_at=_utc(row["acknowledged_at"]), acknowledged_by=row["acknowledged_by"],
        breached_at=_utc(row["breached_at"]), resolved_at=_utc(row["resolved_at"]),
        resolved_by=row["resolved_by"], classification=row["classification"],
        procedure=row["procedure"], note=row["note"], previous_id=row["previous_id"],
        runbooks=tuple(row["runbooks"]))


class LifecycleStore:
    """Episodes and their events on ``engine`` (the :class:`vigil.state.Store`'s)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- reading ---
    def get(self, episode_id: str) -> Episode:
        with self.engine.connect() as conn:
            return self._get(conn, episode_id)

    def _get(self, conn: Connection, episode_id: str) -> Episode:
        row = conn.execute(select(alert_episodes).where(alert_episodes.c.id == episode_id)).mappings().first()
        if row is None:
            raise EpisodeError(f"no alert episode {episode_id!r}", "not_found")
        return _episode(row)

    def episodes(self, *, unresolved_only: bool = True, limit: int = 500) -> list[Episode]:
        """Episodes, most urgent deadline first when unresolved, newest first otherwise."""
        e = alert_episodes
        stmt = select(e)
        if unresolved_only:
            stmt = stmt.where(e.c.open_key.is_not(None)).order_by(e.c.ack_deadline_at, e.c.id)
        else:
            stmt = stmt.order_by(e.c.opened_at.desc(), e.c.id)
        with self.engine.connect() as conn:
            return [_episode(r) for r in conn.execute(stmt.limit(limit)).mappings()]

    def unresolved_by_group(self) -> dict[str, Episode]:
        return {ep.group_key: ep for ep in self.episodes(unresolved_only=True, limit=1_000_000)}

    def events(self, episode_id: str) -> list[EpisodeEvent]:
        v = episode_events
        with self.engine.connect() as conn:
            rows = conn.execute(select(v).where(v.c.episode_id == episode_id).order_by(v.c.id)).mappings()
            return [EpisodeEvent(r["id"], r["episode_id"], _utc(r["at"]), r["kind"], r["actor"],  # type: ignore[arg-type]
                                 r["via"], dict(r["detail"])) for r in rows]

    def breached_unacknowledged(self) -> list[Episode]:
        """The escalation hook: unresolved episodes whose deadline passed unacknowledged
        (their breach is recorded), oldest breach first."""
        e = alert_episodes
        stmt = (select(e).where(e.c.open_key.is_not(None), e.c.breached_at.is_not(None),
                                e.c.first_acknowledged_at.is_(None)).order_by(e.c.breached_at))
        with self.engine.connect() as conn:
            return [_episode(r) for r in conn.execute(stmt).mappings()]

    def unresolved_for_group(self, group_key: str) -> Episode | None:
        e = alert_episodes
        with self.engine.connect() as conn:
            row = conn.execute(select(e).where(e.c.open_key == group_key)).mappings().first()
        return None if row is None else _episode(row)

    def episode_at(self, group_key: str, at: datetime) -> Episode | None:
        """The group's newest episode opened at or before ``at``."""
        e = alert_episodes
        stmt = (select(e).where(e.c.group_key == group_key, e.c.opened_at <= at)
                .order_by(e.c.opened_at.desc(), e.c.id.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else _episode(row)

    def shared_secret(self, name: str) -> str:
        """The secret ``name`` all replicas share: made (32 random bytes, hex) by the first
        to ask, read by the others; never changes afterwards."""
        k = oncall_keys
        with self.engine.begin() as conn:
            stmt = upsert(conn, k).values(name=name, secret=secrets.token_hex(32), created_at=db_now(conn))
            conn.execute(stmt.on_conflict_do_nothing(index_elements=[k.c.name]))
            return str(conn.execute(select(k.c.secret).where(k.c.name == name)).scalar_one())

    def now(self) -> datetime:
        with self.engine.connect() as conn:
            return db_now(conn)

    # --- writing ---
    def _event(self, conn: Connection, episode_id: str, at: datetime, kind: str, actor: str | None,
               via: str, detail: dict[str, Any] | None = None) -> None:
        conn.execute(insert(episode_events).values(episode_id=episode_id, at=at, kind=kind,
                                                   actor=actor, via=via, detail=dict(detail or {})))

    def open(self, group_key: str, *, receiver: str, group_labels: dict[str, str], priority: str,
             deadline_s: float, runbooks: tuple[str, ...] = (),
             refired_since: datetime | None = None) -> Episode | None:
        """Open an episode for ``group_key`` unless one is unresolved (then None). After a
        resolved episode, a new one opens only if the group fired again: ``refired_since``
        is the start of its newest firing alert, and must be later than that resolution
        (a group resolved by hand while its alerts still fire stays resolved). The new
        episode links to the previous one."""
        e = alert_episodes
        with self.engine.begin() as conn:
            lock_for_transaction(conn, "alert_episode", group_key)
            last = conn.execute(select(e).where(e.c.group_key == group_key)
                                .order_by(e.c.opened_at.desc(), e.c.id.desc()).limit(1)).mappings().first()
            if last is not None:
                if last["open_key"] is not None:
                    return None
                resolved_at = _utc(last["resolved_at"])
                if refired_since is not None and resolved_at is not None and refired_since <= resolved_at:
                    return None
            now = db_now(conn)
            episode_id = str(uuid.uuid4())
            conn.execute(insert(e).values(
                id=episode_id, group_key=group_key, open_key=group_key, receiver=receiver,
                group_labels=dict(group_labels), priority=priority, state="open", opened_at=now,
                ack_deadline_at=now + timedelta(seconds=deadline_s),
                previous_id=None if last is None else last["id"], runbooks=list(runbooks)))
            self._event(conn, episode_id, now, "opened", None, "vigil",
                        {"priority": priority, "previous_id": None if last is None else last["id"]})
            return self._get(conn, episode_id)

    def raise_priority(self, episode_id: str, priority: str, deadline_s: float) -> Episode | None:
        """Make an unresolved episode more urgent (an alert of a higher priority joined the
        group): its deadline becomes the earlier of the old one and opening + ``deadline_s``.
        None when it is resolved or already that urgent (priorities compare as text: P1 < P2)."""
        e = alert_episodes
        with self.engine.begin() as conn:
            ep = self._get(conn, episode_id)
            if ep.state == "resolved" or priority >= ep.priority:
                return None
            deadline = min(ep.ack_deadline_at, ep.opened_at + timedelta(seconds=deadline_s))
            result = conn.execute(update(e).where(e.c.id == episode_id, e.c.priority == ep.priority,
                                                  e.c.open_key.is_not(None))
                                  .values(priority=priority, ack_deadline_at=deadline))
            if not result.rowcount:
                return None
            self._event(conn, episode_id, db_now(conn), "priority_raised", None, "vigil",
                        {"from": ep.priority, "to": priority})
            return self._get(conn, episode_id)

    def acknowledge(self, episode_id: str, *, actor: str, via: str, note: str = "") -> Episode:
        e = alert_episodes
        with self.engine.begin() as conn:
            ep = self._locked(conn, episode_id)
            if ep.state != "open":
                raise EpisodeError(f"alert episode {episode_id} is {ep.state}, not open", "conflict")
            now = db_now(conn)
            conn.execute(update(e).where(e.c.id == episode_id).values(
                state="acknowledged", acknowledged_at=now, acknowledged_by=actor,
                first_acknowledged_at=ep.first_acknowledged_at or now))
            self._event(conn, episode_id, now, "acknowledged", actor, via, {"note": note})
            return self._get(conn, episode_id)

    def unacknowledge(self, episode_id: str, *, actor: str, via: str, note: str = "") -> Episode:
        e = alert_episodes
        with self.engine.begin() as conn:
            ep = self._locked(conn, episode_id)
            if ep.state != "acknowledged":
                raise EpisodeError(f"alert episode {episode_id} is {ep.state}, not acknowledged", "conflict")
            now = db_now(conn)
            conn.execute(update(e).where(e.c.id == episode_id).values(
                state="open", acknowledged_at=None, acknowledged_by=None))
            self._event(conn, episode_id, now, "unacknowledged", actor, via, {"note": note})
            return self._get(conn, episode_id)

    def resolve(self, episode_id: str, *, actor: str | None, via: str, classification: str | None,
                procedure: str = "", note: str = "") -> Episode:
        """Resolve an episode. People must classify it (one of :data:`CLASSIFICATIONS`);
        Vigil (``actor`` None) resolves without, when every alert of the group resolved."""
        if actor is not None and classification not in CLASSIFICATIONS:
            raise EpisodeError(f"classification must be one of {', '.join(CLASSIFICATIONS)}, "
                               f"not {classification!r}", "invalid")
        e = alert_episodes
        with self.engine.begin() as conn:
            ep = self._locked(conn, episode_id)
            if ep.state == "resolved":
                raise EpisodeError(f"alert episode {episode_id} is resolved already", "conflict")
            now = db_now(conn)
            conn.execute(update(e).where(e.c.id == episode_id).values(
                state="resolved", open_key=None, resolved_at=now, resolved_by=actor,
                classification=classification, procedure=procedure or None, note=note or None))
            self._event(conn, episode_id, now, "resolved", actor, via,
                        {"classification": classification, "procedure": procedure, "note": note})
            return self._get(conn, episode_id)

    def _locked(self, conn: Connection, episode_id: str) -> Episode:
        # Lock on the group, as open() does, so a state change and a re-opening never interleave.
        ep = self._get(conn, episode_id)
        lock_for_transaction(conn, "alert_episode", ep.group_key)
        return self._get(conn, episode_id)

    def record_breaches(self) -> list[Episode]:
        """Record, once, every unresolved episode whose acknowledge deadline passed without
        any acknowledgement. Returns the episodes this call recorded (another replica's
        call at the same moment gets the others, never the same)."""
        e = alert_episodes
        recorded: list[Episode] = []
        with self.engine.begin() as conn:
            now = db_now(conn)
            due = conn.execute(select(e.c.id).where(
                e.c.open_key.is_not(None), e.c.breached_at.is_(None),
                e.c.first_acknowledged_at.is_(None), e.c.ack_deadline_at <= now)).scalars().all()
            for episode_id in due:
                claimed = conn.execute(update(e).where(
                    e.c.id == episode_id, e.c.breached_at.is_(None),
                    e.c.first_acknowledged_at.is_(None), e.c.open_key.is_not(None)).values(breached_at=now))
                if claimed.rowcount:
                    self._event(conn, episode_id, now, "sla_breach", None, "vigil", {})
                    recorded.append(self._get(conn, episode_id))
        return recorded
