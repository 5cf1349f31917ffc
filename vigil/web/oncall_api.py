"""The alert lifecycle over HTTP (issue 16): episodes of alert groups with their priority,
acknowledge deadline and time left, and the acknowledge / unacknowledge / resolve actions,
by episode id or by Alertmanager-style matchers on the group labels.

    GET  /api/vigil/v1/episodes[?filter=MATCHER...&state=all]   viewer
    GET  /api/vigil/v1/episodes/{id}                            viewer (with the event log and
                                                                its escalation, if any)
    POST /api/vigil/v1/episodes/{id}/{ack|unack|resolve}        responder
    POST /api/vigil/v1/episode-actions/{ack|unack|resolve}      responder, {"matchers": [...]}

Action bodies (JSON, all optional but ``classification`` for resolve): ``note``,
``classification`` (actionable | false_positive | duplicate | no_action_needed),
``procedure`` (free text or a runbook id), ``via`` ("api", the default, or "cli"). Every
action is in the database before the answer, and in the audit log through the access gate.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.model.labels import Labels
from vigil.model.matchers import Matcher, parse_matchers
from vigil.oncall.lifecycle import Lifecycle
from vigil.state.lifecycle_store import Episode, EpisodeError, EpisodeEvent
from vigil.web.audit_detail import describe_change
from vigil.web.deps import WebDeps
from vigil.web.escalation_api import escalation_status_json
from vigil.web.json_api import error, iso, json_body, store_error

__all__ = ["ACTIONS", "episode_json", "oncall_api_router", "request_actor"]

ACTIONS = ("ack", "unack", "resolve")
_VIA = ("api", "cli")


def episode_json(ep: Episode, now: datetime) -> dict[str, Any]:
    left = ep.seconds_left(now)
    return {
        "id": ep.id, "groupKey": ep.group_key, "receiver": ep.receiver,
        "groupLabels": ep.group_labels, "priority": ep.priority, "state": ep.state,
        "openedAt": iso(ep.opened_at), "acknowledgeBy": iso(ep.ack_deadline_at),
        "secondsLeft": None if left is None else round(left, 3),
        "breached": ep.breached_at is not None, "breachedAt": iso(ep.breached_at),
        "acknowledgedAt": iso(ep.acknowledged_at), "acknowledgedBy": ep.acknowledged_by,
        "resolvedAt": iso(ep.resolved_at), "resolvedBy": ep.resolved_by,
        "classification": ep.classification, "procedure": ep.procedure, "note": ep.note,
        "previousId": ep.previous_id, "runbooks": list(ep.runbooks),
    }


def _event_json(ev: EpisodeEvent) -> dict[str, Any]:
    return {"at": iso(ev.at), "kind": ev.kind, "actor": ev.actor, "via": ev.via, "detail": ev.detail}


def request_actor(request: Request) -> str:
    """Who acts: the principal the access gate found; without access control, the
    operating-system user running Vigil (as silences do)."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        return principal.actor
    return os.environ.get("USER", "") or "anonymous"


def perform(lifecycle: Lifecycle, episode_id: str, action: str, *, actor: str, via: str,
            body: dict[str, Any]) -> Episode:
    """Do ``action`` to one episode; raises EpisodeError."""
    note = str(body.get("note") or "")
    if action == "ack":
        return lifecycle.acknowledge(episode_id, actor=actor, via=via, note=note)
    if action == "unack":
        return lifecycle.unacknowledge(episode_id, actor=actor, via=via, note=note)
    return lifecycle.resolve(episode_id, actor=actor, via=via,
                             classification=str(body.get("classification") or ""),
                             procedure=str(body.get("procedure") or ""), note=note)


async def _action_body(action: str, request: Request) -> dict[str, Any] | JSONResponse:
    """The body of a request to ``action`` episodes, or the answer refusing it (an unknown
    action, a body that is not a JSON object)."""
    if action not in ACTIONS:
        return error(404, "not_found", f"no action {action!r}; actions: {', '.join(ACTIONS)}")
    return await json_body(request, _VIA)


def _matchers(texts: list[str]) -> list[Matcher]:
    out: list[Matcher] = []
    for text in texts:
        out.extend(parse_matchers(text))
    return out


