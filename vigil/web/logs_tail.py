"""Loki's live tail over WebSocket: ``/loki/api/v1/tail?query=...&delay_for=&limit=&start=``.

On connecting, the client gets the last ``limit`` entries (default 100) of the query since
``start`` (default an hour ago), oldest first, then every new entry the query selects as it is
stored. Each message is ``{"streams": [{"stream": {...}, "values": [["<ns>", "<line>"]]}],
"dropped_entries": null | [{"labels": {...}, "timestamp": "<ns>"}]}``; ``dropped_entries``
names what was skipped because the client read too slowly (see :mod:`vigil.logs.live`).
``delay_for`` (0–5 s) holds new entries that long before sending them, so slower senders'
lines arrive in the same, time-ordered batch.

The access gate passes WebSocket handshakes through; this route applies the gate's checks
itself (:func:`vigil.web.access_gate.authorize_websocket`) and refuses with the gate's status
(401/403) before accepting. A bad query is refused with 400 and Loki's error text.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

from fastapi import APIRouter
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from vigil.logs.live import Subscription
from vigil.logs.logql import ParseError as LogQLParseError
from vigil.logs.logql.ast import LogSelector
from vigil.logs.logql.parser import parse_expr
from vigil.logs.logql.pipeline import Pipeline
from vigil.logs.model import LogEntry
from vigil.logs.runtime import LogsRuntime
from vigil.model.labels import Labels
from vigil.web.access_gate import AccessPolicy, authorize_websocket
from vigil.web.formatting import dumps
from vigil.web.logs_api import LokiParamError, parse_loki_time_ns
from vigil.web.results import labels_json

__all__ = ["logs_tail_router"]

_S = 1_000_000_000
MAX_DELAY_FOR_S = 5  # Loki's limit
MAX_TAIL_LIMIT = 5000
ENTRIES_PER_MESSAGE = 1000

Key = tuple[Labels, int, str]


def _params(params: dict[str, str], now_ns: int) -> tuple[LogSelector, int, int, int]:
    expr = parse_expr(params.get("query", ""))
    if not isinstance(expr, LogSelector):
        raise LokiParamError("tail requires a log query (a stream selector with an optional "
                             "pipeline), not a metric query")
    delay_text = params.get("delay_for", "") or "0"
    try:
        delay_for = int(delay_text)
    except ValueError:
        raise LokiParamError(f'cannot parse "{delay_text}" to a valid delay_for') from None
    if delay_for < 0 or delay_for > MAX_DELAY_FOR_S:
        raise LokiParamError(f"delay_for can't be greater than {MAX_DELAY_FOR_S}")
    limit_text = params.get("limit", "") or "100"
    try:
        limit = int(limit_text)
    except ValueError:
        raise LokiParamError(f'cannot parse "{limit_text}" to a valid limit') from None
    if limit <= 0 or limit > MAX_TAIL_LIMIT:
        raise LokiParamError(f"limit must be between 1 and {MAX_TAIL_LIMIT}")
    start = parse_loki_time_ns(params.get("start", ""), now_ns - 3600 * _S)
    return expr, delay_for, limit, start


def _message(rows: Sequence[Key], dropped: Sequence[tuple[Labels, int]]) -> str:
    streams: dict[Labels, list[str]] = {}
    for labels, ts, line in rows:
        streams.setdefault(labels, []).append(f'["{ts}",{dumps(line)}]')
    parts = [f'{{"stream":{labels_json(labels)},"values":[{",".join(values)}]}}'
             for labels, values in streams.items()]
    dropped_json = "null" if not dropped else "[" + ",".join(
        f'{{"labels":{labels_json(labels)},"timestamp":"{ts}"}}' for labels, ts in dropped) + "]"
    return f'{{"streams":[{",".join(parts)}],"dropped_entries":{dropped_json}}}'


def _rows(pipeline: Pipeline, entries: list[LogEntry]) -> list[Key]:
    cache: dict[tuple[object, ...], Labels] = {}
    out = []
    for entry in entries:
        row = pipeline.run(entry)
        if row is not None:
            out.append((row.result_labels(cache), row.ts_ns, row.line))
    out.sort(key=lambda r: r[1])
    return out


async def _refuse(websocket: WebSocket, status: int, message: str) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        body = dumps({"status": "error", "code": status, "message": message})
        await websocket.send_denial_response(
            Response(body, status_code=status, media_type="application/json"))
    else:  # the server cannot answer a handshake with a status: a policy violation close
        await websocket.close(code=1008, reason=message[:120])


def logs_tail_router(logs: LogsRuntime | None) -> APIRouter:
    router = APIRouter()

    @router.websocket("/loki/api/v1/tail")
    async def loki_tail(websocket: WebSocket) -> None:
        # The app's access policy (vigil.web.app puts its deps on app.state; without access
        # settings everyone is the local admin, as in the gate).
        deps = getattr(websocket.app.state, "deps", None)
        policy = getattr(deps, "access", None) or AccessPolicy()
        principal, status, message = await authorize_websocket(policy, websocket.scope)
        if status:
            await _refuse(websocket, status, message)
            return
        websocket.scope.setdefault("state", {})["principal"] = principal
        if logs is None:
            await _refuse(websocket, 404, "logs are not enabled (logs.enabled: false)")
            return
        try:
            selector, delay_for, limit, start = _params(dict(websocket.query_params),
                                                        time.time_ns())
        except (LokiParamError, LogQLParseError) as e:
            await _refuse(websocket, 400, str(e))
            return
        await websocket.accept()
        sub = logs.tail_hub.subscribe(selector.matchers)
        try:
            await _serve(websocket, logs, sub, selector, delay_for, limit, start)
        except WebSocketDisconnect:
            pass
        finally:
            logs.tail_hub.unsubscribe(sub)

    return router


async def _serve(websocket: WebSocket, logs: LogsRuntime, sub: Subscription,
                 selector: LogSelector, delay_for: int, limit: int, start: int) -> None:
    # Subscribed before reading the history, so nothing stored in between is missed; what
    # the history already holds is not sent again.
    now = time.time_ns()
    history = await asyncio.to_thread(logs.engine.select_logs, selector, start, now + 1,
                                      limit, "backward")
    sent: set[Key] = {(s.labels, ts, line) for s in history for ts, line in s.entries}
    rows = sorted(sent, key=lambda r: r[1])
    if rows:
        await websocket.send_text(_message(rows, ()))
    pipeline = Pipeline(selector.stages)
    closed = asyncio.ensure_future(_until_closed(websocket))
    try:
        while True:
            ready = asyncio.ensure_future(sub.wait())
            await asyncio.wait({ready, closed}, return_when=asyncio.FIRST_COMPLETED)
            if closed.done():
                ready.cancel()
                return
            if delay_for:
                await asyncio.sleep(delay_for)
            entries, dropped, _ = sub.take()
            rows = await asyncio.to_thread(_rows, pipeline, entries)
            if sent:
                rows = [r for r in rows if r not in sent]
                if entries and min(e.ts_ns for e in entries) > now:
                    sent = set()  # past the history's end: no more duplicates possible
            for i in range(0, max(len(rows), 1), ENTRIES_PER_MESSAGE):
                batch = rows[i:i + ENTRIES_PER_MESSAGE]
                if batch or (dropped and i == 0):
                    await websocket.send_text(_message(batch, dropped if i == 0 else ()))
    finally:
        closed.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await closed


async def _until_closed(websocket: WebSocket) -> None:
    """Returns when the client closes (a tail client sends nothing else)."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
