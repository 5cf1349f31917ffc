"""The state store: one object, many small transactional methods.

Thread-safe: each method opens its own transaction on the engine's connection pool.
Datetimes go in and come out timezone-aware UTC (SQLite drops the zone; we put it back).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from functools import cached_property
from importlib import resources
from typing import Any

from sqlalchemy import Engine, Insert, create_engine, delete, event, insert, inspect, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.state import schema
from vigil.state.access_store import AccessStore
from vigil.state.coordination import (
    CoordinationStore,
    bump_version,
    db_now,
    lock_for_transaction,
    lock_key,
)
from vigil.state.outbox_store import OutboxStore
from vigil.state.records import SilenceRow, StoredAlert

# Held (PostgreSQL, per session) while the schema is upgraded, so replicas starting together
# upgrade one after the other: the second finds the schema at head and does nothing.
_MIGRATE_LOCK = lock_key("vigil", "migrate")
# The newest schema revision. tests/state/test_migrations.py checks that it is alembic's one
# head, so that a database already there is opened without importing alembic (10 MB that
# every start would otherwise keep).
SCHEMA_HEAD = "0018"
# Alembic keeps its migration context in module globals: one upgrade at a time per process.
_MIGRATE_IN_PROCESS = threading.Lock()


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


class Store(OutboxStore, CoordinationStore):
    """All durable state but time series. The outbox and notification log
    (:class:`~vigil.state.outbox_store.OutboxStore`) and shared-state versions and once-only
    work (:class:`~vigil.state.coordination.CoordinationStore`) are its parts."""

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
        if self.schema_revisions() == {SCHEMA_HEAD}:
            return
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(resources.files("vigil.state") / "migrations"))
        with _MIGRATE_IN_PROCESS, self.engine.connect() as conn:
            postgresql = conn.dialect.name == "postgresql"
            if postgresql:
                conn.exec_driver_sql(f"SELECT pg_advisory_lock({_MIGRATE_LOCK})")
                conn.commit()
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    # "heads": work on two features may add revisions side by side on one parent
                    # (a merge revision joins them later); every head is applied.
                    command.upgrade(cfg, "heads")
            finally:
                if postgresql:
                    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_MIGRATE_LOCK})")
                    conn.commit()

    def schema_revisions(self) -> set[str]:
        """The revisions alembic has recorded in the database (none for a new one)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return set()
            return {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}

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
            # Delete + insert of one group's rows: two writers (a replica that just lost the
            # rules lease and the one that took it) must not interleave, or the second's
            # insert collides with the first's rows.
            lock_for_transaction(conn, "rule_alerts", group_key)
            conn.execute(delete(schema.rule_alerts).where(schema.rule_alerts.c.group_key == group_key))
            if rows:
                conn.execute(insert(schema.rule_alerts), rows)

    # --- dispatcher alerts ---

    def upsert_alerts(self, alerts: list[Alert], *, fingerprints: list[str] | None = None) -> None:
        """Insert or replace alerts; ``fingerprints`` (parallel to ``alerts``) saves
        recomputing them when the caller has them. Each row's ``changed_at`` is the
        database's time, so other replicas find it with :meth:`alerts_changed_since`."""
        if not alerts:
            return
        fps = fingerprints if fingerprints is not None else [a.fingerprint() for a in alerts]
        with self.engine.begin() as conn:
            changed_at = db_now(conn)
            rows = [
                {
                    "fingerprint": fp, "labels": a.labels.to_dict(),
                    "annotations": a.annotations.to_dict(), "starts_at": a.starts_at,
                    "ends_at": a.ends_at, "generator_url": a.generator_url,
                    "updated_at": a.updated_at, "changed_at": changed_at,
                }
                for fp, a in zip(fps, alerts, strict=True)
            ]
            conn.execute(self._upsert_alerts, rows)

    def alerts_changed_since(self, since: datetime | None, *,
                             known: Callable[[str, datetime], bool] | None = None,
                             ) -> tuple[list[tuple[str, Alert]], datetime]:
        """Alerts (with their fingerprints) written at or after ``since`` (database time;
        None: all), and the database's time of this read. Transactions commit out of order,
        so a caller polling with the returned time should look again a few seconds back.

        ``known(fingerprint, updated_at)`` True leaves that row out: only fingerprints and
        update times are read first, and whole rows (labels, annotations: the costly part)
        only for the rest, so a poller does not decode what it holds already."""
        t = schema.alerts
        changed = [] if since is None else [t.c.changed_at >= since]
        with self.engine.connect() as conn:
            read_at = db_now(conn)
            if known is None:
                rows = conn.execute(select(t).where(*changed)).mappings().all()
                return [(r["fingerprint"], _alert(r)) for r in rows], read_at
            versions = conn.execute(select(t.c.fingerprint, t.c.updated_at).where(*changed)).all()
            wanted = [fp for fp, updated in versions if not known(fp, _utc(updated))]
            rows = []
            for i in range(0, len(wanted), 500):  # bounded IN lists
                rows += conn.execute(select(t).where(t.c.fingerprint.in_(wanted[i:i + 500]))).mappings().all()
        return [(r["fingerprint"], _alert(r)) for r in rows], read_at

    @cached_property
    def _upsert_alerts(self) -> Insert:
        # One statement per row instead of a delete plus an insert: the hot path of
        # POST /api/v2/alerts. Both dialects we run on have INSERT ... ON CONFLICT.
        table = schema.alerts
        stmt = (sqlite_insert(table) if self.engine.dialect.name == "sqlite"
                else postgresql_insert(table))
        updated = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != "fingerprint"}
        return stmt.on_conflict_do_update(index_elements=[table.c.fingerprint], set_=updated)

    def delete_alerts(self, fingerprints: list[str], *, ended_before: datetime | None = None) -> None:
        """Delete alerts by fingerprint; with ``ended_before``, only those whose stored end
        is before it (an alert another replica re-opened in the meantime stays)."""
        if not fingerprints:
            return
        t = schema.alerts
        query = delete(t).where(t.c.fingerprint.in_(fingerprints))
        if ended_before is not None:
            query = query.where(t.c.ends_at < ended_before)
        with self.engine.begin() as conn:
            conn.execute(query)

    def load_alerts(self) -> list[Alert]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.alerts)).mappings().all()
        return [_alert(r) for r in rows]

    # --- silences ---

    def silences_load(self) -> list[SilenceRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.silences)).mappings().all()
        return [_silence_row(r) for r in rows]

    def silence_save(self, row: dict[str, Any], *, action: str, author: str, comment: str,
                     at: datetime, also_expire: dict[str, Any] | None = None) -> int:
        """Write a silence and its audit event in one transaction; ``also_expire`` is the
        previous version being replaced (expired) by this one. Bumps the "silences" version
        in the same transaction and returns the new version."""
        t, ev = schema.silences, schema.silence_events
        with self.engine.begin() as conn:
            # One silence write at a time across replicas (they are rare): the delete +
            # insert below cannot interleave, and versions count writes in commit order.
            lock_for_transaction(conn, "silences")
            version = bump_version(conn, "silences")
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
        return version

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
            removed = conn.execute(delete(t).where(t.c.ends_at < before)).rowcount or 0
            if removed:
                bump_version(conn, "silences")
            return removed


def _silence_row(r: Any) -> SilenceRow:
    return SilenceRow(id=r["id"], matchers=list(r["matchers"]), starts_at=_utc(r["starts_at"]),
                      ends_at=_utc(r["ends_at"]), created_by=r["created_by"], comment=r["comment"],
                      updated_at=_utc(r["updated_at"]))


def _alert(r: Any) -> Alert:
    return Alert(Labels(r["labels"]), Labels(r["annotations"]), _utc(r["starts_at"]),
                 _utc(r["ends_at"]), r["generator_url"], _utc(r["updated_at"]))


def _finite(value: float) -> float:
    # JSON/SQL cannot hold NaN or Inf everywhere; the value is informational only.
    return value if value == value and abs(value) != float("inf") else 0.0


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()
