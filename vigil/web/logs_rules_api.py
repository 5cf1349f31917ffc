"""Loki's ruler API, read paths: how Grafana lists log rules and their alerts.

- ``GET /loki/api/v1/rules`` (and ``/api/prom/rules``): YAML mapping each namespace to its
  rule groups, as Loki's ruler answers. A namespace is the rule file the groups came from
  (``logs.rule_files`` and the shipped security rules); 404 ``no rule groups found`` when there
  are none.
- ``GET /prometheus/api/v1/rules``: Prometheus's rules JSON (the shape of Vigil's own
  ``/api/v1/rules``) for the LogQL groups only, filtered by ``type``, ``rule_name``,
  ``rule_group`` and ``file`` (with or without ``[]``), groups ordered by file as Loki does.
- ``GET /prometheus/api/v1/alerts``: the alerts the LogQL rules hold.

Read-only: log rules come from files; creating or deleting groups through the API is not
offered (those methods answer 405).
"""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from vigil.gocompat.durations import format_duration_ms
from vigil.logs.rules import LOGQL
from vigil.rules.status import GroupStatus, RuleStatus
from vigil.web.deps import WebDeps
from vigil.web.formatting import dumps
from vigil.web.results import alert_json, group_json

__all__ = ["logs_rules_router"]

def _duration(seconds: float) -> str:
    return format_duration_ms(round(seconds * 1000))


def _rule_yaml(r: RuleStatus) -> dict[str, Any]:
    """A rule as Loki's ruler writes it: only the fields that are set."""
    out: dict[str, Any] = {"alert" if r.type == "alerting" else "record": r.name, "expr": r.query}
    if r.type == "alerting":
        if r.duration_s:
            out["for"] = _duration(r.duration_s)
        if r.keep_firing_for_s:
            out["keep_firing_for"] = _duration(r.keep_firing_for_s)
    if len(r.labels):
        out["labels"] = dict(r.labels)
    if len(r.annotations):
        out["annotations"] = dict(r.annotations)
    return out


def _group_yaml(g: GroupStatus) -> dict[str, Any]:
    return {"name": g.name, "interval": _duration(g.interval_s),
            "rules": [_rule_yaml(r) for r in g.rules]}


def _bad_data(message: str) -> Response:
    return Response(dumps({"status": "error", "data": None, "errorType": "bad_data",
                           "error": message}), status_code=400, media_type="application/json")


def _success(data: Any) -> Response:
    return Response(dumps({"status": "success", "data": data}), media_type="application/json")


def _params(request: Request, name: str) -> set[str]:
    q = request.query_params
    return set(q.getlist(name)) | set(q.getlist(name + "[]"))


def logs_rules_router(deps: WebDeps) -> APIRouter:
    router = APIRouter()

    def log_groups() -> list[GroupStatus]:
        return [g for g in deps.rules.groups() if g.language == LOGQL]

    async def list_rule_groups() -> Response:
        namespaces: dict[str, list[dict[str, Any]]] = {}
        for g in log_groups():
            namespaces.setdefault(g.file, []).append(_group_yaml(g))
        if not namespaces:
            return PlainTextResponse("no rule groups found\n", status_code=404)
        body = yaml.safe_dump(namespaces, sort_keys=False, allow_unicode=True)
        return Response(body, media_type="application/yaml")

    for path in ("/loki/api/v1/rules", "/api/prom/rules"):
        router.add_api_route(path, list_rule_groups, methods=["GET"], include_in_schema=False)

    @router.get("/prometheus/api/v1/rules", include_in_schema=False)
    async def prometheus_rules(request: Request) -> Response:
        typ = request.query_params.get("type", "").lower()
        wanted = {"": ("alerting", "recording"), "alert": ("alerting",),
                  "record": ("recording",)}.get(typ)
        if wanted is None:
            return _bad_data(f'not supported value "{typ}"')
        names, groups, files = (_params(request, p) for p in ("rule_name", "rule_group", "file"))
        out = []
        for g in sorted(log_groups(), key=lambda g: g.file):
            if (groups and g.name not in groups) or (files and g.file not in files):
                continue
            chosen = [r for r in g.rules if r.type in wanted and (not names or r.name in names)]
            if chosen:
                out.append(group_json(g, chosen, True))
        return _success({"groups": out})

    @router.get("/prometheus/api/v1/alerts", include_in_schema=False)
    async def prometheus_alerts() -> Response:
        return _success({"alerts": [alert_json(a) for g in log_groups() for r in g.rules
                                    if r.type == "alerting" for a in r.alerts]})

    return router
