"""UI pages for silences (create, list, expire) and for the notification outbox (delivery
status, attempts, last error, dead letters). Both read and write through the alerting
backend (:class:`vigil.web.deps.AlertmanagerBackend`), as the Alertmanager API does."""

from __future__ import annotations

import os
from datetime import timedelta

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from vigil.alerting.silence import SilenceError, SilenceInput
from vigil.gocompat.durations import parse_duration_ms
from vigil.model.matchers import parse_matchers
from vigil.web.api_v2 import silence_json
from vigil.web.audit_detail import describe_change
from vigil.web.deps import WebDeps

__all__ = ["silences_router"]

_STATES = ("active", "pending", "expired")
_OUTBOX_STATES = ("pending", "sent", "dead", "superseded")


def _author(request: Request) -> str:
    """Who the UI acts for: the logged-in user, else (the implicit local admin) the
    operating-system user running Vigil, as before access control."""
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.kind == "user":
        return principal.name
    return os.environ.get("USER", "")


def silences_router(deps: WebDeps, render) -> APIRouter:
    """``render(template, request, **context)`` is the UI's page renderer."""
    router = APIRouter()
    backend = deps.alerting
    assert backend is not None

    def page(request: Request, *, error: str = "", form: dict[str, str] | None = None,
             status: int = 200) -> HTMLResponse:
        now = backend.silences.clock()  # silences live on the silencer's clock
        by_state: dict[str, list] = {s: [] for s in _STATES}
        for silence in backend.silences.list():
            by_state[silence.state(now)].append(silence)
        by_state["expired"].sort(key=lambda s: s.ends_at, reverse=True)
        defaults = {"matchers": request.query_params.get("matchers", ""), "duration": "2h",
                    "author": _author(request), "comment": ""}
        response = render("silences.html", request, by_state=by_state, error=error,
                          form={**defaults, **(form or {})})
        response.status_code = status
        return response

    @router.get("/silences", include_in_schema=False)
    async def silences_page(request: Request) -> HTMLResponse:
        return page(request)

    @router.post("/silences", include_in_schema=False)
    async def create_silence(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            matchers = tuple(parse_matchers(form.get("matchers", "")))
            duration_ms = parse_duration_ms(form.get("duration", "").strip())
            if duration_ms <= 0:
                raise ValueError("duration must be greater than zero")
            now = backend.silences.clock()
            silence_id = backend.silences.set(SilenceInput(
                matchers, now, now + timedelta(milliseconds=duration_ms),
                form.get("author", ""), form.get("comment", "")))
        except (ValueError, SilenceError) as exc:
            return page(request, error=str(exc), form=form, status=400)
        describe_change(request, "silence.create", f"silence:{silence_id}",
                        after=silence_json(backend.silences.get(silence_id), now))
        return RedirectResponse("/silences", status_code=303)

    @router.post("/silences/{silence_id}/expire", include_in_schema=False)
    async def expire_silence(request: Request, silence_id: str) -> Response:
        try:
            before = backend.silences.get(silence_id)
            backend.silences.expire(silence_id, author=_author(request),
                                    comment="expired from the UI")
        except SilenceError as exc:
            return page(request, error=str(exc), status=400)
        now = backend.silences.clock()
        describe_change(request, "silence.expire", f"silence:{silence_id}",
                        before=silence_json(before, now),
                        after=silence_json(backend.silences.get(silence_id), now))
        return RedirectResponse("/silences", status_code=303)

    @router.get("/notifications", include_in_schema=False)
    async def notifications_page(request: Request) -> HTMLResponse:
        status = request.query_params.get("status") or None
        if status not in (None, *_OUTBOX_STATES):
            status = None
        entries = backend.notifications(status=status, limit=200)
        dead = len(backend.notifications(status="dead", limit=1000))
        return render("notifications.html", request, entries=entries, status=status or "",
                      states=_OUTBOX_STATES, dead=dead)

    return router
