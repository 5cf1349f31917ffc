"""What the incident pages show (issue 17), read from the services in one call each: the
list of incidents with the candidates and the declaration form's choices, one incident with
its timeline, checklist, communications, alert groups, figures and action items, and the
alert groups of the alerts page with the incident each belongs to.

Every value is read from the state database (the services' stores) at the time of the
request, so every replica shows the same page; times are shown in UTC.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request

from vigil.access import Role
from vigil.incidents.postmortem import query_of
from vigil.incidents.timeline_export import describe
from vigil.state.incident_store import MOVES, ROLES, STATUSES, Incident
from vigil.web.deps import WebDeps
from vigil.web.incidents_api import incident_detail

__all__ = ["IncidentRow", "alert_groups_view", "alert_incidents_context", "human_seconds",
           "incident_view", "list_view", "when"]

RESOLVED_SHOWN = 100  # resolved incidents listed below the open ones
STATUS_LABELS = {s: s.capitalize() for s in STATUSES}


def when(dt: datetime | None) -> str:
    """A time as the pages show it: ``2026-12-07 05:40:12 UTC``; "" for None."""
    if dt is None:
        return ""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def human_seconds(seconds: float | None) -> str:
    """``45s``, ``4m 05s``, ``2h 10m``, ``3d 4h``; "–" for None (not happened yet)."""
    if seconds is None:
        return "–"
    s = max(int(round(seconds)), 0)
    if s < 60:
        return f"{s}s"
    minutes, sec = divmod(s, 60)
    if minutes < 60:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def _iso_when(text: str | None) -> str:
    return when(datetime.fromisoformat(text.replace("Z", "+00:00"))) if text else ""


def graph_link(generator_url: str) -> str:
    """This Vigil's graph page for an alert's query ("" when it has none)."""
    query = query_of(generator_url)
    return "/graph?" + urlencode({"g0.expr": query, "g0.range_input": "1h"}) if query else ""


@dataclass(frozen=True)
class IncidentRow:
    ref: str
    severity: int
    severity_name: str
    status: str
    title: str
    commander: str
    age: str  # open: since declared; resolved: how long it lasted
    declared_at: str
    components: tuple[str, ...]


def _row(inc: Incident, now: datetime) -> IncidentRow:
    end = inc.resolved_at or now
    return IncidentRow(inc.ref, inc.severity, inc.severity_name, inc.status, inc.title, inc.commander or "",
                       human_seconds((end - inc.declared_at).total_seconds()), when(inc.declared_at),
                       inc.components)


def _every(seconds: float | None) -> str:
    """An update cadence: ``30m``, ``1h``, ``1h 30m``, ``45s``; "" for none."""
    if not seconds:
        return ""
    if seconds < 60:
        return f"{seconds:g}s"
    hours, minutes = divmod(int(seconds // 60), 60)
    return " ".join(p for p in (f"{hours}h" if hours else "", f"{minutes}m" if minutes else "") if p)


def _severities(deps: WebDeps) -> list[dict[str, Any]]:
    assert deps.incidents is not None
    section = deps.incidents.config().incidents
    out = []
    for n in (1, 2, 3, 4):
        sev = section.severity(n)
        out.append({"level": n, "name": sev.name, "criteria": sev.criteria, "team": sev.team,
                    "communication": sev.communication,
                    "update_every": _every(sev.update_interval)})
    return out


def _components(deps: WebDeps) -> list[str]:
    assert deps.incidents is not None
    return [c.name for c in deps.incidents.config().status_page.components]


def list_view(deps: WebDeps, *, severity: str = "", text: str = "") -> dict[str, Any]:
    """The ``/incidents`` page: open incidents (worst severity first, then newest), the most
    recent resolved ones, both filtered by ``severity`` (1..4) and ``text`` (in the ref,
    title or components), the proposed candidates and the declaration form's choices."""
    service = deps.incidents
    assert service is not None
    now = service.store.now()
    wanted = int(severity) if severity in ("1", "2", "3", "4") else None
    needle = text.strip().lower()

    def keep(inc: Incident) -> bool:
        if wanted is not None and inc.severity != wanted:
            return False
        haystack = " ".join((inc.ref, inc.title, *inc.components)).lower()
        return not needle or needle in haystack

    open_ = sorted((i for i in service.store.incidents(open_only=True) if keep(i)),
                   key=lambda i: (i.severity, -i.declared_at.timestamp()))
    resolved = [i for i in service.store.incidents(limit=RESOLVED_SHOWN * 5) if not i.is_open and keep(i)]
    candidates = []
    review = deps.incident_review
    if review is not None and review.correlator is not None:
        for c in review.candidates("proposed"):
            candidates.append({"id": c.id, "title": c.title, "severity": c.severity,
                               "labels": ", ".join(f"{k}={v}" for k, v in sorted(c.labels.items())),
                               "proposed": when(c.proposed_at),
                               "groups": [", ".join(f"{k}={v}" for k, v in sorted(g.group_labels.items()))
                                          + f" ({g.alerts} alert{'s' if g.alerts != 1 else ''})"
                                          for g in c.groups]})
    return {"open": [_row(i, now) for i in open_], "resolved": [_row(i, now) for i in resolved[:RESOLVED_SHOWN]],
            "candidates": candidates, "severities": _severities(deps), "components": _components(deps),
            "filter": {"severity": str(wanted or ""), "text": text.strip()}, "now": when(now)}


