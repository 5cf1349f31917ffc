"""The admin pages of people and access: the audit log (``/audit``) and users and tokens
(``/people``), with forms to add and disable users and to create and revoke tokens. Admin
only (vigil.web.access_routes); every form carries the session's CSRF token; a new token's
secret is shown once, on the page that answers its creation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from vigil.access import AccessService, parse_role
from vigil.gocompat.durations import parse_duration_ms
from vigil.web.audit_detail import already_audited

__all__ = ["access_pages_router"]


def _actor(request: Request) -> str:
    """Who acts; the service it is passed to writes the audit entry itself."""
    already_audited(request)
    return request.state.principal.actor


def _remote(request: Request) -> str:
    return request.client.host if request.client else ""


def access_pages_router(service: AccessService, render) -> APIRouter:
    """``render(template, request, **context)`` is the UI's page renderer."""
    router = APIRouter()

    @router.get("/audit", include_in_schema=False)
    async def audit_page(request: Request) -> HTMLResponse:
        q = request.query_params
        since_text = q.get("since", "24h")
        error = ""
        since: datetime | None = None
        if since_text:
            try:
                since = datetime.now(timezone.utc) - timedelta(milliseconds=parse_duration_ms(since_text))
            except ValueError as exc:
                error = f"since: {exc}"
        entries = await asyncio.to_thread(service.audit_entries, since=since,
                                          actor=q.get("user") or None,
                                          action=q.get("action") or None, limit=500)
        return render("audit.html", request, entries=list(reversed(entries)), error=error,
                      filters={"since": since_text, "user": q.get("user", ""),
                               "action": q.get("action", "")})

    async def people(request: Request, *, error: str = "", new_token: str = "",
                     status: int = 200) -> HTMLResponse:
        users, tokens = await asyncio.gather(asyncio.to_thread(service.users),
                                             asyncio.to_thread(service.tokens))
        response = render("people.html", request, users=users, tokens=tokens, error=error,
                          new_token=new_token)
        response.status_code = status
        return response

    @router.get("/people", include_in_schema=False)
    async def people_page(request: Request) -> HTMLResponse:
        return await people(request)

    @router.post("/people/users", include_in_schema=False)
    async def add_user(request: Request) -> Response:
        form = await request.form()
        try:
            await asyncio.to_thread(
                service.add_user, str(form.get("name", "")).strip(),
                parse_role(str(form.get("role", "viewer"))), actor=_actor(request),
                email=str(form.get("email", "")).strip(),
                password=str(form.get("password", "")) or None, remote_addr=_remote(request))
        except ValueError as exc:
            return await people(request, error=str(exc), status=400)
        return RedirectResponse("/people", status_code=303)

    async def _act_on(act: Callable[..., object], name: str, request: Request) -> Response:
        """``act(name)`` (disable a user, revoke a token) as the request's actor, then back to
        the people page; an unknown name shows there as the error (404)."""
        try:
            await asyncio.to_thread(act, name, actor=_actor(request), remote_addr=_remote(request))
        except ValueError as exc:
            return await people(request, error=str(exc), status=404)
        return RedirectResponse("/people", status_code=303)

    @router.post("/people/users/{name}/disable", include_in_schema=False)
    async def disable_user(name: str, request: Request) -> Response:
        return await _act_on(service.disable_user, name, request)

    @router.post("/people/tokens", include_in_schema=False)
    async def create_token(request: Request) -> Response:
        form = await request.form()
        try:
            expires = str(form.get("expires", "")).strip()
            secret = await asyncio.to_thread(
                service.create_token, str(form.get("name", "")).strip(),
                parse_role(str(form.get("role", "viewer"))), actor=_actor(request),
                user=str(form.get("user", "")).strip() or None,
                expires_in=timedelta(milliseconds=parse_duration_ms(expires)) if expires else None,
                remote_addr=_remote(request))
        except ValueError as exc:
            return await people(request, error=str(exc), status=400)
        return await people(request, new_token=secret)

    @router.post("/people/tokens/{name}/revoke", include_in_schema=False)
    async def revoke_token(name: str, request: Request) -> Response:
        return await _act_on(service.revoke_token, name, request)

    return router
