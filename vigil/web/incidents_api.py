"""Incidents over HTTP (issue 17). Viewers read; responders declare and change.

    GET  /api/vigil/v1/incidents[?state=open|all&since=RFC3339]      the list, newest first
    POST /api/vigil/v1/incidents                                      declare (201)
    POST /api/vigil/v1/incidents/from-group                           declare from one alert group
    GET  /api/vigil/v1/incidents/{id}                                 one incident (id or ref) with
                                                                      its severity's rule, attached
                                                                      groups, timeline and figures
    GET  /api/vigil/v1/incidents/{id}/timeline?format=json|csv|markdown
    POST /api/vigil/v1/incidents/{id}/status      {"status", "note"}
    POST /api/vigil/v1/incidents/{id}/reopen      {"note"}
    POST /api/vigil/v1/incidents/{id}/acknowledge {"note"}
    POST /api/vigil/v1/incidents/{id}/severity    {"severity": 1..4, "note"}
    POST /api/vigil/v1/incidents/{id}/roles       {"role", "user" (null clears), "remove": bool}
    POST /api/vigil/v1/incidents/{id}/notes       {"text"}
    POST /api/vigil/v1/incidents/{id}/components  {"components": [...]}
    POST /api/vigil/v1/incidents/{id}/attach      {"group_keys": [...]}
    POST /api/vigil/v1/incidents/{id}/detach      {"group_key"}
    POST /api/vigil/v1/incidents/{id}/edit        {"title", "summary", "impact"} (any of them)

Every body may say ``"via": "api" | "cli" | "ui"``. Answers: ``{"status": "success",
"data": ...}``; a refused change is ``{"status": "error", "errorType", "error"}`` with 404
(no such incident or group), 409 (not allowed now: the message names the reason, e.g. the
allowed status moves) or 400 (bad input, naming the field). The service writes the audit
entry in the change's transaction, so the access gate adds none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.gocompat.times import parse_rfc3339
from vigil.incidents.figures import incident_figures
from vigil.incidents.service import IncidentService
from vigil.incidents.timeline_export import EXPORT_FORMATS, event_json, export
from vigil.state.incident_store import MOVES, Incident, IncidentError
from vigil.web.audit_detail import already_audited
from vigil.web.deps import WebDeps
from vigil.web.json_api import error, iso, json_body, store_error
from vigil.web.oncall_api import request_actor

__all__ = ["incident_detail", "incident_json", "incidents_api_router"]

_VIA = ("api", "cli", "ui")
BASE = "/api/vigil/v1/incidents"


def incident_json(inc: Incident, service: IncidentService) -> dict[str, Any]:
    sev = service.config().incidents.severity(inc.severity)
    return {
        "id": inc.id, "ref": inc.ref, "title": inc.title, "summary": inc.summary, "impact": inc.impact,
        "severity": inc.severity, "severityName": sev.name, "status": inc.status,
        "commander": inc.commander, "roles": {"commander": inc.commander, **inc.roles},
        "components": list(inc.components), "channel": inc.channel, "alertMatchers": list(inc.alert_matchers),
        "source": inc.source, "originKey": inc.origin_key, "declaredBy": inc.declared_by,
        "startedAt": iso(inc.started_at), "detectedAt": iso(inc.detected_at), "declaredAt": iso(inc.declared_at),
        "acknowledgedAt": iso(inc.acknowledged_at), "mitigatedAt": iso(inc.mitigated_at),
        "resolvedAt": iso(inc.resolved_at), "nextUpdateAt": iso(inc.next_update_at),
        "updatedAt": iso(inc.updated_at), "url": service.url(inc),
        # What the UI offers: the status moves allowed now, and reopen for a resolved one.
        "allowedStatuses": list(MOVES[inc.status]), "canReopen": inc.status == "resolved",
    }


def incident_detail(service: IncidentService, id_or_ref: str) -> dict[str, Any]:
    """Everything an incident page shows, in one read: the incident, its severity's rule,
    the attached groups (with their alerts firing now), the timeline and the figures (:mod:`vigil.incidents.figures`)."""
    inc = service.store.get(id_or_ref)
    sev = service.config().incidents.severity(inc.severity)
    firing = {g.key: g for g in service.groups()}
    groups = []
    attached = service.store.attached(inc.id, include_detached=True)
    events = service.store.events(inc.id)
    for g in attached:
        live = firing.get(g.group_key)
        groups.append({
            "groupKey": g.group_key, "groupLabels": g.group_labels, "receiver": g.receiver,
            "firstAlertAt": iso(g.first_alert_at), "attachedAt": iso(g.attached_at), "attachedBy": g.attached_by,
            "detachedAt": iso(g.detached_at),
            "alerts": [] if live is None else [
                {"labels": a.labels.to_dict(), "annotations": a.annotations.to_dict(), "startsAt": iso(a.starts_at),
                 "generatorURL": a.generator_url, "fingerprint": a.fingerprint()} for a in live.alerts]})
    return {
        **incident_json(inc, service),
        "severityRule": {"name": sev.name, "criteria": sev.criteria, "team": sev.team,
                         "communication": sev.communication, "updateIntervalSeconds": sev.update_interval,
                         "response": sev.response.model_dump()},
        # One definition of the figures for the API, the page and the post-mortem.
        "figures": incident_figures(inc, [g for g in attached if g.detached_at is None], events).as_dict(),
        "groups": groups,
        "timeline": [event_json(e) for e in events],
    }


def _strings(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise IncidentError(f"{name} must be a list of strings", "invalid")
    return value


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise IncidentError(f"{name} must be text", "invalid")
    return value


def _int(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise IncidentError(f"{name} must be a whole number 1..4 (SEV-1 is the worst), not {value!r}", "invalid")
    return value


def incidents_api_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()

    def unavailable() -> JSONResponse:
        return error(404, "unavailable", "this Vigil has no incidents service")

    async def change(request: Request, do: Callable[[IncidentService, dict[str, Any], str, str], Incident],
                     status_code: int = 200) -> Response:
        """Run one change (in a worker thread) and answer with the incident's detail."""
        service = deps.incidents
        if service is None:
            return unavailable()
        body = await json_body(request, _VIA)
        if isinstance(body, JSONResponse):
            return body
        actor = request_actor(request)
        try:
            inc = await asyncio.to_thread(do, service, body, actor, str(body.get("via", "api")))
            detail = await asyncio.to_thread(incident_detail, service, inc.id)
        except IncidentError as exc:
            return store_error(exc)
        already_audited(request)
        return JSONResponse({"status": "success", "data": detail}, status_code=status_code)

    @router.get(BASE, include_in_schema=False)
    async def list_incidents(request: Request) -> Response:
        service = deps.incidents
        if service is None:
            return unavailable()
        state = request.query_params.get("state", "open")
        if state not in ("open", "all"):
            return error(400, "bad_data", f"state must be open or all, not {state!r}")
        since = None
        if "since" in request.query_params:
            try:
                since = parse_rfc3339(request.query_params["since"])
            except ValueError as exc:
                return error(400, "bad_data", f"since: {exc}")
        found = await asyncio.to_thread(service.store.incidents, open_only=state == "open", since=since)
        return JSONResponse({"status": "success", "data": [incident_json(i, service) for i in found]})

    @router.post(BASE, include_in_schema=False)
    async def declare(request: Request) -> Response:
        def do(service: IncidentService, body: dict[str, Any], actor: str, via: str) -> Incident:
            commander = _optional_text(body, "commander")
            return service.declare(
                title=body.get("title", ""), severity=_int(body, "severity"), actor=actor, via=via,
                summary=_optional_text(body, "summary") or "", impact=_optional_text(body, "impact") or "",
                components=_strings(body, "components"), commander=commander or None,
                alert_matchers=_strings(body, "alert_matchers"), group_keys=_strings(body, "group_keys"))
        return await change(request, do, 201)

    @router.post(BASE + "/from-group", include_in_schema=False)
    async def declare_from_group(request: Request) -> Response:
        created: list[bool] = []

        def do(service: IncidentService, body: dict[str, Any], actor: str, via: str) -> Incident:
            key = body.get("group_key")
            if not isinstance(key, str) or not key:
                raise IncidentError("group_key: the key of a firing alert group is required", "invalid")
            severity = None if body.get("severity") is None else _int(body, "severity")
            inc, made = service.declare_from_group(key, actor=actor, via=via, severity=severity,
                                                   title=_optional_text(body, "title") or None)
            created.append(made)
            return inc

        answer = await change(request, do, 201)
        if answer.status_code == 201 and created == [False]:
            answer.status_code = 200  # the incident this episode's group was declared as before
        return answer

    @router.get(BASE + "/{incident_id}", include_in_schema=False)
    async def get_incident(incident_id: str) -> Response:
        service = deps.incidents
        if service is None:
            return unavailable()
        try:
            detail = await asyncio.to_thread(incident_detail, service, incident_id)
        except IncidentError as exc:
            return store_error(exc)
        return JSONResponse({"status": "success", "data": detail})

    @router.get(BASE + "/{incident_id}/timeline", include_in_schema=False)
    async def timeline(incident_id: str, request: Request) -> Response:
        service = deps.incidents
        if service is None:
            return unavailable()
        fmt = request.query_params.get("format", "json")
        if fmt not in EXPORT_FORMATS:
            return error(400, "bad_data", f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
        try:
            inc = await asyncio.to_thread(service.store.get, incident_id)
        except IncidentError as exc:
            return store_error(exc)
        events = await asyncio.to_thread(service.store.events, inc.id)
        text, media_type = export(fmt, inc, events)
        suffix = {"json": "json", "csv": "csv", "markdown": "md"}[fmt]
        return Response(text, media_type=media_type, headers={
            "Content-Disposition": f'inline; filename="{inc.ref}-timeline.{suffix}"'})

    def action(name: str, do: Callable[[IncidentService, str, dict[str, Any], str, str], Incident]) -> None:
        async def handler(incident_id: str, request: Request) -> Response:
            return await change(request, lambda s, b, a, v: do(s, incident_id, b, a, v))

        router.add_api_route(f"{BASE}/{{incident_id}}/{name}", handler, methods=["POST"], include_in_schema=False,
                             name=f"incident_{name}")

    action("status", lambda s, i, b, a, v: s.set_status(i, str(b.get("status", "")), actor=a, via=v,
                                                        note=_optional_text(b, "note") or ""))
    action("reopen", lambda s, i, b, a, v: s.reopen(i, actor=a, via=v, note=_optional_text(b, "note") or ""))
    action("acknowledge", lambda s, i, b, a, v: s.acknowledge(i, actor=a, via=v,
                                                              note=_optional_text(b, "note") or ""))
    action("severity", lambda s, i, b, a, v: s.set_severity(i, _int(b, "severity"), actor=a, via=v,
                                                            note=_optional_text(b, "note") or ""))
    action("roles", lambda s, i, b, a, v: s.set_role(i, str(b.get("role", "")), _optional_text(b, "user"),
                                                     actor=a, via=v, remove=bool(b.get("remove", False))))
    action("notes", lambda s, i, b, a, v: s.add_note(i, b.get("text", ""), actor=a, via=v))
    action("components", lambda s, i, b, a, v: s.set_components(i, _strings(b, "components"), actor=a, via=v))
    action("attach", lambda s, i, b, a, v: s.attach(i, _strings(b, "group_keys"), actor=a, via=v))
    action("detach", lambda s, i, b, a, v: s.detach(i, str(b.get("group_key", "")), actor=a, via=v))
    action("edit", lambda s, i, b, a, v: s.edit(i, actor=a, via=v, title=_optional_text(b, "title"),
                                                summary=_optional_text(b, "summary"),
                                                impact=_optional_text(b, "impact")))
    return router
