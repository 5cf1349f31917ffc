"""Shift checklists in the state database (issue 19, part 4).

A shift is opened once (its id is unique: two replicas opening it at once make one row) with
the checklist its configuration had then, plus the items still open in the shift before it
(carried over). Every change is one transaction; times are the database's clock. Audit
entries are written by the web gate (``describe_change``) for changes made through the API
or pages; automatic checks are Vigil's own and recorded on the item (checked_by "vigil").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from vigil.state.coordination import db_now, upsert
from vigil.state.shift_schema import shift_items, shifts

__all__ = ["CARRIED_PREFIX", "NewShift", "NewShiftItem", "ShiftItemRow", "ShiftRow", "ShiftStore",
           "ShiftStoreError"]

CARRIED_PREFIX = "carried:"
DONE_STATUSES = ("ok", "done")  # an item in one of these needs nothing more this shift


class ShiftStoreError(ValueError):
    """A change that cannot be made; the message says why. ``kind``: not_found (no such
    shift or item) or invalid (bad input), answered 404 and 400 by the API."""

    def __init__(self, message: str, kind: str = "not_found") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class NewShiftItem:
    key: str
    title: str
    check_kind: str | None = None
    check_spec: dict[str, Any] | None = None


@dataclass(frozen=True)
class NewShift:
    id: str
    name: str
    shift_date: date
    starts_at: datetime
    ends_at: datetime
    items: tuple[NewShiftItem, ...]


@dataclass(frozen=True)
class ShiftItemRow:
    shift_id: str
    key: str
    position: int
    title: str
    check_kind: str | None
    check_spec: dict[str, Any] | None
    status: str  # open | ok | failed | error | done
    checked_by: str | None
    checked_at: datetime | None
    evidence: dict[str, Any] | None
    note: str
    carried_from: str | None

    @property
    def done(self) -> bool:
        return self.status in DONE_STATUSES


@dataclass(frozen=True)
class ShiftRow:
    id: str
    name: str
    shift_date: date
    starts_at: datetime
    ends_at: datetime
    opened_at: datetime
    handover_note: str | None
    handed_over_by: str | None
    handed_over_at: datetime | None
    next_shift_id: str | None
    items: tuple[ShiftItemRow, ...]


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _item(r: Any) -> ShiftItemRow:
    return ShiftItemRow(r["shift_id"], r["key"], r["position"], r["title"], r["check_kind"],
                        dict(r["check_spec"]) if r["check_spec"] is not None else None, r["status"],
                        r["checked_by"], _utc(r["checked_at"]),
                        dict(r["evidence"]) if r["evidence"] is not None else None, r["note"] or "",
                        r["carried_from"])


class ShiftStore:
    """On ``engine`` (the Store's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def db_now(self) -> datetime:
        with self.engine.connect() as conn:
            return db_now(conn)

    # --- reading ---

    def get(self, shift_id: str) -> ShiftRow | None:
        found = self._load(select(shifts).where(shifts.c.id == shift_id))
        return found[0] if found else None

    def between(self, start: datetime, end: datetime) -> list[ShiftRow]:
        """Shifts that started in [start, end), oldest first."""
        s = shifts
        return self._load(select(s).where(s.c.starts_at >= start, s.c.starts_at < end)
                          .order_by(s.c.starts_at, s.c.id))

    def latest_before(self, starts_before: datetime) -> ShiftRow | None:
        """The newest shift that started before ``starts_before``."""
        s = shifts
        found = self._load(select(s).where(s.c.starts_at < starts_before)
                           .order_by(s.c.starts_at.desc()).limit(1))
        return found[0] if found else None

    def _load(self, stmt: Any) -> list[ShiftRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
            if not rows:
                return []
            ids = [r["id"] for r in rows]
            items: dict[str, list[ShiftItemRow]] = {i: [] for i in ids}
            for r in conn.execute(select(shift_items).where(shift_items.c.shift_id.in_(ids))
                                  .order_by(shift_items.c.position, shift_items.c.key)).mappings():
                items[r["shift_id"]].append(_item(r))
        return [ShiftRow(r["id"], r["name"], r["shift_date"], _utc(r["starts_at"]), _utc(r["ends_at"]),  # type: ignore[arg-type]
                         _utc(r["opened_at"]), r["handover_note"], r["handed_over_by"],  # type: ignore[arg-type]
                         _utc(r["handed_over_at"]), r["next_shift_id"], tuple(items[r["id"]]))
                for r in rows]

    # --- writing ---

    def open(self, shift: NewShift, *, carry_from: str | None = None) -> tuple[ShiftRow, bool]:
        """Open ``shift`` unless it is open already; when it is new, copy in the open items of
        ``carry_from`` (the shift before it). Returns the shift and whether this call opened it."""
        with self.engine.begin() as conn:
            now = db_now(conn)
            stmt = upsert(conn, shifts).values(
                id=shift.id, name=shift.name, shift_date=shift.shift_date, starts_at=shift.starts_at,
                ends_at=shift.ends_at, opened_at=now).on_conflict_do_nothing(index_elements=[shifts.c.id])
            # RETURNING, not rowcount: psycopg reports no row count for a skipped conflict.
            created = conn.execute(stmt.returning(shifts.c.id)).first() is not None
            if created and shift.items:
                conn.execute(insert(shift_items), [
                    {"shift_id": shift.id, "key": it.key, "position": n, "title": it.title,
                     "check_kind": it.check_kind, "check_spec": it.check_spec, "status": "open",
                     "note": "", "carried_from": None}
                    for n, it in enumerate(shift.items)])
            if created:
                if carry_from is not None:
                    _carry(conn, carry_from, shift.id)
        row = self.get(shift.id)
        assert row is not None
        return row, created

    def tick(self, shift_id: str, key: str, *, by: str, note: str, done: bool = True) -> ShiftItemRow:
        """A person marks item ``key`` done (or open again, ``done=False``) with a note."""
        with self.engine.begin() as conn:
            now = db_now(conn)
            values: dict[str, Any] = ({"status": "done", "checked_by": by, "checked_at": now, "note": note}
                                      if done else {"status": "open", "checked_by": by, "checked_at": now,
                                                    "note": note})
            i = shift_items
            result = conn.execute(update(i).where(i.c.shift_id == shift_id, i.c.key == key).values(**values))
            if not result.rowcount:
                raise ShiftStoreError(f"shift {shift_id!r} has no item {key!r}"
                                      if self._exists(conn, shift_id) else f"no shift {shift_id!r}")
            row = conn.execute(select(i).where(i.c.shift_id == shift_id, i.c.key == key)).mappings().one()
        return _item(row)

    def record_checks(self, shift_id: str, results: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        """Record automatic check results (key, status, evidence) by Vigil. An item a person
        ticked done keeps its tick; the evidence is recorded beside it."""
        with self.engine.begin() as conn:
            now = db_now(conn)
            i = shift_items
            for key, status, evidence in results:
                where = (i.c.shift_id == shift_id) & (i.c.key == key)
                conn.execute(update(i).where(where & (i.c.status != "done"))
                             .values(status=status, checked_by="vigil", checked_at=now, evidence=evidence))
                conn.execute(update(i).where(where & (i.c.status == "done")).values(evidence=evidence))

    def handover(self, shift_id: str, *, by: str, note: str, next_shift: NewShift | None) -> ShiftRow:
        """Write the hand-over note and carry the items still open into ``next_shift`` (opened
        now if it is not open yet; items carried before are not carried twice)."""
        with self.engine.begin() as conn:
            now = db_now(conn)
            if not self._exists(conn, shift_id):
                raise ShiftStoreError(f"no shift {shift_id!r}")
            conn.execute(update(shifts).where(shifts.c.id == shift_id).values(
                handover_note=note, handed_over_by=by, handed_over_at=now,
                next_shift_id=next_shift.id if next_shift else None))
        if next_shift is not None:
            _, created = self.open(next_shift, carry_from=shift_id)
            if not created:
                with self.engine.begin() as conn:
                    _carry(conn, shift_id, next_shift.id)
        row = self.get(shift_id)
        assert row is not None
        return row

    @staticmethod
    def _exists(conn: Connection, shift_id: str) -> bool:
        return conn.execute(select(shifts.c.id).where(shifts.c.id == shift_id)).first() is not None


def _carry(conn: Connection, from_id: str, to_id: str) -> None:
    """Bring ``from_id``'s open items into ``to_id``, each once. An item ``to_id`` has on
    its own list (same key: the same shift definition) is marked as carried rather than
    listed twice; any other is appended, keyed by the shift it was first open in and its key
    there."""
    i = shift_items
    rows = conn.execute(select(i.c.key, i.c.position, i.c.carried_from).where(i.c.shift_id == to_id)).all()
    present = {r.key for r in rows}
    own_uncarried = {r.key for r in rows if r.carried_from is None and not r.key.startswith(CARRIED_PREFIX)}
    position = max((r.position for r in rows), default=-1) + 1
    for r in conn.execute(select(i).where(i.c.shift_id == from_id, i.c.status.not_in(DONE_STATUSES))
                          .order_by(i.c.position)).mappings().all():
        origin = r["carried_from"] or from_id
        base = r["key"].split(":", 2)[2] if r["key"].startswith(CARRIED_PREFIX) else r["key"]
        if base in own_uncarried:
            conn.execute(update(i).where(i.c.shift_id == to_id, i.c.key == base).values(carried_from=origin))
            own_uncarried.discard(base)
            continue
        key = f"{CARRIED_PREFIX}{origin}:{base}"
        if key in present or base in present:
            continue
        conn.execute(insert(i).values(shift_id=to_id, key=key, position=position, title=r["title"],
                                      check_kind=r["check_kind"], check_spec=r["check_spec"], status="open",
                                      note=r["note"] or "", carried_from=origin))
        present.add(key)
        position += 1