def _checklist(deps: WebDeps, inc: Incident, now: datetime) -> list[dict[str, Any]]:
    response = deps.incident_response
    if response is None:
        return []
    checklist = response.checklists.of(inc, now)
    return [{"label": p.label, "title": p.title, "due": when(p.due_at),
             "tasks": [{"key": t.key, "title": t.title, "due": when(t.due_at), "done": t.done,
                        "done_at": when(t.done_at), "done_by": t.done_by or "", "note": t.note,
                        "overdue": t.overdue,
                        "late_by": human_seconds((now - t.due_at).total_seconds()) if t.overdue else "",
                        "paged": when(t.paged_at)} for t in p.tasks]}
            for p in checklist.phases]


def _communications(deps: WebDeps, inc: Incident, now: datetime, current_status: str,
                    symptoms: str) -> dict[str, Any] | None:
    response = deps.incident_response
    if response is None:
        return None
    comms = response.communications
    previews = {}
    for kind in ("internal", "external"):
        r = comms.render(inc, kind, now=now, current_status=current_status, symptoms=symptoms)
        previews[kind] = {"subject": r.subject, "body": r.body, "receivers": list(r.receivers),
                          "next_update": when(r.next_update_at)}
    sent = [{"kind": c.kind, "subject": c.subject, "body": c.body, "receivers": ", ".join(c.receivers) or "none",
             "by": c.sent_by or "Vigil", "at": when(c.sent_at)} for c in comms.store.communications(inc.id)]
    due = inc.next_update_at
    return {"previews": previews, "sent": sent, "next_update": when(due),
            "update_overdue": bool(inc.is_open and due is not None and now > due),
            "overdue_by": human_seconds((now - due).total_seconds()) if due is not None and now > due else "",
            "current_status": current_status, "symptoms": symptoms}


