"""The state store: one object, many small transactional methods.

Thread-safe: each method opens its own transaction on the engine's connection pool.
Datetimes go in and come out timezone-aware UTC (SQLite drops the zone; we put it back).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from functools import cached_property
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, Insert, create_engine, delete, event, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.state import schema
from vigil.state.access_store import AccessStore
from vigil.state.records import OutboxEntry, SilenceRow, StoredAlert


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect and upgrade the schema to the newest revision."""
        engine = create_engine(url, future=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        store.migrate()
        return store

    @classmethod
    def open_in(cls, data_dir: str) -> Store:
        os.makedirs(data_dir, exist_ok=True)
        return cls.open(f"sqlite:///{os.path.join(os.path.abspath(data_dir), 'state.db')}")

    def migrate(self) -> None:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(resources.files("vigil.state") / "migrations"))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        self.engine.dispose()

    @cached_property
    def access(self) -> AccessStore:
        """Users, teams, tokens, sessions and the audit log (issue 14)."""
        return AccessStore(self.engine)

    # --- rule engine (implements vigil.state.records.RuleStateStore) ---

    def load_rule_alerts(self) -> list[StoredAlert]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.rule_alerts)).mappings().all()
        return [
            StoredAlert(
                group_key=r["group_key"], rule_name=r["rule_name"], labels=Labels(r["labels"]),
                annotations=Labels(r["annotations"]), state=r["state"],
                active_at=_utc(r["active_at"]), fired_at=_utc(r["fired_at"]),
                resolved_at=_utc(r["resolved_at"]), last_sent_at=_utc(r["last_sent_at"]),
                value=r["value"], keep_firing_since=_utc(r["keep_firing_since"]),
            )
            for r in rows
        ]

    def save_rule_alerts(self, group_key: str, alerts: list[StoredAlert]) -> None:
        rows = [
            {
                "group_key": group_key, "rule_name": a.rule_name,
                "fingerprint": Alert(a.labels, a.annotations, a.active_at).fingerprint(),
                "labels": a.labels.to_dict(), "annotations": a.annotations.to_dict(),
                "state": a.state, "active_at": a.active_at, "fired_at": a.fired_at,
                "resolved_at": a.resolved_at, "last_sent_at": a.last_sent_at,
                "keep_firing_since": a.keep_firing_since, "value": _finite(a.value),
            }
            for a in alerts
        ]
        with self.engine.begin() as conn:
            conn.execute(delete(schema.rule_alerts).where(schema.rule_alerts.c.group_key == group_key))
            if rows:
                conn.execute(insert(schema.rule_alerts), rows)

    # --- dispatcher alerts ---

    def upsert_alerts(self, alerts: list[Alert], *, fingerprints: list[str] | None = None) -> None:
        """Insert or replace alerts; ``fingerprints`` (parallel to ``alerts``) saves
        recomputing them when the caller has them."""
        if not alerts:
            return
        fps = fingerprints if fingerprints is not None else [a.fingerprint() for a in alerts]
        rows = [
            {
                "fingerprint": fp, "labels": a.labels.to_dict(),
                "annotations": a.annotations.to_dict(), "starts_at": a.starts_at,
                "ends_at": a.ends_at, "generator_url": a.generator_url,
                "updated_at": a.updated_at,
            }
            for fp, a in zip(fps, alerts, strict=True)
        ]
        with self.engine.begin() as conn:
            conn.execute(self._upsert_alerts, rows)

    @cached_property
    def _upsert_alerts(self) -> Insert:
        # One statement per row instead of a delete plus an insert: the hot path of
        # POST /api/v2/alerts. Both dialects we run on have INSERT ... ON CONFLICT.
        table = schema.alerts
        stmt = (sqlite_insert(table) if self.engine.dialect.name == "sqlite"
                else postgresql_insert(table))
        updated = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != "fingerprint"}
        return stmt.on_conflict_do_update(index_elements=[table.c.fingerprint], set_=updated)

    def delete_alerts(self, fingerprints: list[str]) -> None:
        if fingerprints:
            with self.engine.begin() as conn:
                conn.execute(delete(schema.alerts).where(schema.alerts.c.fingerprint.in_(fingerprints)))

    def load_alerts(self) -> list[Alert]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.alerts)).mappings().all()
        return [
            Alert(Labels(r["labels"]), Labels(r["annotations"]), _utc(r["starts_at"]),
                  _utc(r["ends_at"]), r["generator_url"], _utc(r["updated_at"]))
            for r in rows
        ]

    # --- notification log ---

    def nflog_get(self, group_key: str, receiver: str, integration: str) -> tuple[set[str], set[str], datetime] | None:
        t = schema.nflog
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(
                t.c.group_key == group_key, t.c.receiver == receiver, t.c.integration == integration,
            )).mappings().first()
        if row is None:
            return None
        return set(row["firing"]), set(row["resolved"]), _utc(row["sent_at"])

    def nflog_record(self, group_key: str, receiver: str, integration: str, firing: list[str],
                     resolved: list[str], now: datetime) -> None:
        """Log a notification that needed no delivery (e.g. only resolved alerts, and the
        integration does not send resolved ones)."""
        n = schema.nflog
        with self.engine.begin() as conn:
            conn.execute(delete(n).where(n.c.group_key == group_key, n.c.receiver == receiver,
                                         n.c.integration == integration))
            conn.execute(insert(n).values(group_key=group_key, receiver=receiver, integration=integration,
                                          firing=sorted(firing), resolved=sorted(resolved), sent_at=now))

    # --- silences ---

    def silences_load(self) -> list[SilenceRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.silences)).mappings().all()
        return [_silence_row(r) for r in rows]

    def silence_save(self, row: dict[str, Any], *, action: str, author: str, comment: str,
                     at: datetime, also_expire: dict[str, Any] | None = None) -> None:
        """Write a silence and its audit event in one transaction; ``also_expire`` is the
        previous version being replaced (expired) by this one."""
        t, ev = schema.silences, schema.silence_events
        with self.engine.begin() as conn:
            for item, act in ((also_expire, "expire"), (row, action)):
                if item is None:
                    continue
                conn.execute(delete(t).where(t.c.id == item["id"]))
                conn.execute(insert(t).values(**item))
                snapshot = {**item, "starts_at": item["starts_at"].isoformat(),
                            "ends_at": item["ends_at"].isoformat(),
                            "updated_at": item["updated_at"].isoformat()}
                conn.execute(insert(ev).values(silence_id=item["id"], action=act, author=author,
                                               comment=comment, at=at, snapshot=snapshot))

    def silence_events(self, silence_id: str | None = None) -> list[dict[str, Any]]:
        ev = schema.silence_events
        query = select(ev).order_by(ev.c.id)
        if silence_id:
            query = query.where(ev.c.silence_id == silence_id)
        with self.engine.connect() as conn:
            return [dict(r, at=_utc(r["at"])) for r in conn.execute(query).mappings().all()]

    def silences_delete_expired_before(self, before: datetime) -> int:
        t = schema.silences
        with self.engine.begin() as conn:
            return conn.execute(delete(t).where(t.c.ends_at < before)).rowcount or 0

    # --- outbox ---

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
        """Queue a notification. ``supersede`` first marks the group's pending ones for
        this integration superseded, in the same transaction (one commit, and never a
        moment with neither or both pending)."""
        t = schema.outbox
        with self.engine.begin() as conn:
            if supersede:
                conn.execute(update(t).where(
                    t.c.group_key == group_key, t.c.receiver == receiver,
                    t.c.integration == integration, t.c.status == "pending",
                ).values(status="superseded"))
            result = conn.execute(insert(schema.outbox).values(
                group_key=group_key, receiver=receiver, integration=integration, payload=payload,
                firing=sorted(firing), resolved=sorted(resolved), status="pending", attempts=0,
                next_attempt_at=now, last_error="", created_at=now,
            ))
            return int(result.inserted_primary_key[0])

    def outbox_due(self, now: datetime, limit: int = 100) -> list[OutboxEntry]:
        t = schema.outbox
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t).where(t.c.status == "pending", t.c.next_attempt_at <= now)
                .order_by(t.c.id).limit(limit)
            ).mappings().all()
        return [_entry(r) for r in rows]

    def outbox_next_due_at(self) -> datetime | None:
        t = schema.outbox
        with self.engine.connect() as conn:
            value = conn.execute(select(func.min(t.c.next_attempt_at)).where(t.c.status == "pending")).scalar()
        return _utc(value)

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

    def outbox_postpone(self, entry: OutboxEntry, until: datetime) -> None:
        """Move a pending notification's next attempt to ``until`` without counting an
        attempt (a rate limit held it back)."""
        t = schema.outbox
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == entry.id, t.c.status == "pending")
                         .values(next_attempt_at=until))

    def outbox_delivered(self, entry: OutboxEntry, now: datetime) -> None:
        """Mark delivered and record it in the notification log, in one transaction, so a
        crash can never leave a delivered notification unlogged (or the reverse)."""
        t, n = schema.outbox, schema.nflog
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == entry.id).values(
                status="sent", sent_at=now, attempts=entry.attempts + 1, last_error=""))
            conn.execute(delete(n).where(
                n.c.group_key == entry.group_key, n.c.receiver == entry.receiver,
                n.c.integration == entry.integration))
            conn.execute(insert(n).values(
                group_key=entry.group_key, receiver=entry.receiver, integration=entry.integration,
                firing=entry.firing, resolved=entry.resolved, sent_at=now))

    def outbox_failed(self, entry: OutboxEntry, error: str, *, retry_at: datetime | None) -> None:
        """Record a failed attempt: retry at ``retry_at``, or dead-letter when it is None."""
        t = schema.outbox
        values: dict[str, Any] = {"attempts": entry.attempts + 1, "last_error": error[:2000]}
        if retry_at is None:
            values["status"] = "dead"
        else:
            values["next_attempt_at"] = retry_at
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == entry.id).values(**values))

    def outbox_supersede(self, group_key: str, receiver: str, integration: str) -> None:
        """Drop pending notifications for a group that a newer one replaces."""
        t = schema.outbox
        with self.engine.begin() as conn:
            conn.execute(update(t).where(
                t.c.group_key == group_key, t.c.receiver == receiver,
                t.c.integration == integration, t.c.status == "pending",
            ).values(status="superseded"))


def _silence_row(r: Any) -> SilenceRow:
    return SilenceRow(id=r["id"], matchers=list(r["matchers"]), starts_at=_utc(r["starts_at"]),
                      ends_at=_utc(r["ends_at"]), created_by=r["created_by"], comment=r["comment"],
                      updated_at=_utc(r["updated_at"]))


def _finite(value: float) -> float:
    # JSON/SQL cannot hold NaN or Inf everywhere; the value is informational only.
    return value if value == value and abs(value) != float("inf") else 0.0


def _entry(r: Any) -> OutboxEntry:
    return OutboxEntry(
        id=r["id"], group_key=r["group_key"], receiver=r["receiver"], integration=r["integration"],
        payload=r["payload"], firing=list(r["firing"]), resolved=list(r["resolved"]),
        status=r["status"], attempts=r["attempts"], next_attempt_at=_utc(r["next_attempt_at"]),
        last_error=r["last_error"], created_at=_utc(r["created_at"]), sent_at=_utc(r["sent_at"]),
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()
