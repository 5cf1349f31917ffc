"""The shifts' public interface: what other parts (the daily report, the API, the pages)
read about shifts. ``ShiftService.history(start, end)`` gives every shift that started in
[start, end) with its items (done or not, by whom, the evidence of automatic checks, the
notes), its hand-over note and the items it left open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from vigil.config.shifts import ShiftsConfig
from vigil.shifts.calendar import ShiftInstance, shift_at
from vigil.shifts.checks import ShiftChecker
from vigil.state.shift_store import (
    NewShift,
    NewShiftItem,
    ShiftItemRow,
    ShiftRow,
    ShiftStore,
    ShiftStoreError,
)

log = logging.getLogger(__name__)

__all__ = ["ShiftItemRecord", "ShiftRecord", "ShiftService"]


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


@dataclass(frozen=True)
class ShiftItemRecord:
    """One checklist item of one shift."""

    key: str
    title: str
    kind: str  # "check" (Vigil verifies it) | "manual" (a person ticks it)
    check: str | None  # the check's kind (critical_services, backups_done, ...) for kind "check"
    status: str  # open | ok | failed | error | done
    done: bool  # ok (Vigil verified it) or done (a person ticked it)
    by: str | None  # who checked it: a person's name, or "vigil"
    at: datetime | None
    evidence: dict[str, Any] | None  # what the automatic check asked and what it got
    note: str
    carried_from: str | None  # the shift this item was first open in, if carried over

    @classmethod
    def from_row(cls, row: ShiftItemRow) -> ShiftItemRecord:
        return cls(row.key, row.title, "check" if row.check_kind else "manual", row.check_kind,
                   row.status, row.done, row.checked_by, row.checked_at, row.evidence, row.note,
                   row.carried_from)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "kind": self.kind, "check": self.check,
                "status": self.status, "done": self.done, "by": self.by, "at": _iso(self.at),
                "evidence": self.evidence, "note": self.note, "carried_from": self.carried_from}


@dataclass(frozen=True)
class ShiftRecord:
    """One shift: its name, local date, span, checklist and hand-over."""

    id: str
    name: str
    date: date
    starts_at: datetime
    ends_at: datetime
    items: tuple[ShiftItemRecord, ...]
    handover_note: str | None
    handed_over_by: str | None
    handed_over_at: datetime | None
    next_shift_id: str | None

    @classmethod
    def from_row(cls, row: ShiftRow) -> ShiftRecord:
        return cls(row.id, row.name, row.shift_date, row.starts_at, row.ends_at,
                   tuple(ShiftItemRecord.from_row(i) for i in row.items), row.handover_note,
                   row.handed_over_by, row.handed_over_at, row.next_shift_id)

    @property
    def open_items(self) -> tuple[ShiftItemRecord, ...]:
        """Items not done: carried to the next shift at hand-over."""
        return tuple(i for i in self.items if not i.done)

    @property
    def done_count(self) -> int:
        return sum(1 for i in self.items if i.done)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "date": self.date.isoformat(),
                "starts_at": _iso(self.starts_at), "ends_at": _iso(self.ends_at),
                "items": [i.as_dict() for i in self.items], "done": self.done_count,
                "total": len(self.items), "open_items": [i.key for i in self.open_items],
                "handover_note": self.handover_note, "handed_over_by": self.handed_over_by,
                "handed_over_at": _iso(self.handed_over_at), "next_shift_id": self.next_shift_id}


class ShiftService:
    """Shifts as records, on the state database's :class:`ShiftStore`. ``config`` (the
    ``shifts:`` section, read on each call so a reload applies) and ``checker`` are needed to
    open shifts and run their checks; reading history needs neither."""

    def __init__(self, store: ShiftStore, *, config: Callable[[], ShiftsConfig] | None = None,
                 checker: ShiftChecker | None = None) -> None:
        self.store = store
        self._config = config
        self.checker = checker

    def config(self) -> ShiftsConfig:
        if self._config is None:
            raise RuntimeError("this ShiftService was made without the shifts config")
        return self._config()

    # --- reading ---

    def history(self, start: datetime, end: datetime) -> list[ShiftRecord]:
        """Every shift that started in [start, end), oldest first (``start``/``end``
        timezone-aware)."""
        return [ShiftRecord.from_row(r) for r in self.store.between(start, end)]

    def get(self, shift_id: str) -> ShiftRecord | None:
        row = self.store.get(shift_id)
        return ShiftRecord.from_row(row) if row is not None else None

    def title(self, name: str) -> str:
        """What people call shift ``name`` (its configured title)."""
        definition = next((d for d in self.config().shifts if d.name == name), None) if self._config else None
        return definition.display_title if definition else name.replace("_", " ").capitalize()

    # --- opening and changing ---

    def current(self, at: datetime | None = None) -> tuple[ShiftRecord, bool]:
        """The shift holding ``at`` (default: the database's now), opened if it was not yet,
        with the items the shift before it left open. Returns it and whether it was opened now."""
        return self.open(shift_at(self.config(), at or self.store.db_now()))

    def open(self, shift: ShiftInstance) -> tuple[ShiftRecord, bool]:
        previous = self.store.latest_before(shift.starts_at)
        row, created = self.store.open(self._new_shift(shift), carry_from=previous.id if previous else None)
        return ShiftRecord.from_row(row), created

    def tick(self, shift_id: str, key: str, *, by: str, note: str, done: bool = True) -> ShiftItemRecord:
        """A person marks an item done (or open again) with a note; marking it done needs
        the note (what was found), as the runbook's lists are ticked with one."""
        if done and not note.strip():
            raise ShiftStoreError("note: say what you found when you tick an item", "invalid")
        return ShiftItemRecord.from_row(self.store.tick(shift_id, key, by=by, note=note, done=done))

    def handover(self, shift_id: str, *, by: str, note: str) -> ShiftRecord:
        """Write the hand-over note and carry the open items into the next shift."""
        if not note.strip():
            raise ShiftStoreError("note: the hand-over note tells the next shift what is going on", "invalid")
        row = self.store.get(shift_id)
        if row is None:
            raise ShiftStoreError(f"no shift {shift_id!r}")
        nxt = shift_at(self.config(), row.ends_at)
        return ShiftRecord.from_row(self.store.handover(shift_id, by=by, note=note, next_shift=self._new_shift(nxt)))

    def run_checks(self, shift_id: str, at: datetime | None = None) -> ShiftRecord:
        """Run every automatic check of the shift now and record the outcomes with evidence."""
        if self.checker is None:
            raise RuntimeError("this ShiftService was made without a checker")
        row = self.store.get(shift_id)
        if row is None:
            raise ShiftStoreError(f"no shift {shift_id!r}")
        when = at or self.store.db_now()
        results = []
        for item in row.items:
            if item.check_kind is None:
                continue
            try:
                status, evidence = self.checker.run(item.check_kind, item.check_spec or {}, when)
            except Exception as exc:  # one broken check (a store outage) must not hide the others' results
                log.exception("shift check %s of %s failed", item.key, shift_id)
                status, evidence = "error", {"source": item.check_kind, "at": when.isoformat(),
                                             "error": f"{type(exc).__name__}: {exc}"}
            results.append((item.key, status, evidence))
        self.store.record_checks(shift_id, results)
        record = self.get(shift_id)
        assert record is not None
        return record

    def _new_shift(self, shift: ShiftInstance) -> NewShift:
        config = self.config()
        items = tuple(NewShiftItem(i.item_key, i.title, i.check, config.check_spec(i)) for i in shift.definition.items)
        return NewShift(shift.id, shift.definition.name, shift.day, shift.starts_at, shift.ends_at, items)
