"""Dashboards over HTTP (issue 18). Viewers read and lint; editors save.

    GET  /api/vigil/v1/dashboards                    [{name, project, title, description,
                                                      source: folder|shipped, file, editable}]
    GET  /api/vigil/v1/dashboards/{name}             {dashboard (Perses JSON), file, source,
                                                      editable}
    PUT  /api/vigil/v1/dashboards/{name}             save (editor): a Perses dashboard as JSON,
                                                      or YAML with Content-Type application/yaml
    POST /api/vigil/v1/dashboards/lint               {errors: [{path, message, line}]}
    GET  /api/vigil/v1/dashboards/{name}/variables   ?var-NAME=VALUE...&start=&end=
                                                      [{name, kind, title, hidden, options:
                                                        [{label, value}], current, multi,
                                                        allowAll}]
    GET  /api/vigil/v1/dashboards/{name}/queries     ?var-NAME=VALUE...&start=&end=&width_px=
                                                      {panels: {PANEL: [{query, legend, step}]},
                                                       titles: {PANEL: title}}

Answers are ``{"status": "success", "data": ...}`` (the list adds ``warnings``: files skipped
as invalid). A refused save is 400 with ``errors: [{path, message, line}]`` (every lint
finding), 404 for an unknown dashboard, 409 when no folder is configured. ``start``/``end`` are
unix seconds or RFC 3339 (default: the dashboard's ``duration`` up to now); ``width_px`` is
the dashboard's width (default 1000), each panel's step follows its share of it. Files are
re-read on every request (:mod:`vigil.dashboards.store`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.dashboards.interpolate import TimeContext
from vigil.dashboards.lint import LintError, lint_data, load_document
from vigil.dashboards.model import Dashboard, dump_dashboard
from vigil.dashboards.store import DashboardEntry, DashboardError, DashboardStore
from vigil.dashboards.variables import panel_queries, resolve_variables, variable_values
from vigil.errors import ConfigError, VigilError
from vigil.gocompat.durations import parse_duration_ms
from vigil.promql.value import Matrix, Scalar, String, Vector
from vigil.web.audit_detail import describe_change
from vigil.web.deps import WebDeps
from vigil.web.params import parse_time_ms

__all__ = ["TSDBVariableSource", "dashboard_error_answer", "dashboards_api_router"]

BASE = "/api/vigil/v1/dashboards"
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
_MAX_WIDTH_PX = 20000


class TSDBVariableSource:
    """Variable options from Vigil's own storage and PromQL engine."""

    def __init__(self, deps: WebDeps) -> None:
        self.deps = deps

    def _lookup(self, selectors: Sequence[str], start: float, end: float, lookup: Any) -> list[str]:
        sets = [self.deps.parse_matchers(s) for s in selectors] or [[]]
        q = self.deps.storage.querier(int(start * 1000), int(end * 1000))
        try:
            found: set[str] = set()
            for matchers in sets:
                found.update(lookup(q, matchers))
        finally:
            q.close()
        return sorted(found)

    def label_values(self, label: str, selectors: Sequence[str], start: float, end: float) -> list[str]:
        return self._lookup(selectors, start, end, lambda q, ms: q.label_values(label, ms))

    def label_names(self, selectors: Sequence[str], start: float, end: float) -> list[str]:
        return self._lookup(selectors, start, end, lambda q, ms: q.label_names(ms))

    def series(self, expr: str, at: float) -> list[tuple[dict[str, str], str]]:
        value = self.deps.engine.instant_query(expr, int(at * 1000)).value
        if isinstance(value, Vector):
            return [(s.labels.to_dict(), _number(s.value)) for s in value.samples]
        if isinstance(value, Matrix):
            return [(s.labels.to_dict(), "") for s in value.series]
        if isinstance(value, Scalar):
            return [({}, _number(value.value))]
        assert isinstance(value, String)
        return [({}, value.value)]


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def dashboard_error_answer(exc: DashboardError) -> JSONResponse:
    """A dashboard store's refusal as the API's error answer: 404 or 409 by its kind, else
    400 ``bad_data``, with the located ``errors`` when it has them."""
    status = {"not_found": 404, "conflict": 409}.get(exc.kind, 400)
    body: dict[str, Any] = {"status": "error", "errorType": exc.kind if status != 400 else "bad_data",
                            "error": str(exc)}
    if exc.errors:
        body["errors"] = [e.as_dict() for e in exc.errors]
    return JSONResponse(body, status_code=status)


async def _document(request: Request) -> tuple[Any, Any]:
    """The body as data (+ YAML marks); raises DashboardError(invalid) when unreadable."""
    text = (await request.body()).decode("utf-8", errors="replace")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        return load_document(text, "<body>", json_only=content_type not in _YAML_TYPES)
    except ConfigError as exc:
        raise DashboardError(exc.message, "invalid", [LintError("", exc.message, exc.line)]) from None


