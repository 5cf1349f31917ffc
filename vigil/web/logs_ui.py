"""The log search page (issue 20): ``GET /logs?query=<LogQL>&range=1h&end=<time>``.

The page is a form (a LogQL box, a range, an optional end) whose values stay in the URL, so a
search can be shared or bookmarked; the browser code (``frontend/logs.js``) asks Loki's API
for the matching lines (newest first) and for a ``count_over_time`` histogram of them, and
follows new lines over the live tail (``/loki/api/v1/tail``) when asked.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from vigil.web.access_gate import template_context
from vigil.web.deps import WebDeps
from vigil.web.page_templates import page_environment

__all__ = ["RANGES", "logs_pages_router"]

RANGES = {"5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "3h": 10800, "6h": 21600,
          "12h": 43200, "24h": 86400, "2d": 172800, "7d": 604800}
DEFAULT_RANGE = "1h"


def logs_pages_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()
    env = page_environment(deps.version)

    @router.get("/logs", include_in_schema=False)
    async def logs_page(request: Request) -> Response:
        params = request.query_params
        range_name = params.get("range", DEFAULT_RANGE)
        if range_name not in RANGES:
            range_name = DEFAULT_RANGE
        html = env.get_template("logs.html").render(
            path="/logs", query=params.get("query", ""), range_name=range_name,
            range_s=RANGES[range_name], ranges=list(RANGES), end=params.get("end", ""),
            enabled=deps.logs is not None, **template_context(request))
        return HTMLResponse(html, status_code=200 if deps.logs is not None else 404)

    return router
