"""The dashboard pages of the web UI (issue 18).

    GET /dashboards                 every dashboard (title, description, where it comes from)
    GET /dashboards/import          upload a Grafana dashboard JSON, see the converted
                                    dashboard and the converter's summary, save it (editors)
    GET /dashboards/{name}          one dashboard, drawn in the browser (viewers)
    GET /dashboards/{name}/edit     the dashboard's YAML in an editor: check, save (editors)

The pages are shells: the browser code (``vigil/web/frontend/dashboard.js`` and
``dashboard_edit.js``, bundled into ``/static/dist/``) reads the dashboards API
(:mod:`vigil.web.dashboards_api`) and ``/api/v1/query_range``, and saves through the API,
which validates, audits and writes the file. Viewers see no edit or import controls; the
access gate refuses the editor pages to them anyway (vigil.web.access_routes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse

from vigil.access import Role
from vigil.dashboards.store import DashboardEntry, DashboardError, DashboardStore, dashboard_yaml
from vigil.web.access_gate import template_context
from vigil.web.page_templates import page_environment

__all__ = ["dashboards_pages_router"]


def may_edit(request: Request) -> bool:
    """Whether the caller holds the editor role (anyone, when access control is off)."""
    principal = getattr(request.state, "principal", None)
    return principal is None or principal.may(Role.EDITOR)


def editor_text(entry: DashboardEntry) -> str:
    """What the editor starts from: the YAML file as written (comments kept), else the
    dashboard dumped as YAML (a JSON file, or a file that cannot be read now)."""
    path = Path(entry.file)
    if path.suffix in (".yaml", ".yml"):
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass
    return dashboard_yaml(entry.dashboard)


def dashboards_pages_router(store: DashboardStore | None, version: str) -> APIRouter:
    """The dashboard pages over ``store`` (None: dashboards are not configured; the list
    says so and a dashboard's page answers 404)."""
    router = APIRouter(include_in_schema=False)
    env = page_environment(version)

    def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(path=request.url.path, **template_context(request),
                                                 **context)
        return HTMLResponse(html, status_code=status)

    def missing(request: Request, name: str) -> HTMLResponse:
        return render(request, "dashboards.html", 404, entries=[], problems=[],
                      error=f"No dashboard named {name!r}.", can_edit=False, configured=store is not None)

    @router.get("/dashboards")
    async def dashboard_list(request: Request) -> HTMLResponse:
        entries = store.list() if store is not None else []
        problems = store.problems() if store is not None else []
        return render(request, "dashboards.html", entries=entries, problems=problems, error=None,
                      can_edit=may_edit(request) and any(e.editable for e in entries),
                      configured=store is not None)

    @router.get("/dashboards/import")
    async def import_page(request: Request) -> HTMLResponse:
        return render(request, "dashboard_import.html")

    @router.get("/dashboards/{name}")
    async def dashboard_page(request: Request, name: str) -> HTMLResponse:
        entry = store.find(name) if store is not None else None
        if entry is None:
            return missing(request, name)
        return render(request, "dashboard.html", entry=entry,
                      can_edit=may_edit(request) and entry.editable)

    @router.get("/dashboards/{name}/edit")
    async def edit_page(request: Request, name: str) -> HTMLResponse:
        if store is None:
            return missing(request, name)
        try:
            entry = store.get(name)
        except DashboardError:
            return missing(request, name)
        return render(request, "dashboard_edit.html", entry=entry, source=editor_text(entry))

    return router
