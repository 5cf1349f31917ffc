"""The shifts' public interface: what other parts (the daily report, the API, the pages)
read about shifts. ``ShiftService.history(start, end)`` gives every shift that started in
[start, end) with its items (done or not, by whom, the evidence of automatic checks, the
notes), its hand-over note and the items it left open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from vigil.state.shift_store import ShiftItemRow, ShiftRow, ShiftStore

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
    """Shifts as records, on the state database's :class:`ShiftStore`."""

    def __init__(self, store: ShiftStore) -> None:
        self.store = store

    def history(self, start: datetime, end: datetime) -> list[ShiftRecord]:
        """Every shift that started in [start, end), oldest first (``start``/``end``
        timezone-aware)."""
        return [ShiftRecord.from_row(r) for r in self.store.between(start, end)]

    def get(self, shift_id: str) -> ShiftRecord | None:
        row = self.store.get(shift_id)
        return ShiftRecord.from_row(row) if row is not None else None
