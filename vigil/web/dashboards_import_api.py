"""Grafana import over HTTP (issue 18). Editors only: it may save a dashboard.

    POST /api/vigil/v1/dashboards/import/grafana[?save=true&name=&project=&overwrite=true]
         body: a Grafana dashboard (JSON: an export or Grafana's API answer)
         → {dashboard: <Perses JSON>, yaml: <the same as YAML text>, summary: {title, panels,
            converted, placeholders, placeholdersByReason, placeholderPanels, variables, notes},
            saved: null | {file}}

Without ``save`` nothing is written: the UI shows the result and the summary before saving.
With ``save=true`` the dashboard is saved through the dashboard store (its lint decides, as
for ``PUT /api/vigil/v1/dashboards/{name}``), refused when it has panels and none converted
(400), and refused when a dashboard of that name exists (409) unless ``overwrite=true``.
Errors: 400 ``bad_data`` when the body is not JSON or not a Grafana dashboard of schema 16+
(``error`` says where), 400 with ``errors: [{path, message}]`` when the store's lint refuses
it, 404 when this Vigil serves no dashboards, 409 as above or when no folder is configured.
The conversion is :func:`vigil.dashboards.grafana.convert_grafana`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.dashboards.grafana import GrafanaImport, GrafanaImportError, convert_grafana
from vigil.dashboards.model import dump_dashboard, parse_dashboard
from vigil.dashboards.store import DashboardError, dashboard_yaml
from vigil.web.audit_detail import describe_change
from vigil.web.dashboards_api import dashboard_error_answer
from vigil.web.deps import WebDeps
from vigil.web.json_api import error

__all__ = ["IMPORT_PATH", "dashboards_import_router"]

IMPORT_PATH = "/api/vigil/v1/dashboards/import/grafana"
_TRUE = ("1", "true", "yes")


def dashboards_import_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()

    @router.post(IMPORT_PATH, include_in_schema=False)
    async def import_grafana(request: Request) -> Response:
        params = request.query_params
        save = params.get("save", "").lower() in _TRUE
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            return error(400, "bad_data", f"the body must be a Grafana dashboard as JSON: {exc}")
        try:
            result: GrafanaImport = await asyncio.to_thread(
                convert_grafana, data, name=params.get("name") or None, project=params.get("project") or None)
        except GrafanaImportError as exc:
            return error(400, "bad_data", str(exc))
        summary = result.summary
        name = result.dashboard["metadata"]["name"]
        answer: dict[str, Any] = {"dashboard": result.dashboard, "yaml": dashboard_yaml(parse_dashboard(result.dashboard)),
                                  "summary": summary.to_json(), "saved": None}
        if save:
            if summary.panels and not summary.converted:
                return error(400, "bad_data", f"none of the {summary.panels} panels could be converted; not saved")
            store = deps.dashboards
            if store is None:
                return error(404, "not_found", "this Vigil serves no dashboards")
            overwrite = params.get("overwrite", "").lower() in _TRUE
            try:
                existing = await asyncio.to_thread(store.find, name)
                if existing is not None and not overwrite:
                    return error(409, "conflict", f"a dashboard named {name!r} exists ({existing.file}); "
                                                  "choose another name= or pass overwrite=true")
                before, after = await asyncio.to_thread(store.save, name, result.dashboard)
            except DashboardError as exc:
                return dashboard_error_answer(exc)
            answer["saved"] = {"file": after.file}
            describe_change(request, "dashboard.import", name,
                            before=None if before is None else {"file": before.file,
                                                                "dashboard": dump_dashboard(before.dashboard)},
                            after={"file": after.file, "dashboard": dump_dashboard(after.dashboard),
                                   "converted": summary.converted, "placeholders": len(summary.placeholders)})
        else:
            describe_change(request, "dashboard.convert", name,
                            after={"saved": False, "converted": summary.converted,
                                   "placeholders": len(summary.placeholders)})
        return JSONResponse({"status": "success", "data": answer})

    return router
