"""Join the incident response (0012), status page (0013) and review (0014) revisions, written
side by side on 0011, into one history again.

Revision ID: 0015
Revises: 0012, 0013, 0014
"""

revision = "0015"
down_revision = ("0012", "0013", "0014")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
