"""Alertmanager API v2 (the subset clients use: Prometheus's notifier, amtool, Grafana).

JSON shapes follow Alertmanager's OpenAPI spec (``api/v2/openapi.yaml``); errors are a JSON
string with status 400 (bad input) or 404 (unknown silence), as Alertmanager answers.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from vigil.alerting.service import AlertView
from vigil.alerting.silence import (
    Silence,
    SilenceError,
    SilenceInput,
    SilenceNotFound,
    parse_matchers_json,
)
from vigil.gocompat.times import format_rfc3339_millis, parse_rfc3339
from vigil.model.alert import Alert
from vigil.model.labels import Labels, is_label_name
from vigil.model.matchers import parse_matchers
from vigil.state import OutboxEntry
from vigil.web.audit_detail import describe_change
from vigil.web.deps import WebDeps


def _time(dt: datetime | None) -> str:
    # Alertmanager's API writes go-openapi strfmt.DateTime (three fraction digits).
    return format_rfc3339_millis(dt)


def parse_time(value: Any, field: str) -> datetime | None:
    """RFC 3339 (any fraction length); Go's zero time and absent mean None."""
    if value is None or value == "" or (isinstance(value, str) and value.startswith("0001-01-01")):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected an RFC 3339 time string")
    try:
        return parse_rfc3339(value.strip())
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not an RFC 3339 time") from None


def _error(status: int, message: str) -> Response:
    return JSONResponse(message, status_code=status)


def alert_json(view: AlertView) -> dict[str, Any]:
    a = view.alert
    return {
        "labels": a.labels.to_dict(), "annotations": a.annotations.to_dict(),
        "startsAt": _time(a.starts_at), "endsAt": _time(a.ends_at), "updatedAt": _time(a.updated_at),
        "generatorURL": a.generator_url, "fingerprint": view.fingerprint,
        "receivers": [{"name": r} for r in view.receivers],
        "status": {"state": view.state, "silencedBy": list(view.silenced_by),
                   "inhibitedBy": list(view.inhibited_by), "mutedBy": []},
    }


_OUTBOX_STATES = ("pending", "sent", "dead", "superseded")


def notification_json(e: OutboxEntry) -> dict[str, Any]:
    return {"id": e.id, "groupKey": e.group_key, "receiver": e.receiver, "integration": e.integration,
            "status": e.status, "attempts": e.attempts, "lastError": e.last_error,
            "createdAt": _time(e.created_at), "nextAttemptAt": _time(e.next_attempt_at),
            "sentAt": _time(e.sent_at) if e.sent_at else None,
            "firing": len(e.firing), "resolved": len(e.resolved)}


def silence_json(s: Silence, now: datetime) -> dict[str, Any]:
    return {"id": s.id, "status": {"state": s.state(now)}, "updatedAt": _time(s.updated_at),
            "matchers": s.matchers_json(), "startsAt": _time(s.starts_at), "endsAt": _time(s.ends_at),
            "createdBy": s.created_by, "comment": s.comment}


def _bool_param(request: Request, name: str, default: bool = True) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return default
    if value.lower() not in ("true", "false", "1", "0"):
        raise ValueError(f"{name}: expected true or false, got {value!r}")
    return value.lower() in ("true", "1")


def _filters(request: Request):
    matchers = []
    for text in request.query_params.getlist("filter"):
        matchers.extend(parse_matchers(text))
    receiver = request.query_params.get("receiver")
    regex = re.compile(f"^(?:{receiver})$") if receiver else None
    return matchers, regex


def _keep(view: AlertView, request: Request, matchers, receiver_re) -> bool:
    if not all(m.matches_labels(view.alert.labels) for m in matchers):
        return False
    if receiver_re and not any(receiver_re.match(r) for r in view.receivers):
        return False
    if view.silenced_by and not _bool_param(request, "silenced"):
        return False
    if view.inhibited_by and not _bool_param(request, "inhibited"):
        return False
    if view.state == "active" and not _bool_param(request, "active"):
        return False
    return True


def _postable_alert(item: Any, index: int) -> Alert:
    where = f"alert {index}"
    if not isinstance(item, dict):
        raise ValueError(f"{where}: must be an object")
    labels, annotations = item.get("labels"), item.get("annotations") or {}
    if not isinstance(labels, dict) or not labels:
        raise ValueError(f"{where}: labels must be a non-empty object")
    if not isinstance(annotations, dict):
        raise ValueError(f"{where}: annotations must be an object")
    for name, value in [*labels.items(), *annotations.items()]:
        if not isinstance(value, str):
            raise ValueError(f"{where}: value of {name!r} must be a string")
    for name in labels:
        if not is_label_name(name):
            raise ValueError(f"{where}: invalid label name {name!r}")
    now = datetime.now(timezone.utc)
    starts = parse_time(item.get("startsAt"), f"{where}: startsAt") or now
    ends = parse_time(item.get("endsAt"), f"{where}: endsAt")
    if ends is not None and ends < starts:
        raise ValueError(f"{where}: start time must be before end time")
    generator = item.get("generatorURL") or ""
    if not isinstance(generator, str):
        raise ValueError(f"{where}: generatorURL must be a string")
    return Alert(Labels(labels), Labels(annotations), starts, ends, generator, now)


def _postable_silence(body: Any) -> SilenceInput:
    if not isinstance(body, dict):
        raise ValueError("silence must be an object")
    matchers = body.get("matchers")
    if not isinstance(matchers, list):
        raise ValueError("matchers must be a list")
    starts = parse_time(body.get("startsAt"), "startsAt")
    ends = parse_time(body.get("endsAt"), "endsAt")
    if starts is None or ends is None:
        raise ValueError("startsAt and endsAt are required")
    for field in ("createdBy", "comment"):
        if not isinstance(body.get(field), str):
            raise ValueError(f"{field} must be a string")
    silence_id = body.get("id") or None
    if silence_id is not None and not isinstance(silence_id, str):
        raise ValueError("id must be a string")
    return SilenceInput(parse_matchers_json(matchers), starts, ends, body["createdBy"], body["comment"],
                        silence_id)


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from None


