"""Tables of shift checklists (issue 19, part 4): one row per shift that was opened (its
name, local date and time span) with its hand-over, and one row per checklist item of it
(configured, or carried over from an earlier shift's open items) with who or what checked
it, when, the evidence and the note. Added by revision 0016 on the shared
:data:`vigil.state.schema.metadata`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from vigil.state.schema import metadata

__all__ = ["shift_items", "shifts"]

TZ = DateTime(timezone=True)

shifts = Table(
    "shifts",
    metadata,
    # "<local date>-<name>", e.g. "2026-12-07-morning": unique, so two replicas opening the
    # same shift at once make one row.
    Column("id", String(96), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("shift_date", Date, nullable=False),  # the local date the shift starts on
    Column("starts_at", TZ, nullable=False),
    Column("ends_at", TZ, nullable=False),
    Column("opened_at", TZ, nullable=False),
    Column("handover_note", Text),
    Column("handed_over_by", String(256)),
    Column("handed_over_at", TZ),
    Column("next_shift_id", String(96)),  # where the open items were carried at hand-over
)
Index("ix_shifts_starts_at", shifts.c.starts_at)

shift_items = Table(
    "shift_items",
    metadata,
    Column("shift_id", String(96), ForeignKey("shifts.id", ondelete="CASCADE"), nullable=False),
    # The configured item's key, or "carried:<origin shift id>:<key>" for a carried item.
    Column("key", String(256), nullable=False),
    Column("position", Integer, nullable=False),
    Column("title", String(512), nullable=False),
    Column("check_kind", String(64)),  # None: a person ticks it
    Column("check_spec", JSON),  # the check's parameters when the shift was opened (query, condition)
    # open | ok | failed | error (automatic checks) ; done (ticked by a person)
    Column("status", String(16), nullable=False),
    Column("checked_by", String(256)),  # a person's name, or "vigil"
    Column("checked_at", TZ),
    Column("evidence", JSON),  # what the check asked and what it got (see vigil.shifts.checks)
    Column("note", Text, nullable=False, default=""),
    Column("carried_from", String(96)),  # the shift this item was first open in
    PrimaryKeyConstraint("shift_id", "key"),
)
