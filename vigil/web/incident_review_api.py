"""Post-mortems, figures, action items and incident candidates over HTTP (issue 17, parts 6
and 7).

    GET  /api/vigil/v1/incidents/{id}/postmortem                  viewer (text/markdown)
    GET  /api/vigil/v1/incidents/{id}/figures                     viewer
    GET  /api/vigil/v1/incident-figures[?since=RFC3339]           viewer (each incident and the summary)
    GET  /api/vigil/v1/incidents/{id}/action-items                viewer
    POST /api/vigil/v1/incidents/{id}/action-items                responder {"title", "owner", "due_date", "link"}
    GET  /api/vigil/v1/action-items[?state=open|closed]           viewer (across incidents)
    POST /api/vigil/v1/action-items/{item}/{close|reopen}         responder
    GET  /api/vigil/v1/incident-candidates[?state=...|all]        viewer (proposed ones by default; also accepted, dismissed, expired)
    GET  /api/vigil/v1/incident-candidates/{id}                   viewer
    POST /api/vigil/v1/incident-candidates/{id}/accept            responder {"title", "severity", "commander", "summary"}
    POST /api/vigil/v1/incident-candidates/{id}/dismiss           responder {"reason"}

``{id}`` is an incident's id or ref (``INC-20261207-001``). Bodies may carry ``via`` ("api",
the default, "ui" or "cli"). Every change is in the database, with its timeline event and
its one audit entry, before the answer. Errors: ``{"status": "error", "errorType", "error"}``
(404 unknown, 409 not allowed in its state, 400 a bad field, named).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.incidents.review import IncidentReview
from vigil.state.action_item_store import ActionItem
from vigil.state.incident_candidate_store import CANDIDATE_STATES, Candidate
from vigil.state.incident_store import IncidentError
from vigil.web.deps import WebDeps
from vigil.web.json_api import error, iso, json_answer, json_body, store_error
from vigil.web.oncall_api import request_actor

__all__ = ["action_item_json", "candidate_json", "incident_review_router"]

_VIA = ("api", "ui", "cli")
_CANDIDATE_STATES = CANDIDATE_STATES


def action_item_json(item: ActionItem) -> dict[str, Any]:
    return {"id": item.id, "incidentId": item.incident_id, "incidentRef": item.incident_ref,
            "title": item.title, "owner": item.owner,
            "dueDate": None if item.due_date is None else item.due_date.isoformat(), "link": item.link,
            "state": item.state, "createdBy": item.created_by, "createdAt": iso(item.created_at),
            "closedBy": item.closed_by, "closedAt": iso(item.closed_at)}


def candidate_json(cand: Candidate) -> dict[str, Any]:
    return {"id": cand.id, "labels": cand.labels, "windowStart": iso(cand.window_start), "title": cand.title,
            "severity": cand.severity, "state": cand.state, "proposedAt": iso(cand.proposed_at),
            "updatedAt": iso(cand.updated_at), "incidentId": cand.incident_id, "decidedBy": cand.decided_by,
            "decidedAt": iso(cand.decided_at), "reason": cand.reason,
            "groups": [{"groupKey": g.group_key, "labels": g.group_labels, "receiver": g.receiver,
                        "startedAt": iso(g.started_at), "joinedAt": iso(g.joined_at), "alerts": g.alerts,
                        "priority": g.priority} for g in cand.groups]}


async def _body(request: Request) -> dict[str, Any] | JSONResponse:
    """The change's JSON object, its ``via`` filled in ("api" when absent)."""
    body = await json_body(request, _VIA)
    if isinstance(body, dict):
        body.setdefault("via", "api")
    return body


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise IncidentError(f"{name} must be text", "invalid")
    return value.strip() or None


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        since = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise IncidentError(f"since must be an RFC 3339 time, not {text!r}", "invalid") from None
    if since.tzinfo is None:
        raise IncidentError("since must carry a time zone (Z or +hh:mm)", "invalid")
    return since


def _severity(body: dict[str, Any]) -> int | None:
    severity = body.get("severity")
    if severity is not None and (isinstance(severity, bool) or not isinstance(severity, int)):
        raise IncidentError(f"severity must be 1..4, not {severity!r}", "invalid")
    return severity


def _due_date(body: dict[str, Any]) -> date | None:
    text = _text(body, "due_date")
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise IncidentError(f"due_date must be a date such as 2026-12-31, not {text!r}", "invalid") from None


