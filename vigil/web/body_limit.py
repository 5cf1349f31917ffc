"""One limit on the size of every request body the web app reads (``web.max_request_body_size``).

An ASGI middleware around the whole app, so no endpoint can forget it: a declared
``Content-Length`` above the limit is answered 413 before the app runs, and a body that
streams past the limit (chunked, or lying about its length) stops being read at the limit
and is answered 413 too. The endpoint's own answer, if it made one after the read failed,
is replaced: the client learns the real reason. (A streamed body that no endpoint reads,
as ``POST /-/reload``'s, is never pulled in, so it costs nothing and is not counted.)

Remote write's limit on the *decompressed* size of a request is a different concern and
stays with the receiver (:class:`vigil.remote.receiver.Limits`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestBodyLimit", "RequestBodyTooLarge"]


class RequestBodyTooLarge(Exception):
    """Raised from ``receive`` when the body passes the limit; ends the endpoint's read."""


class RequestBodyLimit:
    """ASGI middleware: request bodies larger than ``max_bytes`` are answered 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._reject(send, f"{declared} bytes declared")
            return

        received = 0
        exceeded = False
        response_started = False
        rejected = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise RequestBodyTooLarge(received)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started, rejected
            if exceeded and not response_started:
                # The endpoint answered after its read failed (e.g. "bad JSON"): say why.
                if not rejected:
                    rejected = True
                    await self._reject(send, "more than that sent")
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except RequestBodyTooLarge:
            if response_started:
                raise  # too late to answer 413; the server closes the connection
        if exceeded and not response_started and not rejected:
            await self._reject(send, "more than that sent")

    async def _reject(self, send: Send, detail: str) -> None:
        body = (f"request body too large: the limit is {self.max_bytes} bytes "
                f"(web.max_request_body_size); {detail}\n").encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
