"""The server-rendered UI: overview, alerts, targets, rules and the graph (query explorer) pages.

Pages are Jinja2 templates from ``templates/``. The graph page resolves the query's range and
shows the instant query's table (or the query's error); the browser draws the graph itself
(``frontend/graph.js`` asks ``/api/v1/query_range``). All times are shown in UTC.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import jinja2
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse

from vigil.errors import ParseError, QueryError
from vigil.gocompat.durations import format_duration_ms
from vigil.gocompat.floats import format_sample_value
from vigil.gocompat.times import format_rfc3339, format_rfc3339_nano
from vigil.model.matchers import Matcher
from vigil.promql.value import Scalar, String, Vector
from vigil.rules.status import ActiveAlert
from vigil.web.access_gate import template_context as _access_context
from vigil.web.access_ui import access_pages_router
from vigil.web.alert_filters import (
    STATES,
    alert_marks,
    filter_alerts,
    filter_episodes,
    parse_alert_filter,
)
from vigil.web.api_v1 import parse_error_message
from vigil.web.cluster_api import cluster_page_router
from vigil.web.deps import WebDeps
from vigil.web.incidents_view import alert_incidents_context
from vigil.web.oncall_ui import alerts_return_url, episodes_context, oncall_pages_router
from vigil.web.overview import host_overview
from vigil.web.pages import (
    alert_groups,
    live_refresh_seconds,
    parse_range,
    severity_class,
    target_pools,
)
from vigil.web.params import parse_time_ms
from vigil.web.silences_ui import silences_router

__all__ = ["ui_router"]

PRIORITIES = ("P1", "P2", "P3", "P4")
RANGE_CHOICES = ("5m", "15m", "30m", "1h", "3h", "6h", "12h", "1d", "2d", "1w")


def _environment(deps: WebDeps) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vigil.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )

    def ago(dt: datetime | None) -> str:
        if dt is None:
            return "never"
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return _human_seconds(deps.now() - dt.timestamp()) + " ago"

    env.filters["ago"] = ago
    env.filters["utc"] = lambda dt: "" if dt is None else format_rfc3339(dt)
    env.filters["seconds"] = _human_seconds
    env.filters["duration"] = lambda seconds: format_duration_ms(round(seconds * 1000))
    env.filters["sample"] = format_sample_value
    env.filters["severity_class"] = severity_class
    env.filters["matcher_text"] = lambda labels: ", ".join(
        str(Matcher.equal(k, v)) for k, v in labels if k != "severity")
    env.globals["version"] = deps.version
    return env


def _human_seconds(s: float) -> str:
    """A duration for people: ``850ms``, ``12.3s``, ``4m 5s``, ``2h 10m``, ``3d 4h``."""
    if s < 0:
        s = 0.0
    if s < 1:
        return f"{s * 1000:.1f}ms" if s < 0.01 else f"{s * 1000:.0f}ms"
    if s < 60:
        return f"{s:.1f}s" if s < 10 else f"{s:.0f}s"
    minutes, sec = divmod(int(s), 60)
    if minutes < 60:
        return f"{minutes}m {sec}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def ui_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()
    env = _environment(deps)

    def render(name: str, request: Request, **context: object) -> HTMLResponse:
        html = env.get_template(name).render(path=request.url.path,
                                                   **_access_context(request), **context)
        return HTMLResponse(html)

    async def alerts_page(request: Request) -> HTMLResponse:
        alerts: list[ActiveAlert] = deps.rules.alerts()
        exprs = {r.name: r.query for g in deps.rules.groups() for r in g.rules
                 if r.type == "alerting"}
        chosen = parse_alert_filter(request.query_params)
        oncall = await episodes_context(deps, request)
        silences = deps.alerting.silences if deps.alerting is not None else None
        marks = await asyncio.to_thread(
            alert_marks, alerts, oncall["episodes"],
            silences.silenced_by if silences is not None else None)
        shown = filter_alerts(chosen, alerts, marks)
        oncall["episodes"] = filter_episodes(chosen, oncall["episodes"])
        severities = sorted({a.labels.get("severity") for a in alerts} - {""} | {chosen.severity} - {""})
        return render("alerts.html", request, groups=alert_groups(shown), exprs=exprs,
                      firing=sum(a.state == "firing" for a in alerts),
                      pending=sum(a.state == "pending" for a in alerts),
                      shown=len(shown), total=len(alerts), marks=marks, chosen=chosen,
                      states=STATES, severities=severities, priorities=PRIORITIES,
                      live_every=live_refresh_seconds(request.query_params),
                      alerts_next=alerts_return_url("/alerts?" + request.url.query),
                      **await alert_incidents_context(deps, request), **oncall)

    router.add_api_route("/alerts", alerts_page, methods=["GET"], include_in_schema=False)

    if deps.alerting is not None:
        router.include_router(silences_router(deps, render))
    if deps.access is not None and deps.access.service is not None:
        router.include_router(access_pages_router(deps.access.service, render))
    router.include_router(cluster_page_router(deps, render))
    router.include_router(oncall_pages_router(deps, render))  # 404s without a lifecycle

    @router.get("/", include_in_schema=False)
    @router.get("/overview", include_in_schema=False)
    async def overview_page(request: Request) -> HTMLResponse:
        hosts, error = await host_overview(deps.engine, round(deps.now() * 1000))
        alerts = deps.rules.alerts()
        return render("overview.html", request, hosts=hosts, error=error,
                      firing=sum(a.state == "firing" for a in alerts),
                      pending=sum(a.state == "pending" for a in alerts))

    @router.get("/targets", include_in_schema=False)
    async def targets_page(request: Request) -> HTMLResponse:
        dropped: dict[str, int] = {}
        for d in deps.targets.dropped_targets():
            dropped[d.job] = dropped.get(d.job, 0) + 1
        return render("targets.html", request, pools=target_pools(deps.targets.targets()),
                      dropped=dropped, live_every=live_refresh_seconds(request.query_params))

    @router.get("/rules", include_in_schema=False)
    async def rules_page(request: Request) -> HTMLResponse:
        return render("rules.html", request, groups=deps.rules.groups(),
                      live_every=live_refresh_seconds(request.query_params))

    @router.get("/graph", include_in_schema=False)
    async def graph_page(request: Request) -> HTMLResponse:
        q = request.query_params
        expr = q.get("g0.expr", "").strip()
        range_input = q.get("g0.range_input", "1h").strip() or "1h"
        end_input = q.get("g0.end_input", "").strip()
        step_input = q.get("g0.step_input", "").strip()
        context: dict[str, object] = {
            "expr": expr, "range_input": range_input, "end_input": end_input,
            "step_input": step_input, "ranges": RANGE_CHOICES, "error": "", "graph": None,
            "table": None, "result_type": "",
        }
        if expr:
            context.update(await _evaluate(deps, expr, range_input, end_input, step_input))
        return render("graph.html", request, **context)

    return router


async def _evaluate(deps: WebDeps, expr: str, range_input: str, end_input: str,
                    step_input: str) -> dict[str, object]:
    """Resolve the graph page's range (for the browser's range query) and run its instant
    query for the table; a bad range, end, step or expression becomes ``error`` text."""
    try:
        range_ms = parse_range(range_input)
        end_ms = parse_time_ms(end_input) if end_input else round(deps.now() * 1000)
        step_ms = _parse_step(step_input) if step_input else 0
    except ValueError as e:
        return {"error": str(e)}
    try:
        instant = await asyncio.to_thread(deps.engine.instant_query, expr, end_ms)
    except ParseError as e:
        return {"error": parse_error_message(e)}
    except QueryError as e:
        return {"error": str(e)}
    out: dict[str, object] = {
        "warnings": list(instant.warnings),
        "eval_time": format_rfc3339_nano(datetime.fromtimestamp(end_ms / 1000, tz=timezone.utc)),
        "graph": {"start_ms": end_ms - range_ms, "end_ms": end_ms, "step_s": step_ms / 1000},
    }
    value = instant.value
    out["result_type"] = value.type
    if isinstance(value, Vector):
        out["table"] = [(str(s.labels), format_sample_value(s.value)) for s in value.samples]
    elif isinstance(value, Scalar):
        out["table"] = [("scalar", format_sample_value(value.value))]
    elif isinstance(value, String):
        out["table"] = [("string", value.value)]
    else:
        out["table"] = [(str(s.labels), format_sample_value(s.values[-1]) if len(s.values)
                         else "") for s in value.series]
    return out


def _parse_step(text: str) -> int:
    """The graph's step (``15s``, ``1m`` or seconds) in ms; ValueError naming it if bad."""
    try:
        return parse_range(text)
    except ValueError:
        raise ValueError(f'invalid step "{text}": use a duration such as 15s or 1m') from None
