"""Objectives over HTTP (issue 19, P4). Viewers read.

    GET /api/vigil/v1/objectives[?start=RFC3339&end=RFC3339&by=priority|severity|team|month]

The window defaults to the availability window (30 days) ending now (the state database's
clock). The answer's ``data``: ``figures`` (:meth:`ObjectiveFigures.as_dict`: alert episodes
and incidents per group, totals, classifications, the record targets), ``availability`` (one
:meth:`ServiceAvailability.as_dict` per configured service, with the PromQL it ran) and
``targets`` (every target with ``met`` true, false or null when there is nothing to measure).
A bad parameter is a 400 ``bad_data`` naming it; a Vigil without objectives answers 404.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.gocompat.times import parse_rfc3339
from vigil.objectives.records import GROUPINGS
from vigil.objectives.service import ObjectivesService, availability_target
from vigil.web.deps import WebDeps
from vigil.web.json_api import error

__all__ = ["ObjectivesQuery", "objectives_api_router", "objectives_data", "parse_objectives_query"]

PATH = "/api/vigil/v1/objectives"


@dataclass(frozen=True)
class ObjectivesQuery:
    start: datetime | None
    end: datetime | None
    by: str


def parse_objectives_query(params: Any) -> ObjectivesQuery:
    """start/end (RFC 3339) and by from query parameters; ValueError naming the bad one."""
    values: dict[str, datetime | None] = {}
    for name in ("start", "end"):
        text = params.get(name)
        try:
            values[name] = parse_rfc3339(text) if text else None
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    by = params.get("by") or "priority"
    if by not in GROUPINGS:
        raise ValueError(f"by: must be one of {', '.join(GROUPINGS)}, not {by!r}")
    return ObjectivesQuery(values["start"], values["end"], by)


def objectives_data(service: ObjectivesService, query: ObjectivesQuery) -> dict[str, Any]:
    """Everything the API and the page show for ``query`` (blocking: database and PromQL)."""
    end = query.end or service.now()
    start = query.start or end - timedelta(seconds=service.config.availability_window)
    if start >= end:
        raise ValueError("start must be before end")
    figures = service.figures(start, end, by=query.by)
    availability = service.availability(start, end)
    targets = [*figures.targets, *map(availability_target, availability)]
    return {"figures": figures.as_dict(), "availability": [a.as_dict() for a in availability],
            "targets": [t.as_dict() for t in targets]}


def objectives_api_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()

    @router.get(PATH)
    async def objectives(request: Request) -> Response:
        service = deps.objectives
        if service is None:
            return error(404, "not_found", "this Vigil computes no objectives")
        try:
            query = parse_objectives_query(request.query_params)
            data = await asyncio.to_thread(objectives_data, service, query)
        except ValueError as exc:
            return error(400, "bad_data", str(exc))
        return JSONResponse({"status": "success", "data": data})

    return router
