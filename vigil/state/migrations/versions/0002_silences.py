"""Silences and their audit trail.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "silences",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("matchers", sa.JSON, nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "silence_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("silence_id", sa.String(36), nullable=False, index=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("author", sa.String(256), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("snapshot", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("silence_events")
    op.drop_table("silences")
