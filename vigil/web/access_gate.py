"""The access gate: ASGI middleware in front of every route (docs/security.md).

For each HTTP request it
1. adds the security headers to the response, whatever answers it;
2. finds out who is asking: ``Authorization: Bearer <token>``, HTTP basic auth against
   Vigil's users, or the session cookie; a request that the web config file's gate
   (:mod:`vigil.web.webconfig_auth`) let in with one of its users acts as an admin; with nobody configured and open access allowed (a loopback address, or
   ``access.allow_unauthenticated``), an anonymous request acts as the implicit local admin;
3. checks the route's class (:mod:`vigil.web.access_routes`): 401 without (valid)
   credentials (a UI page redirects to the login form), 403 with too small a role;
4. for unsafe requests riding on ambient credentials (the cookie, or the implicit admin),
   refuses other origins, and with a session requires its CSRF token (the
   ``X-CSRF-Token`` header or the ``_csrf`` form field);
5. writes an audit entry for every successful change (ingest calls excepted).

The principal is left in ``request.state.principal`` for the routes and templates.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigil.access import AccessService, AuthenticationError, LoginThrottled, Principal, Role
from vigil.access.oidc import OIDCLogin
from vigil.web.access_routes import classify
from vigil.web.audit_detail import AUDIT_DETAIL
from vigil.web.webconfig_auth import WEBCONFIG_USER, basic_credentials

__all__ = ["LOCAL_ADMIN", "SECURITY_HEADERS", "SESSION_COOKIE", "AccessGate", "AccessPolicy",
           "authorize_websocket", "template_context"]

SESSION_COOKIE = "vigil_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "_csrf"

# No inline scripts or styles anywhere (the templates load /static/*); nothing may frame
# Vigil; forms post only to Vigil.
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]

LOCAL_ADMIN = Principal("local-admin", Role.ADMIN, "local")


@dataclass
class AccessPolicy:
    """How the gate decides. ``service`` None: no access database (tests of other
    stages), everyone is the local admin. ``open_when_unconfigured``: with no enabled user,
    anonymous requests act as the local admin (a loopback address, or
    ``access.allow_unauthenticated``). ``oidc``: the single sign-on provider, if any."""

    service: AccessService | None = None
    open_when_unconfigured: bool = True
    oidc: OIDCLogin | None = None  # single sign-on, when access.oidc is configured
    # Told of every refused request (HTTP status, reason: see :func:`denial_reason`), so the
    # security dashboard can chart access denials (vigil_http_access_denied_total).
    on_denied: Callable[[int, str], None] | None = None

    def anonymous(self) -> Principal | None:
        if self.service is None:
            return LOCAL_ADMIN
        if self.open_when_unconfigured and self.oidc is None \
                and not self.service.authentication_configured():
            return LOCAL_ADMIN
        return None


class _Denied(Exception):
    def __init__(self, status: int, message: str, *, basic: bool = False,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.basic, self.retry_after = status, basic, retry_after


DENIAL_REASONS = ("unauthenticated", "forbidden", "csrf", "cross_origin", "throttled")


def denial_reason(status: int, message: str) -> str:
    """One of :data:`DENIAL_REASONS` for a refusal of the gate."""
    if status == 429:
        return "throttled"
    if status == 401:
        return "unauthenticated"
    if "CSRF" in message:
        return "csrf"
    if "cross-" in message:
        return "cross_origin"
    return "forbidden"


class AccessGate:
    def __init__(self, app: ASGIApp, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send, scope)
        method, path = scope["method"], scope["path"]
        need = classify(path, method)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        remote = (scope.get("client") or ("", 0))[0] or ""
        try:
            webconfig_user = scope.get(WEBCONFIG_USER)
            try:
                principal = Principal(webconfig_user, Role.ADMIN, "webconfig") if webconfig_user \
                    else await self._authenticate(headers, remote)
            except _Denied:
                if need.role is not None:
                    raise
                principal = None  # public routes (health, login form) ignore bad credentials
            if need.role is not None:
                if principal is None:
                    if method in ("GET", "HEAD") and _wants_html(headers, path):
                        await _redirect(send, "/login?next=" + quote(_target(scope), safe="/"))
                        return
                    raise _Denied(401, "authentication required", basic=True)
                if principal.role < need.role:
                    raise _Denied(403, f"forbidden: this needs the {need.role.label} role")
            unsafe = method not in ("GET", "HEAD", "OPTIONS")
            ambient = principal is not None and (principal.csrf_token is not None
                                                 or principal.kind == "local")
            if unsafe and (ambient or need.role is None) and not need.ingest:
                _check_origin(headers)
            if unsafe and principal is not None and principal.csrf_token is not None \
                    and path != "/login":
                receive = await _check_csrf(headers, receive, principal.csrf_token)
        except _Denied as denied:
            if self.policy.on_denied is not None:
                self.policy.on_denied(denied.status, denial_reason(denied.status, str(denied)))
            await _deny(send, denied, html=_wants_html(headers, path))
            return
        scope.setdefault("state", {})["principal"] = principal
        if not (need.audited and principal is not None and self.policy.service is not None):
            await self.app(scope, receive, send)
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if 0 < status < 400:
            detail = scope["state"].get(AUDIT_DETAIL)
            if detail is False:
                return  # the service that made the change audited it
            if detail is None:
                detail = {"action": f"http.{method.lower()}", "target": path,
                          "after": {"status": status}}
            await asyncio.to_thread(self.policy.service.audit, actor=principal.actor,
                                    remote_addr=remote, **detail)

    async def _authenticate(self, headers: dict[str, str], remote: str) -> Principal | None:
        # Nobody configured and open access allowed: everyone is the local admin and
        # credentials are not looked at, as before access control existed.
        anonymous = self.policy.anonymous()
        if anonymous is not None:
            return anonymous
        service = self.policy.service
        authorization = headers.get("authorization", "")
        if authorization:
            return await self._from_authorization(authorization, remote)
        cookie = _cookie(headers.get("cookie", ""), SESSION_COOKIE)
        if cookie and service is not None:
            return await self._lookup(service.session, cookie)
        return None

    async def _lookup(self, check: Callable[[str], Any], secret: str) -> Any:
        """A token or session check: one indexed read. On SQLite (a local file in WAL mode,
        where readers do not wait) it runs inline, which halves its cost; on a networked
        database it goes to a worker thread, not to stall the event loop."""
        service = self.policy.service
        if service is not None and service.store.engine.dialect.name == "sqlite":
            return check(secret)
        return await asyncio.to_thread(check, secret)

    async def _from_authorization(self, authorization: str, remote: str) -> Principal:
        service = self.policy.service
        scheme, _, value = authorization.partition(" ")
        try:
            if scheme.lower() == "bearer" and service is not None:
                return await self._lookup(service.authenticate_token, value.strip())
            if scheme.lower() == "basic":
                creds = basic_credentials(authorization.encode("latin-1", "replace"))
                if creds is None:
                    raise AuthenticationError()
                name, password = creds
                if service is None:
                    raise AuthenticationError()
                remembered = await self._lookup(lambda n: service.remembered_basic(n, password), name)
                if remembered is not None:
                    return remembered
                return await asyncio.to_thread(service.check_password, name, password,
                                               remote_addr=remote, via="basic")
        except LoginThrottled as exc:
            raise _Denied(429, str(exc), retry_after=exc.retry_after_s) from None
        except AuthenticationError as exc:
            raise _Denied(401, str(exc), basic=scheme.lower() == "basic") from None
        raise _Denied(401, "unsupported authorization scheme")


async def authorize_websocket(policy: AccessPolicy, scope: Scope) -> tuple[Principal | None, int, str]:
    """The gate's checks for a WebSocket handshake, which the gate passes through (a route
    serving one calls this before accepting): who is asking, the role of the path as a GET,
    and, for ambient credentials (cookie, implicit admin), the Origin, so that a page of
    another site cannot read through the browser. ``(principal, 0, "")`` when allowed, else
    ``(None, status, message)`` (401, 403 or 429)."""
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    remote = (scope.get("client") or ("", 0))[0] or ""
    need = classify(scope["path"], "GET")
    try:
        webconfig_user = scope.get(WEBCONFIG_USER)
        principal = Principal(webconfig_user, Role.ADMIN, "webconfig") if webconfig_user \
            else await AccessGate(_no_app, policy)._authenticate(headers, remote)
        if need.role is not None:
            if principal is None:
                raise _Denied(401, "authentication required")
            if principal.role < need.role:
                raise _Denied(403, f"forbidden: this needs the {need.role.label} role")
        if principal is not None and (principal.csrf_token is not None or principal.kind == "local"):
            _check_origin(headers)
    except _Denied as denied:
        if policy.on_denied is not None:
            policy.on_denied(denied.status, denial_reason(denied.status, str(denied)))
        return None, denied.status, str(denied)
    return principal, 0, ""


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("authorize_websocket's gate only authenticates")


def _with_headers(send: Send, scope: Scope) -> Send:
    tls = scope.get("scheme") == "https"

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
            if tls:
                extra.append((b"strict-transport-security", b"max-age=31536000"))
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped


def _cookie(header: str, name: str) -> str | None:
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header: treat as none  # noqa: BLE001
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def _wants_html(headers: dict[str, str], path: str) -> bool:
    return not path.startswith(("/api/", "/-/", "/metrics")) and \
        "text/html" in headers.get("accept", "")


def _target(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    return scope["path"] + (f"?{query}" if query else "")


def _check_origin(headers: dict[str, str]) -> None:
    """Cross-site writes riding on a cookie (or on the implicit admin) are refused: the
    browser says where the request comes from in Origin / Sec-Fetch-Site."""
    if headers.get("sec-fetch-site") == "cross-site":
        raise _Denied(403, "cross-site request refused")
    origin = headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != headers.get("host", ""):
        raise _Denied(403, "cross-origin request refused")
    if origin == "null":
        raise _Denied(403, "cross-origin request refused")


async def _check_csrf(headers: dict[str, str], receive: Receive, expected: str) -> Receive:
    """The session's CSRF token must come back (header or form field); returns a receive
    that replays the body read to find the field."""
    from vigil.access.credentials import same

    sent = headers.get(CSRF_HEADER)
    if sent is not None:
        if not same(sent, expected):
            raise _Denied(403, "invalid CSRF token")
        return receive
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise _Denied(403, "missing CSRF token")
    chunks: list[bytes] = []
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    values = parse_qs(b"".join(chunks).decode("utf-8", "replace")).get(CSRF_FIELD, [])
    if len(values) != 1 or not same(values[0], expected):
        raise _Denied(403, "missing or invalid CSRF token")
    replay = list(messages)

    async def replaying() -> Message:
        return replay.pop(0) if replay else await receive()

    return replaying


async def _redirect(send: Send, location: str) -> None:
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode("latin-1")),
                            (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def _deny(send: Send, denied: _Denied, *, html: bool) -> None:
    if html:
        body = f"<!doctype html><title>{denied.status}</title><p>{denied}</p>\n".encode()
        ctype = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"status": "error", "errorType": "unauthorized" if denied.status == 401
                           else "forbidden", "error": str(denied)}).encode()
        ctype = b"application/json"
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
    if denied.status == 401 and denied.basic:
        headers.append((b"www-authenticate", b'Basic realm="Vigil", charset="UTF-8"'))
    if denied.retry_after is not None:
        headers.append((b"retry-after", str(denied.retry_after).encode()))
    await send({"type": "http.response.start", "status": denied.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def template_context(request: object) -> dict[str, object]:
    """What every page needs to know about the caller: ``principal`` (None when nobody is
    logged in) and ``csrf_token`` (for the hidden ``_csrf`` field of every form; empty when
    the request did not come with a session)."""
    state = getattr(request, "state", None)
    principal = getattr(state, "principal", None) if state is not None else None
    return {"principal": principal,
            "csrf_token": principal.csrf_token or "" if principal is not None else ""}
