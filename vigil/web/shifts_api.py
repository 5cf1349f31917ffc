"""Shift checklists over HTTP (issue 19, part 4). Viewers read; responders tick items, hand
over and run the checks.

    GET  /api/vigil/v1/shifts[?start=RFC3339&end=RFC3339]   history: shifts that started in
                                                           [start, end) (default: the last 7 days)
    GET  /api/vigil/v1/shifts/current                      the shift now (opened if it was not)
    GET  /api/vigil/v1/shifts/{shift_id}                   one shift
    POST /api/vigil/v1/shifts/{shift_id}/items/{key}/tick  {"note", "done": true|false}
    POST /api/vigil/v1/shifts/{shift_id}/handover          {"note"}: carries the open items on
    POST /api/vigil/v1/shifts/{shift_id}/checks            run Vigil's checks of the shift now

A shift is :meth:`vigil.shifts.service.ShiftRecord.as_dict` plus ``title``. Answers are
``{"status": "success", "data": ...}``; a refusal is ``{"status": "error", "errorType",
"error"}`` with 404 (no such shift or item) or 400 (bad input, naming the field). Each change
is described for the audit log (action, target, before and after).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.gocompat.times import parse_rfc3339
from vigil.shifts.service import ShiftRecord, ShiftService
from vigil.state.shift_store import ShiftStoreError
from vigil.web.audit_detail import describe_change
from vigil.web.deps import WebDeps
from vigil.web.json_api import error, json_object, store_error
from vigil.web.oncall_api import request_actor

__all__ = ["shift_json", "shifts_api_router"]

BASE = "/api/vigil/v1/shifts"
HISTORY_DAYS = 7


def shift_json(record: ShiftRecord, service: ShiftService) -> dict[str, Any]:
    return {**record.as_dict(), "title": service.title(record.name)}


def _item(record: ShiftRecord | None, key: str) -> dict[str, Any] | None:
    found = next((i for i in record.items if i.key == key), None) if record else None
    return found.as_dict() if found else None


def shifts_api_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()

    def unavailable() -> JSONResponse:
        return error(404, "not_found", "this Vigil keeps no shift checklists")

    def success(data: Any) -> JSONResponse:
        return JSONResponse({"status": "success", "data": data})

    async def answer(work: Callable[[ShiftService], Any]) -> Response:
        service = deps.shifts
        if service is None:
            return unavailable()
        try:
            return success(await asyncio.to_thread(work, service))
        except ShiftStoreError as exc:
            return store_error(exc, invalid_type="bad_data")

    @router.get(BASE)
    async def history(request: Request) -> Response:
        q = request.query_params
        try:
            end = parse_rfc3339(q["end"]) if q.get("end") else None
            start = parse_rfc3339(q["start"]) if q.get("start") else None
        except ValueError as exc:
            return error(400, "bad_data", f"start/end: {exc}")

        def work(service: ShiftService) -> list[dict[str, Any]]:
            until = end or service.store.db_now()
            since = start or until - timedelta(days=HISTORY_DAYS)
            if since >= until:
                raise ShiftStoreError("start must be before end", "invalid")
            return [shift_json(r, service) for r in service.history(since, until)]
        return await answer(work)

    @router.get(BASE + "/current")
    async def current() -> Response:
        return await answer(lambda service: shift_json(service.current()[0], service))

    @router.get(BASE + "/{shift_id}")
    async def one(shift_id: str) -> Response:
        def work(service: ShiftService) -> dict[str, Any]:
            record = service.get(shift_id)
            if record is None:
                raise ShiftStoreError(f"no shift {shift_id!r}")
            return shift_json(record, service)
        return await answer(work)

    @router.post(BASE + "/{shift_id}/items/{key}/tick")
    async def tick(request: Request, shift_id: str, key: str) -> Response:
        body = await _body(request)
        if isinstance(body, JSONResponse):
            return body
        done = body.get("done", True)
        if not isinstance(done, bool):
            return error(400, "bad_data", "done must be true or false")
        note = body.get("note", "")
        if not isinstance(note, str):
            return error(400, "bad_data", "note must be text")

        def work(service: ShiftService) -> dict[str, Any]:
            before = _item(service.get(shift_id), key)
            item = service.tick(shift_id, key, by=request_actor(request), note=note, done=done).as_dict()
            describe_change(request, "shift.item." + ("tick" if done else "reopen"), f"shift:{shift_id}/{key}",
                            before=before, after=item)
            return item
        return await answer(work)

    @router.post(BASE + "/{shift_id}/handover")
    async def handover(request: Request, shift_id: str) -> Response:
        body = await _body(request)
        if isinstance(body, JSONResponse):
            return body
        note = body.get("note", "")
        if not isinstance(note, str):
            return error(400, "bad_data", "note must be text")

        def work(service: ShiftService) -> dict[str, Any]:
            record = service.handover(shift_id, by=request_actor(request), note=note)
            describe_change(request, "shift.handover", f"shift:{shift_id}", after={
                "note": note, "next_shift": record.next_shift_id, "open_items": [i.key for i in record.open_items]})
            return shift_json(record, service)
        return await answer(work)

    @router.post(BASE + "/{shift_id}/checks")
    async def run_checks(request: Request, shift_id: str) -> Response:
        def work(service: ShiftService) -> dict[str, Any]:
            record = service.run_checks(shift_id)
            describe_change(request, "shift.checks", f"shift:{shift_id}", after={
                i.key: i.status for i in record.items if i.kind == "check"})
            return shift_json(record, service)
        return await answer(work)

    return router


async def _body(request: Request) -> dict[str, Any] | JSONResponse:
    if not (await request.body()).strip():
        return {}
    return await json_object(request)
