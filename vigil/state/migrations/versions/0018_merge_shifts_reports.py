"""Join the shift checklists (0016) and the report archive (0017), written side by side on
0015, into one history again.

Revision ID: 0018
Revises: 0016, 0017
"""

revision = "0018"
down_revision = ("0016", "0017")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
