"""Incidents: the response checklist's task states, overdue tasks, communications sent and
"Next update" reminders (issue 17). Only adds tables.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _incident_id() -> sa.Column:
    return sa.Column("incident_id", sa.String(36), sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "incident_tasks",
        _incident_id(),
        sa.Column("task_key", sa.String(64), nullable=False),
        sa.Column("done_at", TZ),
        sa.Column("done_by", sa.String(256)),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "task_key"),
    )
    op.create_table(
        "incident_task_overdue",
        _incident_id(),
        sa.Column("task_key", sa.String(64), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("overdue_at", TZ, nullable=False),
        sa.Column("paged_at", TZ),
        sa.Column("page", sa.JSON),
        sa.PrimaryKeyConstraint("incident_id", "task_key"),
    )
    op.create_table(
        "incident_communications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _incident_id(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("receivers", sa.JSON, nullable=False),
        sa.Column("sent_by", sa.String(256)),
        sa.Column("via", sa.String(32), nullable=False),
        sa.Column("sent_at", TZ, nullable=False),
        sa.Column("outbox_ids", sa.JSON, nullable=False),
        sa.Column("claim_key", sa.String(256), unique=True),
    )
    op.create_index("ix_incident_communications_incident", "incident_communications",
                    ["incident_id", "sent_at"])
    op.create_table(
        "incident_update_reminders",
        _incident_id(),
        sa.Column("due_key", sa.String(40), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("sent_at", TZ, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "due_key"),
    )


def downgrade() -> None:
    op.drop_table("incident_update_reminders")
    op.drop_table("incident_communications")
    op.drop_table("incident_task_overdue")
    op.drop_table("incident_tasks")
