"""Every route of the web app, classified: who may call it (docs/security.md).

The table is the authority; the access gate (:mod:`vigil.web.access_gate`) looks each
request up in it, and ``tests/web/test_access_routes.py`` fails when a route of the app is
missing from it or a mutating route is open to anonymous users or viewers.

Classes: ``PUBLIC`` (no authentication: health, static files, the login form, CORS
preflight), then the roles. ``INGEST`` routes need the responder role like acknowledging
does, so that a sender (Prometheus remote write or alerting, a push) gets a token that can
write data but cannot edit rules or manage people; their calls are not audited one by one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.routing import Mount, WebSocketRoute, compile_path

from vigil.access import Role

__all__ = ["INGEST", "PUBLIC", "READ_ONLY_UNSAFE", "ROUTES", "Requirement", "classify",
           "iter_routes"]

PUBLIC = "public"
INGEST = "ingest"
V, R, E, A = Role.VIEWER, Role.RESPONDER, Role.EDITOR, Role.ADMIN

# path template -> {method: PUBLIC | INGEST | Role}. HEAD follows GET.
ROUTES: dict[str, dict[str, Any]] = {
    # Prometheus HTTP API: reads (POST is the same read for long queries).
    "/api/v1/{path:path}": {"OPTIONS": PUBLIC},
    "/api/v1/query": {"GET": V, "POST": V},
    "/api/v1/query_range": {"GET": V, "POST": V},
    "/api/v1/series": {"GET": V, "POST": V},
    "/api/v1/labels": {"GET": V, "POST": V},
    "/api/v1/label/{name}/values": {"GET": V},
    "/api/v1/targets": {"GET": V},
    "/api/v1/rules": {"GET": V},
    "/api/v1/alerts": {"GET": V},
    "/api/v1/status/buildinfo": {"GET": V},
    "/api/v1/status/config": {"GET": V},  # secrets are redacted
    "/api/v1/status/runtimeinfo": {"GET": V},
    "/api/v1/status/flags": {"GET": V},
    "/api/v1/status/tsdb": {"GET": V},
    "/api/v1/format_query": {"GET": V, "POST": V},
    "/api/v1/metadata": {"GET": V},
    "/api/v1/query_exemplars": {"GET": V, "POST": V},
    # Ingest.
    "/api/v1/write": {"POST": INGEST},
    "/metrics/job/{rest:path}": {"PUT": INGEST, "POST": INGEST, "DELETE": INGEST},
    # Logs (vigil.web.logs_ingest_api, vigil.web.logs_api): shippers send with an ingest
    # token; Loki's query API is read by viewers (POST is the same read as a form).
    "/loki/api/v1/push": {"POST": INGEST},
    "/_bulk": {"POST": INGEST, "PUT": INGEST},
    "/{index}/_bulk": {"POST": INGEST, "PUT": INGEST},
    "/api/vigil/v1/logs/jsonl": {"POST": INGEST},
    "/v1/logs": {"POST": INGEST},
    "/loki/api/v1/query": {"GET": V, "POST": V},
    "/loki/api/v1/query_range": {"GET": V, "POST": V},
    "/loki/api/v1/labels": {"GET": V, "POST": V},
    "/loki/api/v1/label/{name}/values": {"GET": V},
    "/loki/api/v1/series": {"GET": V, "POST": V},
    "/loki/api/v1/index/stats": {"GET": V, "POST": V},
    "/loki/api/v1/index/volume": {"GET": V, "POST": V},
    "/loki/api/v1/index/volume_range": {"GET": V, "POST": V},
    # Loki's ruler, read paths (vigil.web.logs_rules_api): log rules come from files.
    "/loki/api/v1/rules": {"GET": V},
    "/api/prom/rules": {"GET": V},
    "/prometheus/api/v1/rules": {"GET": V},
    "/prometheus/api/v1/alerts": {"GET": V},
    # Live tail (vigil.web.logs_tail): a WebSocket, authorized by the route itself with these
    # rules (the gate passes WebSockets through); Loki's build info.
    "/loki/api/v1/tail": {"GET": V},
    "/loki/api/v1/status/buildinfo": {"GET": V},
    "/logs": {"GET": V},  # the log search page (vigil.web.logs_ui)
    # Alertmanager API v2: alerts come from Prometheus (ingest); silences are responders' work.
    "/api/v2/alerts": {"GET": V, "POST": INGEST},
    "/api/v2/alerts/groups": {"GET": V},
    "/api/v2/silences": {"GET": V, "POST": R},
    "/api/v2/silence/{silence_id}": {"GET": V, "DELETE": R},
    "/api/v2/notifications": {"GET": V},
    "/api/v2/receivers": {"GET": V},
    "/api/v2/status": {"GET": V},
    # UI pages.
    "/": {"GET": V},
    "/overview": {"GET": V},
    "/alerts": {"GET": V},
    "/targets": {"GET": V},
    "/rules": {"GET": V},
    "/graph": {"GET": V},
    "/silences": {"GET": V, "POST": R},
    "/silences/{silence_id}/expire": {"POST": R},
    "/notifications": {"GET": V},
    "/cluster": {"GET": V},
    "/runbooks": {"GET": V},
    "/runbooks/{alertname}": {"GET": V},
    # Admin pages of people and access.
    "/audit": {"GET": A},
    "/people": {"GET": A},
    "/people/users": {"POST": A},
    "/people/users/{name}/disable": {"POST": A},
    "/people/tokens": {"POST": A},
    "/people/tokens/{name}/revoke": {"POST": A},
    "/static": {"*": PUBLIC},
    # Login.
    "/login": {"GET": PUBLIC, "POST": PUBLIC},
    "/login/oidc": {"GET": PUBLIC},
    "/login/oidc/callback": {"GET": PUBLIC},
    "/logout": {"POST": V},
    # Self-metrics and lifecycle.
    "/metrics": {"GET": V},
    "/-/healthy": {"GET": PUBLIC},
    "/-/ready": {"GET": PUBLIC},
    "/-/reload": {"POST": A, "PUT": A},
    # Vigil's access API.
    "/api/vigil/v1/whoami": {"GET": V},
    "/api/vigil/v1/audit": {"GET": A},
    "/api/vigil/v1/users": {"GET": A, "POST": A},
    "/api/vigil/v1/users/{name}/disable": {"POST": A},
    "/api/vigil/v1/users/{name}/contacts": {"GET": A, "PUT": A},
    "/api/vigil/v1/teams": {"GET": A},
    "/api/vigil/v1/teams/{name}": {"PUT": A},
    "/api/vigil/v1/tokens": {"GET": A, "POST": A},
    "/api/vigil/v1/tokens/{name}": {"DELETE": A},
    "/api/vigil/v1/cluster": {"GET": V},
    # Alert episodes (vigil.web.oncall_api): responders acknowledge and resolve.
    "/api/vigil/v1/episodes": {"GET": V},
    "/api/vigil/v1/episodes/{episode_id}": {"GET": V},
    "/api/vigil/v1/episodes/{episode_id}/{action}": {"POST": R},
    "/api/vigil/v1/episode-actions/{action}": {"POST": R},
    # Escalation policies and where an episode is in its policy (vigil.web.escalation_api).
    "/api/vigil/v1/escalation_policies": {"GET": V},
    "/api/vigil/v1/escalation_policies/{name}": {"GET": V},
    "/api/vigil/v1/episodes/{episode_id}/escalation": {"GET": V},
    "/alerts/episodes/{episode_id}/{action}": {"POST": R},
    # Signed action links of notifications: the token is the authorization (vigil.oncall.links).
    "/oncall/link/{token}": {"GET": PUBLIC, "POST": PUBLIC},
    # On-call schedules (vigil.web.schedules_api): viewers read; responders change their own
    # shifts (the handler checks whose), admins anyone's.
    "/api/vigil/v1/schedules": {"GET": V},
    "/api/vigil/v1/schedules/{name}/oncall": {"GET": V},
    "/api/vigil/v1/schedules/{name}/shifts": {"GET": V},
    "/api/vigil/v1/schedules/{name}/overrides": {"GET": V, "POST": R},
    "/api/vigil/v1/schedules/{name}/overrides/{override_id}": {"DELETE": R},
    "/api/vigil/v1/schedules/{name}/swaps": {"POST": R},
    "/api/vigil/v1/schedules/{name}/calendar.ics": {"GET": V},
    "/api/vigil/v1/calendar/token": {"POST": R, "DELETE": R},
    "/api/vigil/v1/calendar/tokens/{user}": {"DELETE": A},
    # Calendar subscriptions: clients cannot log in; the handler checks the feed token in
    # the URL (revocable, reads calendars only).
    "/calendar/{token}/schedules/{name}.ics": {"GET": PUBLIC},
    "/calendar/{token}/me.ics": {"GET": PUBLIC},
    "/schedules": {"GET": V},
    "/schedules/{name}/overrides": {"POST": R},
    "/schedules/{name}/overrides/{override_id}/delete": {"POST": R},
    "/schedules/{name}/swaps": {"POST": R},
    # The public status page (vigil.web.status_page): read-only, safe to expose without a
    # login; responders override a component's status.
    "/status": {"GET": PUBLIC},
    "/status/feed.atom": {"GET": PUBLIC},
    "/status/api.json": {"GET": PUBLIC},
    "/status/status.css": {"GET": PUBLIC},
    "/api/vigil/v1/status-page/components/{name}/override": {"POST": R, "DELETE": R},
    # The dashboard pages (vigil.web.dashboards_ui): viewers look; the editor and the Grafana
    # upload are editors' (they save through the dashboards API). Import before {name}.
    "/dashboards": {"GET": V},
    "/dashboards/import": {"GET": E},
    "/dashboards/{name}": {"GET": V},
    "/dashboards/{name}/edit": {"GET": E},
    # Dashboards (vigil.web.dashboards_api): viewers read and lint; editors save.
    "/api/vigil/v1/dashboards": {"GET": V},
    "/api/vigil/v1/dashboards/lint": {"POST": V},
    "/api/vigil/v1/dashboards/{name}": {"GET": V, "PUT": E},
    "/api/vigil/v1/dashboards/{name}/variables": {"GET": V},
    "/api/vigil/v1/dashboards/{name}/queries": {"GET": V},
    # Grafana import (vigil.web.dashboards_import_api): editors, as it may save a dashboard.
    "/api/vigil/v1/dashboards/import/grafana": {"POST": E},
    # Incidents (vigil.web.incidents_api): viewers read; responders declare and change them.
    "/api/vigil/v1/incidents": {"GET": V, "POST": R},
    "/api/vigil/v1/incidents/from-group": {"POST": R},
    "/api/vigil/v1/incidents/{incident_id}": {"GET": V},
    "/api/vigil/v1/incidents/{incident_id}/timeline": {"GET": V},
    "/api/vigil/v1/incidents/{incident_id}/status": {"POST": R},
    "/api/vigil/v1/incidents/{incident_id}/reopen": {"POST": R},
    "/api/vigil/v1/incidents/{incident_id}/acknowledge": {"POST": R},
    "/api/vigil/v1/incidents/{incident_id}/severity": {"POST": R},
    "/api/vigil/v1/incidents/{incident_id}/roles": {"POST": R},
    "/api/vigil/v1/incidents/{incident_id}/notes": {"POST": R},
    "/api/vigil/v1/incidents/{incident_id}/components": {"POST": R},
    "/api/vigil/v1/incidents/{incident_id}/attach": {"POST": R},
    "/api/vigil/v1/incidents/{incident_id}/detach": {"POST": R},
    "/api/vigil/v1/incidents/{incident_id}/edit": {"POST": R},
    # Post-mortems, figures, action items and incident candidates (vigil.web.incident_review_api):
    # viewers read; responders add and close action items, accept and dismiss candidates.
    "/api/vigil/v1/incidents/{incident_id}/postmortem": {"GET": V},
    "/api/vigil/v1/incidents/{incident_id}/figures": {"GET": V},
    "/api/vigil/v1/incident-figures": {"GET": V},
    "/api/vigil/v1/incidents/{incident_id}/action-items": {"GET": V, "POST": R},
    "/api/vigil/v1/action-items": {"GET": V},
    "/api/vigil/v1/action-items/{item_id}/{action}": {"POST": R},
    "/api/vigil/v1/incident-candidates": {"GET": V},
    "/api/vigil/v1/incident-candidates/{candidate_id}": {"GET": V},
    "/api/vigil/v1/incident-candidates/{candidate_id}/{action}": {"POST": R},
    # The response checklist and communications (vigil.web.incident_response_api): viewers read
    # and preview; responders mark tasks and send updates.
    "/api/vigil/v1/incidents/{incident_id}/checklist": {"GET": V},
    "/api/vigil/v1/incidents/{incident_id}/checklist/{task}/{action}": {"POST": R},
    "/api/vigil/v1/incidents/{incident_id}/communications": {"GET": V, "POST": R},
    "/api/vigil/v1/incidents/{incident_id}/communications/preview": {"GET": V},
    # The incident pages (vigil.web.incidents_ui): viewers read; responders declare and act
    # through the pages' forms.
    "/incidents": {"GET": V, "POST": R},
    "/incidents/from-group": {"POST": R},
    "/incidents/candidates/{candidate_id}/{action}": {"POST": R},
    # The "Status page" section of /incidents: responders set and clear a component's override
    # (not under /status, the public prefix a proxy may publish).
    "/incidents/status-page/{component}/{action}": {"POST": R},
    "/incidents/{ref}": {"GET": V},
    "/incidents/{ref}/postmortem.md": {"GET": V},
    "/incidents/{ref}/{action}": {"POST": R},
    "/incidents/{ref}/tasks/{task}/{action}": {"POST": R},
    "/incidents/{ref}/action-items/{item_id}/{action}": {"POST": R},
    # Shift checklists (vigil.web.shifts_api, vigil.web.shifts_ui): viewers read; responders
    # tick items, hand over and run the checks.
    "/api/vigil/v1/shifts": {"GET": V},
    "/api/vigil/v1/shifts/current": {"GET": V},
    "/api/vigil/v1/shifts/{shift_id}": {"GET": V},
    "/api/vigil/v1/shifts/{shift_id}/items/{key}/tick": {"POST": R},
    "/api/vigil/v1/shifts/{shift_id}/handover": {"POST": R},
    "/api/vigil/v1/shifts/{shift_id}/checks": {"POST": R},
    "/shifts": {"GET": V},
    "/shifts/{shift_id}": {"GET": V},
    "/shifts/{shift_id}/items/{key}/{action}": {"POST": R},
    "/shifts/{shift_id}/handover": {"POST": R},
    "/shifts/{shift_id}/checks": {"POST": R},
    # Reports (vigil.web.reports_api, vigil.web.reports_ui): viewers read the archive;
    # editors run a report now (it queries every metric and may take a while).
    "/api/vigil/v1/reports": {"GET": V},
    "/api/vigil/v1/reports/runs": {"GET": V},
    "/api/vigil/v1/reports/{name}/runs": {"POST": E},
    "/api/vigil/v1/reports/runs/{run_id}": {"GET": V},
    "/api/vigil/v1/reports/runs/{run_id}/{fmt}": {"GET": V},
    "/reports": {"GET": V},
    "/reports/{name}/run": {"POST": E},
    "/reports/runs/{run_id}/{fmt}": {"GET": V},
    # Objectives (vigil.web.objectives_api, vigil.web.objectives_ui): read-only, viewers.
    "/api/vigil/v1/objectives": {"GET": V},
    "/objectives": {"GET": V},
    # SLOs (vigil.web.slo_api, vigil.web.slo_ui): read-only, viewers.
    "/api/vigil/v1/slos": {"GET": V},
    "/slos": {"GET": V},
}

# Unsafe methods that change nothing, with why they may be open to viewers or anyone.
READ_ONLY_UNSAFE: dict[tuple[str, str], str] = {
    **{(p, "POST"): "PromQL read sent as a form (long queries), as Prometheus accepts"
       for p in ("/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels",
                 "/api/v1/format_query", "/api/v1/query_exemplars")},
    **{(p, "POST"): "LogQL read sent as a form, as Loki accepts"
       for p in ("/loki/api/v1/query", "/loki/api/v1/query_range", "/loki/api/v1/labels",
                 "/loki/api/v1/series", "/loki/api/v1/index/stats", "/loki/api/v1/index/volume",
                 "/loki/api/v1/index/volume_range")},
    ("/api/vigil/v1/dashboards/lint", "POST"): "checks the dashboard in the body; saves nothing",
    ("/login", "POST"): "logging in: the credentials are the authorization",
    ("/logout", "POST"): "ends the caller's own session only",
    ("/oncall/link/{token}", "POST"): "a signed, expiring action link: the token is the "
                                       "authorization for its one episode and action",
}


@dataclass(frozen=True)
class Requirement:
    """What a request needs: ``role`` (None: nobody needs to be logged in); ``ingest`` for
    ingest routes; ``audited`` when a successful call is a change worth an audit entry."""

    role: Role | None
    template: str
    ingest: bool = False
    audited: bool = False


def _compile() -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    compiled = []
    for template, methods in ROUTES.items():
        if template == "/static":
            regex = re.compile(r"^/static(/.*)?$")
        else:
            regex, _, _ = compile_path(template)
        compiled.append((regex, template, methods))
    return compiled


_COMPILED = _compile()
_SAFE = {"GET", "HEAD", "OPTIONS"}


def classify(path: str, method: str) -> Requirement:
    """The requirement of one request. A path or method the table does not know needs a
    viewer to read and an admin to do anything else (the app answers 404/405 after)."""
    for regex, template, methods in _COMPILED:
        if not regex.match(path):
            continue
        rule = methods.get(method) or methods.get("*") or (
            methods.get("GET") if method == "HEAD" else None)
        if rule is None:
            continue
        unsafe = method not in _SAFE and (template, method) not in READ_ONLY_UNSAFE
        if rule == PUBLIC:
            return Requirement(None, template)
        if rule == INGEST:
            return Requirement(Role.RESPONDER, template, ingest=True)
        return Requirement(rule, template, audited=unsafe)
    return Requirement(Role.VIEWER if method in _SAFE else Role.ADMIN, "", audited=method not in _SAFE)


def iter_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path template, methods) of every route, walking included routers and mounts
    (a mount's methods are ``{"*"}``; a WebSocket's handshake is a ``GET``)."""
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included router
            yield from iter_routes(route.original_router.routes,
                                   prefix + route.include_context.prefix)
        elif isinstance(route, Mount):
            yield prefix + route.path, {"*"}
        elif isinstance(route, WebSocketRoute):
            yield prefix + route.path, {"GET"}
        else:
            yield prefix + route.path, set(route.methods or ())
