"""Logging in and out, and Vigil's access API for admins (``/api/vigil/v1/...``): who am I,
the audit log, users and tokens. Routes are classified in :mod:`vigil.web.access_routes`;
the access gate has already checked the caller's role (and CSRF token) before they run.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import jinja2
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from vigil.access import AuthenticationError, LoginThrottled, Principal, parse_role
from vigil.access.oidc import OIDCError
from vigil.gocompat.durations import parse_duration_ms
from vigil.gocompat.times import parse_rfc3339
from vigil.web.access_gate import SESSION_COOKIE, AccessPolicy
from vigil.web.audit_detail import already_audited
from vigil.web.deps import WebDeps

__all__ = ["access_router"]

_OIDC_STATE_COOKIE = "vigil_oidc_state"


def _principal(request: Request) -> Principal:
    return request.state.principal


def _actor(request: Request) -> str:
    """Who acts; the service it is passed to writes the audit entry itself."""
    already_audited(request)
    return _principal(request).actor


def _remote(request: Request) -> str:
    return request.client.host if request.client else ""


def _ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data}, status_code=status)


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"status": "error", "errorType": "bad_data", "error": message},
                        status_code=status)


def _safe_next(target: str) -> str:
    # Only paths on this server: no scheme, no //host, no backslash tricks.
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def access_router(deps: WebDeps, policy: AccessPolicy) -> APIRouter:
    router = APIRouter()
    env = jinja2.Environment(loader=jinja2.PackageLoader("vigil.web", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals["version"] = deps.version
    service = policy.service

    def login_page(next_: str, error: str = "", username: str = "", status: int = 200) -> HTMLResponse:
        sso = policy.oidc.settings.button_text if policy.oidc is not None else ""
        html = env.get_template("login.html").render(next=_safe_next(next_), error=error,
                                                     username=username, sso=sso)
        return HTMLResponse(html, status_code=status)

    @router.get("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        return login_page(request.query_params.get("next", "/"))

    @router.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        next_ = _safe_next(str(form.get("next", "/")))
        if service is None or policy.anonymous() is not None:
            return RedirectResponse(next_, status_code=303)  # nobody needs to log in
        try:
            session_id, _ = await asyncio.to_thread(service.login, username, password,
                                                    remote_addr=_remote(request))
        except LoginThrottled as exc:
            response = login_page(next_, str(exc), username, 429)
            response.headers["Retry-After"] = str(exc.retry_after_s)
            return response
        except AuthenticationError:
            return login_page(next_, "Invalid user name or password.", username, 401)
        response = RedirectResponse(next_, status_code=303)
        response.set_cookie(SESSION_COOKIE, session_id, max_age=int(service.settings.session_ttl),
                            path="/", httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
        return response

    @router.get("/login/oidc", include_in_schema=False)
    async def sso_start(request: Request) -> Response:
        oidc = policy.oidc
        if oidc is None:
            return login_page("/", "Single sign-on is not configured.", status=404)
        next_ = _safe_next(request.query_params.get("next", "/"))
        try:
            url, state = await asyncio.to_thread(oidc.begin, next_)
        except OIDCError as exc:
            return login_page(next_, f"Single sign-on is unavailable: {exc}", status=502)
        response = RedirectResponse(url, status_code=303)
        # Binds the login to this browser; Lax is sent on the provider's redirect back.
        response.set_cookie(_OIDC_STATE_COOKIE, state, max_age=600, path="/login/oidc",
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response

    @router.get("/login/oidc/callback", include_in_schema=False)
    async def sso_callback(request: Request) -> Response:
        oidc = policy.oidc
        if oidc is None or service is None:
            return login_page("/", "Single sign-on is not configured.", status=404)
        q = request.query_params
        remote = _remote(request)
        try:
            if q.get("error"):
                raise OIDCError(f"the provider refused: {q['error']} {q.get('error_description', '')}".strip())
            identity, next_ = await asyncio.to_thread(
                oidc.finish, state=q.get("state", ""), code=q.get("code", ""),
                bound_state=request.cookies.get(_OIDC_STATE_COOKIE))
            session_id, _ = await asyncio.to_thread(
                service.sso_login, subject=identity.subject, username=identity.username,
                role=identity.role,
                email=identity.email, display_name=identity.display_name, remote_addr=remote)
        except (OIDCError, ValueError) as exc:
            await asyncio.to_thread(service.audit, actor="sso", action="sso.failure",
                                    remote_addr=remote, after={"reason": str(exc)})
            return login_page("/", f"Single sign-on failed: {exc}", status=403)
        except AuthenticationError:
            return login_page("/", "Single sign-on failed: this user is disabled.", status=403)
        response = RedirectResponse(next_, status_code=303)
        response.set_cookie(SESSION_COOKIE, session_id, max_age=int(service.settings.session_ttl),
                            path="/", httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
        response.delete_cookie(_OIDC_STATE_COOKIE, path="/login/oidc")
        return response

    @router.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie and service is not None:
            await asyncio.to_thread(service.logout, cookie, _principal(request),
                                    remote_addr=_remote(request))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
        return response

    @router.get("/api/vigil/v1/whoami", include_in_schema=False)
    async def whoami(request: Request) -> Response:
        p = _principal(request)
        return _ok({"name": p.name, "role": p.role.label, "kind": p.kind,
                    "csrfToken": p.csrf_token})

    if service is None:
        return router

    @router.get("/api/vigil/v1/audit", include_in_schema=False)
    async def audit(request: Request) -> Response:
        q = request.query_params
        since = None
        if q.get("since"):
            try:
                since = _since(q["since"])
            except ValueError as exc:
                return _bad(str(exc))
        try:
            limit = int(q.get("limit", "1000"))
        except ValueError:
            return _bad("limit must be an integer")
        entries = await asyncio.to_thread(service.audit_entries, since=since,
                                          actor=q.get("user") or None,
                                          action=q.get("action") or None, limit=max(1, limit))
        return _ok([e.to_dict() for e in entries])

    @router.get("/api/vigil/v1/users", include_in_schema=False)
    async def users() -> Response:
        return _ok([u.public() for u in await asyncio.to_thread(service.users)])

    @router.post("/api/vigil/v1/users", include_in_schema=False)
    async def add_user(request: Request) -> Response:
        body = await _json(request)
        if isinstance(body, Response):
            return body
        try:
            user = await asyncio.to_thread(
                service.add_user, str(body.get("name", "")), parse_role(str(body.get("role", "viewer"))),
                actor=_actor(request), email=str(body.get("email", "")),
                display_name=str(body.get("display_name", "")),
                password=body.get("password") if isinstance(body.get("password"), str) else None,
                remote_addr=_remote(request))
        except ValueError as exc:
            return _bad(str(exc))
        return _ok(user.public(), 201)

    @router.post("/api/vigil/v1/users/{name}/disable", include_in_schema=False)
    async def disable_user(name: str, request: Request) -> Response:
        try:
            user = await asyncio.to_thread(service.disable_user, name,
                                           actor=_actor(request),
                                           remote_addr=_remote(request))
        except ValueError as exc:
            return _bad(str(exc), 404)
        return _ok(user.public())

    @router.get("/api/vigil/v1/users/{name}/contacts", include_in_schema=False)
    async def get_contacts(name: str) -> Response:
        user = await asyncio.to_thread(service.store.user, name)
        if user is None:
            return _bad(f"no user {name!r}", 404)
        rules = await asyncio.to_thread(service.notification_rules, name)
        return _ok({"contacts": user.public()["contacts"], **rules.public()})

    @router.put("/api/vigil/v1/users/{name}/contacts", include_in_schema=False)
    async def set_contacts(name: str, request: Request) -> Response:
        """A list replaces the contact methods; an object ``{"contacts", "notification_rules",
        "working_hours"}`` replaces those it has (the others are kept)."""
        body = await _json_value(request)
        if isinstance(body, Response):
            return body
        if isinstance(body, list):
            body = {"contacts": body}
        if not isinstance(body, dict) or set(body) - {"contacts", "notification_rules", "working_hours"}:
            return _bad("the body must be a JSON list of contact methods, or an object with "
                        "contacts, notification_rules and working_hours")
        try:
            user = await asyncio.to_thread(
                service.set_contacts, name, body.get("contacts"), actor=_actor(request),
                remote_addr=_remote(request), notification_rules=body.get("notification_rules"),
                working_hours=body.get("working_hours"))
        except ValueError as exc:
            return _bad(str(exc), 404 if str(exc).startswith("no user") else 400)
        rules = await asyncio.to_thread(service.notification_rules, name)
        return _ok({**user.public(), **rules.public()})

    @router.get("/api/vigil/v1/teams", include_in_schema=False)
    async def teams() -> Response:
        return _ok([t.public() for t in await asyncio.to_thread(service.teams)])

    @router.put("/api/vigil/v1/teams/{name}", include_in_schema=False)
    async def set_team(name: str, request: Request) -> Response:
        body = await _json(request)
        if isinstance(body, Response):
            return body
        members = body.get("members", [])
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            return _bad("members must be a list of user names")
        try:
            team = await asyncio.to_thread(service.set_team, name, members=members,
                                           display_name=str(body.get("display_name", "")),
                                           actor=_actor(request),
                                           remote_addr=_remote(request))
        except ValueError as exc:
            return _bad(str(exc))
        return _ok(team.public())

    @router.get("/api/vigil/v1/tokens", include_in_schema=False)
    async def tokens() -> Response:
        return _ok([t.public() for t in await asyncio.to_thread(service.tokens)])

    @router.post("/api/vigil/v1/tokens", include_in_schema=False)
    async def create_token(request: Request) -> Response:
        body = await _json(request)
        if isinstance(body, Response):
            return body
        try:
            expires = body.get("expires")
            expires_in = timedelta(milliseconds=parse_duration_ms(str(expires))) if expires else None
            secret = await asyncio.to_thread(
                service.create_token, str(body.get("name", "")),
                parse_role(str(body.get("role", "viewer"))), actor=_actor(request),
                user=body.get("user") or None, expires_in=expires_in, remote_addr=_remote(request))
        except ValueError as exc:
            return _bad(str(exc))
        return _ok({"name": body.get("name"), "token": secret}, 201)

    @router.delete("/api/vigil/v1/tokens/{name}", include_in_schema=False)
    async def revoke_token(name: str, request: Request) -> Response:
        try:
            await asyncio.to_thread(service.revoke_token, name, actor=_actor(request),
                                    remote_addr=_remote(request))
        except ValueError as exc:
            return _bad(str(exc), 404)
        return _ok({"name": name, "revoked": True})

    return router


def _since(text: str) -> datetime:
    try:
        return datetime.now(timezone.utc) - timedelta(milliseconds=parse_duration_ms(text))
    except ValueError:
        pass
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise ValueError(f"since: {text!r} is neither a duration (24h) nor an RFC 3339 time") from None


async def _json_value(request: Request) -> Any:
    """The request's JSON body, or a 400 answer when it is not JSON."""
    try:
        return await request.json()
    except ValueError:
        return _bad("the body is not JSON")


async def _json(request: Request) -> dict[str, Any] | Response:
    body = await _json_value(request)
    if isinstance(body, Response) or isinstance(body, dict):
        return body
    return _bad("the body must be a JSON object")
