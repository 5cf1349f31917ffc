"""What replicas on one database agree on through it: the database's clock, which members
are alive, per-key locks, version counters of shared state, and once-only work.

Every "is that member alive" question is answered with the database's clock (PostgreSQL:
the server's; SQLite: this host's, the only one using the file), the clock
:mod:`vigil.state.cluster_store` writes heartbeats with, so replicas whose clocks disagree
still agree on who is alive.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from vigil.state import schema

__all__ = ["CoordinationStore", "bump_version"]


def db_now(conn: Connection) -> datetime:
    """The database's current time, timezone-aware UTC."""
    if conn.dialect.name == "postgresql":
        value = conn.execute(select(func.clock_timestamp())).scalar_one()
        return value.astimezone(timezone.utc)
    return datetime.now(timezone.utc)


def live_member_ids(now: datetime, member_timeout_s: float) -> Select:
    """Members that have not left and whose last heartbeat is younger than the timeout."""
    m = schema.cluster_members
    return select(m.c.id).where(m.c.left_at.is_(None),
                                m.c.heartbeat_at >= now - timedelta(seconds=member_timeout_s))


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit number for ``parts`` (PostgreSQL advisory lock ids are bigint;
    Python's ``hash`` changes between processes, so it cannot be used)."""
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_for_transaction(conn: Connection, *parts: str) -> None:
    """Serialise the rest of ``conn``'s transaction with every other transaction that takes
    the same lock. PostgreSQL: an advisory lock on ``parts``, released at commit or rollback.
    SQLite (one process, one writer at a time): take the database's write lock now, with a
    write that changes nothing, so that two transactions cannot both read before either
    writes (a deferred transaction only takes it at its first write)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(lock_key(*parts))))
    else:
        v = schema.state_versions
        conn.execute(update(v).where(v.c.name == "").values(version=v.c.version))


def upsert(conn: Connection, table: Any) -> Any:
    """An INSERT builder with ``on_conflict_do_update`` for ``conn``'s dialect."""
    return (postgresql_insert(table) if conn.dialect.name == "postgresql"
            else sqlite_insert(table))


def bump_version(conn: Connection, name: str) -> int:
    """Count one change of shared state ``name`` (inside the writer's transaction), so other
    replicas see with one cheap read that they must re-read it. Returns the new version."""
    v = schema.state_versions
    stmt = upsert(conn, v).values(name=name, version=1)
    stmt = stmt.on_conflict_do_update(index_elements=[v.c.name], set_={"version": v.c.version + 1})
    return int(conn.execute(stmt.returning(v.c.version)).scalar_one())


class CoordinationStore:
    """Version counters of shared state and once-only work (run_once)."""

    engine: Engine

    def state_version(self, name: str) -> int:
        """How many times shared state ``name`` changed (0 before the first change)."""
        v = schema.state_versions
        with self.engine.connect() as conn:
            return int(conn.execute(select(v.c.version).where(v.c.name == name)).scalar() or 0)

    def db_now(self) -> datetime:
        """The database's current time (see :func:`db_now`)."""
        with self.engine.connect() as conn:
            return db_now(conn)

    def run_once_claim(self, key: str, member_id: str, *, member_timeout_s: float,
                       detail: dict[str, Any] | None = None) -> bool:
        """Claim work ``key`` (an escalation step, a report, a reminder) for ``member_id``
        before doing it. True when the caller now holds the claim: the key was never
        claimed, or its claimer is dead (left, no row, or no heartbeat within
        ``member_timeout_s``), or it is ``member_id`` itself (a retry in the same process).
        A key marked done is never claimed again. One statement, so two replicas claiming
        at once cannot both win."""
        r = schema.run_once
        with self.engine.begin() as conn:
            now = db_now(conn)
            stmt = upsert(conn, r).values(key=key, claimed_by=member_id, claimed_at=now,
                                                   done_at=None, detail=dict(detail or {}))
            stmt = stmt.on_conflict_do_update(
                index_elements=[r.c.key],
                set_={"claimed_by": member_id, "claimed_at": now, "detail": stmt.excluded.detail},
                where=r.c.done_at.is_(None) & or_(
                    r.c.claimed_by == member_id,
                    r.c.claimed_by.not_in(live_member_ids(now, member_timeout_s).scalar_subquery())),
            ).returning(r.c.key)
            return conn.execute(stmt).first() is not None

    def run_once_done(self, key: str, member_id: str, detail: dict[str, Any] | None = None) -> bool:
        """Mark claimed work ``key`` done (it will never be claimed again). False when
        ``member_id`` no longer holds the claim (it was taken over, or is done already)."""
        r = schema.run_once
        values: dict[str, Any] = {"done_at": None}
        if detail is not None:
            values["detail"] = dict(detail)
        with self.engine.begin() as conn:
            values["done_at"] = db_now(conn)
            result = conn.execute(update(r).where(r.c.key == key, r.c.claimed_by == member_id,
                                                  r.c.done_at.is_(None)).values(**values))
            return (result.rowcount or 0) > 0

    def run_once_get(self, key: str) -> dict[str, Any] | None:
        """The record of ``key``: claimed_by, claimed_at, done_at, detail (None if never claimed)."""
        r = schema.run_once
        with self.engine.connect() as conn:
            row = conn.execute(select(r).where(r.c.key == key)).mappings().first()
        if row is None:
            return None
        return {"key": row["key"], "claimed_by": row["claimed_by"],
                "claimed_at": _utc(row["claimed_at"]), "done_at": _utc(row["done_at"]),
                "detail": dict(row["detail"])}


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
