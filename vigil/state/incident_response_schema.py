"""Tables of the incidents' response checklist and communications (issue 17, parts 3 and 4).
Added by revision 0012 on the shared :data:`vigil.state.schema.metadata`.

The checklist itself is configuration (its tasks per severity); these tables hold what
happened to it: which tasks are done, which went overdue (once per task, and whether that
was paged), the communications sent, and the "Next update" reminders (once per due time).
Every row's change is written with its timeline event (:mod:`vigil.state.incident_store`).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
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

__all__ = ["incident_communications", "incident_task_overdue", "incident_tasks", "incident_update_reminders"]

TZ = DateTime(timezone=True)

# A task of an incident's checklist marked done (done_at set) or reopened (done_at NULL).
incident_tasks = Table(
    "incident_tasks",
    metadata,
    Column("incident_id", String(36), ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("task_key", String(64), nullable=False),
    Column("done_at", TZ),
    Column("done_by", String(256)),
    Column("note", Text, nullable=False, default=""),
    Column("updated_at", TZ, nullable=False),
    PrimaryKeyConstraint("incident_id", "task_key"),
)

# A task found overdue: one row per task ever (the primary key makes it once across replicas);
# paged_at is set by the conditional update that queues the page.
incident_task_overdue = Table(
    "incident_task_overdue",
    metadata,
    Column("incident_id", String(36), ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("task_key", String(64), nullable=False),
    Column("due_at", TZ, nullable=False),
    Column("overdue_at", TZ, nullable=False),
    Column("paged_at", TZ),
    Column("page", JSON),  # who was paged and how (never addresses)
    PrimaryKeyConstraint("incident_id", "task_key"),
)

# An internal notification or external update sent (queued to the outbox with this row).
incident_communications = Table(
    "incident_communications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(36), ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # internal | external
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("receivers", JSON, nullable=False),  # names of alerting.receivers
    Column("sent_by", String(256)),  # None: Vigil (the notification at declaration)
    Column("via", String(32), nullable=False),
    Column("sent_at", TZ, nullable=False),
    Column("outbox_ids", JSON, nullable=False),
    # Sends Vigil makes by itself carry a key (``declared``): unique per incident, so a
    # second replica or a restart sends none again.
    Column("claim_key", String(256), unique=True),
    Index("ix_incident_communications_incident", "incident_id", "sent_at"),
)

# A "Next update" reminder, once per incident and due time.
incident_update_reminders = Table(
    "incident_update_reminders",
    metadata,
    Column("incident_id", String(36), ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("due_key", String(40), nullable=False),  # the due time, ISO 8601 UTC to the microsecond
    Column("due_at", TZ, nullable=False),
    Column("sent_at", TZ, nullable=False),
    Column("detail", JSON, nullable=False),
    PrimaryKeyConstraint("incident_id", "due_key"),
)
