"""What Vigil's own JSON APIs share (episodes, escalation, incidents, their response and review,
the status page's overrides): times as RFC 3339 in UTC with ``Z``, the error answer
``{"status": "error", "errorType", "error"}``, a store error's ``kind`` as its HTTP status, and
reading a JSON object body with its ``via``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.web.audit_detail import already_audited

__all__ = ["ERROR_STATUS", "KindedError", "error", "iso", "json_answer", "json_body", "json_object", "store_error"]

S = TypeVar("S")

# A store error's kind -> the HTTP status answering it.
ERROR_STATUS = {"not_found": 404, "conflict": 409, "invalid": 400}


class KindedError(Protocol):
    """A store's error: its ``kind`` says not_found, conflict or invalid."""

    kind: str


def iso(dt: datetime | None) -> str | None:
    """``dt`` as RFC 3339 (UTC written ``Z``); None stays None."""
    return None if dt is None else dt.isoformat().replace("+00:00", "Z")


def error(status: int, error_type: str, message: str) -> JSONResponse:
    """The error answer every Vigil JSON API gives."""
    return JSONResponse({"status": "error", "errorType": error_type, "error": message}, status_code=status)


def store_error(exc: KindedError, *, invalid_type: str = "invalid") -> JSONResponse:
    """The answer to a store's refusal: 404, 409 or 400 by its kind, with the kind as the
    errorType; ``invalid_type`` names the errorType of an "invalid" one (some APIs say
    "bad_data" there, as for any other bad field)."""
    kind = exc.kind
    return error(ERROR_STATUS.get(kind, 400), invalid_type if kind == "invalid" else kind, str(exc))


async def json_object(request: Request) -> dict[str, Any] | JSONResponse:
    """The request's body as a JSON object, or the 400 answer refusing anything else."""
    try:
        body = await request.json()
    except ValueError:
        return error(400, "bad_data", "the body must be a JSON object")
    if not isinstance(body, dict):
        return error(400, "bad_data", "the body must be a JSON object")
    return body


async def json_body(request: Request, via: tuple[str, ...]) -> dict[str, Any] | JSONResponse:
    """The body of a change: a JSON object (an empty body is ``{}``) whose ``via``, "api"
    when absent, is one of ``via``; or the 400 answer refusing it."""
    if not (await request.body()).strip():
        return {}
    body = await json_object(request)
    if isinstance(body, JSONResponse):
        return body
    said = body.get("via", "api")
    if said not in via:
        return error(400, "bad_data", f"via must be one of {', '.join(via)}, not {said!r}")
    return body


async def json_answer(service: S | None, unavailable: Callable[[], Response],
                      work: Callable[[S, dict[str, Any]], Any], *, refused: type[Exception],
                      read_body: Callable[[Request], Awaitable[dict[str, Any] | JSONResponse]],
                      change: Request | None = None, refusal: Response | None = None) -> Response:
    """One route's answer, in this order: ``unavailable()`` without the ``service``; the
    route's own ``refusal``; for a ``change``, its body by ``read_body`` (the service's store
    writes the change's one audit entry, so the access gate adds none); then
    ``{"status": "success", "data": work(service, body)}``, the work done in a worker thread,
    its ``refused`` errors answered by their kind (404/409/400, "bad_data" for invalid)."""
    if service is None:
        return unavailable()
    if refusal is not None:
        return refusal
    body: dict[str, Any] = {}
    if change is not None:
        read = await read_body(change)
        if isinstance(read, JSONResponse):
            return read
        body = read
    try:
        data = await asyncio.to_thread(work, service, body)
    except refused as exc:
        return store_error(exc, invalid_type="bad_data")  # a refused error carries its .kind
    if change is not None:
        already_audited(change)
    return JSONResponse({"status": "success", "data": data})
