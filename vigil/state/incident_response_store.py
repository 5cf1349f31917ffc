"""The response checklist and communications of incidents in the state database (issue 17,
parts 3 and 4), on the tables of :mod:`vigil.state.incident_response_schema`.

Every change is ONE transaction under the incident's lock (:func:`lock_incident`) that
writes its row, appends its timeline event (:func:`record_event`: ``task_done``,
``task_reopened``, ``task_overdue``, ``page``, ``communication``, ``public_update``,
``update_reminder``), queues what it sends in the outbox and writes one audit entry for a
person's change (and for a task Vigil ticks). What must happen once is claimed by the row
itself: a task Vigil ticks by its row (inserted only if there is none), an overdue task by its
primary key, its page by a conditional update (``paged_at IS NULL``), the notification at
declaration by a unique ``claim_key``, a reminder by (incident, due time). So two replicas,
or one before and after a restart, do each once. Every time is the database's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from vigil.state import schema
from vigil.state.access_store import _audit
from vigil.state.coordination import db_now, upsert
from vigil.state.escalation_store import QueuedNotification
from vigil.state.incident_response_schema import (
    incident_communications,
    incident_task_overdue,
    incident_tasks,
    incident_update_reminders,
)
from vigil.state.incident_schema import incidents
from vigil.state.incident_store import IncidentError, lock_incident, record_event

__all__ = ["Communication", "IncidentResponseStore", "OverdueRecord", "Reminder", "TaskState"]

VIGIL_AUDIT_ACTOR = "vigil"


@dataclass(frozen=True)
class TaskState:
    task_key: str
    done_at: datetime | None  # None: reopened
    done_by: str | None
    note: str
    updated_at: datetime

    @property
    def done(self) -> bool:
        return self.done_at is not None


@dataclass(frozen=True)
class OverdueRecord:
    task_key: str
    due_at: datetime
    overdue_at: datetime
    paged_at: datetime | None
    page: list[dict[str, Any]] | None


@dataclass(frozen=True)
class Communication:
    id: int
    incident_id: str
    kind: str  # internal | external
    subject: str
    body: str
    receivers: tuple[str, ...]
    sent_by: str | None  # None: Vigil
    via: str
    sent_at: datetime
    outbox_ids: tuple[int, ...]


@dataclass(frozen=True)
class Reminder:
    incident_id: str
    due_at: datetime
    sent_at: datetime
    detail: dict[str, Any]


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _communication(row: Any) -> Communication:
    return Communication(row["id"], row["incident_id"], row["kind"], row["subject"], row["body"],
                         tuple(row["receivers"] or ()), row["sent_by"], row["via"],
                         _utc(row["sent_at"]), tuple(row["outbox_ids"] or ()))  # type: ignore[arg-type]


def _incident_row(conn: Connection, incident_id: str) -> Any:
    """The incident's row under its lock; IncidentError when it does not exist."""
    lock_incident(conn, incident_id)
    row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).mappings().first()
    if row is None:
        raise IncidentError(f"no incident {incident_id!r}", "not_found")
    return row


def _enqueue(conn: Connection, incident_id: str, now: datetime,
             notifications: Sequence[QueuedNotification]) -> list[int]:
    ids = []
    for n in notifications:
        result = conn.execute(insert(schema.outbox).values(
            group_key=f"inc:{incident_id}", receiver=n.receiver, integration=n.integration,
            payload=n.payload, firing=[], resolved=[], status="pending", attempts=0,
            next_attempt_at=now + timedelta(seconds=n.delay_s), last_error="", created_at=now))
        ids.append(int(result.inserted_primary_key[0]))
    return ids


