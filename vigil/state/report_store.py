"""The report archive (issue 19) on :data:`vigil.state.report_schema.report_runs`.

A run is written when it starts (``running``, with its sections done of total, so any
replica can show its progress), then finished with its HTML, JSON and PDF, or failed with
the reason. Finishing a scheduled run also queues its e-mails in the notification outbox in
the same transaction, so a crash either leaves both (the outbox delivers them) or neither
(the occurrence is run again). A scheduled run carries its occurrence's key, unique: one
occurrence is archived and mailed once. Every time is the database's clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, select, update

from vigil.errors import VigilError
from vigil.state import schema
from vigil.state.coordination import db_now, live_member_ids, lock_for_transaction
from vigil.state.report_schema import report_runs

__all__ = ["REPORTS_RECEIVER", "ReportRun", "ReportStore", "ReportStoreError"]

# The outbox receiver of report e-mails (as "@oncall" is the pages').
REPORTS_RECEIVER = "@reports"
_LIST_COLUMNS = [c for c in report_runs.c if c.name not in ("html", "json", "pdf")]


class ReportStoreError(VigilError):
    """No such run (``kind`` "not_found"), or an occurrence already archived ("conflict")."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ReportRun:
    id: str
    name: str
    title: str
    at: datetime
    timezone: str
    period_start: datetime | None
    period_end: datetime | None
    trigger: str
    triggered_by: str
    occurrence_key: str | None
    status: str  # running | done | failed
    runner: str
    sections_done: int
    sections_total: int
    progress: str
    error: str
    pdf_error: str
    problems: tuple[str, ...]
    emailed_to: tuple[str, ...]
    started_at: datetime
    finished_at: datetime | None
    formats: tuple[str, ...]  # what the archive holds: html, json, pdf


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _run(r: Any, formats: tuple[str, ...]) -> ReportRun:
    return ReportRun(
        id=r["id"], name=r["name"], title=r["title"], at=_utc(r["at"]), timezone=r["timezone"],  # type: ignore[arg-type]
        period_start=_utc(r["period_start"]), period_end=_utc(r["period_end"]), trigger=r["trigger"],
        triggered_by=r["triggered_by"], occurrence_key=r["occurrence_key"], status=r["status"],
        runner=r["runner"], sections_done=r["sections_done"], sections_total=r["sections_total"],
        progress=r["progress"], error=r["error"], pdf_error=r["pdf_error"], problems=tuple(r["problems"]),
        emailed_to=tuple(r["emailed_to"]), started_at=_utc(r["started_at"]),  # type: ignore[arg-type]
        finished_at=_utc(r["finished_at"]), formats=formats)


def _formats_of(conn: Any, run_id: str) -> tuple[str, ...]:
    t = report_runs
    row = conn.execute(select(t.c.html.is_not(None), t.c.json.is_not(None), t.c.pdf.is_not(None))
                       .where(t.c.id == run_id)).first()
    return tuple(f for f, present in zip(("html", "json", "pdf"), row or (), strict=False) if present)


