"""Incident candidates (related alert groups proposed as one incident), their groups, and the
action items of incidents' post-mortems (issue 17). Only adds tables.

Revision ID: 0014
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incident_candidates",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("key", sa.String(1024), nullable=False, unique=True),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("window_start", TZ, nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("severity", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("proposed_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("incident_id", sa.String(36), sa.ForeignKey("incidents.id", ondelete="SET NULL")),
        sa.Column("decided_by", sa.String(256)),
        sa.Column("decided_at", TZ),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_incident_candidates_state", "incident_candidates", ["state", "proposed_at"])
    op.create_table(
        "incident_candidate_groups",
        sa.Column("candidate_id", sa.String(36),
                  sa.ForeignKey("incident_candidates.id", ondelete="CASCADE"), nullable=False),
        sa.Column("group_key", sa.String(1024), nullable=False),
        sa.Column("group_labels", sa.JSON, nullable=False),
        sa.Column("receiver", sa.String(256), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("joined_at", TZ, nullable=False),
        sa.Column("alerts", sa.Integer, nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("candidate_id", "group_key"),
    )
    op.create_index("ix_incident_candidate_groups_group", "incident_candidate_groups", ["group_key"])
    op.create_table(
        "incident_action_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(36), sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("owner", sa.String(256)),
        sa.Column("due_date", sa.Date),
        sa.Column("link", sa.String(2048), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("closed_by", sa.String(256)),
        sa.Column("closed_at", TZ),
    )
    op.create_index("ix_incident_action_items_incident", "incident_action_items", ["incident_id", "id"])
    op.create_index("ix_incident_action_items_state", "incident_action_items", ["state", "id"])


def downgrade() -> None:
    op.drop_table("incident_action_items")
    op.drop_table("incident_candidate_groups")
    op.drop_table("incident_candidates")
