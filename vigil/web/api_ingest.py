"""Ingest endpoints: remote write (``POST /api/v1/write``) and the Pushgateway-style
``PUT/POST/DELETE /metrics/job/<job>{/<label>/<value>}``.

Status codes follow the originals: remote write answers 204, 400 for input a retry cannot
fix, 5xx otherwise; the push endpoint answers 200 (PUT/POST), 202 (DELETE) and 400 for a
body or path that does not parse. Work runs in a worker thread (decoding is CPU-bound).
"""

from __future__ import annotations

import asyncio
import base64
import binascii

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from vigil.errors import ParseError
from vigil.model.labels import is_label_name
from vigil.remote.receiver import RemoteWriteError
from vigil.web.deps import WebDeps

__all__ = ["ingest_router"]

def ingest_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()

    @router.post("/api/v1/write", include_in_schema=False)
    async def remote_write(request: Request) -> Response:
        receiver = deps.remote_write
        if receiver is None:
            return PlainTextResponse("remote write receiver needs to be enabled", status_code=404)
        body = await request.body()  # its size is bounded for the whole app (body_limit)
        try:
            await asyncio.to_thread(receiver.write, body)
        except RemoteWriteError as e:
            return PlainTextResponse(str(e) + "\n", status_code=e.status)
        return Response(status_code=204)

    @router.api_route("/metrics/job/{rest:path}", methods=["PUT", "POST", "DELETE"],
                      include_in_schema=False)
    async def push(rest: str, request: Request) -> Response:
        gateway = deps.pushgateway
        if gateway is None:
            return PlainTextResponse("push endpoint is not enabled", status_code=404)
        try:
            grouping = parse_grouping("job/" + rest)
        except ValueError as e:
            return PlainTextResponse(f"{e}\n", status_code=400)
        if request.method == "DELETE":
            await asyncio.to_thread(gateway.delete, grouping)
            return Response(status_code=202)
        body = await request.body()
        try:
            await asyncio.to_thread(gateway.push, grouping, body, request.headers.get("content-type"),
                                    replace=request.method == "PUT")
        except ParseError as e:
            return PlainTextResponse(f"failed to parse text: {e}\n", status_code=400)
        return Response(status_code=200)

    return router


def parse_grouping(path: str) -> dict[str, str]:
    """``job/<job>{/<label>/<value>}`` -> labels; ``<label>@base64/<value>`` carries a
    URL-safe base64 value (as the Pushgateway, for values with ``/``). Raises ValueError."""
    parts = path.strip("/").split("/")
    if len(parts) % 2:
        raise ValueError(f"odd number of path segments in grouping key {path!r}")
    out: dict[str, str] = {}
    for name, value in zip(parts[::2], parts[1::2], strict=True):
        if name.endswith("@base64"):
            name = name[:-7]
            try:
                value = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise ValueError(f"invalid base64 value for label {name!r}") from None
        if not is_label_name(name) or name.startswith("__"):
            raise ValueError(f"invalid label name {name!r} in grouping key")
        if name in out:
            raise ValueError(f"duplicate label {name!r} in grouping key")
        out[name] = value
    if not out.get("job"):
        raise ValueError("job name is required")
    return out
