"""Escalation policies: the round-robin turns.

Only adds a table, so a replica still running the previous version keeps working.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "escalation_turns",
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("next_index", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("policy", "step"),
    )


def downgrade() -> None:
    op.drop_table("escalation_turns")
