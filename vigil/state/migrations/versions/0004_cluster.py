"""Replicas: cluster members and leases, outbox claims, change tracking for alerts and
shared state, once-only work.

Every step only adds (tables, nullable columns, indexes), so a replica still running the
previous version keeps working while another one upgrades the schema.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cluster_members",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("heartbeat_at", TZ, nullable=False),
        sa.Column("left_at", TZ),
        sa.Column("info", sa.JSON, nullable=False),
    )
    op.create_table(
        "cluster_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(36), nullable=False),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("acquired_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.create_table(
        "state_versions",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "run_once",
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("claimed_by", sa.String(36), nullable=False),
        sa.Column("claimed_at", TZ, nullable=False),
        sa.Column("done_at", TZ),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.add_column("outbox", sa.Column("claimed_by", sa.String(36)))
    op.add_column("outbox", sa.Column("claimed_at", TZ))
    op.add_column("alerts", sa.Column("changed_at", TZ))
    op.create_index("ix_alerts_changed_at", "alerts", ["changed_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_changed_at", "alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("changed_at")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_at")
        batch.drop_column("claimed_by")
    for table in ("run_once", "state_versions", "cluster_leases", "cluster_members"):
        op.drop_table(table)
