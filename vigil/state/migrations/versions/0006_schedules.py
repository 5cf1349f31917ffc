"""On-call schedules: overrides and swaps, calendar feed tokens.

Only adds tables, so a replica still running the previous version keeps working.

Revision ID: 0006
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schedule_overrides",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("schedule", sa.String(64), nullable=False),
        sa.Column("user", sa.String(256), nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("swap_id", sa.String(36)),
    )
    op.create_index("ix_schedule_overrides_schedule_ends", "schedule_overrides", ["schedule", "ends_at"])
    op.create_table(
        "schedule_feed_tokens",
        sa.Column("user", sa.String(256), primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("schedule_feed_tokens")
    op.drop_index("ix_schedule_overrides_schedule_ends", "schedule_overrides")
    op.drop_table("schedule_overrides")
