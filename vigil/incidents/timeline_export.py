"""The timeline exported: JSON (every field), CSV (time, kind, who, via, what, public) and
Markdown (a heading and a table, for a post-mortem or a ticket). :func:`describe` is the one
line of text each event shows, also used by the API and the UI.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import timezone
from typing import Any

from vigil.incidents.times import utc_iso
from vigil.state.incident_store import Incident, IncidentEvent

__all__ = ["EXPORT_FORMATS", "describe", "event_json", "export", "export_csv", "export_json", "export_markdown",
           "markdown_cell"]

EXPORT_FORMATS = ("json", "csv", "markdown")


def _labels(labels: dict[str, str] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


def _paged(paged: Sequence[dict[str, Any]]) -> str:
    parts = []
    for p in paged:
        who = p.get("user") or p.get("receiver") or "nobody"
        how = f" via {p['kind']}" if p.get("kind") else ""
        parts.append(f"{who}{how}" + (f" (not sent: {p['problem']})" if p.get("problem") else ""))
    return "; ".join(parts) or "nobody"


def describe(ev: IncidentEvent) -> str:
    """One line saying what happened (never an address: events hold none)."""
    d = ev.detail
    k = ev.kind
    if k == "declared":
        return f"Declared SEV-{d.get('severity')}: {d.get('title', '')} ({d.get('source', 'manual')})"
    if k == "status":
        verb = "Reopened" if d.get("reopened") else "Status"
        text = f"{verb}: {d.get('from')} → {d.get('to')}"
        return f"{text} — {d['note']}" if d.get("note") else text
    if k == "severity":
        text = f"Severity: SEV-{d.get('from')} → SEV-{d.get('to')}"
        return f"{text} — {d['note']}" if d.get("note") else text
    if k == "role":
        if d.get("role") == "responders":
            return f"Responder {'removed' if d.get('action') == 'remove' else 'added'}: {d.get('user')}"
        return f"{str(d.get('role', '')).capitalize()}: {d.get('user') or 'nobody'}"
    if k == "note":
        return str(d.get("text", ""))
    if k == "edited":
        return "Edited " + ", ".join(sorted(d.get("changes", {})))
    if k == "component":
        return "Components: " + (", ".join(d.get("components", [])) or "none")
    if k == "alert_attached":
        via = f" (matched {d['matcher']})" if d.get("matcher") else ""
        return f"Alert group attached: {_labels(d.get('labels')) or d.get('group_key')}{via}"
    if k == "alert_detached":
        return f"Alert group detached: {d.get('group_key')}"
    if k in ("alert_firing", "alert_resolved"):
        what = "firing" if k == "alert_firing" else "resolved"
        summary = (d.get("annotations") or {}).get("summary")
        name = _labels(d.get("labels")) or d.get("fingerprint", "")
        return f"Alert {what}: {name}" + (f" — {summary}" if summary else "")
    if k == "page":
        if d.get("source") == "escalation":
            return f"Escalation {d.get('policy')} level {d.get('level')} paged: {_paged(d.get('paged', []))}"
        return f"Paged: {_paged([d])}"
    if k in ("acknowledged", "unacknowledged"):
        what = "Alert episode" if d.get("episode_id") else "Incident"
        text = f"{what} {k}"
        return f"{text} — {d['note']}" if d.get("note") else text
    if k == "episode_resolved":
        return "Alert episode resolved" + (f" ({d['classification']})" if d.get("classification") else "")
    if k == "sla_breach":
        return "Alert episode not acknowledged by its deadline"
    if k in ("task_done", "task_reopened", "task_overdue"):
        what = {"task_done": "Task done", "task_reopened": "Task reopened", "task_overdue": "Task overdue"}[k]
        text = f"{what}: {d.get('title') or d.get('task')}"
        return f"{text} — {d['note']}" if d.get("note") else text
    if k == "communication":
        to = ", ".join(d.get("receivers") or []) or "no receivers"
        return f"{str(d.get('kind', '')).capitalize()} communication sent to {to}: {d.get('subject', '')}"
    if k == "public_update":
        return f"Public update ({d.get('status')}): {d.get('message', '')}"
    if k == "update_reminder":
        return f"Next update due {d.get('due_at', '')}: reminder sent"
    if k == "action_item":
        return f"Action item #{d.get('id')} {d.get('action', '')}: {d.get('title', '')}"
    if k == "candidate_accepted":
        return f"Declared from an incident candidate ({len(d.get('groups') or [])} alert groups)"
    for key in ("message", "text", "title", "note"):
        if isinstance(d.get(key), str) and d[key]:
            return f"{k.replace('_', ' ').capitalize()}: {d[key]}"
    return k.replace("_", " ").capitalize()


def event_json(ev: IncidentEvent) -> dict[str, Any]:
    return {"id": ev.id, "at": utc_iso(ev.at), "kind": ev.kind, "actor": ev.actor, "via": ev.via,
            "public": ev.public, "text": describe(ev), "detail": ev.detail}


def export_json(inc: Incident, events: Sequence[IncidentEvent]) -> str:
    return json.dumps({"incident": {"id": inc.id, "ref": inc.ref, "title": inc.title, "severity": inc.severity,
                                    "status": inc.status},
                       "events": [event_json(e) for e in events]}, indent=2, ensure_ascii=False) + "\n"


def export_csv(inc: Incident, events: Sequence[IncidentEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["at", "kind", "actor", "via", "text", "public"])
    for e in events:
        writer.writerow([utc_iso(e.at), e.kind, e.actor or "vigil", e.via, describe(e), "yes" if e.public else "no"])
    return out.getvalue()


def markdown_cell(text: str) -> str:
    """Text safe in a Markdown table cell: one line (whitespace runs become one space),
    backslashes and pipes escaped."""
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")


def export_markdown(inc: Incident, events: Sequence[IncidentEvent]) -> str:
    lines = [f"# {inc.ref}: {markdown_cell(inc.title)}", "",
             f"SEV-{inc.severity}, {inc.status}. Declared {utc_iso(inc.declared_at)} by {inc.declared_by}.", "",
             "| Time (UTC) | Who | What |", "|---|---|---|"]
    for e in events:
        when = e.at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"| {when} | {markdown_cell(e.actor or 'Vigil')} | {markdown_cell(describe(e))} |")
    return "\n".join(lines) + "\n"


def export(fmt: str, inc: Incident, events: Sequence[IncidentEvent]) -> tuple[str, str]:
    """(text, media type) of the timeline in ``fmt`` (one of :data:`EXPORT_FORMATS`)."""
    if fmt == "json":
        return export_json(inc, events), "application/json"
    if fmt == "csv":
        return export_csv(inc, events), "text/csv; charset=utf-8"
    if fmt == "markdown":
        return export_markdown(inc, events), "text/markdown; charset=utf-8"
    raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
