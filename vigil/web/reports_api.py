"""Reports over HTTP (issue 19). Viewers read the archive; editors run reports.

    GET  /api/vigil/v1/reports                          the reports, their sections and schedules
    GET  /api/vigil/v1/reports/runs[?name=N&limit=L]    the archive, newest first
    POST /api/vigil/v1/reports/{name}/runs[?at=RFC3339&timezone=Z]
                                                        run one now: 202 with the run (status
                                                        running); its progress at its URL
    GET  /api/vigil/v1/reports/runs/{id}                one run: status, sections done of total
    GET  /api/vigil/v1/reports/runs/{id}/{html|pdf|json}  its rendering

``at`` (default now) is the end of the report's period. The body of the POST may say
``"via": "api" | "cli" | "ui"``. Answers ``{"status": "success", "data": ...}``; refusals are
``{"status": "error", "errorType", "error"}`` with 404 (no such report or run, or no such
rendering: a failed run, a PDF Chromium could not print) or 400 (a bad ``at``, time zone,
format or limit). The archived HTML is served with its own Content-Security-Policy: its one
embedded style sheet, nothing else.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.config.reports import check_timezone
from vigil.gocompat.times import parse_rfc3339
from vigil.reports.render import MEDIA_TYPES, REPORT_CSP
from vigil.reports.runner import UnknownReport
from vigil.reports.service import VIA, run_json
from vigil.state.report_store import ReportStoreError
from vigil.web.audit_detail import describe_change
from vigil.web.deps import WebDeps
from vigil.web.json_api import error, json_body, store_error
from vigil.web.oncall_api import request_actor

__all__ = ["BASE", "archived_rendering", "reports_api_router"]

BASE = "/api/vigil/v1/reports"


def archived_rendering(content: bytes, fmt: str, run_id: str, name: str) -> Response:
    """A run's rendering as a response: the HTML under the report's own CSP, the PDF and
    JSON inline with a file name."""
    headers = {"Content-Disposition": f'inline; filename="{name}-{run_id[:8]}.{fmt}"'}
    if fmt == "html":
        headers["Content-Security-Policy"] = REPORT_CSP
    return Response(content, media_type=MEDIA_TYPES[fmt], headers=headers)


def reports_api_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()

    def unavailable() -> JSONResponse:
        return error(404, "unavailable", "this Vigil has no reports")

    @router.get(BASE, include_in_schema=False)
    async def catalogue() -> Response:
        if deps.reports is None:
            return unavailable()
        return JSONResponse({"status": "success", "data": await asyncio.to_thread(deps.reports.catalogue)})

    @router.get(BASE + "/runs", include_in_schema=False)
    async def archive(request: Request) -> Response:
        service = deps.reports
        if service is None:
            return unavailable()
        q = request.query_params
        try:
            limit = int(q.get("limit", "100"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 1000:
            return error(400, "bad_data", f"limit must be a whole number 1..1000, not {q.get('limit')!r}")
        runs = await asyncio.to_thread(service.store.runs, name=q.get("name") or None, limit=limit)
        return JSONResponse({"status": "success", "data": [run_json(r) for r in runs]})

    @router.post(BASE + "/{name}/runs", include_in_schema=False)
    async def run_now(request: Request, name: str) -> Response:
        service = deps.reports
        if service is None:
            return unavailable()
        body = await json_body(request, VIA)
        if isinstance(body, JSONResponse):
            return body
        q = request.query_params
        at = datetime.now(UTC)
        if q.get("at"):
            try:
                at = parse_rfc3339(q["at"])
            except ValueError as exc:
                return error(400, "bad_data", f"at: {exc}")
        tz = q.get("timezone") or None
        if tz is not None:
            try:
                check_timezone(tz)
            except ValueError as exc:
                return error(400, "bad_data", f"timezone: {exc}")
        try:
            run = await asyncio.to_thread(service.start, name, at, timezone=tz, actor=request_actor(request),
                                          via=str(body.get("via", "api")))
        except UnknownReport as exc:
            return error(404, "not_found", str(exc))
        service.execute_in_background(run.id)
        describe_change(request, "report.run", name, after={"run": run.id, "at": run_json(run)["at"],
                                                             "timezone": run.timezone})
        return JSONResponse({"status": "success", "data": run_json(run)}, status_code=202,
                            headers={"Location": f"{BASE}/runs/{run.id}"})

    @router.get(BASE + "/runs/{run_id}", include_in_schema=False)
    async def one_run(run_id: str) -> Response:
        service = deps.reports
        if service is None:
            return unavailable()
        try:
            run = await asyncio.to_thread(service.store.get, run_id)
        except ReportStoreError as exc:
            return store_error(exc, invalid_type="bad_data")
        return JSONResponse({"status": "success", "data": run_json(run)})

    @router.get(BASE + "/runs/{run_id}/{fmt}", include_in_schema=False)
    async def rendering(run_id: str, fmt: str) -> Response:
        service = deps.reports
        if service is None:
            return unavailable()
        try:
            run = await asyncio.to_thread(service.store.get, run_id)
            content = await asyncio.to_thread(service.store.content, run_id, fmt)
        except ReportStoreError as exc:
            return store_error(exc, invalid_type="bad_data")
        return archived_rendering(content, fmt, run.id, run.name)

    return router
