"""Escalation policies over HTTP (issue 16): the policies, and where each episode is.

    GET /api/vigil/v1/escalation_policies              viewer: every policy, its steps with
                                                       their level and offset, the routes using it
    GET /api/vigil/v1/escalation_policies/{name}       viewer: one policy
    GET /api/vigil/v1/episodes/{id}/escalation         viewer: the episode's policy, run, level
                                                       paged, next step and when it is due, the
                                                       steps taken (who was paged)
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse, Response

from vigil.config.escalation import EscalationPolicy
from vigil.oncall.escalation import Escalation, EscalationStatus, policies_by_route
from vigil.state.lifecycle_store import EpisodeError
from vigil.web.deps import WebDeps
from vigil.web.json_api import error, iso

__all__ = ["escalation_api_router", "escalation_line", "escalation_status_json", "policy_json"]


def policy_json(policy: EscalationPolicy, routes: list[str]) -> dict[str, Any]:
    steps, offset = [], 0.0
    for step, level in zip(policy.steps, policy.levels(), strict=True):
        value = getattr(step, step.kind)
        steps.append({"kind": step.kind, "level": level, "afterSeconds": offset,
                      "value": value.model_dump(by_alias=True) if hasattr(value, "model_dump") else value})
        offset += step.wait or 0.0
    return {"name": policy.name, "description": policy.description, "repeat": policy.repeat,
            "cycleSeconds": offset, "steps": steps, "routes": routes}


def escalation_status_json(status: EscalationStatus) -> dict[str, Any]:
    nxt = status.next_step
    return {
        "policy": status.policy, "run": status.run, "level": status.level, "stopped": status.stopped,
        "next": None if nxt is None else {"level": nxt.level, "kind": nxt.kind, "cycle": nxt.cycle,
                                          "step": nxt.index, "dueAt": iso(nxt.due_at)},
        "taken": [{"cycle": int(k.split(":")[0]), "step": int(k.split(":")[1]), **v}
                  for k, v in sorted(status.taken.items(), key=lambda kv: tuple(map(int, kv[0].split(":"))))],
    }


def escalation_line(status: EscalationStatus, now: datetime) -> str:
    """One line for the alerts page: the policy, the level paged, what comes next and when."""
    if status.policy is None:
        return ""
    text = f"{status.policy}: level {status.level}" if status.level else f"{status.policy}: nobody paged yet"
    nxt = status.next_step
    if nxt is not None:
        left = max(0, int((nxt.due_at - now).total_seconds()))
        when = f"in {left // 60}m {left % 60:02d}s" if left else "now"
        text += f"; next {nxt.kind.replace('_', ' ')} (level {nxt.level}) {when}"
    elif status.stopped:
        text += f"; {status.stopped}"
    return text


def escalation_api_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()

    def engine() -> Escalation | None:
        return deps.escalation

    def unavailable() -> JSONResponse:
        return error(404, "unavailable", "this Vigil has no escalation engine")

    def listing(esc: Escalation) -> list[dict[str, Any]]:
        config = esc.config()
        used: dict[str, list[str]] = {}
        for route_key, name in policies_by_route(config):
            if name:
                used.setdefault(name, []).append(route_key)
        return [policy_json(p, sorted(used.get(p.name, []))) for p in config.escalation_policies]

    @router.get("/api/vigil/v1/escalation_policies", include_in_schema=False)
    async def list_policies() -> Response:
        esc = engine()
        if esc is None:
            return unavailable()
        return JSONResponse({"status": "success", "data": listing(esc)})

    @router.get("/api/vigil/v1/escalation_policies/{name}", include_in_schema=False)
    async def get_policy(name: str) -> Response:
        esc = engine()
        if esc is None:
            return unavailable()
        found = [p for p in listing(esc) if p["name"] == name]
        if not found:
            return error(404, "not_found", f"no escalation policy {name!r}")
        return JSONResponse({"status": "success", "data": found[0]})

    @router.get("/api/vigil/v1/episodes/{episode_id}/escalation", include_in_schema=False)
    async def episode_escalation(episode_id: str) -> Response:
        esc = engine()
        if esc is None:
            return unavailable()
        try:
            episode = await asyncio.to_thread(esc.episodes.get, episode_id)
        except EpisodeError as exc:
            return error(404, "not_found", str(exc))
        status = await asyncio.to_thread(esc.status, episode)
        return JSONResponse({"status": "success", "data": escalation_status_json(status)})

    return router
