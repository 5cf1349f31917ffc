"""The reports page of the web UI (issue 19).

    GET  /reports[?name=N]                    the reports (schedules, run now), the runs in
                                              progress (sections done of total) and the archive
    POST /reports/{name}/run                  run one now (editors); ``at`` optional (RFC 3339)
    GET  /reports/runs/{id}/{html|pdf|json}   an archived run's rendering

While a run is in progress the page refreshes itself every 3 s (a meta refresh: no script).
A refused run (no such report, a bad ``at``) shows the page again with the reason and the
status the API would give. The archived HTML is served under its own CSP (its one style sheet).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from vigil.access import Role
from vigil.gocompat.times import parse_rfc3339
from vigil.reports.runner import UnknownReport
from vigil.state.report_store import ReportRun, ReportStoreError
from vigil.web.access_gate import template_context
from vigil.web.audit_detail import describe_change
from vigil.web.deps import WebDeps
from vigil.web.json_api import ERROR_STATUS
from vigil.web.oncall_api import request_actor
from vigil.web.page_templates import page_environment
from vigil.web.reports_api import archived_rendering

__all__ = ["reports_pages_router"]


def _can_run(request: Request) -> bool:
    principal = getattr(request.state, "principal", None)
    return principal is None or principal.may(Role.EDITOR)


def _row(run: ReportRun) -> dict[str, Any]:
    tz = ZoneInfo(run.timezone)
    period = ""
    if run.period_start is not None and run.period_end is not None:
        period = f"{run.period_start.astimezone(tz):%Y-%m-%d %H:%M} – {run.period_end.astimezone(tz):%Y-%m-%d %H:%M} ({run.timezone})"
    return {"id": run.id, "name": run.name, "title": run.title, "period": period, "status": run.status,
            "started": f"{run.started_at.astimezone(tz):%Y-%m-%d %H:%M}", "trigger": run.trigger,
            "triggered_by": run.triggered_by, "error": run.error, "pdf_error": run.pdf_error,
            "problems": run.problems, "emailed_to": run.emailed_to, "formats": run.formats,
            "sections_done": run.sections_done, "sections_total": run.sections_total, "progress": run.progress}


def reports_pages_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()
    env = page_environment(deps.version)

    def unavailable() -> HTMLResponse:
        return HTMLResponse("This Vigil has no reports.", status_code=404)

    async def page(request: Request, *, error: str = "", status: int = 200) -> HTMLResponse:
        service = deps.reports
        assert service is not None
        name = request.query_params.get("name", "")
        catalogue = await asyncio.to_thread(service.catalogue)
        runs = [_row(r) for r in await asyncio.to_thread(service.store.runs, name=name or None, limit=200)]
        html = env.get_template("reports.html").render(
            path="/reports", can_run=_can_run(request), catalogue=catalogue, runs=runs, name=name,
            running=[r for r in runs if r["status"] == "running"], error=error, **template_context(request))
        return HTMLResponse(html, status_code=status)

    @router.get("/reports", include_in_schema=False)
    async def reports_page(request: Request) -> HTMLResponse:
        if deps.reports is None:
            return unavailable()
        return await page(request)

    @router.post("/reports/{name}/run", include_in_schema=False)
    async def run_now(request: Request, name: str) -> Response:
        service = deps.reports
        if service is None:
            return unavailable()
        form = await request.form()
        text = str(form.get("at", "")).strip()
        at = datetime.now(UTC)
        if text:
            try:
                at = parse_rfc3339(text)
            except ValueError as exc:
                return await page(request, error=f"at: {exc}", status=400)
        try:
            run = await asyncio.to_thread(service.start, name, at, timezone=None, actor=request_actor(request),
                                          via="ui")
        except UnknownReport as exc:
            return await page(request, error=str(exc), status=ERROR_STATUS[exc.kind])
        service.execute_in_background(run.id)
        describe_change(request, "report.run", name, after={"run": run.id, "at": at.isoformat(),
                                                             "timezone": run.timezone})
        return RedirectResponse(f"/reports#run-{run.id}", status_code=303)

    @router.get("/reports/runs/{run_id}/{fmt}", include_in_schema=False)
    async def rendering(run_id: str, fmt: str) -> Response:
        service = deps.reports
        if service is None:
            return unavailable()
        try:
            run = await asyncio.to_thread(service.store.get, run_id)
            content = await asyncio.to_thread(service.store.content, run_id, fmt)
        except ReportStoreError as exc:
            return HTMLResponse(str(exc), status_code=ERROR_STATUS.get(exc.kind, 400))
        return archived_rendering(content, fmt, run.id, run.name)

    return router
