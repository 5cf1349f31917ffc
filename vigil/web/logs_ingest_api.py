"""Log ingest over HTTP, each endpoint answering the way its protocol's shippers expect:

- ``POST /loki/api/v1/push`` (JSON, optionally gzip; or protobuf + snappy): 204; bad lines
  → 400 with one line of text per error (the good lines are stored), as Loki.
- ``POST|PUT /_bulk`` and ``/{index}/_bulk`` (Elasticsearch): 200 with the bulk response,
  an item per action with its status (201, 400 for a bad document, 429 when storing failed);
  an unreadable body → 400 with Elasticsearch's error object.
- ``POST /api/vigil/v1/logs/jsonl`` (one JSON object a line; query parameters are stream
  labels): ``{"accepted", "rejected", "errors": [{line, offset, field, message}]}``, 200,
  or 400 when some lines were rejected (the others are stored).
- ``POST /v1/logs`` (OTLP/HTTP, protobuf or JSON): 200 with an ``ExportLogsServiceResponse``
  in the request's encoding, ``partial_success`` counting rejected records; an unreadable
  body → 400 with a ``google.rpc.Status``.

Bodies are decoded by :mod:`vigil.logs.ingest` in a worker thread; storage failures are 5xx
(429 per item for ``_bulk``), which shippers retry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import msgspec
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from vigil.errors import StorageError
from vigil.logs.ingest import (
    Decoded,
    IngestError,
    LineError,
    bulk_response,
    decode_bulk,
    decode_json_lines,
    decode_loki_push,
    decode_otlp_logs,
    decompress_body,
)
from vigil.logs.runtime import LogsRuntime
from vigil.model.labels import Labels, is_label_name

__all__ = ["MAX_REPORTED_ERRORS", "logs_ingest_router"]

MAX_REPORTED_ERRORS = 100  # per response; the rest are counted


def _error_lines(errors: Sequence[LineError]) -> str:
    text = "\n".join(str(e) for e in errors[:MAX_REPORTED_ERRORS])
    if len(errors) > MAX_REPORTED_ERRORS:
        text += f"\n... and {len(errors) - MAX_REPORTED_ERRORS} more errors"
    return text + "\n"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _otlp_partial_success(rejected: int, message: str) -> bytes:
    """ExportLogsServiceResponse{partial_success(1): {rejected_log_records(1), error_message(2)}}
    in protobuf; empty when nothing was rejected."""
    if not rejected:
        return b""
    text = message.encode()
    inner = b"\x08" + _varint(rejected) + b"\x12" + _varint(len(text)) + text
    return b"\x0a" + _varint(len(inner)) + inner


def _otlp_status(code: int, message: str) -> bytes:
    """google.rpc.Status{code(1), message(2)} in protobuf."""
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def logs_ingest_router(logs: LogsRuntime | None) -> APIRouter:
    router = APIRouter()

    def disabled() -> Response:
        return PlainTextResponse("logs are not enabled (logs.enabled: false)\n", status_code=404)

    def store(source: str, decoded: Decoded) -> None:
        assert logs is not None
        if decoded.entries:
            logs.append(source, decoded.entries)

    @router.post("/loki/api/v1/push", include_in_schema=False)
    async def loki_push(request: Request) -> Response:
        if logs is None:
            return disabled()
        body = await request.body()
        content_type = request.headers.get("content-type", "application/x-protobuf")
        encoding = request.headers.get("content-encoding", "")

        def work() -> Decoded:
            decoded = decode_loki_push(body, content_type=content_type,
                                       content_encoding=encoding)
            store("loki", decoded)
            return decoded

        try:
            decoded = await asyncio.to_thread(work)
        except IngestError as e:
            return PlainTextResponse(f"{e}\n", status_code=400)
        except StorageError as e:
            return PlainTextResponse(f"{e}\n", status_code=500)
        if decoded.errors:
            return PlainTextResponse(_error_lines(decoded.errors), status_code=400)
        return Response(status_code=204)

    async def bulk(request: Request, index: str) -> Response:
        if logs is None:
            return disabled()
        body = await request.body()
        encoding = request.headers.get("content-encoding", "")
        started = time.perf_counter()

        def work() -> dict[str, Any]:
            decoded = decode_bulk(decompress_body(body, encoding), default_index=index)
            try:
                store("elasticsearch", decoded)
            except StorageError as e:
                return bulk_response(decoded, took_ms=_took(started), storage_error=str(e))
            return bulk_response(decoded, took_ms=_took(started))

        try:
            # msgspec: the answer has an item per action, json.dumps took as long as decoding.
            return Response(msgspec.json.encode(await asyncio.to_thread(work)),
                            media_type="application/json")
        except IngestError as e:
            return JSONResponse({"error": {"type": "parse_exception", "reason": str(e)},
                                 "status": 400}, status_code=400)

    @router.api_route("/_bulk", methods=["POST", "PUT"], include_in_schema=False)
    async def bulk_any(request: Request) -> Response:
        return await bulk(request, "")

    @router.api_route("/{index}/_bulk", methods=["POST", "PUT"], include_in_schema=False)
    async def bulk_index(index: str, request: Request) -> Response:
        return await bulk(request, index)

    @router.post("/api/vigil/v1/logs/jsonl", include_in_schema=False)
    async def json_lines(request: Request) -> Response:
        if logs is None:
            return disabled()
        params = dict(request.query_params)
        for name in params:
            if not is_label_name(name) or name.startswith("__"):
                return JSONResponse({"error": f"query parameter {name!r} is not a valid label "
                                              "name"}, status_code=400)
        body = await request.body()
        encoding = request.headers.get("content-encoding", "")

        def work() -> Decoded:
            decoded = decode_json_lines(decompress_body(body, encoding), labels=Labels(params))
            store("jsonl", decoded)
            return decoded

        try:
            decoded = await asyncio.to_thread(work)
        except IngestError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        except StorageError as e:
            return JSONResponse({"error": str(e)}, status_code=500)
        errors = [{"line": e.line, "offset": e.offset, "field": e.where, "message": e.message}
                  for e in decoded.errors[:MAX_REPORTED_ERRORS]]
        return JSONResponse({"accepted": len(decoded.entries), "rejected": len(decoded.errors),
                             "errors": errors}, status_code=400 if decoded.errors else 200)

    @router.post("/v1/logs", include_in_schema=False)
    async def otlp_logs(request: Request) -> Response:
        if logs is None:
            return disabled()
        body = await request.body()
        content_type = request.headers.get("content-type", "application/x-protobuf")
        as_json = content_type.split(";")[0].strip().lower() == "application/json"
        media = "application/json" if as_json else "application/x-protobuf"
        encoding = request.headers.get("content-encoding", "")

        def work() -> Decoded:
            decoded = decode_otlp_logs(decompress_body(body, encoding), content_type=content_type)
            store("otlp", decoded)
            return decoded

        try:
            decoded = await asyncio.to_thread(work)
        except (IngestError, StorageError) as e:
            status, code = (400, 3) if isinstance(e, IngestError) else (503, 14)
            if as_json:
                return JSONResponse({"code": code, "message": str(e)}, status_code=status)
            return Response(_otlp_status(code, str(e)), status_code=status, media_type=media)
        rejected, message = len(decoded.errors), _error_lines(decoded.errors).strip()
        if as_json:
            answer: dict[str, Any] = {}
            if rejected:
                answer["partialSuccess"] = {"rejectedLogRecords": str(rejected),
                                            "errorMessage": message}
            return JSONResponse(answer)
        return Response(_otlp_partial_success(rejected, message), media_type=media)

    return router


def _took(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
