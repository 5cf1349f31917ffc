"""The gate of Prometheus's web configuration file, as ASGI middleware: the file's extra
response headers on every response and, when it lists ``basic_auth_users``, HTTP basic
authentication on every request (``401`` with ``WWW-Authenticate: Basic`` otherwise), as
Prometheus and Alertmanager do. A user of the file has full access.

It knows the file only through :class:`WebConfigView` (implemented by
``vigil.access.webconfig.WebConfig``); ``source`` returns the one in force at each request,
so changes to the file apply without a restart. It sits outside Vigil's own authentication
and can later be folded into it: a request it let in with a user of the file carries that
user's name in ``scope[WEBCONFIG_USER]``, and Vigil's own gate gives it full access.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["WEBCONFIG_USER", "WebConfigGate", "WebConfigView", "basic_credentials"]

# The ASGI scope key naming the web config file's user a request authenticated as.
WEBCONFIG_USER = "vigil.webconfig_user"


class WebConfigView(Protocol):
    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def requires_basic_auth(self) -> bool: ...

    def basic_user_cached(self, name: str, password: str) -> bool: ...

    def verify_basic_user(self, name: str, password: str) -> bool: ...


def basic_credentials(authorization: bytes | None) -> tuple[str, str] | None:
    """User and password of an ``Authorization: Basic ...`` header value, or None. Bytes
    that are not UTF-8 are kept exactly (surrogateescape)."""
    if not authorization or authorization[:6].lower() != b"basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    return user.decode("utf-8", "surrogateescape"), password.decode("utf-8", "surrogateescape")


class WebConfigGate:
    """ASGI middleware: ``source()`` gives the web configuration in force."""

    def __init__(self, app: ASGIApp, source: Callable[[], WebConfigView]) -> None:
        self.app = app
        self.source = source

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        config = self.source()
        extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in config.headers.items()]
        user = await self._authenticated(config, scope) if config.requires_basic_auth else None
        if user is not None:
            scope = {**scope, WEBCONFIG_USER: user}
        elif config.requires_basic_auth:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            body = b"Unauthorized\n"
            await send({"type": "http.response.start", "status": 401, "headers": [
                *extra, (b"www-authenticate", b"Basic"),
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        if not extra:
            await self.app(scope, receive, send)
            return
        names = {name for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The file's headers are the operator's explicit choice: they replace the
                # app's own value of the same header.
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _authenticated(config: WebConfigView, scope: Scope) -> str | None:
        """The user of the file the request's basic auth names, if its password matches."""
        header = next((v for k, v in scope.get("headers", []) if k == b"authorization"), None)
        credentials = basic_credentials(header)
        if credentials is None:
            return None
        # bcrypt takes tens of milliseconds by design: off the event loop on a cache miss.
        if config.basic_user_cached(*credentials) or await asyncio.to_thread(
                config.verify_basic_user, *credentials):
            return credentials[0]
        return None
