"""The cluster of replicas as this one sees it: ``GET /api/vigil/v1/cluster`` (JSON) and the
``/cluster`` page. Both read :class:`vigil.web.deps.ClusterView` (the last heartbeat's
reading, so they never wait on the database); viewers may see them."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from vigil.web.deps import WebDeps

__all__ = ["cluster_api_router", "cluster_page_router"]


def _unavailable() -> JSONResponse:
    return JSONResponse({"status": "error", "errorType": "unavailable",
                         "error": "this Vigil does not report a cluster view"}, status_code=404)


def cluster_api_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()

    @router.get("/api/vigil/v1/cluster", include_in_schema=False)
    async def cluster(request: Request) -> Response:
        if deps.cluster is None:
            return _unavailable()
        return JSONResponse({"status": "success", "data": deps.cluster.view()})

    return router


def cluster_page_router(deps: WebDeps, render) -> APIRouter:
    """``render(template, request, **context)`` is the UI's page renderer."""
    router = APIRouter()

    @router.get("/cluster", include_in_schema=False)
    async def cluster_page(request: Request) -> Response:
        if deps.cluster is None:
            return HTMLResponse("This Vigil does not report a cluster view.", status_code=404)
        view = deps.cluster.view()
        primary = next((m for m in view["members"] if m["role"] == "primary"), None)
        return render("cluster.html", request, view=view, primary=primary)

    return router