def api_v2_router(deps: WebDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v2")
    started = datetime.now(timezone.utc)
    backend = deps.alerting
    assert backend is not None

    @router.get("/alerts")
    async def get_alerts(request: Request) -> Response:
        try:
            matchers, receiver_re = _filters(request)
            views = [v for v in backend.alerts() if _keep(v, request, matchers, receiver_re)]
        except (ValueError, re.error) as exc:
            return _error(400, str(exc))
        return JSONResponse([alert_json(v) for v in views])

    @router.post("/alerts")
    async def post_alerts(request: Request) -> Response:
        try:
            body = await _json(request)
            if not isinstance(body, list):
                raise ValueError("body must be a list of alerts")
            alerts = [_postable_alert(item, i) for i, item in enumerate(body)]
        except ValueError as exc:
            return _error(400, str(exc))
        # In a thread: the write waits for its commit, and concurrent posts share one.
        await asyncio.to_thread(backend.put_alerts, alerts)
        return Response(status_code=200)

    @router.get("/alerts/groups")
    async def get_groups(request: Request) -> Response:
        try:
            matchers, receiver_re = _filters(request)
            out = []
            for group in backend.groups():
                if receiver_re and not receiver_re.match(group.receiver):
                    continue
                alerts = [alert_json(v) for v in group.alerts if _keep(v, request, matchers, None)]
                if alerts:
                    out.append({"labels": group.labels.to_dict(), "receiver": {"name": group.receiver},
                                "alerts": alerts})
        except (ValueError, re.error) as exc:
            return _error(400, str(exc))
        return JSONResponse(out)

    @router.get("/silences")
    async def get_silences(request: Request) -> Response:
        try:
            matchers, _ = _filters(request)
        except (ValueError, re.error) as exc:
            return _error(400, str(exc))
        now = datetime.now(timezone.utc)
        order = {"active": 0, "pending": 1, "expired": 2}
        # As Alertmanager: the filter is matched against the silence's matchers read as
        # labels (name -> value or pattern).
        found = [s for s in backend.silences.list()
                 if all(m.matches_labels(Labels({sm.name: sm.value for sm in s.matchers})) for m in matchers)]
        found.sort(key=lambda s: (order[s.state(now)], s.ends_at if s.state(now) != "pending" else s.starts_at))
        return JSONResponse([silence_json(s, now) for s in found])

    @router.post("/silences")
    async def post_silence(request: Request) -> Response:
        try:
            posted = _postable_silence(await _json(request))
            before = _silence_or_none(posted.id)
            silence_id = backend.silences.set(posted)
        except SilenceNotFound as exc:
            return _error(404, str(exc))
        except (SilenceError, ValueError) as exc:
            return _error(400, str(exc))
        _describe_silence(request, "silence.create" if before is None else "silence.update",
                          silence_id, before)
        return JSONResponse({"silenceID": silence_id})

    @router.get("/silence/{silence_id}")
    async def get_silence(silence_id: str) -> Response:
        try:
            silence = backend.silences.get(silence_id)
        except SilenceNotFound as exc:
            return _error(404, str(exc))
        return JSONResponse(silence_json(silence, datetime.now(timezone.utc)))

    @router.delete("/silence/{silence_id}")
    async def delete_silence(request: Request, silence_id: str) -> Response:
        try:
            before = backend.silences.get(silence_id)
            backend.silences.expire(silence_id)
        except SilenceNotFound as exc:
            return _error(404, str(exc))
        except SilenceError as exc:
            return _error(400, str(exc))
        _describe_silence(request, "silence.expire", silence_id, before)
        return Response(status_code=200)

    def _silence_or_none(silence_id: str | None) -> Silence | None:
        if silence_id is None:
            return None
        try:
            return backend.silences.get(silence_id)
        except SilenceNotFound:
            return None  # set() answers 404 for it

    def _describe_silence(request: Request, action: str, silence_id: str,
                          before: Silence | None) -> None:
        now = datetime.now(timezone.utc)
        describe_change(request, action, f"silence:{silence_id}",
                        before=None if before is None else silence_json(before, now),
                        after=silence_json(backend.silences.get(silence_id), now))

    @router.get("/notifications")
    async def get_notifications(request: Request) -> Response:
        """Vigil's extension: the outbox, newest first (``?status=dead`` for dead letters)."""
        status = request.query_params.get("status")
        if status is not None and status not in _OUTBOX_STATES:
            return _error(400, f"status must be one of {', '.join(_OUTBOX_STATES)}")
        try:
            limit = int(request.query_params.get("limit", "200"))
        except ValueError:
            return _error(400, "limit must be an integer")
        if not 0 < limit <= 10000:
            return _error(400, "limit must be between 1 and 10000")
        entries = backend.notifications(status=status, receiver=request.query_params.get("receiver"),
                                        limit=limit)
        return JSONResponse([notification_json(e) for e in entries])

    @router.get("/receivers")
    async def get_receivers() -> Response:
        return JSONResponse([{"name": r} for r in backend.receivers()])

    @router.get("/status")
    async def get_status() -> Response:
        return JSONResponse({
            "cluster": {"status": "disabled", "peers": []},
            "versionInfo": {"version": deps.version, "revision": "", "branch": "", "buildUser": "",
                            "buildDate": "", "goVersion": "python"},
            "config": {"original": deps.config_yaml()},
            "uptime": _time(started),
        })

    return router