def oncall_api_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()

    def unavailable() -> JSONResponse:
        return error(404, "unavailable", "this Vigil has no alert lifecycle")

    @router.get("/api/vigil/v1/episodes", include_in_schema=False)
    async def list_episodes(request: Request) -> Response:
        life = deps.oncall
        if life is None:
            return unavailable()
        try:
            matchers = _matchers(request.query_params.getlist("filter"))
        except ValueError as exc:
            return error(400, "bad_data", f"filter: {exc}")
        every = request.query_params.get("state", "unresolved") == "all"
        episodes = await asyncio.to_thread(life.store.episodes, unresolved_only=not every)
        now = await asyncio.to_thread(life.now)
        data = [episode_json(ep, now) for ep in episodes
                if all(m.matches_labels(Labels(ep.group_labels)) for m in matchers)]
        return JSONResponse({"status": "success", "data": data})

    @router.get("/api/vigil/v1/episodes/{episode_id}", include_in_schema=False)
    async def get_episode(episode_id: str) -> Response:
        life = deps.oncall
        if life is None:
            return unavailable()
        try:
            ep = await asyncio.to_thread(life.store.get, episode_id)
        except EpisodeError as exc:
            return store_error(exc)
        events = await asyncio.to_thread(life.store.events, episode_id)
        now = await asyncio.to_thread(life.now)
        data = {**episode_json(ep, now), "events": [_event_json(e) for e in events]}
        escalation = deps.escalation
        if escalation is not None:  # its policy, level paged, next step and when
            data["escalation"] = escalation_status_json(await asyncio.to_thread(escalation.status, ep))
        return JSONResponse({"status": "success", "data": data})

    @router.post("/api/vigil/v1/episodes/{episode_id}/{action}", include_in_schema=False)
    async def act_on_one(episode_id: str, action: str, request: Request) -> Response:
        life = deps.oncall
        if life is None:
            return unavailable()
        body = await _action_body(action, request)
        if isinstance(body, JSONResponse):
            return body
        actor = request_actor(request)
        try:
            ep = await asyncio.to_thread(perform, life, episode_id, action, actor=actor,
                                         via=body.get("via", "api"), body=body)
        except EpisodeError as exc:
            return store_error(exc)
        describe_change(request, f"episode.{action}", episode_id,
                        after={"state": ep.state, "note": str(body.get("note") or ""),
                               "classification": ep.classification})
        return JSONResponse({"status": "success", "data": episode_json(ep, await asyncio.to_thread(life.now))})

    @router.post("/api/vigil/v1/episode-actions/{action}", include_in_schema=False)
    async def act_on_matching(action: str, request: Request) -> Response:
        life = deps.oncall
        if life is None:
            return unavailable()
        body = await _action_body(action, request)
        if isinstance(body, JSONResponse):
            return body
        texts = body.get("matchers")
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return error(400, "bad_data", 'matchers: a non-empty list of strings such as "alertname=X"')
        try:
            matchers = _matchers(texts)
        except ValueError as exc:
            return error(400, "bad_data", f"matchers: {exc}")
        if action == "resolve" and body.get("classification") is None:
            return error(400, "invalid", "resolving needs a classification")
        actor = request_actor(request)
        selected = await asyncio.to_thread(life.select, matchers)
        done: list[Episode] = []
        skipped: list[dict[str, str]] = []
        for ep in selected:
            try:
                done.append(await asyncio.to_thread(perform, life, ep.id, action, actor=actor,
                                                    via=body.get("via", "api"), body=body))
            except EpisodeError as exc:
                if exc.kind == "invalid":
                    return error(400, exc.kind, str(exc))
                skipped.append({"id": ep.id, "reason": str(exc)})
        if done:
            describe_change(request, f"episode.{action}", ",".join(e.id for e in done),
                            after={"matchers": texts, "note": str(body.get("note") or "")})
        now = await asyncio.to_thread(life.now)
        return JSONResponse({"status": "success", "data": {
            "matched": len(selected), "episodes": [episode_json(e, now) for e in done],
            "skipped": skipped}})

    return router
