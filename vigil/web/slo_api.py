"""SLOs over HTTP (issue 19, part 2). Viewers read.

    GET /api/vigil/v1/slos[?time=RFC3339]

``data``: ``time`` (the instant, default now), ``thresholds`` (the four burn-rate alert
conditions: severity, short and long window, burn rate) and ``slos`` — one
:meth:`vigil.slo.status.SLOStatus.as_dict` per SLO of the config's ``slo:`` files: service,
name, objective, period, error budget left, burn rate per alert window, problems. A bad
``time`` is a 400 ``bad_data``; an SLO file that no longer reads (edited since the last
reload) a 500 ``internal`` naming its line; a Vigil without SLO statuses answers 404.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.errors import ConfigError
from vigil.gocompat.times import parse_rfc3339
from vigil.slo.source import SLOStatusSource
from vigil.web.deps import WebDeps
from vigil.web.json_api import error, iso

__all__ = ["slo_api_router", "slos_data"]

PATH = "/api/vigil/v1/slos"


def slos_data(source: SLOStatusSource, at: datetime) -> dict[str, Any]:
    """Everything the API and the page show at ``at`` (blocking: files and PromQL)."""
    return {"time": iso(at), "thresholds": [t.as_dict() for t in source.thresholds()],
            "slos": [s.as_dict() for s in source(at)]}


def slo_api_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()

    @router.get(PATH)
    async def slos(request: Request) -> Response:
        source = deps.slos
        if source is None:
            return error(404, "not_found", "this Vigil has no SLO statuses")
        text = request.query_params.get("time")
        try:
            at = parse_rfc3339(text) if text else source.now()
        except ValueError as exc:
            return error(400, "bad_data", f"time: {exc}")
        try:
            data = await asyncio.to_thread(slos_data, source, at)
        except ConfigError as exc:
            return error(500, "internal", str(exc))
        return JSONResponse({"status": "success", "data": data})

    return router
