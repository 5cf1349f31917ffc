"""What the API, the pages and the CLI use of reports: the reports there are (with their
schedules), the archive, and running one now (recorded at once, computed in the background,
its progress in the archive)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from vigil.config.reports import ReportsConfig
from vigil.reports.runner import ReportRunner
from vigil.state.report_store import ReportRun, ReportStore

__all__ = ["ReportService", "run_json"]

VIA = ("api", "cli", "ui")


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat().replace("+00:00", "Z")


def run_json(run: ReportRun) -> dict[str, Any]:
    """A run as the API gives it (without its renderings: ``links`` says where they are)."""
    base = f"/api/vigil/v1/reports/runs/{run.id}"
    return {
        "id": run.id, "name": run.name, "title": run.title, "at": _iso(run.at), "timezone": run.timezone,
        "periodStart": _iso(run.period_start), "periodEnd": _iso(run.period_end), "trigger": run.trigger,
        "triggeredBy": run.triggered_by, "status": run.status, "sectionsDone": run.sections_done,
        "sectionsTotal": run.sections_total, "progress": run.progress, "error": run.error,
        "pdfError": run.pdf_error, "problems": list(run.problems), "emailedTo": list(run.emailed_to),
        "startedAt": _iso(run.started_at), "finishedAt": _iso(run.finished_at), "formats": list(run.formats),
        "links": {f: f"{base}/{f}" for f in run.formats},
    }


class ReportService:
    def __init__(self, runner: ReportRunner, config: Callable[[], ReportsConfig]) -> None:
        self.runner = runner
        self.config = config

    @property
    def store(self) -> ReportStore:
        return self.runner.store

    def catalogue(self) -> list[dict[str, Any]]:
        """Every report with its title, sections and schedules."""
        cfg = self.config()
        out = []
        for name, definition in sorted(self.runner.definitions().items()):
            out.append({"name": name, "title": getattr(definition, "title", name), "sections": definition.sections,
                        "schedules": [{"cron": s.cron, "timezone": s.timezone or cfg.timezone, "email": s.email,
                                       "formats": s.formats} for s in cfg.schedules if s.report == name]})
        return out

    def start(self, name: str, at: datetime, *, timezone: str | None, actor: str, via: str) -> ReportRun:
        """Record a run asked for by ``actor`` (its trigger ``via``); execute it with
        :meth:`execute_in_background` (or the runner's ``execute``)."""
        run_id = self.runner.start(name, at, trigger=via, triggered_by=actor, timezone=timezone)
        return self.store.get(run_id)

    def execute_in_background(self, run_id: str) -> None:
        self.runner.execute_in_background(run_id)

    async def wait(self, run_id: str, poll_s: float = 0.2) -> ReportRun:
        """The run once it is no longer running (for tests and the CLI's server side)."""
        while True:
            run = await asyncio.to_thread(self.store.get, run_id)
            if run.status != "running":
                return run
            await asyncio.sleep(poll_s)
