"""The shift checklist pages of the web UI (issue 19, part 4).

    GET  /shifts                                   the shift now (opened if it was not): its
                                                   checklist, Vigil's evidence, tick forms,
                                                   the hand-over form; the last 7 days' shifts
    GET  /shifts/{shift_id}                        one shift, the same way
    POST /shifts/{shift_id}/items/{key}/{tick|reopen}   a person's tick with a note
    POST /shifts/{shift_id}/handover               the hand-over note (carries the open items)
    POST /shifts/{shift_id}/checks                 run Vigil's checks of the shift now

Forms post with the session's CSRF token; a change that succeeds answers 303 to the shift's
page (so a reload does not repeat it); one refused shows the page again with the reason and
the status the API would give (404, 400). Each change is described for the audit log, as
the API does. Viewers see no forms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from vigil.access import Role
from vigil.shifts.service import ShiftRecord, ShiftService
from vigil.state.shift_store import ShiftStoreError
from vigil.web.access_gate import template_context
from vigil.web.audit_detail import describe_change
from vigil.web.deps import WebDeps
from vigil.web.json_api import ERROR_STATUS
from vigil.web.oncall_api import request_actor
from vigil.web.page_templates import page_environment

__all__ = ["shifts_pages_router"]

HISTORY_DAYS = 7
STATUS_LABELS = {"open": "To do", "ok": "Verified", "failed": "Failed", "error": "Not verified", "done": "Done"}


def _can_respond(request: Request) -> bool:
    principal = getattr(request.state, "principal", None)
    return principal is None or principal.may(Role.RESPONDER)


def _view(service: ShiftService, record: ShiftRecord, *, now: datetime) -> dict[str, Any]:
    """What the page shows of ``record`` and the history around it."""
    zone = service.config().zone()
    history = service.history(now - timedelta(days=HISTORY_DAYS), now + timedelta(seconds=1))
    if all(r.id != record.id for r in history):
        history.append(record)
    previous = service.store.latest_before(record.starts_at)
    received = ShiftRecord.from_row(previous) if previous is not None and previous.handover_note else None
    return {
        "shift": record, "title": service.title(record.name), "zone": zone, "received": received,
        "is_current": record.starts_at <= now < record.ends_at,
        "history": [(r, service.title(r.name)) for r in sorted(history, key=lambda r: r.starts_at, reverse=True)],
        "shift_path": quote(record.id), "status_labels": STATUS_LABELS,
    }


def _local(value: datetime | str | None, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return dt.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def shifts_pages_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()
    env = page_environment(deps.version)
    env.filters["local"] = _local
    env.filters["quote"] = lambda s: quote(str(s), safe="")

    def render(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template("shifts.html").render(path="/shifts", can_respond=_can_respond(request),
                                                     **template_context(request), **context)
        return HTMLResponse(html, status_code=status)

    def unavailable() -> HTMLResponse:
        return HTMLResponse("This Vigil keeps no shift checklists.", status_code=404)

    async def page(request: Request, shift_id: str | None, *, error: str = "", status: int = 200) -> HTMLResponse:
        service = deps.shifts
        assert service is not None

        def build() -> dict[str, Any] | None:
            now = service.store.db_now()
            record = service.current(now)[0] if shift_id is None else service.get(shift_id)
            return None if record is None else _view(service, record, now=now)
        view = await asyncio.to_thread(build)
        if view is None:
            return HTMLResponse(f"No shift {shift_id!r}.", status_code=404)
        return render(request, status, error=error, **view)

    @router.get("/shifts", include_in_schema=False)
    async def current_page(request: Request) -> HTMLResponse:
        if deps.shifts is None:
            return unavailable()
        return await page(request, None)

    @router.get("/shifts/{shift_id}", include_in_schema=False)
    async def shift_page(request: Request, shift_id: str) -> HTMLResponse:
        if deps.shifts is None:
            return unavailable()
        return await page(request, shift_id)

    async def change(request: Request, shift_id: str, anchor: str,
                     work: Callable[[ShiftService, dict[str, str], str], None]) -> Response:
        service = deps.shifts
        if service is None:
            return unavailable()
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            await asyncio.to_thread(work, service, form, request_actor(request))
        except ShiftStoreError as exc:
            return await page(request, shift_id, error=str(exc), status=ERROR_STATUS[exc.kind])
        return RedirectResponse(f"/shifts/{quote(shift_id)}#{anchor}", status_code=303)

    @router.post("/shifts/{shift_id}/items/{key}/{action}", include_in_schema=False)
    async def tick(request: Request, shift_id: str, key: str, action: str) -> Response:
        if action not in ("tick", "reopen"):
            return HTMLResponse("No such action.", status_code=404)

        def work(service: ShiftService, form: dict[str, str], actor: str) -> None:
            record = service.get(shift_id)
            before = next((i.as_dict() for i in record.items if i.key == key), None) if record else None
            item = service.tick(shift_id, key, by=actor, note=form.get("note", ""), done=action == "tick")
            describe_change(request, f"shift.item.{action}", f"shift:{shift_id}/{key}", before=before,
                            after=item.as_dict())
        return await change(request, shift_id, "item-" + key, work)

    @router.post("/shifts/{shift_id}/handover", include_in_schema=False)
    async def handover(request: Request, shift_id: str) -> Response:
        def work(service: ShiftService, form: dict[str, str], actor: str) -> None:
            note = form.get("note", "")
            record = service.handover(shift_id, by=actor, note=note)
            describe_change(request, "shift.handover", f"shift:{shift_id}", after={
                "note": note, "next_shift": record.next_shift_id, "open_items": [i.key for i in record.open_items]})
        return await change(request, shift_id, "handover", work)

    @router.post("/shifts/{shift_id}/checks", include_in_schema=False)
    async def checks(request: Request, shift_id: str) -> Response:
        def work(service: ShiftService, _form: dict[str, str], _actor: str) -> None:
            record = service.run_checks(shift_id)
            describe_change(request, "shift.checks", f"shift:{shift_id}", after={
                i.key: i.status for i in record.items if i.kind == "check"})
        return await change(request, shift_id, "checklist", work)

    return router