def _entry_json(entry: DashboardEntry) -> dict[str, Any]:
    return {"dashboard": dump_dashboard(entry.dashboard), "file": entry.file,
            "source": entry.source, "editable": entry.editable}


def _time_context(request: Request, dashboard: Dashboard, now: float, scrape: float) -> TimeContext:
    params = request.query_params
    try:
        end = parse_time_ms(params["end"]) / 1000 if "end" in params else now
        start = (parse_time_ms(params["start"]) / 1000 if "start" in params
                 else end - parse_duration_ms(dashboard.spec.duration) / 1000)
    except ValueError as exc:
        raise DashboardError(f"start/end: {exc}", "invalid") from None
    if end < start:
        raise DashboardError("end must not be before start", "invalid")
    width = params.get("width_px", "1000")
    if not width.isdigit() or not 1 <= int(width) <= _MAX_WIDTH_PX:
        raise DashboardError(f"width_px must be a whole number 1..{_MAX_WIDTH_PX}, not {width!r}",
                             "invalid")
    return TimeContext(start, end, int(width), scrape)


def _asked(request: Request) -> dict[str, list[str]]:
    asked: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key.startswith("var-"):
            asked.setdefault(key[4:], []).append(value)
    return asked


def dashboards_api_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()
    source = TSDBVariableSource(deps)

    def store() -> DashboardStore:
        if deps.dashboards is None:
            raise DashboardError("this Vigil serves no dashboards", "not_found")
        return deps.dashboards

    @router.get(BASE, include_in_schema=False)
    async def list_dashboards() -> Response:
        try:
            entries, problems = await asyncio.to_thread(lambda: (store().list(), store().problems()))
        except DashboardError as exc:
            return dashboard_error_answer(exc)
        return JSONResponse({"status": "success", "data": [e.summary() for e in entries],
                             "warnings": problems})

    @router.post(BASE + "/lint", include_in_schema=False)
    async def lint(request: Request) -> Response:
        try:
            data, marks = await _document(request)
        except DashboardError as exc:
            return JSONResponse({"status": "success", "data": {"errors": [e.as_dict() for e in exc.errors]}})
        _, errors = await asyncio.to_thread(lint_data, data, marks)
        return JSONResponse({"status": "success", "data": {"errors": [e.as_dict() for e in errors]}})

    @router.get(BASE + "/{name}", include_in_schema=False)
    async def get_dashboard(name: str) -> Response:
        try:
            entry = await asyncio.to_thread(lambda: store().get(name))
        except DashboardError as exc:
            return dashboard_error_answer(exc)
        return JSONResponse({"status": "success", "data": _entry_json(entry)})

    @router.put(BASE + "/{name}", include_in_schema=False)
    async def save_dashboard(request: Request, name: str) -> Response:
        try:
            data, marks = await _document(request)
            the_store = store()
            before, after = await asyncio.to_thread(the_store.save, name, data, marks)
        except DashboardError as exc:
            return dashboard_error_answer(exc)
        describe_change(request, "dashboard.save", name,
                        before=None if before is None else {"file": before.file,
                                                            "dashboard": dump_dashboard(before.dashboard)},
                        after={"file": after.file, "dashboard": dump_dashboard(after.dashboard)})
        return JSONResponse({"status": "success", "data": _entry_json(after)})

    async def resolved(request: Request, name: str) -> tuple[Dashboard, TimeContext, list[Any]]:
        the_store = store()
        entry = await asyncio.to_thread(the_store.get, name)
        ctx = _time_context(request, entry.dashboard, deps.now(), the_store.settings().scrape_interval)
        try:
            variables = await asyncio.to_thread(resolve_variables, entry.dashboard, _asked(request),
                                                source, ctx)
        except VigilError as exc:
            raise DashboardError(f"a variable's query failed: {exc}", "invalid") from None
        return entry.dashboard, ctx, variables

    @router.get(BASE + "/{name}/variables", include_in_schema=False)
    async def variables(request: Request, name: str) -> Response:
        try:
            _, _, found = await resolved(request, name)
        except DashboardError as exc:
            return dashboard_error_answer(exc)
        return JSONResponse({"status": "success", "data": [v.as_dict() for v in found]})

    @router.get(BASE + "/{name}/queries", include_in_schema=False)
    async def queries(request: Request, name: str) -> Response:
        try:
            dashboard, ctx, found = await resolved(request, name)
        except DashboardError as exc:
            return dashboard_error_answer(exc)
        return JSONResponse({"status": "success",
                             "data": panel_queries(dashboard, variable_values(found), ctx)})

    return router
