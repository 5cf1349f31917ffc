"""Alert lifecycle: episodes of alert groups (acknowledge, resolve, SLA breaches) and their
event logs, and the shared key that signs action links (issue 16). Only adds tables.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_episodes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("group_key", sa.String(1024), nullable=False),
        sa.Column("open_key", sa.String(1024), unique=True),
        sa.Column("receiver", sa.String(256), nullable=False),
        sa.Column("group_labels", sa.JSON, nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("ack_deadline_at", TZ, nullable=False),
        sa.Column("first_acknowledged_at", TZ),
        sa.Column("acknowledged_at", TZ),
        sa.Column("acknowledged_by", sa.String(256)),
        sa.Column("breached_at", TZ),
        sa.Column("resolved_at", TZ),
        sa.Column("resolved_by", sa.String(256)),
        sa.Column("classification", sa.String(32)),
        sa.Column("procedure", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("previous_id", sa.String(36)),
        sa.Column("runbooks", sa.JSON, nullable=False),
    )
    op.create_index("ix_alert_episodes_group_key", "alert_episodes", ["group_key"])
    op.create_table(
        "episode_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("episode_id", sa.String(36),
                  sa.ForeignKey("alert_episodes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(256)),
        sa.Column("via", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_episode_events_episode", "episode_events", ["episode_id", "id"])
    op.create_table(
        "oncall_keys",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("secret", sa.String(256), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("oncall_keys")
    op.drop_table("episode_events")
    op.drop_table("alert_episodes")
