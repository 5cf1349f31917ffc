"""Running a report: record the run in the archive, build it from its definition with a
context whose ``progress`` counts the sections done (readable by any replica while it runs),
render HTML, JSON and PDF, and archive them with the run's e-mails in one transaction.

The registry of reports and the context they are built with come from outside (the app
wires :data:`vigil.reports.definitions.REPORTS` and :class:`vigil.reports.context.ReportContext`),
so this module runs any definition with ``sections`` and ``build(ctx, at)``.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from vigil.errors import VigilError
from vigil.reports.model import Report
from vigil.reports.render import RenderError, render_html, render_json, render_pdf
from vigil.state.report_store import ReportStore

__all__ = ["ContextFactory", "ReportDefinitionLike", "ReportRunner", "UnknownReport"]

log = logging.getLogger(__name__)


class ReportDefinitionLike(Protocol):
    """What the runner needs of a report definition."""

    sections: int

    def build(self, ctx: Any, at: datetime) -> Report: ...


# (progress callback, time zone name) -> the context a definition builds with.
ContextFactory = Callable[[Callable[[str], None], str], Any]


class UnknownReport(VigilError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"no report {name!r}; the reports are {', '.join(sorted(known)) or 'none'}")
        self.kind = "not_found"


class ReportRunner:
    """Runs reports into the archive. ``definitions`` and ``context`` are read at every run."""

    def __init__(self, store: ReportStore, definitions: Callable[[], Mapping[str, ReportDefinitionLike]],
                 context: ContextFactory, *, member_id: str, default_timezone: Callable[[], str],
                 pdf_timeout_s: Callable[[], float], external_url: str = "",
                 smtp_from: Callable[[], str | None] = lambda: None,
                 on_enqueue: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.definitions = definitions
        self.context = context
        self.member_id = member_id
        self.default_timezone = default_timezone
        self.pdf_timeout_s = pdf_timeout_s
        self.external_url = external_url.rstrip("/")
        self.smtp_from = smtp_from
        self.on_enqueue = on_enqueue
        self._background: set[asyncio.Task[None]] = set()

    def names(self) -> list[str]:
        return sorted(self.definitions())

    def definition(self, name: str) -> ReportDefinitionLike:
        definitions = self.definitions()
        if name not in definitions:
            raise UnknownReport(name, list(definitions))
        return definitions[name]

    def start(self, name: str, at: datetime, *, trigger: str, triggered_by: str, timezone: str | None = None,
              occurrence_key: str | None = None) -> str:
        """Record a run of ``name`` for ``at`` that starts now; its id (run it with :meth:`execute`)."""
        definition = self.definition(name)
        tz = timezone or self.default_timezone()
        ZoneInfo(tz)  # an unknown zone fails here, before anything is recorded
        return self.store.start(name=name, at=at, timezone_name=tz, trigger=trigger, triggered_by=triggered_by,
                                runner=self.member_id, sections_total=max(int(definition.sections), 1),
                                occurrence_key=occurrence_key)

    def execute(self, run_id: str, *, email_to: Sequence[str] = (), attach: Sequence[str] = ("pdf",)) -> None:
        """Build, render and archive run ``run_id`` (started by :meth:`start`). A failure is
        recorded in the run (and logged), not raised: the archive says what went wrong."""
        run = self.store.get(run_id)
        done = 0

        def progress(text: str) -> None:
            nonlocal done
            done = min(done + 1, run.sections_total)
            self.store.progress(run_id, done, text)

        try:
            report = self.definition(run.name).build(self.context(progress, run.timezone), run.at)
            html = render_html(report)
            pdf, pdf_error = None, ""
            try:
                pdf = render_pdf(html, timeout_s=self.pdf_timeout_s())
            except RenderError as exc:
                pdf_error = str(exc)
                log.warning("report %s (run %s): %s", run.name, run_id, exc)
            emails = [self._email(report, run_id, email_to, attach)] if email_to else []
            self.store.finish(run_id, title=report.title, period_start=report.period_start,
                              period_end=report.period_end, html=html, json_text=render_json(report).decode(),
                              pdf=pdf, pdf_error=pdf_error, problems=report.problems, emails=emails)
        except Exception as exc:  # a report's own bug must not stop the schedule
            log.exception("report %s (run %s) failed", run.name, run_id)
            self.store.fail(run_id, f"{type(exc).__name__}: {exc}")
            return
        if emails:
            self.on_enqueue()

    def run(self, name: str, at: datetime, *, trigger: str, triggered_by: str, timezone: str | None = None,
            occurrence_key: str | None = None, email_to: Sequence[str] = (), attach: Sequence[str] = ("pdf",)) -> str:
        """Start and execute a run in this thread; its id."""
        run_id = self.start(name, at, trigger=trigger, triggered_by=triggered_by, timezone=timezone,
                            occurrence_key=occurrence_key)
        self.execute(run_id, email_to=email_to, attach=attach)
        return run_id

    def execute_in_background(self, run_id: str) -> None:
        """Execute a started run in a worker thread; the caller answers at once (the
        progress is in the archive)."""
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(self.execute, run_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _email(self, report: Report, run_id: str, to: Sequence[str], attach: Sequence[str]) -> dict[str, Any]:
        """The outbox payload of the run's e-mail: fixed Date and Message-ID (a re-send after
        a crash is the same message); the attachments are read from the archive when sent."""
        tz = ZoneInfo(report.timezone)
        sender = self.smtp_from() or "vigil@localhost"
        period = (f"{report.period_start.astimezone(tz):%Y-%m-%d %H:%M} – "
                  f"{report.period_end.astimezone(tz):%Y-%m-%d %H:%M} ({report.timezone})")
        link = f"{self.external_url}/reports/runs/{run_id}/html" if self.external_url else ""
        lines = [report.title, period, ""]
        if report.problems:
            lines += ["Problems while computing it:", *[f"- {p}" for p in report.problems], ""]
        lines += [f"The report is attached ({', '.join(f.upper() for f in attach)})."]
        if link:
            lines.append(f"In Vigil: {link}")
        return {"run_id": run_id, "from": sender, "to": list(to), "subject": f"{report.title}: {period}",
                "date": email.utils.format_datetime(report.generated_at),
                "message_id": email.utils.make_msgid(idstring=f"report.{run_id}",
                                                     domain=sender.rpartition("@")[2].strip(" >") or "vigil"),
                "text": "\n".join(lines) + "\n", "attach": list(attach),
                "filename": f"{report.name}-{report.period_end.astimezone(tz):%Y-%m-%d}"}
