"""The objectives page of the web UI (issue 19, P4).

    GET /objectives[?start=YYYY-MM-DD&end=YYYY-MM-DD&by=priority|severity|team|month]

Every target met or missed, availability and the error budget left per service (with the
PromQL that computed it), MTTA/MTTR per group for alert episodes and incidents, and the
resolve classifications. The days are UTC; ``end`` is included (the window ends at the next
midnight). Without dates: the availability window (30 days) ending now. Read-only: a GET
form, no CSRF token needed. A bad parameter shows the form again with the reason (400).
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from vigil.objectives.records import GROUPINGS
from vigil.objectives.service import ObjectivesService, availability_target
from vigil.web.access_gate import template_context
from vigil.web.deps import WebDeps
from vigil.web.page_templates import page_environment

__all__ = ["format_seconds", "objectives_pages_router"]


def format_seconds(value: float | None) -> str:
    """A duration as people read it: 4m 54s, 1h 40m, 2d 3h; an em dash without data."""
    if value is None:
        return "—"
    s = round(value)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _format_target(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "seconds":
        return format_seconds(value)
    if unit == "ratio":
        return f"{value * 100:.2f} %"
    return f"{value:.3f} %"


def _day(params: Any, name: str) -> date | None:
    text = params.get(name)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None


def _window(service: ObjectivesService, params: Any) -> tuple[datetime, datetime, str]:
    by = params.get("by") or "priority"
    if by not in GROUPINGS:
        raise ValueError(f"by: must be one of {', '.join(GROUPINGS)}, not {by!r}")
    first, last = _day(params, "start"), _day(params, "end")
    end = (datetime.combine(last + timedelta(days=1), time(), timezone.utc) if last
           else service.now())
    start = (datetime.combine(first, time(), timezone.utc) if first
             else end - timedelta(seconds=service.config.availability_window))
    if start >= end:
        raise ValueError("start: must be on or before end")
    return start, end, by


def objectives_pages_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()
    env = page_environment(deps.version)
    env.filters["duration"] = format_seconds
    env.filters["target_value"] = _format_target

    @router.get("/objectives")
    async def objectives(request: Request) -> Response:
        service = deps.objectives
        if service is None:
            return HTMLResponse("This Vigil computes no objectives.", status_code=404)
        params = request.query_params

        def build() -> dict[str, Any]:
            start, end, by = _window(service, params)
            figures = service.figures(start, end, by=by)
            availability = service.availability(start, end)
            return {"figures": figures, "availability": availability,
                    "targets": [*figures.targets, *map(availability_target, availability)],
                    "start": start, "end": end, "by": by,
                    "start_day": start.date().isoformat(),
                    "end_day": (end - timedelta(microseconds=1)).date().isoformat()}
        status, error = 200, ""
        try:
            view = await asyncio.to_thread(build)
        except ValueError as exc:
            status, error, view = 400, str(exc), {"by": params.get("by") or "priority",
                                                  "start_day": params.get("start", ""),
                                                  "end_day": params.get("end", "")}
        html = env.get_template("objectives.html").render(
            path="/objectives", groupings=GROUPINGS, error=error, **template_context(request), **view)
        return HTMLResponse(html, status_code=status)

    return router
