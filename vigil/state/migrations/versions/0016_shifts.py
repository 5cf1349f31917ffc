"""Shift checklists (issue 19): shifts and their checklist items. Only adds tables.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "shifts",
        sa.Column("id", sa.String(96), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("shift_date", sa.Date, nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("handover_note", sa.Text),
        sa.Column("handed_over_by", sa.String(256)),
        sa.Column("handed_over_at", TZ),
        sa.Column("next_shift_id", sa.String(96)),
    )
    op.create_index("ix_shifts_starts_at", "shifts", ["starts_at"])
    op.create_table(
        "shift_items",
        sa.Column("shift_id", sa.String(96), sa.ForeignKey("shifts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("check_kind", sa.String(64)),
        sa.Column("check_spec", sa.JSON),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("checked_by", sa.String(256)),
        sa.Column("checked_at", TZ),
        sa.Column("evidence", sa.JSON),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("carried_from", sa.String(96)),
        sa.PrimaryKeyConstraint("shift_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("shift_items")
    op.drop_table("shifts")
