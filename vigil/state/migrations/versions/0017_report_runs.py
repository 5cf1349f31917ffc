"""The report archive (issue 19): one row per run of a report with its progress, HTML, JSON
and PDF. Only adds a table.

Revision ID: 0017
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("period_start", TZ),
        sa.Column("period_end", TZ),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("triggered_by", sa.String(256), nullable=False),
        sa.Column("occurrence_key", sa.String(512), unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("runner", sa.String(256), nullable=False),
        sa.Column("sections_done", sa.Integer, nullable=False),
        sa.Column("sections_total", sa.Integer, nullable=False),
        sa.Column("progress", sa.String(256), nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("pdf_error", sa.Text, nullable=False),
        sa.Column("problems", sa.JSON, nullable=False),
        sa.Column("emailed_to", sa.JSON, nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.Column("html", sa.Text),
        sa.Column("json", sa.Text),
        sa.Column("pdf", sa.LargeBinary),
    )
    op.create_index("ix_report_runs_name_started", "report_runs", ["name", "started_at"])
    op.create_index("ix_report_runs_started", "report_runs", ["started_at"])


def downgrade() -> None:
    op.drop_table("report_runs")
