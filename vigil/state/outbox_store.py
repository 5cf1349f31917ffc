"""The notification outbox and the notification log, safe with several replicas on one
database.

* The decision to notify is atomic per (group, receiver, integration): one transaction
  takes a lock on that key, reads what was last told (pending entry, else log), lets the
  caller decide, and writes the new entry. Two replicas flushing the same group at the
  same moment therefore queue one notification.
* Delivery is claimed: a worker takes due entries that nobody alive holds
  (:meth:`OutboxStore.outbox_claim`), so workers deliver in parallel, never the same entry,
  and a dead worker's entries are taken over once its heartbeat is older than the timeout.
* Log writes are upserts: two replicas logging the same key never collide on its key.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Engine, and_, false, func, insert, not_, or_, select, update

from vigil.state import schema
from vigil.state.coordination import db_now, live_member_ids, lock_for_transaction, upsert
from vigil.state.records import NotifyDecision, OutboxEntry, PreviousNotification

__all__ = ["OutboxStore"]


class OutboxStore:
    """Outbox and notification-log methods of :class:`vigil.state.Store`."""

    engine: Engine

    # --- notification log ---

    def nflog_get(self, group_key: str, receiver: str, integration: str) -> PreviousNotification | None:
        with self.engine.connect() as conn:
            return _nflog_get(conn, group_key, receiver, integration)

    def nflog_record(self, group_key: str, receiver: str, integration: str, firing: list[str],
                     resolved: list[str], now: datetime) -> None:
        """Log a notification that needed no delivery (e.g. only resolved alerts, and the
        integration does not send resolved ones)."""
        with self.engine.begin() as conn:
            _nflog_put(conn, group_key, receiver, integration, firing, resolved, now)

    # --- deciding ---

    def outbox_notify(self, group_key: str, receiver: str, integration: str,
                      decide: Callable[[PreviousNotification | None], NotifyDecision | None],
                      now: datetime) -> int | None:
        """Decide and queue a notification atomically, across replicas.

        Under a lock on (group_key, receiver, integration), ``decide`` gets what the
        integration was last told (the newest pending entry, else the log) and returns
        None (nothing to do), a decision without payload (log only) or one with a payload,
        which is queued, superseding the pending entry, in the same transaction. Returns
        the new entry's id, or None when nothing was queued. ``decide`` runs inside the
        transaction: keep it short and free of other store calls."""
        t = schema.outbox
        with self.engine.begin() as conn:
            lock_for_transaction(conn, "notify", group_key, receiver, integration)
            key = (t.c.group_key == group_key, t.c.receiver == receiver,
                   t.c.integration == integration)
            pending = conn.execute(
                select(t.c.id, t.c.firing, t.c.resolved, t.c.created_at)
                .where(*key, t.c.status == "pending").order_by(t.c.id.desc()).limit(1)
            ).mappings().first()
            previous = ((set(pending["firing"]), set(pending["resolved"]), _utc(pending["created_at"]))
                        if pending else _nflog_get(conn, group_key, receiver, integration))
            decision = decide(previous)
            if decision is None:
                return None
            if decision.payload is None:
                _nflog_put(conn, group_key, receiver, integration, decision.firing,
                           decision.resolved, now)
                return None
            if pending is not None:
                conn.execute(update(t).where(*key, t.c.status == "pending").values(status="superseded"))
            result = conn.execute(insert(t).values(
                group_key=group_key, receiver=receiver, integration=integration,
                payload=decision.payload, firing=sorted(decision.firing),
                resolved=sorted(decision.resolved), status="pending", attempts=0,
                next_attempt_at=now, last_error="", created_at=now))
            return int(result.inserted_primary_key[0])

    def outbox_latest_pending(self, group_key: str, receiver: str, integration: str) -> OutboxEntry | None:
        t = schema.outbox
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(
                t.c.group_key == group_key, t.c.receiver == receiver,
                t.c.integration == integration, t.c.status == "pending",
            ).order_by(t.c.id.desc()).limit(1)).mappings().first()
        return _entry(row) if row else None

    def outbox_add(self, *, group_key: str, receiver: str, integration: str, payload: dict[str, Any],
                   firing: list[str], resolved: list[str], now: datetime,
                   supersede: bool = False) -> int:
        """Queue a notification unconditionally. ``supersede`` first marks the group's
        pending ones for this integration superseded, in the same transaction. The
        dispatcher goes through :meth:`outbox_notify` instead."""
        decision = NotifyDecision(payload, firing, resolved)
        if not supersede:
            with self.engine.begin() as conn:
                result = conn.execute(insert(schema.outbox).values(
                    group_key=group_key, receiver=receiver, integration=integration, payload=payload,
                    firing=sorted(firing), resolved=sorted(resolved), status="pending", attempts=0,
                    next_attempt_at=now, last_error="", created_at=now))
                return int(result.inserted_primary_key[0])
        entry_id = self.outbox_notify(group_key, receiver, integration, lambda _prev: decision, now)
        assert entry_id is not None  # a decision with a payload always queues
        return entry_id

    # --- delivering ---

    def outbox_due(self, now: datetime, limit: int = 100) -> list[OutboxEntry]:
        """Pending entries due at ``now``, claimed or not (a read; workers claim)."""
        t = schema.outbox
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t).where(t.c.status == "pending", t.c.next_attempt_at <= now)
                .order_by(t.c.id).limit(limit)
            ).mappings().all()
        return [_entry(r) for r in rows]

    def outbox_claim(self, member_id: str, now: datetime, *, member_timeout_s: float,
                     limit: int = 100, exclude: Collection[tuple[str, str]] = (),
                     take_over: bool = True) -> list[OutboxEntry]:
        """Claim up to ``limit`` pending entries due at ``now`` for ``member_id`` and return
        them, oldest first. An entry is claimable when nobody holds it, ``member_id`` holds
        it, or (with ``take_over``) its holder is dead (left, no member row, or no heartbeat
        within ``member_timeout_s`` of the database's clock); a live member's claim is never
        taken. ``exclude`` lists (receiver, integration) pairs this worker must not take.
        PostgreSQL skips rows another claim is locking, so concurrent claims split the work."""
        t = schema.outbox
        with self.engine.begin() as conn:
            claimed_at = db_now(conn)
            live = live_member_ids(claimed_at, member_timeout_s).scalar_subquery()
            claimable = or_(t.c.claimed_by.is_(None), t.c.claimed_by == member_id,
                            t.c.claimed_by.not_in(live) if take_over else false())
            query = select(t.c.id).where(t.c.status == "pending", t.c.next_attempt_at <= now, claimable)
            for receiver, integration in exclude:
                query = query.where(not_(and_(t.c.receiver == receiver, t.c.integration == integration)))
            chosen = query.order_by(t.c.id).limit(limit).with_for_update(skip_locked=True, of=t)
            rows = conn.execute(
                update(t).where(t.c.id.in_(chosen.scalar_subquery()))
                .values(claimed_by=member_id, claimed_at=claimed_at)
                .returning(*t.c)
            ).mappings().all()
        return sorted((_entry(r) for r in rows), key=lambda e: e.id)

    def outbox_next_due_at(self, member_id: str | None = None, *,
                           member_timeout_s: float = 0.0) -> datetime | None:
        """When the next pending entry is due; with ``member_id``, only entries it could
        claim (so a worker does not wake for entries a live replica is delivering)."""
        t = schema.outbox
        with self.engine.connect() as conn:
            query = select(func.min(t.c.next_attempt_at)).where(t.c.status == "pending")
            if member_id is not None:
                live = live_member_ids(db_now(conn), member_timeout_s).scalar_subquery()
                query = query.where(or_(t.c.claimed_by.is_(None), t.c.claimed_by == member_id,
                                        t.c.claimed_by.not_in(live)))
            return _utc(conn.execute(query).scalar())

    def outbox_pending_count(self) -> int:
        t = schema.outbox
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(t.c.status == "pending")).scalar() or 0)

    def outbox_list(self, limit: int = 200, *, status: str | None = None,
                    receiver: str | None = None) -> list[OutboxEntry]:
        """The newest ``limit`` notifications, newest first, optionally of one status
        (pending, sent, dead, superseded) and one receiver."""
        t = schema.outbox
        query = select(t).order_by(t.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(t.c.status == status)
        if receiver is not None:
            query = query.where(t.c.receiver == receiver)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_entry(r) for r in rows]

    def outbox_postpone(self, entry: OutboxEntry, until: datetime) -> bool:
        """Move a pending notification's next attempt to ``until`` without counting an
        attempt (a rate limit held it back), and give its claim up. False when it is no
        longer pending or another member claimed it meanwhile."""
        t = schema.outbox
        with self.engine.begin() as conn:
            result = conn.execute(update(t).where(*_still_mine(entry)).values(
                next_attempt_at=until, claimed_by=None, claimed_at=None))
            return (result.rowcount or 0) > 0

    def outbox_delivered(self, entry: OutboxEntry, now: datetime) -> bool:
        """Mark delivered and record it in the notification log, in one transaction, so a
        crash can never leave a delivered notification unlogged (or the reverse). False
        when another worker marked it first (it took the claim over from a worker it
        thought dead). An entry superseded while in flight is marked sent, but not logged:
        the entry that superseded it is what the group was last told."""
        t = schema.outbox
        sent = {"status": "sent", "sent_at": now, "attempts": entry.attempts + 1,
                "last_error": "", "claimed_by": None, "claimed_at": None}
        with self.engine.begin() as conn:
            result = conn.execute(update(t).where(t.c.id == entry.id, t.c.status == "pending")
                                  .values(**sent))
            if not result.rowcount:
                conn.execute(update(t).where(t.c.id == entry.id, t.c.status == "superseded")
                             .values(**sent))
                return False
            _nflog_put(conn, entry.group_key, entry.receiver, entry.integration, entry.firing,
                       entry.resolved, now)
            return True

    def outbox_failed(self, entry: OutboxEntry, error: str, *, retry_at: datetime | None) -> bool:
        """Record a failed attempt: retry at ``retry_at``, or dead-letter when it is None;
        the claim is given up. False when it is no longer pending or was taken over."""
        t = schema.outbox
        values: dict[str, Any] = {"attempts": entry.attempts + 1, "last_error": error[:2000],
                                  "claimed_by": None, "claimed_at": None}
        if retry_at is None:
            values["status"] = "dead"
        else:
            values["next_attempt_at"] = retry_at
        with self.engine.begin() as conn:
            result = conn.execute(update(t).where(*_still_mine(entry)).values(**values))
            return (result.rowcount or 0) > 0

    def outbox_supersede(self, group_key: str, receiver: str, integration: str) -> None:
        """Drop pending notifications for a group that a newer one replaces."""
        t = schema.outbox
        with self.engine.begin() as conn:
            conn.execute(update(t).where(
                t.c.group_key == group_key, t.c.receiver == receiver,
                t.c.integration == integration, t.c.status == "pending",
            ).values(status="superseded"))


def _still_mine(entry: OutboxEntry) -> tuple[Any, ...]:
    """Pending, and (for a claimed entry) still held by the claim it was delivered under."""
    t = schema.outbox
    claim = () if entry.claimed_by is None else (t.c.claimed_by == entry.claimed_by,)
    return (t.c.id == entry.id, t.c.status == "pending", *claim)


def _nflog_get(conn: Connection, group_key: str, receiver: str,
               integration: str) -> PreviousNotification | None:
    n = schema.nflog
    row = conn.execute(select(n).where(
        n.c.group_key == group_key, n.c.receiver == receiver, n.c.integration == integration,
    )).mappings().first()
    if row is None:
        return None
    return set(row["firing"]), set(row["resolved"]), _utc(row["sent_at"])


def _nflog_put(conn: Connection, group_key: str, receiver: str, integration: str,
               firing: list[str], resolved: list[str], now: datetime) -> None:
    # An upsert, never delete + insert: two replicas logging the same key at once must
    # both succeed (the later one wins), not collide on the primary key.
    n = schema.nflog
    stmt = upsert(conn, n).values(group_key=group_key, receiver=receiver, integration=integration,
                                  firing=sorted(firing), resolved=sorted(resolved), sent_at=now)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[n.c.group_key, n.c.receiver, n.c.integration],
        set_={"firing": stmt.excluded.firing, "resolved": stmt.excluded.resolved,
              "sent_at": stmt.excluded.sent_at}))


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _entry(r: Any) -> OutboxEntry:
    return OutboxEntry(
        id=r["id"], group_key=r["group_key"], receiver=r["receiver"], integration=r["integration"],
        payload=r["payload"], firing=list(r["firing"]), resolved=list(r["resolved"]),
        status=r["status"], attempts=r["attempts"], next_attempt_at=_utc(r["next_attempt_at"]),
        last_error=r["last_error"], created_at=_utc(r["created_at"]), sent_at=_utc(r["sent_at"]),
        claimed_by=r["claimed_by"],
    )
