"""The SLO page of the web UI (issue 19, part 2).

    GET /slos

Per SLO of the config's ``slo:`` files (Sloth ``prometheus/v1``): the objective, the error
budget left over the SLO period (a meter and a percentage; below zero the budget is overspent)
and the burn rate over each alert window, marked where it is above the threshold a page or a
ticket alert uses for that window. Read-only; no form.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from vigil.errors import ConfigError
from vigil.slo.alerts import AlertThreshold
from vigil.web.access_gate import template_context
from vigil.web.deps import WebDeps
from vigil.web.page_templates import page_environment

__all__ = ["slo_pages_router"]


def _window_limits(thresholds: list[AlertThreshold]) -> dict[str, tuple[float, str]]:
    """For each window, the lowest burn rate an alert condition on it uses and its severity
    (a window above it is one half of that alert's condition)."""
    out: dict[str, tuple[float, str]] = {}
    for t in thresholds:
        for w in (t.short_window, t.long_window):
            if w not in out or t.burn_rate < out[w][0]:
                out[w] = (t.burn_rate, t.severity)
    return out


def _burn(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}×" if value < 100 else f"{value:.0f}×"


def slo_pages_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()
    env = page_environment(deps.version)
    env.filters["burn"] = _burn

    @router.get("/slos")
    async def slos(request: Request) -> Response:
        source = deps.slos
        if source is None:
            return HTMLResponse("This Vigil has no SLO statuses.", status_code=404)

        def build() -> dict[str, Any]:
            at = source.now()
            thresholds = source.thresholds()
            return {"at": at, "statuses": source(at), "thresholds": thresholds,
                    "limits": _window_limits(thresholds)}

        status, problem = 200, ""
        try:
            view = await asyncio.to_thread(build)
        except ConfigError as exc:
            status, problem, view = 500, str(exc), {}
        html = env.get_template("slos.html").render(
            path="/slos", problem=problem, **template_context(request), **view)
        return HTMLResponse(html, status_code=status)

    return router
