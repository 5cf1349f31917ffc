"""Initial schema: rule alert state, dispatcher alerts, notification log and outbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rule_alerts",
        sa.Column("group_key", sa.String(512), primary_key=True),
        sa.Column("rule_name", sa.String(256), primary_key=True),
        sa.Column("fingerprint", sa.String(16), primary_key=True),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("annotations", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("active_at", TZ, nullable=False),
        sa.Column("fired_at", TZ),
        sa.Column("resolved_at", TZ),
        sa.Column("last_sent_at", TZ),
        sa.Column("keep_firing_since", TZ),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("fingerprint", sa.String(16), primary_key=True),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("annotations", sa.JSON, nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ),
        sa.Column("generator_url", sa.Text, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "nflog",
        sa.Column("group_key", sa.String(1024), primary_key=True),
        sa.Column("receiver", sa.String(256), primary_key=True),
        sa.Column("integration", sa.String(64), primary_key=True),
        sa.Column("firing", sa.JSON, nullable=False),
        sa.Column("resolved", sa.JSON, nullable=False),
        sa.Column("sent_at", TZ, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("group_key", sa.String(1024), nullable=False),
        sa.Column("receiver", sa.String(256), nullable=False),
        sa.Column("integration", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("firing", sa.JSON, nullable=False),
        sa.Column("resolved", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ),
    )
    op.create_index("ix_outbox_status_next", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status_next", "outbox")
    for table in ("outbox", "nflog", "alerts", "rule_alerts"):
        op.drop_table(table)
