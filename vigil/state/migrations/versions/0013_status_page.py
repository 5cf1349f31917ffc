"""The public status page: component overrides, the latest health check of each component
and the log of status transitions (issue 17). Only adds tables.

Revision ID: 0013
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "status_page_overrides",
        sa.Column("component", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("set_by", sa.String(256), nullable=False),
        sa.Column("set_at", TZ, nullable=False),
        sa.Column("expires_at", TZ),
    )
    op.create_table(
        "status_page_checks",
        sa.Column("component", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("healthy", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("checked_at", TZ, nullable=False),
    )
    op.create_table(
        "status_page_transitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("component", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("since", TZ, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_index("ix_status_page_transitions_component", "status_page_transitions",
                    ["component", "since", "id"])


def downgrade() -> None:
    op.drop_table("status_page_transitions")
    op.drop_table("status_page_checks")
    op.drop_table("status_page_overrides")
