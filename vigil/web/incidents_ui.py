"""The incident pages of the web UI (issue 17).

    GET  /incidents                          open incidents, resolved ones, candidates, the
                                             declaration form (viewers)
    POST /incidents                          declare (responders)
    POST /incidents/from-group               the alerts page's one-click declaration
    POST /incidents/candidates/{id}/{accept|dismiss}
    GET  /incidents/{ref}                    one incident: header, status, roles, timeline,
                                             checklist, communications, alerts, figures,
                                             action items (viewers)
    GET  /incidents/{ref}/postmortem.md      the post-mortem, downloaded
    POST /incidents/{ref}/{action}           status, reopen, acknowledge, severity, roles,
                                             notes, edit (title, summary, impact), components,
                                             detach (group_key), communications, action-items
    POST /incidents/{ref}/tasks/{task}/{done|reopen}
    POST /incidents/{ref}/action-items/{item}/{close|reopen}
    POST /incidents/status-page/{component}/{override|clear}
                                             a status-page component's manual override
                                             (the "Status page" section of /incidents)

Forms post with the session's CSRF token; a change that succeeds answers 303 to the page
(so a reload does not repeat it); one refused is shown on the page with its reason and the
status the API would give (404, 409, 400), so the access gate records no change. The
services write the audit entry in the change's transaction (``already_audited``). Viewers
see no action buttons; every change calls the services directly, as the API does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from vigil.access import Role
from vigil.state.incident_store import Incident, IncidentError
from vigil.state.status_page_store import StatusPageError
from vigil.web.access_gate import template_context
from vigil.web.audit_detail import already_audited
from vigil.web.deps import WebDeps
from vigil.web.incidents_view import incident_view, list_view
from vigil.web.json_api import ERROR_STATUS
from vigil.web.oncall_api import request_actor
from vigil.web.page_templates import page_environment
from vigil.web.status_page_admin import active_status_page, override_until, status_page_section

__all__ = ["incidents_pages_router"]

VIA = "ui"


def _can_respond(request: Request) -> bool:
    principal = getattr(request.state, "principal", None)
    return principal is None or principal.may(Role.RESPONDER)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _severity(form: FormData, name: str = "severity") -> int:
    text = str(form.get(name) or "").strip()
    if text not in ("1", "2", "3", "4"):
        raise IncidentError(f"{name} must be 1..4 (SEV-1 is the worst), not {text!r}", "invalid")
    return int(text)


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "")


def _given(form: FormData, *names: str) -> dict[str, str]:
    """The named fields the form carries (one left out is not changed)."""
    return {name: _text(form, name) for name in names if name in form}


def _role(deps: WebDeps, ref: str, form: FormData, actor: str) -> Incident:
    assert deps.incidents is not None
    role, user, op = _text(form, "role"), _text(form, "user").strip(), _text(form, "op") or "set"
    if op not in ("set", "clear", "add", "remove"):
        raise IncidentError(f"op must be set, clear, add or remove, not {op!r}", "invalid")
    if op in ("set", "add", "remove") and not user:
        raise IncidentError("user: name the person", "invalid")
    if op in ("add", "remove"):
        role = "responders"
    return deps.incidents.set_role(ref, role, None if op == "clear" else user, actor=actor, via=VIA,
                                   remove=op == "remove")


def _due_date(form: FormData) -> date | None:
    text = _text(form, "due_date").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise IncidentError(f"due_date must be a date such as 2026-12-31, not {text!r}", "invalid") from None


def _incident_actions(deps: WebDeps) -> dict[str, tuple[str, Callable[[str, FormData, str], Any]]]:
    """action → (the page section to land on, what it does with (ref, form, actor))."""
    s = deps.incidents
    assert s is not None

    def comms(ref: str, form: FormData, actor: str) -> Any:
        if deps.incident_response is None:
            raise IncidentError("this Vigil sends no incident communications", "not_found")
        kind = _text(form, "kind")
        if kind not in ("internal", "external"):
            raise IncidentError(f"kind must be internal or external, not {kind!r}", "invalid")
        return deps.incident_response.communications.send(
            ref, kind, actor=actor, via=VIA, current_status=_text(form, "current_status"),
            symptoms=_text(form, "symptoms"),
            subject=_text(form, "subject") if "subject" in form else None,
            body=_text(form, "body") if "body" in form else None)

    def add_item(ref: str, form: FormData, actor: str) -> Any:
        if deps.incident_review is None:
            raise IncidentError("this Vigil keeps no action items", "not_found")
        title = _text(form, "title").strip()
        if not title:
            raise IncidentError("title: an action item needs a title", "invalid")
        return deps.incident_review.add_item(ref, title=title, owner=_text(form, "owner").strip() or None,
                                             due_date=_due_date(form), link=_text(form, "link").strip(),
                                             actor=actor, via=VIA)

    return {
        "status": ("status", lambda r, f, a: s.set_status(r, _text(f, "status"), actor=a, via=VIA,
                                                          note=_text(f, "note"))),
        "reopen": ("status", lambda r, f, a: s.reopen(r, actor=a, via=VIA, note=_text(f, "note"))),
        "acknowledge": ("status", lambda r, f, a: s.acknowledge(r, actor=a, via=VIA, note=_text(f, "note"))),
        "severity": ("severity", lambda r, f, a: s.set_severity(r, _severity(f), actor=a, via=VIA,
                                                                note=_text(f, "note"))),
        "roles": ("roles", lambda r, f, a: _role(deps, r, f, a)),
        "notes": ("timeline", lambda r, f, a: s.add_note(r, _text(f, "text"), actor=a, via=VIA)),
        "edit": ("details", lambda r, f, a: s.edit(r, actor=a, via=VIA, **_given(f, "title", "summary", "impact"))),
        "detach": ("alerts", lambda r, f, a: s.detach(r, _text(f, "group_key"), actor=a, via=VIA)),
        "components": ("components", lambda r, f, a: s.set_components(r, _names(_text(f, "components")),
                                                                      actor=a, via=VIA)),
        "communications": ("communications", comms),
        "action-items": ("action-items", add_item),
    }


def incidents_pages_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()
    env = page_environment(deps.version)
    actions = _incident_actions(deps) if deps.incidents is not None else {}

    def render(name: str, request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        # path: the navigation marks "Incidents" on every incident page.
        html = env.get_template(name).render(path="/incidents", can_respond=_can_respond(request),
                                             **template_context(request), **context)
        return HTMLResponse(html, status_code=status)

    def unavailable() -> HTMLResponse:
        return HTMLResponse("This Vigil has no incidents.", status_code=404)

    async def list_page(request: Request, *, error: str = "", form: dict[str, str] | None = None,
                        status: int = 200) -> HTMLResponse:
        q = request.query_params
        view = await asyncio.to_thread(list_view, deps, severity=q.get("severity", ""), text=q.get("q", ""))
        view["status_page"] = await asyncio.to_thread(status_page_section, deps.status_page)
        defaults = {"title": "", "severity": "3", "summary": "", "components": "", "alert_matchers": "",
                    "commander": ""}
        return render("incidents.html", request, status, error=error, form={**defaults, **(form or {})}, **view)

    async def incident_page(request: Request, ref: str, *, error: str = "", status: int = 200) -> HTMLResponse:
        q = request.query_params
        try:
            view = await asyncio.to_thread(incident_view, deps, ref, current_status=q.get("current_status", ""),
                                           symptoms=q.get("symptoms", ""))
        except IncidentError as exc:
            return render("incident_missing.html", request, ERROR_STATUS[exc.kind], error=str(exc))
        return render("incident.html", request, status, error=error, **view)

    def incident_url(ref: str, section: str = "") -> str:
        return f"/incidents/{quote(ref)}" + (f"#{section}" if section else "")

    def landing(ref: str, section: str = "") -> RedirectResponse:
        return RedirectResponse(incident_url(ref, section), status_code=303)

    async def change_from_list(request: Request, work: Callable[[], str], *,
                               form: dict[str, str] | None = None) -> Response:
        """Run a person's change made on /incidents in a thread, then send the browser to the
        URL it answers (the store wrote the audit entry); a refusal shows /incidents again
        with the reason, the refusal's status and what was typed (``form``)."""
        try:
            url = await asyncio.to_thread(work)
        except IncidentError as exc:
            return await list_page(request, error=str(exc), form=form, status=ERROR_STATUS[exc.kind])
        already_audited(request)
        return RedirectResponse(url, status_code=303)

    @router.get("/incidents", include_in_schema=False)
    async def incidents_page(request: Request) -> HTMLResponse:
        if deps.incidents is None:
            return unavailable()
        return await list_page(request)

    @router.post("/incidents", include_in_schema=False)
    async def declare(request: Request) -> Response:
        service = deps.incidents
        if service is None:
            return unavailable()
        form = await request.form()

        def do() -> str:
            inc = service.declare(
                title=_text(form, "title"), severity=_severity(form), actor=request_actor(request), via=VIA,
                summary=_text(form, "summary"), components=_names(_text(form, "components")),
                commander=_text(form, "commander").strip() or None,
                alert_matchers=_lines(_text(form, "alert_matchers")))
            return incident_url(inc.ref)
        return await change_from_list(request, do, form={k: str(v) for k, v in form.items()})

    @router.post("/incidents/from-group", include_in_schema=False)
    async def declare_from_group(request: Request) -> Response:
        service = deps.incidents
        if service is None:
            return unavailable()
        form = await request.form()
        key, actor = _text(form, "group_key"), request_actor(request)

        def do() -> str:
            inc, _created = service.declare_from_group(key, actor=actor, via=VIA)
            return incident_url(inc.ref)
        return await change_from_list(request, do)

    @router.post("/incidents/candidates/{candidate_id}/{action}", include_in_schema=False)
    async def decide(request: Request, candidate_id: str, action: str) -> Response:
        review = deps.incident_review
        if review is None or deps.incidents is None or action not in ("accept", "dismiss"):
            return HTMLResponse("No such action.", status_code=404)
        form = await request.form()
        actor = request_actor(request)

        def do() -> str:
            if action == "dismiss":
                review.dismiss(candidate_id, actor=actor, via=VIA, reason=_text(form, "reason").strip())
                return "/incidents#candidates"
            _cand, inc = review.accept(candidate_id, actor=actor, via=VIA)
            return incident_url(inc.ref)
        return await change_from_list(request, do)

    @router.post("/incidents/status-page/{component}/{action}", include_in_schema=False)
    async def override(request: Request, component: str, action: str) -> Response:
        status_page = active_status_page(deps.status_page)
        if status_page is None or deps.incidents is None or action not in ("override", "clear"):
            return HTMLResponse("No such action.", status_code=404)
        form = await request.form()
        actor, addr = request_actor(request), request.client.host if request.client else ""

        def do() -> None:
            if action == "clear":
                status_page.clear_override(component, actor=actor, remote_addr=addr)
                return
            until = override_until(_text(form, "until"), status_page.store.now())
            status_page.set_override(component, status=_text(form, "status"), message=_text(form, "message").strip(),
                                     until=until, actor=actor, remote_addr=addr)
        try:
            await asyncio.to_thread(do)
        except StatusPageError as exc:
            return await list_page(request, error=f"{component}: {exc}", status=ERROR_STATUS[exc.kind])
        already_audited(request)
        return RedirectResponse("/incidents#status-page", status_code=303)

    @router.get("/incidents/{ref}", include_in_schema=False)
    async def one_incident(request: Request, ref: str) -> HTMLResponse:
        if deps.incidents is None:
            return unavailable()
        return await incident_page(request, ref)

    @router.get("/incidents/{ref}/postmortem.md", include_in_schema=False)
    async def postmortem(ref: str) -> Response:
        review = deps.incident_review
        if review is None:
            return HTMLResponse("This Vigil writes no post-mortems.", status_code=404)
        try:
            text = await asyncio.to_thread(review.postmortem, ref)
            inc = await asyncio.to_thread(review.incidents.get, ref)
        except IncidentError as exc:
            return HTMLResponse(str(exc), status_code=ERROR_STATUS[exc.kind])
        return Response(text, media_type="text/markdown; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{inc.ref}-postmortem.md"'})

    async def act(request: Request, ref: str, section: str, do: Callable[[FormData, str], Any]) -> Response:
        form = await request.form()
        try:
            await asyncio.to_thread(do, form, request_actor(request))
        except IncidentError as exc:
            return await incident_page(request, ref, error=str(exc), status=ERROR_STATUS[exc.kind])
        already_audited(request)
        return landing(ref, section)

    @router.post("/incidents/{ref}/{action}", include_in_schema=False)
    async def incident_action(request: Request, ref: str, action: str) -> Response:
        if action not in actions:
            return HTMLResponse("No such action.", status_code=404)
        section, do = actions[action]
        return await act(request, ref, section, lambda form, actor: do(ref, form, actor))

    @router.post("/incidents/{ref}/tasks/{task}/{action}", include_in_schema=False)
    async def task_action(request: Request, ref: str, task: str, action: str) -> Response:
        response = deps.incident_response
        if response is None or action not in ("done", "reopen"):
            return HTMLResponse("No such action.", status_code=404)
        return await act(request, ref, "checklist", lambda form, actor: response.checklists.set_task(
            ref, task, done=action == "done", actor=actor, via=VIA, note=_text(form, "note")))

    @router.post("/incidents/{ref}/action-items/{item_id}/{action}", include_in_schema=False)
    async def item_action(request: Request, ref: str, item_id: str, action: str) -> Response:
        review = deps.incident_review
        states = {"close": "closed", "reopen": "open"}
        if review is None or action not in states or not item_id.isdigit():
            return HTMLResponse("No such action.", status_code=404)
        return await act(request, ref, "action-items", lambda _form, actor: review.set_item_state(
            int(item_id), states[action], actor=actor, via=VIA))

    return router
