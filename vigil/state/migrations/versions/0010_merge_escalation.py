"""Join the escalation (0008) and notification-rules (0009) revisions, written side by side
on 0007, into one history again.

Revision ID: 0010
Revises: 0008, 0009
"""

revision = "0010"
down_revision = ("0008", "0009")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
