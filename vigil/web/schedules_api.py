"""On-call schedules over HTTP (``/api/vigil/v1/schedules/...``) and their calendar feeds.

Viewers read (schedules, who is on call, shifts, overrides, the ``.ics`` of a schedule).
A responder may create overrides and swaps that put *themselves* on call (or take
themselves off, in a swap) and delete overrides about themselves or made by themselves; an
admin may do all of it for anyone. "Themselves" is a logged-in user (session or HTTP basic
auth); an API token is not a person, so changes made with a token need an admin token.
Every change is described for the audit log, which the access gate writes.

Calendar clients cannot log in, so subscription feeds carry a secret in the URL:
``/calendar/<feed token>/schedules/<name>.ics`` (a schedule) and
``/calendar/<feed token>/me.ics`` (the token owner's shifts in every schedule). A responder
creates their feed token with ``POST /api/vigil/v1/calendar/token`` (shown once, only its
hash is stored; a new one replaces the old) and revokes it with ``DELETE`` on the same path;
an admin revokes anyone's with ``DELETE /api/vigil/v1/calendar/tokens/<user>``. A feed token
reads calendars and nothing else, and stops working when its user is disabled.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.access import Principal, Role
from vigil.gocompat.times import parse_rfc3339
from vigil.oncall.ical import feed_range, shifts_calendar
from vigil.oncall.schedule import Schedule, Shift
from vigil.oncall.schedules import ScheduleError, ScheduleService, UnknownSchedule
from vigil.web.audit_detail import describe_change
from vigil.web.deps import WebDeps

__all__ = ["schedules_api_router", "shift_json"]

API = "/api/vigil/v1"
ICS = "text/calendar; charset=utf-8"


def _ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data}, status_code=status)


def _error(message: str, status: int = 400, kind: str = "bad_data") -> JSONResponse:
    return JSONResponse({"status": "error", "errorType": kind, "error": message}, status_code=status)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t is not None else None


def shift_json(shift: Shift) -> dict[str, Any]:
    return {"user": shift.user, "from": _iso(shift.start), "to": _iso(shift.end),
            "source": shift.source.kind, "name": shift.source.name,
            "layer": shift.source.index if shift.source.kind == "layer" else None}


def _schedule_json(schedule: Schedule) -> dict[str, Any]:
    return {"name": schedule.name, "time_zone": schedule.time_zone, "description": schedule.description,
            "layers": [{"name": layer.name, "users": list(layer.users),
                        "turn_seconds": layer.turn.total_seconds(), "start": layer.start.isoformat(),
                        "handoff": layer.handoff.strftime("%H:%M"),
                        "time_zone": layer.time_zone or schedule.time_zone,
                        "restrictions": [{"kind": r.kind, "start_minute": r.start_minute,
                                          "end_minute": r.end_minute} for r in layer.restrictions]}
                       for layer in schedule.layers]}


def _time(text: str | None, default: datetime, what: str) -> datetime:
    if text is None or text == "":
        return default
    try:
        return parse_rfc3339(text)
    except ValueError as exc:
        raise ScheduleError(f"{what}: {exc}") from None


def may_act_for(principal: Principal, user: str) -> bool:
    """Admins act for anyone; a responder logged in as ``user`` acts for themselves."""
    if principal.may(Role.ADMIN):
        return True
    return principal.may(Role.RESPONDER) and principal.kind == "user" and principal.name == user


def _host(request: Request, deps_external: str) -> str:
    return urlsplit(deps_external).hostname or request.url.hostname or "vigil"


def schedules_api_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()

    async def run(request: Request, work) -> Response:  # noqa: ANN001 - a callable
        if deps.schedules is None:
            return _error("this Vigil has no schedules", 404, "not_found")
        try:
            return await asyncio.to_thread(work, deps.schedules, getattr(request.state, "principal", None))
        except UnknownSchedule as exc:
            return _error(str(exc), 404, "not_found")
        except ScheduleError as exc:
            return _error(str(exc))

    @router.get(f"{API}/schedules", include_in_schema=False)
    async def list_schedules(request: Request) -> Response:
        def work(svc: ScheduleService, _p: Principal) -> Response:
            at = svc.clock()
            out = []
            for s in svc.all():
                current = svc.on_call(s.name, at)
                out.append({**_schedule_json(s), "on_call": {"user": current.user, "until": _iso(current.until),
                                                             "source": str(current.source)}})
            return _ok(out)
        return await run(request, work)

    @router.get(API + "/schedules/{name}/oncall", include_in_schema=False)
    async def who(request: Request, name: str) -> Response:
        def work(svc: ScheduleService, _p: Principal) -> Response:
            at = _time(request.query_params.get("at"), svc.clock(), "at")
            current = svc.on_call(name, at)
            return _ok({"schedule": name, "at": _iso(at), "user": current.user, "until": _iso(current.until),
                        "source": current.source.kind, "name": current.source.name})
        return await run(request, work)

    @router.get(API + "/schedules/{name}/shifts", include_in_schema=False)
    async def shifts(request: Request, name: str) -> Response:
        def work(svc: ScheduleService, _p: Principal) -> Response:
            start = _time(request.query_params.get("from"), svc.clock(), "from")
            end = _time(request.query_params.get("to"), start + timedelta(days=14), "to")
            return _ok([shift_json(s) for s in svc.shifts(name, start, end)])
        return await run(request, work)

    @router.get(API + "/schedules/{name}/overrides", include_in_schema=False)
    async def overrides(request: Request, name: str) -> Response:
        def work(svc: ScheduleService, _p: Principal) -> Response:
            start = _time(request.query_params.get("from"), svc.clock(), "from")
            end = _time(request.query_params.get("to"), start + timedelta(days=366), "to")
            return _ok([r.as_dict() for r in svc.override_rows(name, start, end)])
        return await run(request, work)

    async def body(request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise ScheduleError("the body must be a JSON object") from None
        if not isinstance(data, dict):
            raise ScheduleError("the body must be a JSON object")
        return data

    def _field(data: dict[str, Any], key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise ScheduleError(f"{key}: required (a string)")
        return value

    @router.post(API + "/schedules/{name}/overrides", include_in_schema=False)
    async def create_override(request: Request, name: str) -> Response:
        try:
            data = await body(request)
        except ScheduleError as exc:
            return _error(str(exc))

        def work(svc: ScheduleService, p: Principal) -> Response:
            user = _field(data, "user")
            if not may_act_for(p, user):
                return _error(f"a responder may only put themselves on call, not {user!r}", 403, "forbidden")
            start, end = (parse_rfc3339_field(data, k) for k in ("from", "to"))
            row = svc.create_override(name, user, start, end, actor=p.actor, note=str(data.get("note") or ""))
            describe_change(request, "schedule.override.create", f"schedule:{name}", after=row.as_dict())
            return _ok(row.as_dict(), 201)
        return await run(request, work)

    @router.delete(API + "/schedules/{name}/overrides/{override_id}", include_in_schema=False)
    async def delete_override(request: Request, name: str, override_id: str) -> Response:
        def work(svc: ScheduleService, p: Principal) -> Response:
            row = svc.store.get_override(override_id)
            if row is None or row.schedule != name:
                return _error(f"no override {override_id!r} in schedule {name!r}", 404, "not_found")
            if not (may_act_for(p, row.user) or row.created_by == p.actor):
                return _error("a responder may only delete overrides about or made by themselves",
                              403, "forbidden")
            deleted = svc.delete_override(name, override_id)
            describe_change(request, "schedule.override.delete", f"schedule:{name}",
                            before=[r.as_dict() for r in deleted])
            return _ok([r.as_dict() for r in deleted])
        return await run(request, work)

    @router.post(API + "/schedules/{name}/swaps", include_in_schema=False)
    async def swap(request: Request, name: str) -> Response:
        try:
            data = await body(request)
        except ScheduleError as exc:
            return _error(str(exc))

        def work(svc: ScheduleService, p: Principal) -> Response:
            user, other = _field(data, "user"), _field(data, "with_user")
            if not (may_act_for(p, user) or may_act_for(p, other)):
                return _error("a responder may only swap their own shifts", 403, "forbidden")
            first = (user, parse_rfc3339_field(data, "from"), parse_rfc3339_field(data, "to"))
            second = (other, parse_rfc3339_field(data, "with_from"), parse_rfc3339_field(data, "with_to"))
            rows = svc.swap(name, first, second, actor=p.actor, note=str(data.get("note") or ""))
            describe_change(request, "schedule.swap", f"schedule:{name}", after=[r.as_dict() for r in rows])
            return _ok([r.as_dict() for r in rows], 201)
        return await run(request, work)

    # --- calendars ---

    def calendar_response(svc: ScheduleService, title: str, entries: list[tuple[str, Shift]],
                          request: Request) -> Response:
        ics = shifts_calendar(title, entries, now=svc.clock(), host=_host(request, str(request.base_url)))
        # A client may cache it briefly; never a shared cache (the URL holds a secret).
        return Response(ics, media_type=ICS, headers={"Cache-Control": "private, max-age=300"})

    def schedule_entries(svc: ScheduleService, name: str) -> list[tuple[str, Shift]]:
        start, end = feed_range(svc.clock())
        return [(name, s) for s in svc.shifts(name, start, end)]

    @router.get(API + "/schedules/{name}/calendar.ics", include_in_schema=False)
    async def calendar(request: Request, name: str) -> Response:
        def work(svc: ScheduleService, _p: Principal) -> Response:
            return calendar_response(svc, f"On call: {name}", schedule_entries(svc, name), request)
        return await run(request, work)

    @router.get("/calendar/{token}/schedules/{name}.ics", include_in_schema=False)
    async def feed(request: Request, token: str, name: str) -> Response:
        def work(svc: ScheduleService, _p: Principal | None) -> Response:
            if svc.feed_user(token) is None:
                return _error("unknown or revoked feed token", 404, "not_found")
            return calendar_response(svc, f"On call: {name}", schedule_entries(svc, name), request)
        return await run(request, work)

    @router.get("/calendar/{token}/me.ics", include_in_schema=False)
    async def my_feed(request: Request, token: str) -> Response:
        def work(svc: ScheduleService, _p: Principal | None) -> Response:
            user = svc.feed_user(token)
            if user is None:
                return _error("unknown or revoked feed token", 404, "not_found")
            start, end = feed_range(svc.clock())
            return calendar_response(svc, f"My on-call shifts ({user})", svc.user_shifts(user, start, end), request)
        return await run(request, work)

    @router.post(API + "/calendar/token", include_in_schema=False)
    async def new_feed_token(request: Request) -> Response:
        def work(svc: ScheduleService, p: Principal) -> Response:
            if p.kind != "user":
                return _error("feed tokens belong to users: log in as the user", 403, "forbidden")
            token = svc.store.new_feed_token(p.name)
            describe_change(request, "calendar.token.create", f"user:{p.name}")
            base = str(request.base_url).rstrip("/")
            return _ok({"user": p.name, "token": token, "me": f"{base}/calendar/{token}/me.ics",
                        "schedules": {s.name: f"{base}/calendar/{token}/schedules/{s.name}.ics"
                                      for s in svc.all()}}, 201)
        return await run(request, work)

    @router.delete(API + "/calendar/token", include_in_schema=False)
    async def revoke_own_feed_token(request: Request) -> Response:
        def work(svc: ScheduleService, p: Principal) -> Response:
            if p.kind != "user" or not svc.store.revoke_feed_token(p.name):
                return _error(f"{p.name!r} has no feed token", 404, "not_found")
            describe_change(request, "calendar.token.revoke", f"user:{p.name}")
            return _ok({"user": p.name, "revoked": True})
        return await run(request, work)

    @router.delete(API + "/calendar/tokens/{user}", include_in_schema=False)
    async def revoke_feed_token(request: Request, user: str) -> Response:
        def work(svc: ScheduleService, _p: Principal) -> Response:
            if not svc.store.revoke_feed_token(user):
                return _error(f"{user!r} has no feed token", 404, "not_found")
            describe_change(request, "calendar.token.revoke", f"user:{user}")
            return _ok({"user": user, "revoked": True})
        return await run(request, work)

    return router


def parse_rfc3339_field(data: dict[str, Any], key: str) -> datetime:
    value = data.get(key)
    if not isinstance(value, str):
        raise ScheduleError(f"{key}: required (an RFC 3339 time such as 2026-05-01T09:00:00Z)")
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise ScheduleError(f"{key}: {exc}") from None