class ReportStore:
    """The archive of report runs on ``engine`` (the Store's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def now(self) -> datetime:
        with self.engine.connect() as conn:
            return db_now(conn)

    # --- writing ---

    def start(self, *, name: str, at: datetime, timezone_name: str, trigger: str, triggered_by: str,
              runner: str, sections_total: int, occurrence_key: str | None = None) -> str:
        """Record a run that starts now; its id. A scheduled occurrence already archived is a
        ``conflict``; one left running or failed by an earlier attempt is started again in
        its row (same id), so the occurrence keeps one row."""
        t = report_runs
        with self.engine.begin() as conn:
            now = db_now(conn)
            values = {"name": name, "title": "", "at": at, "timezone": timezone_name, "trigger": trigger,
                      "triggered_by": triggered_by, "status": "running", "runner": runner,
                      "sections_done": 0, "sections_total": sections_total, "progress": "", "error": "",
                      "pdf_error": "", "problems": [], "emailed_to": [], "started_at": now,
                      "finished_at": None, "period_start": None, "period_end": None,
                      "html": None, "json": None, "pdf": None}
            if occurrence_key is not None:
                lock_for_transaction(conn, "report-occurrence", occurrence_key)
                row = conn.execute(select(t.c.id, t.c.status).where(t.c.occurrence_key == occurrence_key)).first()
                if row is not None:
                    if row.status == "done":
                        raise ReportStoreError(f"occurrence {occurrence_key} is archived already (run {row.id})",
                                               "conflict")
                    conn.execute(update(t).where(t.c.id == row.id).values(**values))
                    return str(row.id)
            run_id = str(uuid.uuid4())
            conn.execute(insert(t).values(id=run_id, occurrence_key=occurrence_key, **values))
            return run_id

    def progress(self, run_id: str, sections_done: int, text: str) -> None:
        t = report_runs
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == run_id, t.c.status == "running")
                         .values(sections_done=sections_done, progress=text[:256]))

    def finish(self, run_id: str, *, title: str, period_start: datetime, period_end: datetime,
               html: str, json_text: str, pdf: bytes | None, pdf_error: str, problems: Sequence[str],
               emails: Sequence[dict[str, Any]] = ()) -> None:
        """Archive the run's renderings and queue ``emails`` (outbox payloads for
        :data:`REPORTS_RECEIVER`'s ``email`` integration), in one transaction."""
        t = report_runs
        with self.engine.begin() as conn:
            now = db_now(conn)
            done = conn.execute(update(t).where(t.c.id == run_id, t.c.status == "running").values(
                status="done", title=title, period_start=period_start, period_end=period_end, html=html,
                json=json_text, pdf=pdf, pdf_error=pdf_error, problems=list(problems), finished_at=now,
                sections_done=t.c.sections_total, progress="",
                emailed_to=sorted({a for e in emails for a in e["to"]})))
            if (done.rowcount or 0) == 0:
                raise ReportStoreError(f"report run {run_id} is not running", "conflict")
            for payload in emails:
                conn.execute(insert(schema.outbox).values(
                    group_key=f"report:{run_id}", receiver=REPORTS_RECEIVER, integration="email",
                    payload=payload, firing=[], resolved=[], status="pending", attempts=0,
                    next_attempt_at=now, last_error="", created_at=now))

    def fail(self, run_id: str, error: str) -> None:
        t = report_runs
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == run_id, t.c.status == "running").values(
                status="failed", error=error, finished_at=db_now(conn)))

    def fail_abandoned(self, member_timeout_s: float) -> int:
        """Mark failed the runs left running by a replica that is gone (it stopped or died
        while computing them); how many."""
        t = report_runs
        with self.engine.begin() as conn:
            now = db_now(conn)
            result = conn.execute(update(t).where(
                t.c.status == "running", t.c.runner.not_in(live_member_ids(now, member_timeout_s).scalar_subquery())
            ).values(status="failed", error="the replica computing it stopped before it was done", finished_at=now))
            return result.rowcount or 0

    def delete_before(self, before: datetime) -> int:
        """Forget the runs started before ``before`` (the archive's retention)."""
        t = report_runs
        with self.engine.begin() as conn:
            return conn.execute(delete(t).where(t.c.started_at < before, t.c.status != "running")).rowcount or 0

    # --- reading ---

    def get(self, run_id: str) -> ReportRun:
        t = report_runs
        with self.engine.connect() as conn:
            row = conn.execute(select(*_LIST_COLUMNS).where(t.c.id == run_id)).mappings().first()
            if row is None:
                raise ReportStoreError(f"no report run {run_id!r}", "not_found")
            return _run(row, _formats_of(conn, run_id))

    def by_occurrence(self, occurrence_key: str) -> ReportRun | None:
        t = report_runs
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.id).where(t.c.occurrence_key == occurrence_key)).first()
        return None if row is None else self.get(row.id)

    def runs(self, *, name: str | None = None, limit: int = 100) -> list[ReportRun]:
        """The newest runs first (without their renderings)."""
        t = report_runs
        query = select(*_LIST_COLUMNS, t.c.html.is_not(None).label("has_html"),
                       t.c.json.is_not(None).label("has_json"), t.c.pdf.is_not(None).label("has_pdf"))
        if name is not None:
            query = query.where(t.c.name == name)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.c.started_at.desc(), t.c.id).limit(limit)).mappings().all()
        return [_run(r, tuple(f for f in ("html", "json", "pdf") if r[f"has_{f}"])) for r in rows]

    def content(self, run_id: str, fmt: str) -> bytes:
        """The run's rendering in ``fmt`` (html, json, pdf); not_found when it has none."""
        if fmt not in ("html", "json", "pdf"):
            raise ReportStoreError(f"format must be html, json or pdf, not {fmt!r}", "invalid")
        t = report_runs
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c[fmt], t.c.status, t.c.pdf_error).where(t.c.id == run_id)).first()
        if row is None:
            raise ReportStoreError(f"no report run {run_id!r}", "not_found")
        value = row[0]
        if value is None:
            why = (f": {row.pdf_error}" if fmt == "pdf" and row.pdf_error
                   else f" (the run is {row.status})" if row.status != "done" else "")
            raise ReportStoreError(f"report run {run_id} has no {fmt.upper()}{why}", "not_found")
        return value.encode() if isinstance(value, str) else bytes(value)

    def pending_mail_count(self, run_id: str) -> int:
        """E-mails of the run still waiting in the outbox."""
        o = schema.outbox
        with self.engine.connect() as conn:
            return len(conn.execute(select(o.c.id).where(and_(
                o.c.group_key == f"report:{run_id}", o.c.receiver == REPORTS_RECEIVER,
                o.c.status == "pending"))).all())
