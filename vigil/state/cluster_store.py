"""Cluster members and leases in the state database (issue 15; used by :mod:`vigil.cluster`).

Every time here is the database's clock: a replica asks the database for "now" inside the
same transaction that writes or compares a heartbeat or a lease expiry, so replicas whose
clocks disagree still agree on who is alive and who holds a lease. (SQLite serves one
machine, whose clock is the database's.) A replica measures how long its own lease may
still be valid with its monotonic clock only; see :class:`vigil.cluster.Membership`.

Thread-safe: each method runs its own short transaction on the engine's pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, case, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from vigil.state import schema

__all__ = ["ClusterStore", "Lease", "Member"]


@dataclass(frozen=True)
class Member:
    """One ``vigil up`` process as registered (a new ``id`` at every start)."""

    id: str
    name: str
    url: str
    version: str
    started_at: datetime
    heartbeat_at: datetime
    left_at: datetime | None
    info: dict[str, Any]

    def heartbeat_age_s(self, now: datetime) -> float:
        return max(0.0, (now - self.heartbeat_at).total_seconds())

    def alive(self, now: datetime, timeout_s: float) -> bool:
        """Not stopped and heard from within ``timeout_s`` (of the database's ``now``)."""
        return self.left_at is None and self.heartbeat_age_s(now) < timeout_s


@dataclass(frozen=True)
class Lease:
    """A named lease as read: who holds it, under which epoch, until when (database time).
    ``now`` is the database's time of the read, so callers can tell whether it expired."""

    name: str
    holder: str
    epoch: int
    acquired_at: datetime
    expires_at: datetime
    now: datetime

    @property
    def expired(self) -> bool:
        return self.expires_at < self.now

    def held_by(self, member_id: str) -> bool:
        return self.holder == member_id and not self.expired


class ClusterStore:
    """Registration, heartbeats and leases of cluster members."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._dialect = engine.dialect.name

    # ------------------------------------------------------------ clock

    def _now(self, conn: Connection) -> datetime:
        """The database's current time (PostgreSQL: the server's clock; SQLite: this host's)."""
        if self._dialect == "postgresql":
            return _utc(conn.execute(select(func.clock_timestamp())).scalar_one())
        return datetime.now(timezone.utc)

    def now(self) -> datetime:
        with self.engine.connect() as conn:
            return self._now(conn)

    # ------------------------------------------------------------ members

    def register(self, member_id: str, *, name: str, url: str, version: str,
                 info: dict[str, Any] | None = None) -> datetime:
        """Add this process as a member; returns its start time (database clock)."""
        with self.engine.begin() as conn:
            now = self._now(conn)
            conn.execute(insert(schema.cluster_members).values(
                id=member_id, name=name, url=url, version=version, started_at=now,
                heartbeat_at=now, left_at=None, info=dict(info or {})))
        return now

    def heartbeat(self, member_id: str, info: dict[str, Any] | None = None) -> bool:
        """Record that the member is alive (and what it reports); False when its row is gone
        (pruned while it could not reach the database), so the caller registers again."""
        t = schema.cluster_members
        with self.engine.begin() as conn:
            now = self._now(conn)
            values: dict[str, Any] = {"heartbeat_at": now}
            if info is not None:
                values["info"] = dict(info)
            result = conn.execute(update(t).where(t.c.id == member_id).values(**values))
            return (result.rowcount or 0) > 0

    def leave(self, member_id: str) -> None:
        """Mark a clean stop: the member is no longer counted as alive, at once."""
        t = schema.cluster_members
        with self.engine.begin() as conn:
            now = self._now(conn)
            conn.execute(update(t).where(t.c.id == member_id).values(left_at=now))

    def members(self) -> tuple[list[Member], datetime]:
        """Every registered member, oldest start first, and the database's time of the read."""
        t = schema.cluster_members
        with self.engine.connect() as conn:
            now = self._now(conn)
            rows = conn.execute(select(t).order_by(t.c.started_at, t.c.id)).mappings().all()
        return [_member(r) for r in rows], now

    def prune(self, older_than_s: float) -> int:
        """Forget members that left or fell silent more than ``older_than_s`` ago."""
        t = schema.cluster_members
        with self.engine.begin() as conn:
            cutoff = self._now(conn) - timedelta(seconds=older_than_s)
            result = conn.execute(delete(t).where(or_(t.c.heartbeat_at < cutoff, t.c.left_at < cutoff)))
            return result.rowcount or 0

    # ------------------------------------------------------------ leases

    def acquire(self, name: str, holder: str, ttl_s: float) -> Lease:
        """Take or renew lease ``name`` for ``ttl_s`` seconds (database time) if it is free,
        expired or already ``holder``'s; return the lease as it is afterwards (held by
        someone else when it was not free). The epoch grows with every change of holder.

        One conditional UPDATE (or an INSERT when the lease never existed), so two replicas
        racing for it cannot both win: PostgreSQL re-checks the condition of the second
        UPDATE against the row the first one committed."""
        t = schema.cluster_leases
        with self.engine.begin() as conn:
            now = self._now(conn)
            expires = now + timedelta(seconds=ttl_s)
            mine = t.c.holder == holder
            result = conn.execute(update(t).where(t.c.name == name, or_(mine, t.c.expires_at < now)).values(
                holder=holder, expires_at=expires,
                epoch=case((mine, t.c.epoch), else_=t.c.epoch + 1),
                acquired_at=case((mine, t.c.acquired_at), else_=now)))
            if not result.rowcount:
                conn.execute(self._insert_ignore(t).values(
                    name=name, holder=holder, epoch=1, acquired_at=now, expires_at=expires
                ).on_conflict_do_nothing(index_elements=[t.c.name]))
            row = conn.execute(select(t).where(t.c.name == name)).mappings().one()
        return _lease(row, now)

    def release(self, name: str, holder: str) -> bool:
        """Give lease ``name`` up if ``holder`` has it (a clean stop), so another member can
        take it at its next attempt instead of after the expiry. The epoch is kept."""
        t = schema.cluster_leases
        with self.engine.begin() as conn:
            now = self._now(conn)
            result = conn.execute(update(t).where(t.c.name == name, t.c.holder == holder).values(
                expires_at=now - timedelta(seconds=1)))
            return (result.rowcount or 0) > 0

    def lease(self, name: str) -> Lease | None:
        """Lease ``name`` as it is now (possibly expired), or None if never taken."""
        t = schema.cluster_leases
        with self.engine.connect() as conn:
            now = self._now(conn)
            row = conn.execute(select(t).where(t.c.name == name)).mappings().first()
        return _lease(row, now) if row is not None else None

    def _insert_ignore(self, table: Any) -> Any:
        return sqlite_insert(table) if self._dialect == "sqlite" else postgresql_insert(table)


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _member(r: Any) -> Member:
    return Member(id=r["id"], name=r["name"], url=r["url"], version=r["version"],
                  started_at=_utc(r["started_at"]), heartbeat_at=_utc(r["heartbeat_at"]),
                  left_at=_utc(r["left_at"]) if r["left_at"] is not None else None,
                  info=dict(r["info"] or {}))


def _lease(r: Any, now: datetime) -> Lease:
    return Lease(name=r["name"], holder=r["holder"], epoch=int(r["epoch"]),
                 acquired_at=_utc(r["acquired_at"]), expires_at=_utc(r["expires_at"]), now=now)
