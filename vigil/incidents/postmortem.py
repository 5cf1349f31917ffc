"""The post-mortem of an incident as Markdown (issue 17, part 7), for a wiki or a pull request.

Sections, in order: the title line (ref and title) with a table of severity, status, roles,
components and times; Summary; Impact; Timeline (a table: time, who, what, public updates
marked); Figures (:mod:`vigil.incidents.figures`, in minutes); Contributing alerts (each
alert of the timeline's ``alert_firing``/``alert_resolved`` events: labels, when it fired and
resolved, the PromQL query read from its generator URL's ``g0.expr`` and a link to the graph
page on the external URL over the incident's time); Response checklist (when one is given);
Action items (owner, due date, state, link).

Rendering is pure: the caller reads the incident, its timeline, groups, figures and action
items (:func:`postmortem_of` does, from the stores).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qs, quote_plus, urlsplit

from vigil.incidents.figures import IncidentFigures, incident_figures
from vigil.incidents.timeline_export import describe, markdown_cell
from vigil.incidents.times import parse_time
from vigil.state.action_item_store import ActionItem, ActionItemStore
from vigil.state.incident_store import AttachedGroup, Incident, IncidentEvent, IncidentStore

__all__ = ["ChecklistLine", "ChecklistTask", "ContributingAlert", "contributing_alerts",
           "postmortem_of", "query_of", "render_postmortem"]

# How much of the graph to show around the incident, each side.
_GRAPH_MARGIN = timedelta(minutes=15)


class ChecklistTask(Protocol):
    """What the post-mortem reads of a task of the response checklist (the checklist
    service's task views have these; the post-mortem does not depend on that service)."""

    @property
    def title(self) -> str: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def done_at(self) -> datetime | None: ...
    @property
    def done_by(self) -> str | None: ...
    @property
    def overdue(self) -> bool: ...


@dataclass(frozen=True)
class ChecklistLine:
    """One task of the response checklist, as the post-mortem shows it."""

    title: str
    due_at: datetime | None
    done_at: datetime | None
    done_by: str | None
    overdue: bool = False


@dataclass(frozen=True)
class ContributingAlert:
    labels: dict[str, str]
    fired_at: datetime | None
    resolved_at: datetime | None
    query: str  # "" when the alert's source gave no generator URL with g0.expr
    generator_url: str


def _time(dt: datetime | None) -> str:
    return "—" if dt is None else dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def _cell(text: Any) -> str:
    return markdown_cell(str(text)) or "—"


def _labels(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def query_of(generator_url: str) -> str:
    """The PromQL query of an alert, from its generator URL's ``g0.expr`` ("" if none)."""
    if not generator_url:
        return ""
    values = parse_qs(urlsplit(generator_url).query).get("g0.expr")
    return values[0].strip() if values else ""


def contributing_alerts(events: Sequence[IncidentEvent]) -> list[ContributingAlert]:
    """Each alert the timeline saw fire, by fingerprint, in the order it first fired."""
    found: dict[str, dict[str, Any]] = {}
    for ev in events:
        if ev.kind not in ("alert_firing", "alert_resolved"):
            continue
        d = ev.detail
        labels = dict(d.get("labels") or {})
        key = str(d.get("fingerprint") or _labels(labels))
        entry = found.setdefault(key, {"labels": labels, "fired": None, "resolved": None, "url": ""})
        if d.get("generator_url"):
            entry["url"] = str(d["generator_url"])
        if ev.kind == "alert_firing":
            start = parse_time(d.get("starts_at")) or ev.at
            entry["fired"] = start if entry["fired"] is None else min(entry["fired"], start)
            entry["resolved"] = None  # fired again after a resolution
        else:
            entry["resolved"] = parse_time(d.get("ends_at")) or ev.at
    return [ContributingAlert(e["labels"], e["fired"], e["resolved"], query_of(e["url"]), e["url"])
            for e in found.values()]


def _graph_link(external_url: str, query: str, start: datetime, end: datetime) -> str:
    start, end = start - _GRAPH_MARGIN, end + _GRAPH_MARGIN
    minutes = max(1, -(-int((end - start).total_seconds()) // 60))
    end_text = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (f"{external_url.rstrip('/')}/graph?g0.expr={quote_plus(query, safe='')}"
            f"&g0.range_input={minutes}m&g0.end_input={end_text}")


def render_postmortem(incident: Incident, events: Sequence[IncidentEvent], figures: IncidentFigures,
                      action_items: Sequence[ActionItem], *, external_url: str = "",
                      checklist: Sequence[ChecklistTask] | None = None,
                      now: datetime | None = None) -> str:
    """The post-mortem of ``incident`` (see the module's docstring). ``now`` closes the
    graphs' range of an incident still open."""
    inc = incident
    roles = inc.roles
    end = inc.resolved_at or now or inc.updated_at
    out: list[str] = [f"# {inc.ref}: {inc.title}", ""]
    out += ["| | |", "|---|---|",
            f"| Severity | {inc.severity_name} |",
            f"| Status | {inc.status.capitalize()} |",
            f"| Commander | {_cell(inc.commander or '—')} |",
            f"| Communications | {_cell(roles.get('communications') or '—')} |",
            f"| Scribe | {_cell(roles.get('scribe') or '—')} |",
            f"| Responders | {_cell(', '.join(roles.get('responders') or []) or '—')} |",
            f"| Components | {_cell(', '.join(inc.components) or '—')} |",
            f"| Channel | {_cell(inc.channel or '—')} |",
            f"| Started | {_time(inc.started_at)} |",
            f"| Declared | {_time(inc.declared_at)} by {_cell(inc.declared_by)} ({inc.source}) |",
            f"| Resolved | {_time(inc.resolved_at)} |",
            f"| Duration | {_duration(figures.to_resolve) if inc.resolved_at else 'ongoing'} |", ""]
    out += ["## Summary", "", inc.summary.strip() or "_No summary written._", ""]
    out += ["## Impact", "", inc.impact.strip() or "_No impact described._", ""]

    out += ["## Timeline", "", "| Time (UTC) | Who | What |", "|---|---|---|"]
    for ev in events:
        what = describe(ev)
        if ev.public:
            what = f"**Public update** — {what}" if ev.kind != "public_update" else f"**{what}**"
        out.append(f"| {_time(ev.at).removesuffix(' UTC')} | {_cell(ev.actor or 'Vigil')} | {_cell(what)} |")
    out.append("")

    def minutes(seconds: float | None) -> str:
        return "—" if seconds is None else f"{seconds / 60:.1f}"

    out += ["## Figures", "", "| Figure | Minutes |", "|---|---|",
            f"| Time to detect (start → detection) | {minutes(figures.to_detect)} |",
            f"| Time to acknowledge (detection → acknowledged) | {minutes(figures.to_acknowledge)} |",
            f"| Time to mitigate (start → monitoring) | {minutes(figures.to_mitigate)} |",
            f"| Time to resolve (start → resolved) | {minutes(figures.to_resolve)} |",
            f"| First alert → declaration | {minutes(figures.to_declare)} |", "",
            f"Alerts: {figures.alerts} in {figures.groups} alert group{'s' if figures.groups != 1 else ''}.", ""]

    out += ["## Contributing alerts", ""]
    alerts = contributing_alerts(events)
    if not alerts:
        out += ["_No alert was recorded in the timeline._", ""]
    for alert in alerts:
        name = alert.labels.get("alertname", "alert")
        out += [f"### {name}", "", f"- Labels: `{_labels(alert.labels)}`",
                f"- Fired: {_time(alert.fired_at)}", f"- Resolved: {_time(alert.resolved_at)}"]
        if alert.query:
            out.append(f"- Graph: [{name} around the incident]"
                       f"({_graph_link(external_url, alert.query, alert.fired_at or inc.started_at, end)})")
            out += ["", "```promql", alert.query, "```"]
        else:
            out.append("- Query: not known (the alert came without a generator URL)")
        out.append("")

    if checklist is not None:
        out += ["## Response checklist", ""]
        if not checklist:
            out.append(f"_No checklist for {inc.severity_name}._")
        for line in checklist:
            due = f" (due {_time(line.due_at)})" if line.due_at else ""
            done = f" — done {_time(line.done_at)} by {line.done_by or 'Vigil'}" if line.done_at else (
                " — **overdue**" if line.overdue else "")
            out.append(f"- [{'x' if line.done_at else ' '}] {line.title}{due}{done}")
        out.append("")

    out += ["## Action items", ""]
    if not action_items:
        out += ["_None yet._", ""]
    else:
        out += ["| # | Action | Owner | Due | State | Link |", "|---|---|---|---|---|---|"]
        for item in action_items:
            link = f"[link]({item.link})" if item.link else "—"
            due = item.due_date.isoformat() if item.due_date else "—"
            out.append(f"| {item.id} | {_cell(item.title)} | {_cell(item.owner or '—')} | {due} | "
                       f"{item.state} | {link} |")
        out.append("")
    return "\n".join(out)


def postmortem_of(incidents: IncidentStore, action_items: ActionItemStore, id_or_ref: str, *,
                  external_url: str = "",
                  checklist: Callable[[Incident], Sequence[ChecklistTask]] | None = None) -> str:
    """Read everything the post-mortem of one incident needs and render it."""
    inc = incidents.get(id_or_ref)
    events = incidents.events(inc.id)
    attached: list[AttachedGroup] = incidents.attached(inc.id)
    return render_postmortem(inc, events, incident_figures(inc, attached, events),
                             action_items.items(incident=inc.id), external_url=external_url,
                             checklist=None if checklist is None else checklist(inc), now=incidents.now())