class IncidentResponseStore:
    """Task states, overdue tasks, communications and reminders on ``engine`` (the Store's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def now(self) -> datetime:
        with self.engine.connect() as conn:
            return db_now(conn)

    # --- reading ---
    def task_states(self, incident_id: str) -> dict[str, TaskState]:
        t = incident_tasks
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.incident_id == incident_id)).mappings().all()
        return {r["task_key"]: TaskState(r["task_key"], _utc(r["done_at"]), r["done_by"], r["note"] or "",
                                         _utc(r["updated_at"])) for r in rows}  # type: ignore[arg-type]

    def overdue(self, incident_id: str) -> dict[str, OverdueRecord]:
        o = incident_task_overdue
        with self.engine.connect() as conn:
            rows = conn.execute(select(o).where(o.c.incident_id == incident_id)).mappings().all()
        return {r["task_key"]: OverdueRecord(r["task_key"], _utc(r["due_at"]), _utc(r["overdue_at"]),  # type: ignore[arg-type]
                                             _utc(r["paged_at"]), r["page"]) for r in rows}

    def communications(self, incident_id: str, *, kind: str | None = None) -> list[Communication]:
        """What was sent for the incident, oldest first."""
        c = incident_communications
        stmt = select(c).where(c.c.incident_id == incident_id)
        if kind is not None:
            stmt = stmt.where(c.c.kind == kind)
        with self.engine.connect() as conn:
            return [_communication(r) for r in conn.execute(stmt.order_by(c.c.sent_at, c.c.id)).mappings()]

    def has_claim(self, claim_key: str) -> bool:
        c = incident_communications
        with self.engine.connect() as conn:
            return conn.execute(select(c.c.id).where(c.c.claim_key == claim_key)).first() is not None

    def reminders(self, incident_id: str) -> list[Reminder]:
        r = incident_update_reminders
        with self.engine.connect() as conn:
            rows = conn.execute(select(r).where(r.c.incident_id == incident_id).order_by(r.c.due_at)).mappings()
            return [Reminder(x["incident_id"], _utc(x["due_at"]), _utc(x["sent_at"]), dict(x["detail"]))  # type: ignore[arg-type]
                    for x in rows]

    # --- the checklist ---
    def set_task(self, incident_id: str, task_key: str, *, done: bool, actor: str, via: str,
                 note: str = "", detail: dict[str, Any] | None = None) -> TaskState:
        """Mark a task done (``done``) or reopen it, with its ``task_done``/``task_reopened``
        event (``detail``: the task's title and phase, added to the event) and ONE audit
        entry. IncidentError "conflict" when it is done already, or not done to reopen."""
        t = incident_tasks
        with self.engine.begin() as conn:
            inc = _incident_row(conn, incident_id)
            now = db_now(conn)
            row = conn.execute(select(t).where(t.c.incident_id == incident_id, t.c.task_key == task_key)).mappings().first()
            was_done = row is not None and row["done_at"] is not None
            if done and was_done:
                raise IncidentError(f"task {task_key!r} is done already (by {row['done_by'] or 'Vigil'})",
                                    "conflict")
            if not done and not was_done:
                raise IncidentError(f"task {task_key!r} is not done: nothing to reopen", "conflict")
            values = {"done_at": now if done else None, "done_by": actor if done else None, "note": note,
                      "updated_at": now}
            stmt = upsert(conn, t).values(incident_id=incident_id, task_key=task_key, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=[t.c.incident_id, t.c.task_key], set_=values))
            kind = "task_done" if done else "task_reopened"
            record_event(conn, incident_id=incident_id, at=now, kind=kind, actor=actor, via=via,
                         detail={**(detail or {}), "task": task_key, "note": note})
            _audit(conn, now=now, actor=actor, action="incident.task.done" if done else "incident.task.reopen",
                   target=f"incident {inc['ref']} task {task_key}", before={"done": was_done},
                   after={"done": done, "note": note})
            return TaskState(task_key, values["done_at"], values["done_by"], note, now)

    def tick_by_vigil(self, incident_id: str, task_key: str, *, note: str, detail: dict[str, Any]) -> bool:
        """Mark a task done by Vigil (``done_by`` NULL) because the timeline shows its
        ``done_when`` fact, once: the task's row is the claim, inserted only when there is
        none. True when this call ticked it (its ``task_done`` event, actor None via
        ``vigil``, with ``detail``, and one audit entry as ``vigil``); False when the task
        was ever done or reopened by anyone (a person's reopening stands) or the incident is
        resolved. People tick and reopen it afterwards as any task."""
        t = incident_tasks
        with self.engine.begin() as conn:
            inc = _incident_row(conn, incident_id)
            if inc["status"] == "resolved":
                return False
            now = db_now(conn)
            stmt = upsert(conn, t).values(incident_id=incident_id, task_key=task_key, done_at=now, done_by=None,
                                          note=note, updated_at=now)
            stmt = stmt.on_conflict_do_nothing(index_elements=[t.c.incident_id, t.c.task_key])
            if conn.execute(stmt.returning(t.c.task_key)).first() is None:
                return False
            record_event(conn, incident_id=incident_id, at=now, kind="task_done", actor=None, via="vigil",
                         detail={**detail, "task": task_key, "note": note})
            _audit(conn, now=now, actor=VIGIL_AUDIT_ACTOR, action="incident.task.done",
                   target=f"incident {inc['ref']} task {task_key}", before={"done": False},
                   after={"done": True, "note": note, "done_when": detail.get("done_when")})
            return True

    def record_overdue(self, incident_id: str, task_key: str, *, due_at: datetime,
                       detail: dict[str, Any]) -> bool:
        """Record the task overdue, once: True when this call recorded it (with its
        ``task_overdue`` event), False when it was recorded before, is done meanwhile, or
        the incident is resolved."""
        o = incident_task_overdue
        with self.engine.begin() as conn:
            inc = _incident_row(conn, incident_id)
            if inc["status"] == "resolved" or self._done(conn, incident_id, task_key):
                return False
            now = db_now(conn)
            stmt = upsert(conn, o).values(incident_id=incident_id, task_key=task_key, due_at=due_at,
                                          overdue_at=now, paged_at=None, page=None)
            stmt = stmt.on_conflict_do_nothing(index_elements=[o.c.incident_id, o.c.task_key])
            if conn.execute(stmt.returning(o.c.task_key)).first() is None:
                return False
            record_event(conn, incident_id=incident_id, at=now, kind="task_overdue", actor=None, via="vigil",
                         detail={**detail, "task": task_key, "due_at": _iso(due_at)})
            return True

    def page_overdue(self, incident_id: str, task_key: str, *, notifications: Sequence[QueuedNotification],
                     pages: list[dict[str, Any]]) -> bool:
        """Take the page of an overdue task, once (``paged_at IS NULL``): queue
        ``notifications`` and append one ``page`` event per entry of ``pages`` (who, how, or
        the problem; never addresses). False when paged before, done meanwhile, or the
        incident is resolved."""
        o = incident_task_overdue
        with self.engine.begin() as conn:
            inc = _incident_row(conn, incident_id)
            if inc["status"] == "resolved" or self._done(conn, incident_id, task_key):
                return False
            now = db_now(conn)
            taken = conn.execute(update(o).where(o.c.incident_id == incident_id, o.c.task_key == task_key,
                                                 o.c.paged_at.is_(None)).values(paged_at=now, page=pages))
            if not taken.rowcount:
                return False
            _enqueue(conn, incident_id, now, notifications)
            for page in pages:
                record_event(conn, incident_id=incident_id, at=now, kind="page", actor=None, via="vigil",
                             detail={**page, "reason": "task_overdue", "task": task_key})
            return True

    @staticmethod
    def _done(conn: Connection, incident_id: str, task_key: str) -> bool:
        t = incident_tasks
        return conn.execute(select(t.c.done_at).where(t.c.incident_id == incident_id, t.c.task_key == task_key,
                                                      t.c.done_at.is_not(None))).first() is not None

    # --- communications ---
    def send(self, incident_id: str, *, kind: str, subject: str, body: str, receivers: Sequence[str],
             notifications: Sequence[QueuedNotification], actor: str | None, via: str,
             next_update_at: datetime | None, claim_key: str | None = None,
             detail: dict[str, Any] | None = None) -> Communication | None:
        """Record a communication and queue ``notifications`` (one per receiver integration):
        its ``communication`` event, for an external update also the ``public_update``
        event the status page shows (``{"status", "message"}``), the incident's
        ``next_update_at`` (None: unchanged) and ONE audit entry. With ``claim_key`` (Vigil's
        own sends) the key is unique: None when it was sent before."""
        c = incident_communications
        with self.engine.begin() as conn:
            inc = _incident_row(conn, incident_id)
            now = db_now(conn)
            values = dict(incident_id=incident_id, kind=kind, subject=subject, body=body,
                          receivers=list(receivers), sent_by=actor, via=via, sent_at=now, outbox_ids=[],
                          claim_key=claim_key)
            if claim_key is None:
                comm_id = int(conn.execute(insert(c).values(**values)).inserted_primary_key[0])
            else:
                stmt = upsert(conn, c).values(**values).on_conflict_do_nothing(index_elements=[c.c.claim_key])
                row = conn.execute(stmt.returning(c.c.id)).first()
                if row is None:
                    return None
                comm_id = int(row[0])
            ids = _enqueue(conn, incident_id, now, notifications)
            conn.execute(update(c).where(c.c.id == comm_id).values(outbox_ids=ids))
            record_event(conn, incident_id=incident_id, at=now, kind="communication", actor=actor, via=via,
                         detail={**(detail or {}), "kind": kind, "communication_id": comm_id, "subject": subject,
                                 "receivers": list(receivers)})
            if kind == "external":
                record_event(conn, incident_id=incident_id, at=now, kind="public_update", actor=actor, via=via,
                             detail={"status": inc["status"], "message": body}, public=True)
            if next_update_at is not None:
                conn.execute(update(incidents).where(incidents.c.id == incident_id).values(
                    next_update_at=next_update_at))
            _audit(conn, now=now, actor=actor or VIGIL_AUDIT_ACTOR, action=f"incident.communication.{kind}",
                   target=f"incident {inc['ref']}", after={"subject": subject, "receivers": list(receivers),
                                                           "communication_id": comm_id})
            row = conn.execute(select(c).where(c.c.id == comm_id)).mappings().one()
            return _communication(row)

    def remind(self, incident_id: str, *, due_at: datetime, notifications: Sequence[QueuedNotification],
               detail: dict[str, Any]) -> bool:
        """Send the "Next update" reminder for ``due_at``, once: True when this call did
        (``notifications`` queued, ``update_reminder`` event); False when it was sent before
        or the incident is resolved, or an update was sent meanwhile (the due time moved)."""
        r = incident_update_reminders
        with self.engine.begin() as conn:
            inc = _incident_row(conn, incident_id)
            if inc["status"] == "resolved" or _utc(inc["next_update_at"]) != due_at:
                return False
            now = db_now(conn)
            due_key = due_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")  # to the microsecond
            stmt = upsert(conn, r).values(incident_id=incident_id, due_key=due_key, due_at=due_at,
                                          sent_at=now, detail=detail)
            stmt = stmt.on_conflict_do_nothing(index_elements=[r.c.incident_id, r.c.due_key])
            if conn.execute(stmt.returning(r.c.due_key)).first() is None:
                return False
            _enqueue(conn, incident_id, now, notifications)
            record_event(conn, incident_id=incident_id, at=now, kind="update_reminder", actor=None, via="vigil",
                         detail={**detail, "due_at": _iso(due_at)})
            return True
