"""Incidents: the incident, the alert groups attached to it and its timeline (issue 17).
Only adds tables.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("ref", sa.String(32), nullable=False, unique=True),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("impact", sa.Text, nullable=False),
        sa.Column("severity", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("commander", sa.String(256)),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("components", sa.JSON, nullable=False),
        sa.Column("channel", sa.String(256), nullable=False),
        sa.Column("alert_matchers", sa.JSON, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("origin_key", sa.String(256), unique=True),
        sa.Column("declared_by", sa.String(256), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("detected_at", TZ, nullable=False),
        sa.Column("declared_at", TZ, nullable=False),
        sa.Column("acknowledged_at", TZ),
        sa.Column("mitigated_at", TZ),
        sa.Column("resolved_at", TZ),
        sa.Column("next_update_at", TZ),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "incident_alerts",
        sa.Column("incident_id", sa.String(36), sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("group_key", sa.String(1024), nullable=False),
        sa.Column("group_labels", sa.JSON, nullable=False),
        sa.Column("receiver", sa.String(256), nullable=False),
        sa.Column("first_alert_at", TZ),
        sa.Column("attached_at", TZ, nullable=False),
        sa.Column("attached_by", sa.String(256)),
        sa.Column("detached_at", TZ),
        sa.PrimaryKeyConstraint("incident_id", "group_key"),
    )
    op.create_index("ix_incident_alerts_group", "incident_alerts", ["group_key"])
    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(36), sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(256)),
        sa.Column("via", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("source_key", sa.String(256), unique=True),
    )
    op.create_index("ix_incident_events_incident", "incident_events", ["incident_id", "at", "id"])


def downgrade() -> None:
    op.drop_table("incident_events")
    op.drop_table("incident_alerts")
    op.drop_table("incidents")
