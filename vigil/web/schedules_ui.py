"""The ``/schedules`` page: each schedule's timeline over one or two weeks, drawn as SVG
(no inline styles or scripts, as the content security policy wants): the final rota with
gaps in red, then each layer as configured and the overrides, in the schedule's time zone.

Viewers see it; the forms (add or delete an override, swap two shifts) post to the page and
act as the API does: a responder for themselves, an admin for anyone. Form times are local
wall times in the schedule's time zone (``datetime-local`` inputs) or RFC 3339.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from vigil.access import Principal
from vigil.gocompat.times import parse_rfc3339
from vigil.oncall.schedule import Schedule, Shift, Source, local_to_utc, shifts
from vigil.oncall.schedules import ScheduleError, ScheduleService, UnknownSchedule
from vigil.web.access_gate import template_context
from vigil.web.audit_detail import describe_change
from vigil.web.schedules_api import may_act_for

__all__ = ["schedules_page_router"]

WIDTH = 1000  # SVG user units across the range
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#bab0ac",
           "#ff9da7", "#8cd17d")
GAP_FILL = "#d62728"


@dataclasses.dataclass(frozen=True)
class Bar:
    x: float
    width: float
    label: str
    title: str
    fill: str
    gap: bool


def _bars(timeline: list[Shift], start: datetime, end: datetime, zone: ZoneInfo,
          colors: dict[str, str], *, show_gaps: bool) -> list[Bar]:
    span = (end - start).total_seconds()
    out = []
    for s in timeline:
        if s.user is None and not show_gaps:
            continue
        x = (s.start - start).total_seconds() / span * WIDTH
        width = (s.end - s.start).total_seconds() / span * WIDTH
        local = f"{s.start.astimezone(zone):%a %d %b %H:%M} – {s.end.astimezone(zone):%a %d %b %H:%M}"
        who = s.user or "nobody (gap)"
        out.append(Bar(round(x, 2), round(width, 2), who if width > 40 else "",
                       f"{who}: {local} ({s.source})", colors.get(s.user or "", GAP_FILL), s.user is None))
    return out


def _view(svc: ScheduleService, schedule: Schedule, start: datetime, end: datetime) -> dict[str, Any]:
    zone = ZoneInfo(schedule.time_zone)
    users = sorted({u for layer in schedule.layers for u in layer.users})
    rows = svc.override_rows(schedule.name, start, end)
    users += sorted({r.user for r in rows} - set(users))
    colors = {u: PALETTE[i % len(PALETTE)] for i, u in enumerate(users)}
    final = svc.shifts(schedule.name, start, end)
    layers = [(layer.name, _bars(shifts(dataclasses.replace(schedule, layers=(layer,)), start, end),
                                 start, end, zone, colors, show_gaps=False))
              for layer in schedule.layers]
    override_bars = _bars([Shift(r.user, max(r.starts_at, start), min(r.ends_at, end), Source("override", r.id))
                           for r in rows], start, end, zone, colors, show_gaps=False)
    days = []
    day = start.astimezone(zone).date()
    while True:
        midnight = datetime.combine(day, time(0), zone)
        if midnight >= end:
            break
        if midnight >= start:
            days.append(((midnight - start).total_seconds() / (end - start).total_seconds() * WIDTH,
                         f"{day:%a %d}"))
        day += timedelta(days=1)
    now = svc.clock()
    now_x = (now - start).total_seconds() / (end - start).total_seconds() * WIDTH if start <= now < end else None
    current = svc.on_call(schedule.name, now)
    gaps = [s for s in final if s.user is None]
    return {"schedule": schedule, "zone": zone, "final": _bars(final, start, end, zone, colors, show_gaps=True),
            "layers": layers, "overrides": override_bars, "override_rows": rows, "days": days,
            "now_x": now_x, "current": current, "gaps": gaps, "colors": colors,
            "shift_rows": final}


def schedules_page_router(service: ScheduleService | None, version: str) -> APIRouter:
    router = APIRouter()
    env = jinja2.Environment(loader=jinja2.PackageLoader("vigil.web", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.globals["version"] = version
    env.filters["local"] = lambda dt, zone: dt.astimezone(zone).strftime("%a %d %b %H:%M")

    def no_schedules() -> HTMLResponse:
        return HTMLResponse("This Vigil has no schedules.", status_code=404)

    def render(request: Request, status: int = 200, **context: object) -> HTMLResponse:
        html = env.get_template("schedules.html").render(path="/schedules", **template_context(request), **context)
        return HTMLResponse(html, status_code=status)

    def page(request: Request, message: str = "", error: str = "", status: int = 200) -> HTMLResponse:
        assert service is not None
        days = 7 if request.query_params.get("days") == "7" else 14
        try:
            first = date.fromisoformat(request.query_params["start"]) if "start" in request.query_params else None
        except ValueError:
            first, error, status = None, "start: expected a date such as 2026-05-04", 400
        views = []
        for schedule in service.all():
            zone = ZoneInfo(schedule.time_zone)
            local_day = first or service.clock().astimezone(zone).date()
            monday = local_day - timedelta(days=local_day.weekday())
            start = datetime.combine(monday, time(0), zone)
            end = datetime.combine(monday + timedelta(days=days), time(0), zone)
            views.append(_view(service, schedule, start, end))
        return render(request, status, views=views, days=days, width=WIDTH, message=message, error=error)

    @router.get("/schedules", include_in_schema=False)
    async def schedules_page(request: Request) -> Response:
        if service is None:
            return no_schedules()
        return await asyncio.to_thread(page, request)

    @router.post("/schedules/{name}/overrides", include_in_schema=False)
    async def override_form(request: Request, name: str) -> Response:
        if service is None:
            return no_schedules()
        form = await request.form()
        principal = request.state.principal

        def work() -> Response:
            user = _form_user(form, principal)
            if not may_act_for(principal, user):
                return page(request, error=f"a responder may only put themselves on call, not {user!r}", status=403)
            try:
                start, end = (_form_time(form, k, service.get(name)) for k in ("from", "to"))
                row = service.create_override(name, user, start, end, actor=principal.actor,
                                              note=str(form.get("note", "")))
            except (ScheduleError, UnknownSchedule) as exc:
                return page(request, error=str(exc), status=400)
            describe_change(request, "schedule.override.create", f"schedule:{name}", after=row.as_dict())
            return RedirectResponse("/schedules", status_code=303)
        return await asyncio.to_thread(work)

    @router.post("/schedules/{name}/swaps", include_in_schema=False)
    async def swap_form(request: Request, name: str) -> Response:
        if service is None:
            return no_schedules()
        form = await request.form()
        principal = request.state.principal

        def work() -> Response:
            user = _form_user(form, principal)
            other = str(form.get("with_user", "")).strip()
            if not (may_act_for(principal, user) or may_act_for(principal, other)):
                return page(request, error="a responder may only swap their own shifts", status=403)
            try:
                schedule = service.get(name)
                first = (user, _form_time(form, "from", schedule), _form_time(form, "to", schedule))
                second = (other, _form_time(form, "with_from", schedule), _form_time(form, "with_to", schedule))
                rows = service.swap(name, first, second, actor=principal.actor, note=str(form.get("note", "")))
            except (ScheduleError, UnknownSchedule) as exc:
                return page(request, error=str(exc), status=400)
            describe_change(request, "schedule.swap", f"schedule:{name}", after=[r.as_dict() for r in rows])
            return RedirectResponse("/schedules", status_code=303)
        return await asyncio.to_thread(work)

    @router.post("/schedules/{name}/overrides/{override_id}/delete", include_in_schema=False)
    async def delete_form(request: Request, name: str, override_id: str) -> Response:
        if service is None:
            return no_schedules()
        principal = request.state.principal

        def work() -> Response:
            row = service.store.get_override(override_id)
            if row is None or row.schedule != name:
                return page(request, error=f"no override {override_id!r} in schedule {name!r}", status=404)
            if not (may_act_for(principal, row.user) or row.created_by == principal.actor):
                return page(request, error="a responder may only delete overrides about or made by themselves",
                            status=403)
            deleted = service.delete_override(name, override_id)
            describe_change(request, "schedule.override.delete", f"schedule:{name}",
                            before=[r.as_dict() for r in deleted])
            return RedirectResponse("/schedules", status_code=303)
        return await asyncio.to_thread(work)

    return router


def _form_user(form: Any, principal: Principal) -> str:
    """The user a form names, or the one sending it when the field is left empty."""
    return str(form.get("user", "")).strip() or principal.name


def _form_time(form: Any, key: str, schedule: Schedule) -> datetime:
    """A form time: RFC 3339, or ``YYYY-MM-DDTHH:MM`` (a datetime-local input) in the
    schedule's time zone."""
    text = str(form.get(key, "")).strip()
    if not text:
        raise ScheduleError(f"{key}: required")
    try:
        return parse_rfc3339(text)
    except ValueError:
        pass
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        raise ScheduleError(f"{key}: expected a date and time such as 2026-05-04T09:00") from None
    if naive.tzinfo is not None:
        return naive
    return local_to_utc(naive, ZoneInfo(schedule.time_zone))
