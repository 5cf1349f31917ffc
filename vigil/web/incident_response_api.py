"""The response checklist and communications of incidents over HTTP (issue 17, parts 3, 4).

    GET  /api/vigil/v1/incidents/{id}/checklist                       viewer
    POST /api/vigil/v1/incidents/{id}/checklist/{task}/{done|reopen}  responder {"note"}
    GET  /api/vigil/v1/incidents/{id}/communications                  viewer (what was sent)
    GET  /api/vigil/v1/incidents/{id}/communications/preview?kind=internal|external
                                         [&current_status=TEXT&symptoms=TEXT]   viewer
    POST /api/vigil/v1/incidents/{id}/communications                  responder
         {"kind": "internal"|"external", "current_status", "symptoms", "subject", "body"}

``{id}`` is an incident's id or ref (``INC-20261207-001``). ``subject``/``body`` given are
sent as they are (an edited preview); ``current_status`` and ``symptoms`` fill the
templates' ``.CurrentStatus`` and ``.Symptoms``. Bodies may carry ``via`` ("api", the
default, "ui" or "cli"). Every change is in the database, with its timeline event and its
one audit entry, before the answer. Errors: ``{"status": "error", "errorType", "error"}``
(404 unknown incident or task, 409 not allowed in its state, 400 a bad field, named).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.incidents.checklist import Checklist, ChecklistTaskView
from vigil.incidents.communications import KINDS, Rendered
from vigil.incidents.response import IncidentResponse
from vigil.state.incident_response_store import Communication
from vigil.state.incident_store import IncidentError
from vigil.web.deps import WebDeps
from vigil.web.json_api import error, iso, json_answer, json_body
from vigil.web.oncall_api import request_actor

__all__ = ["checklist_json", "communication_json", "incident_response_router"]

_VIA = ("api", "ui", "cli")
_TASK_ACTIONS = ("done", "reopen")
_TEXT_FIELDS = ("current_status", "symptoms", "subject", "body", "note")


def _task_json(t: ChecklistTaskView) -> dict[str, Any]:
    return {"key": t.key, "title": t.title, "phase": t.phase, "dueAt": iso(t.due_at), "done": t.done,
            "doneAt": iso(t.done_at), "doneBy": t.done_by, "doneByVigil": t.done_by_vigil, "note": t.note,
            "overdue": t.overdue, "overdueAt": iso(t.overdue_at), "pagedAt": iso(t.paged_at),
            "doneWhen": t.done_when}


def checklist_json(c: Checklist) -> dict[str, Any]:
    inc = c.incident
    return {"incidentId": inc.id, "ref": inc.ref, "severity": inc.severity_name, "status": inc.status,
            "declaredAt": iso(inc.declared_at),
            "phases": [{"label": p.label, "title": p.title, "dueAt": iso(p.due_at),
                        "tasks": [_task_json(t) for t in p.tasks]} for p in c.phases]}


def communication_json(c: Communication) -> dict[str, Any]:
    return {"id": c.id, "kind": c.kind, "subject": c.subject, "body": c.body, "receivers": list(c.receivers),
            "sentBy": c.sent_by, "via": c.via, "sentAt": iso(c.sent_at), "notifications": list(c.outbox_ids)}


def _rendered_json(r: Rendered) -> dict[str, Any]:
    return {"kind": r.kind, "subject": r.subject, "body": r.body, "receivers": list(r.receivers),
            "nextUpdateAt": iso(r.next_update_at)}


async def _body(request: Request) -> dict[str, Any] | JSONResponse:
    body = await json_body(request, _VIA)
    if isinstance(body, JSONResponse):
        return body
    for name in _TEXT_FIELDS:
        if name in body and body[name] is not None and not isinstance(body[name], str):
            return error(400, "bad_data", f"{name} must be text")
    return body


def _kind(kind: object) -> str:
    if kind not in KINDS:
        raise IncidentError(f"kind must be internal or external, not {kind!r}", "invalid")
    return str(kind)


def incident_response_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()
    base = "/api/vigil/v1/incidents/{incident_id}"

    def unavailable() -> JSONResponse:
        return error(404, "unavailable", "this Vigil has no incident response")

    def answer(work: Callable[[IncidentResponse, dict[str, Any]], Any], *, change: Request | None = None,
               refusal: Response | None = None) -> Awaitable[Response]:
        return json_answer(deps.incident_response, unavailable, work, refused=IncidentError, read_body=_body,
                           change=change, refusal=refusal)

    @router.get(base + "/checklist", include_in_schema=False)
    async def get_checklist(incident_id: str) -> Response:
        return await answer(lambda r, _: checklist_json(r.checklists.checklist(incident_id)))

    @router.post(base + "/checklist/{task}/{action}", include_in_schema=False)
    async def set_task(incident_id: str, task: str, action: str, request: Request) -> Response:
        refusal = None if action in _TASK_ACTIONS else error(
            404, "not_found", f"no action {action!r}; actions: {', '.join(_TASK_ACTIONS)}")
        return await answer(lambda r, body: _task_json(r.checklists.set_task(
            incident_id, task, done=action == "done", actor=request_actor(request), via=body.get("via", "api"),
            note=body.get("note") or "")), change=request, refusal=refusal)

    @router.get(base + "/communications", include_in_schema=False)
    async def list_sent(incident_id: str) -> Response:
        return await answer(lambda r, _: [communication_json(c) for c in r.communications.sent(incident_id)])

    @router.get(base + "/communications/preview", include_in_schema=False)
    async def preview(incident_id: str, request: Request) -> Response:
        q = request.query_params
        return await answer(lambda r, _: _rendered_json(r.communications.preview(
            incident_id, _kind(q.get("kind", "internal")), current_status=q.get("current_status", ""),
            symptoms=q.get("symptoms", ""))))

    @router.post(base + "/communications", include_in_schema=False)
    async def send(incident_id: str, request: Request) -> Response:
        def work(r: IncidentResponse, body: dict[str, Any]) -> dict[str, Any]:
            sent = r.communications.send(
                incident_id, _kind(body.get("kind")), actor=request_actor(request), via=body.get("via", "api"),
                current_status=body.get("current_status") or "", symptoms=body.get("symptoms") or "",
                subject=body.get("subject"), body=body.get("body"))
            assert sent is not None  # only Vigil's claimed sends can find theirs sent before
            return communication_json(sent)
        return await answer(work, change=request)

    return router
