"""Join the alert lifecycle (0005) and schedules (0006) revisions, written side by side on
0004, into one history again.

Revision ID: 0007
Revises: 0005, 0006
"""

revision = "0007"
down_revision = ("0005", "0006")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
