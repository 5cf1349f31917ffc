"""Schedule overrides, swaps and calendar feed tokens in the state database (issue 16).

Read-through: nothing is cached in a process, so an override made on one replica is seen by
every replica's next read. Creation times are the database's clock. Thread-safe: each method
runs its own short transaction on the engine's pool.

A swap is stored as two overrides sharing a ``swap_id`` (the second user covers the first
one's shift and the other way round); deleting either half deletes both.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine, delete, insert, select

from vigil.state.coordination import db_now
from vigil.state.schedule_schema import schedule_feed_tokens, schedule_overrides

__all__ = ["OverrideRow", "ScheduleStore"]


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class OverrideRow:
    id: str
    schedule: str
    user: str
    starts_at: datetime
    ends_at: datetime
    created_by: str
    created_at: datetime
    note: str
    swap_id: str | None

    def as_dict(self) -> dict[str, object]:
        """As the API shows it (times RFC 3339 in UTC)."""
        return {"id": self.id, "schedule": self.schedule, "user": self.user,
                "from": _rfc3339(self.starts_at), "to": _rfc3339(self.ends_at),
                "created_by": self.created_by, "created_at": _rfc3339(self.created_at),
                "note": self.note, "swap_id": self.swap_id}


def _row(r) -> OverrideRow:  # noqa: ANN001 - a SQLAlchemy row
    return OverrideRow(r.id, r.schedule, r.user, _utc(r.starts_at), _utc(r.ends_at), r.created_by,
                       _utc(r.created_at), r.note, r.swap_id)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ScheduleStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_override(self, schedule: str, user: str, starts_at: datetime, ends_at: datetime, *,
                        created_by: str, note: str = "") -> OverrideRow:
        """``user`` covers ``[starts_at, ends_at)`` of ``schedule``."""
        with self.engine.begin() as conn:
            return self._insert(conn, schedule, user, starts_at, ends_at, created_by, note, None)

    def create_swap(self, schedule: str, first: tuple[str, datetime, datetime],
                    second: tuple[str, datetime, datetime], *, created_by: str,
                    note: str = "") -> tuple[OverrideRow, OverrideRow]:
        """Two users exchange shifts: ``first`` is (user, start, end) of the first user's
        shift, which the second user takes; and the other way round. One transaction."""
        swap_id = str(uuid.uuid4())
        (user_a, a_start, a_end), (user_b, b_start, b_end) = first, second
        with self.engine.begin() as conn:
            b_covers_a = self._insert(conn, schedule, user_b, a_start, a_end, created_by, note, swap_id)
            a_covers_b = self._insert(conn, schedule, user_a, b_start, b_end, created_by, note, swap_id)
        return b_covers_a, a_covers_b

    def _insert(self, conn, schedule: str, user: str, starts_at: datetime, ends_at: datetime,  # noqa: ANN001
                created_by: str, note: str, swap_id: str | None) -> OverrideRow:
        if _utc(ends_at) <= _utc(starts_at):
            raise ValueError("an override must end after it starts")
        row = OverrideRow(str(uuid.uuid4()), schedule, user, _utc(starts_at), _utc(ends_at),
                          created_by, db_now(conn), note, swap_id)
        conn.execute(insert(schedule_overrides).values(
            id=row.id, schedule=schedule, user=user, starts_at=row.starts_at, ends_at=row.ends_at,
            created_by=created_by, created_at=row.created_at, note=note, swap_id=swap_id))
        return row

    def overrides(self, schedule: str, *, ending_after: datetime | None = None,
                  starting_before: datetime | None = None) -> list[OverrideRow]:
        """The schedule's overrides overlapping the range, oldest first (the order in which
        a later override wins over an earlier one)."""
        o = schedule_overrides
        query = select(o).where(o.c.schedule == schedule)
        if ending_after is not None:
            query = query.where(o.c.ends_at > _utc(ending_after))
        if starting_before is not None:
            query = query.where(o.c.starts_at < _utc(starting_before))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(o.c.created_at, o.c.id)).all()
        return [_row(r) for r in rows]

    def get_override(self, override_id: str) -> OverrideRow | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(schedule_overrides).where(schedule_overrides.c.id == override_id)).first()
        return _row(r) if r is not None else None

    def delete_override(self, override_id: str) -> list[OverrideRow]:
        """Delete the override (both halves when it is part of a swap); the rows deleted."""
        o = schedule_overrides
        with self.engine.begin() as conn:
            r = conn.execute(select(o).where(o.c.id == override_id)).first()
            if r is None:
                return []
            where = o.c.swap_id == r.swap_id if r.swap_id else o.c.id == override_id
            rows = [_row(x) for x in conn.execute(select(o).where(where).order_by(o.c.created_at, o.c.id))]
            conn.execute(delete(o).where(where))
        return rows

    # --- calendar feed tokens ---

    def new_feed_token(self, user: str) -> str:
        """A new random feed token for ``user``, replacing (so revoking) any previous one.
        Only its hash is stored; the token is returned once."""
        token = secrets.token_urlsafe(24)
        t = schedule_feed_tokens
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.user == user))
            conn.execute(insert(t).values(user=user, token_sha256=_token_hash(token), created_at=db_now(conn)))
        return token

    def feed_token_user(self, token: str) -> str | None:
        """The user a feed token belongs to, or None (unknown or revoked)."""
        t = schedule_feed_tokens
        with self.engine.connect() as conn:
            return conn.execute(select(t.c.user).where(t.c.token_sha256 == _token_hash(token))).scalar()

    def feed_token_created(self, user: str) -> datetime | None:
        t = schedule_feed_tokens
        with self.engine.connect() as conn:
            created = conn.execute(select(t.c.created_at).where(t.c.user == user)).scalar()
        return _utc(created) if created is not None else None

    def revoke_feed_token(self, user: str) -> bool:
        t = schedule_feed_tokens
        with self.engine.begin() as conn:
            return conn.execute(delete(t).where(t.c.user == user)).rowcount > 0
