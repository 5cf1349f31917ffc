"""The FastAPI application: API, UI, self-metrics and lifecycle endpoints."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles

from vigil.errors import VigilError
from vigil.web.access_gate import AccessGate, AccessPolicy
from vigil.web.api_access import access_router
from vigil.web.api_ingest import ingest_router
from vigil.web.api_v1 import api_router
from vigil.web.api_v2 import api_v2_router
from vigil.web.body_limit import RequestBodyLimit
from vigil.web.cluster_api import cluster_api_router
from vigil.web.dashboards_api import dashboards_api_router
from vigil.web.dashboards_import_api import dashboards_import_router
from vigil.web.dashboards_ui import dashboards_pages_router
from vigil.web.deps import WebDeps
from vigil.web.escalation_api import escalation_api_router
from vigil.web.incident_response_api import incident_response_router
from vigil.web.incident_review_api import incident_review_router
from vigil.web.incidents_api import incidents_api_router
from vigil.web.incidents_ui import incidents_pages_router
from vigil.web.logs_api import logs_api_router
from vigil.web.logs_compat import logs_compat_router
from vigil.web.logs_ingest_api import logs_ingest_router
from vigil.web.logs_rules_api import logs_rules_router
from vigil.web.logs_tail import logs_tail_router
from vigil.web.logs_ui import logs_pages_router
from vigil.web.objectives_api import objectives_api_router
from vigil.web.objectives_ui import objectives_pages_router
from vigil.web.oncall_api import oncall_api_router
from vigil.web.reports_api import reports_api_router
from vigil.web.reports_ui import reports_pages_router
from vigil.web.runbooks import runbooks_router
from vigil.web.schedules_api import schedules_api_router
from vigil.web.schedules_ui import schedules_page_router
from vigil.web.shifts_api import shifts_api_router
from vigil.web.shifts_ui import shifts_pages_router
from vigil.web.slo_api import slo_api_router
from vigil.web.slo_ui import slo_pages_router
from vigil.web.status_page import status_page_router
from vigil.web.ui import ui_router

__all__ = ["create_app"]

_EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"


def create_app(deps: WebDeps) -> FastAPI:
    """Build the web application for one running Vigil. The app holds ``deps`` and nothing
    else; it can be served by any ASGI server and created several times per process."""
    app = FastAPI(title="Vigil", version=deps.version, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.deps = deps
    policy = deps.access or AccessPolicy()
    # The gate runs inside the body limit, so the CSRF check never reads an oversized body.
    app.add_middleware(AccessGate, policy=policy)
    app.add_middleware(RequestBodyLimit, max_bytes=deps.max_request_body_bytes)
    app.include_router(access_router(deps, policy))
    app.include_router(api_router(deps))
    if deps.alerting is not None:
        app.include_router(api_v2_router(deps))
    app.include_router(ingest_router(deps))
    app.include_router(logs_ingest_router(deps.logs))
    app.include_router(logs_api_router(deps.logs))
    app.include_router(logs_tail_router(deps.logs))
    app.include_router(logs_rules_router(deps))
    # Before the UI's router: Elasticsearch clients asking / for JSON get Elasticsearch's root.
    app.include_router(logs_compat_router(deps.version))
    app.include_router(logs_pages_router(deps))
    app.include_router(cluster_api_router(deps))
    app.include_router(oncall_api_router(deps))
    app.include_router(escalation_api_router(deps))
    app.include_router(incident_response_router(deps))
    app.include_router(incident_review_router(deps))
    app.include_router(incidents_api_router(deps))
    app.include_router(incidents_pages_router(deps))
    app.include_router(shifts_api_router(deps))
    app.include_router(shifts_pages_router(deps))
    app.include_router(reports_api_router(deps))
    app.include_router(reports_pages_router(deps))
    app.include_router(objectives_api_router(deps))
    app.include_router(objectives_pages_router(deps))
    app.include_router(slo_api_router(deps))
    app.include_router(slo_pages_router(deps))
    app.include_router(dashboards_import_router(deps))
    app.include_router(dashboards_api_router(deps))
    app.include_router(schedules_api_router(deps))
    app.include_router(schedules_page_router(deps.schedules, deps.version))
    app.include_router(ui_router(deps))
    app.include_router(dashboards_pages_router(deps.dashboards, deps.version))
    app.include_router(runbooks_router(deps))
    app.include_router(status_page_router(deps))
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(deps.metrics.exposition(), media_type=_EXPOSITION)

    @app.api_route("/-/healthy", methods=["GET", "HEAD"], include_in_schema=False)
    async def healthy() -> Response:
        return PlainTextResponse("Vigil is Healthy.\n")

    @app.api_route("/-/ready", methods=["GET", "HEAD"], include_in_schema=False)
    async def ready() -> Response:
        if not deps.ready():
            return PlainTextResponse("Service Unavailable", status_code=503)
        return PlainTextResponse("Vigil is Ready.\n")

    @app.api_route("/-/reload", methods=["POST", "PUT"], include_in_schema=False)
    async def reload(request: Request) -> Response:
        if deps.reload is None:
            return PlainTextResponse("Lifecycle API is not enabled.", status_code=403)
        try:
            await deps.reload()
        except VigilError as e:
            return PlainTextResponse(f"failed to reload config: {e}", status_code=500)
        return PlainTextResponse("")

    return app