def _groups(detail: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for g in detail["groups"]:
        out.append({"key": g["groupKey"], "labels": ", ".join(f"{k}={v}" for k, v in sorted(g["groupLabels"].items())),
                    "receiver": g["receiver"], "attached_by": g["attachedBy"] or "Vigil",
                    "attached_at": _iso_when(g["attachedAt"]), "detached": g["detachedAt"] is not None,
                    "alerts": [{"labels": ", ".join(f"{k}={v}" for k, v in sorted(a["labels"].items())),
                                "summary": a["annotations"].get("summary", ""), "since": _iso_when(a["startsAt"]),
                                "graph": graph_link(a["generatorURL"])} for a in g["alerts"]]})
    return out


def _figures(detail: dict[str, Any]) -> list[tuple[str, str]]:
    """The incident's figures as the API gives them (one definition: vigil.incidents.figures)."""
    f = detail["figures"]
    return [("Alerts", str(f["alerts"])), ("Alert groups", str(f["groups"])),
            ("First alert", _iso_when(f["firstAlertAt"]) or "–"),
            ("Time from first alert to declaration", human_seconds(f["secondsToDeclare"])),
            ("Time to acknowledge", human_seconds(f["secondsToAcknowledge"])),
            ("Time to mitigate", human_seconds(f["secondsToMitigate"])),
            ("Time to resolve", human_seconds(f["secondsToResolve"]))]


def _action_items(deps: WebDeps, inc: Incident) -> list[dict[str, Any]] | None:
    review = deps.incident_review
    if review is None:
        return None
    return [{"id": i.id, "title": i.title, "owner": i.owner or "", "due": i.due_date.isoformat() if i.due_date else "",
             "link": i.link, "state": i.state, "created_by": i.created_by, "closed_by": i.closed_by or "",
             "closed_at": when(i.closed_at)} for i in review.items(incident=inc.id)]


def incident_view(deps: WebDeps, id_or_ref: str, *, current_status: str = "", symptoms: str = "") -> dict[str, Any]:
    """Everything the incident page shows (IncidentError not_found for an unknown one)."""
    service = deps.incidents
    assert service is not None
    inc = service.store.get(id_or_ref)
    now = service.store.now()
    detail = incident_detail(service, inc.id)
    events = service.store.events(inc.id)
    end = inc.resolved_at or now
    times = [("Started", inc.started_at), ("Detected", inc.detected_at), ("Declared", inc.declared_at),
             ("Acknowledged", inc.acknowledged_at), ("Mitigated", inc.mitigated_at), ("Resolved", inc.resolved_at)]
    roles = [("commander", "Commander", inc.commander or ""),
             ("communications", "Communications", inc.roles.get("communications") or ""),
             ("scribe", "Scribe", inc.roles.get("scribe") or "")]
    return {
        "inc": inc, "ref": inc.ref, "ref_path": quote(inc.ref), "now": when(now),
        "severity_rule": detail["severityRule"], "severities": _severities(deps),
        "status_label": STATUS_LABELS[inc.status],
        "moves": [(s, STATUS_LABELS[s]) for s in MOVES[inc.status]], "can_reopen": inc.status == "resolved",
        "times": [(label, when(t)) for label, t in times],
        "lasted": human_seconds((end - inc.started_at).total_seconds()),
        "roles": roles, "role_names": [r for r in ROLES if r != "responders"],
        "responders": list(inc.roles.get("responders") or []),
        "components": ", ".join(inc.components), "known_components": _components(deps),
        "timeline": [{"at": when(e.at), "kind": e.kind, "who": e.actor or "Vigil", "via": e.via,
                      "public": e.public, "text": describe(e)} for e in events],
        "checklist": _checklist(deps, inc, now),
        "comms": _communications(deps, inc, now, current_status, symptoms),
        "groups": _groups(detail), "figures": _figures(detail),
        "action_items": _action_items(deps, inc), "has_review": deps.incident_review is not None,
    }


def alert_groups_view(deps: WebDeps) -> list[dict[str, Any]]:
    """The alert groups firing now (as the dispatcher groups them), each with the open
    incident it is attached to, if any: the alerts page's "Declare incident" buttons."""
    service = deps.incidents
    if service is None:
        return []
    attached = {g.group_key: inc.ref for inc, g in service.store.attached_to_open()}
    now = service.store.now()
    out = []
    for g in service.groups():
        first = min((a.starts_at for a in g.alerts), default=None)
        out.append({"key": g.key, "labels": ", ".join(f'{k}="{v}"' for k, v in sorted(g.labels.to_dict().items())),
                    "receiver": g.receiver, "alerts": len(g.alerts),
                    "since": human_seconds((now - first).total_seconds()) if first else "",
                    "incident": attached.get(g.key, "")})
    return out


async def alert_incidents_context(deps: WebDeps, request: Request) -> dict[str, Any]:
    """The alerts page's part: ``incident_groups`` (:func:`alert_groups_view`) and whether
    the caller may declare (responders; everyone without access control)."""
    principal = getattr(request.state, "principal", None)
    return {"incident_groups": await asyncio.to_thread(alert_groups_view, deps),
            "can_declare": deps.incidents is not None and (principal is None or principal.may(Role.RESPONDER))}