def incident_review_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()

    def review() -> IncidentReview | None:
        return deps.incident_review

    def unavailable() -> JSONResponse:
        return error(404, "unavailable", "this Vigil has no incidents")

    def answer(work: Callable[[IncidentReview, dict[str, Any]], Any], *, change: Request | None = None,
               refusal: Response | None = None) -> Awaitable[Response]:
        return json_answer(review(), unavailable, work, refused=IncidentError, read_body=_body, change=change,
                           refusal=refusal)

    @router.get("/api/vigil/v1/incidents/{incident_id}/postmortem", include_in_schema=False)
    async def postmortem(incident_id: str) -> Response:
        r = review()
        if r is None:
            return unavailable()
        try:
            text = await asyncio.to_thread(r.postmortem, incident_id)
        except IncidentError as exc:
            return store_error(exc, invalid_type="bad_data")
        return Response(text, media_type="text/markdown; charset=utf-8")

    @router.get("/api/vigil/v1/incidents/{incident_id}/figures", include_in_schema=False)
    async def figures(incident_id: str) -> Response:
        return await answer(lambda r, _: r.figures(incident_id).as_dict())

    @router.get("/api/vigil/v1/incident-figures", include_in_schema=False)
    async def figures_across(request: Request) -> Response:
        def work(r: IncidentReview, _: dict[str, Any]) -> dict[str, Any]:
            each, summary = r.figures_across(_since(request.query_params.get("since")))
            return {"summary": summary.as_dict(), "incidents": [f.as_dict() for f in each]}
        return await answer(work)

    @router.get("/api/vigil/v1/incidents/{incident_id}/action-items", include_in_schema=False)
    async def incident_items(incident_id: str) -> Response:
        return await answer(lambda r, _: [action_item_json(i) for i in r.items(incident=incident_id)])

    @router.post("/api/vigil/v1/incidents/{incident_id}/action-items", include_in_schema=False)
    async def add_item(incident_id: str, request: Request) -> Response:
        def work(r: IncidentReview, body: dict[str, Any]) -> dict[str, Any]:
            title = _text(body, "title")
            if title is None:
                raise IncidentError("title: an action item needs a title", "invalid")
            return action_item_json(r.add_item(
                incident_id, title=title, owner=_text(body, "owner"), due_date=_due_date(body),
                link=_text(body, "link") or "", actor=request_actor(request), via=body["via"]))
        return await answer(work, change=request)

    @router.get("/api/vigil/v1/action-items", include_in_schema=False)
    async def all_items(request: Request) -> Response:
        state = request.query_params.get("state") or None
        return await answer(lambda r, _: [action_item_json(i) for i in r.items(state=state)])

    @router.post("/api/vigil/v1/action-items/{item_id}/{action}", include_in_schema=False)
    async def item_action(item_id: str, action: str, request: Request) -> Response:
        states = {"close": "closed", "reopen": "open"}
        refusal = (error(404, "not_found", f"no action {action!r}; actions: close, reopen") if action not in states
                   else error(404, "not_found", f"no action item {item_id!r}") if not item_id.isdigit() else None)
        return await answer(lambda r, body: action_item_json(r.set_item_state(
            int(item_id), states[action], actor=request_actor(request), via=body["via"])),
            change=request, refusal=refusal)

    @router.get("/api/vigil/v1/incident-candidates", include_in_schema=False)
    async def candidates(request: Request) -> Response:
        state = request.query_params.get("state", "proposed")
        refusal = None if state in (*_CANDIDATE_STATES, "all") else error(
            400, "bad_data", f"state must be one of {', '.join(_CANDIDATE_STATES)}, all; not {state!r}")
        return await answer(lambda r, _: [candidate_json(c) for c in r.candidates(None if state == "all" else state)],
                            refusal=refusal)

    @router.get("/api/vigil/v1/incident-candidates/{candidate_id}", include_in_schema=False)
    async def candidate(candidate_id: str) -> Response:
        return await answer(lambda r, _: candidate_json(r.candidate(candidate_id)))

    @router.post("/api/vigil/v1/incident-candidates/{candidate_id}/{action}", include_in_schema=False)
    async def decide(candidate_id: str, action: str, request: Request) -> Response:
        def work(r: IncidentReview, body: dict[str, Any]) -> dict[str, Any]:
            actor = request_actor(request)
            if action == "dismiss":
                return candidate_json(r.dismiss(candidate_id, actor=actor, via=body["via"],
                                                reason=_text(body, "reason") or ""))
            # Accepting declares the incident: the declaration wrote the one audit entry.
            severity = _severity(body)
            cand, inc = r.accept(candidate_id, actor=actor, via=body["via"], title=_text(body, "title"),
                                 severity=severity, commander=_text(body, "commander"),
                                 summary=_text(body, "summary") or "")
            return {"candidate": candidate_json(cand),
                    "incident": {"id": inc.id, "ref": inc.ref, "title": inc.title, "severity": inc.severity,
                                 "status": inc.status}}
        refusal = None if action in ("accept", "dismiss") else error(
            404, "not_found", f"no action {action!r}; actions: accept, dismiss")
        return await answer(work, change=request, refusal=refusal)

    return router
