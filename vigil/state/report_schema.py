"""The report archive (issue 19): every run of a report, scheduled or asked for, with its
progress while it runs and its HTML, JSON and PDF once done. Added by revision 0017 on the
shared :data:`vigil.state.schema.metadata`."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, LargeBinary, String, Table, Text

from vigil.state.schema import metadata

__all__ = ["report_runs"]

TZ = DateTime(timezone=True)

report_runs = Table(
    "report_runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(64), nullable=False),  # the report (daily, weekly-capacity, ...)
    Column("title", String(256), nullable=False, default=""),
    Column("at", TZ, nullable=False),  # the time the report was asked for (its period ends there)
    Column("timezone", String(64), nullable=False),
    Column("period_start", TZ),  # known once built
    Column("period_end", TZ),
    Column("trigger", String(16), nullable=False),  # schedule | api | cli | ui
    Column("triggered_by", String(256), nullable=False),  # the person, or "schedule <cron> <tz>"
    # A scheduled run's occurrence ("<schedule key>@<occurrence UTC>"): unique, so one
    # occurrence is archived (and mailed) once whatever crashed or ran twice.
    Column("occurrence_key", String(512), unique=True),
    Column("status", String(16), nullable=False),  # running | done | failed
    # The replica computing it: a run whose runner died is marked failed, not left running.
    Column("runner", String(256), nullable=False),
    Column("sections_done", Integer, nullable=False, default=0),
    Column("sections_total", Integer, nullable=False, default=0),
    Column("progress", String(256), nullable=False, default=""),  # the section being computed
    Column("error", Text, nullable=False, default=""),
    Column("pdf_error", Text, nullable=False, default=""),  # why there is no PDF (the rest is kept)
    Column("problems", JSON, nullable=False, default=list),  # the report's own problems
    Column("emailed_to", JSON, nullable=False, default=list),
    Column("started_at", TZ, nullable=False),
    Column("finished_at", TZ),
    Column("html", Text),
    Column("json", Text),
    Column("pdf", LargeBinary),
    Index("ix_report_runs_name_started", "name", "started_at"),
    Index("ix_report_runs_started", "started_at"),
)
