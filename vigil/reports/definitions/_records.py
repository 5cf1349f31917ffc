"""Report sections read from Vigil's own records rather than metrics: alert episodes and
incidents (with the incident figures of :mod:`vigil.incidents.figures`), the objectives, the
SLOs and the shifts' checklists. Each says so when its source is absent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vigil.incidents.figures import figures_across
from vigil.reports.context import ReportContext
from vigil.reports.model import Checklist, ChecklistLine, Figure, Item, Note, Status, Table

__all__ = ["alerts_and_incidents", "objectives", "shifts", "slos"]


def _when(dt: datetime | None, ctx: ReportContext) -> str:
    return "" if dt is None else dt.astimezone(ctx.zone).strftime("%Y-%m-%d %H:%M")


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def alerts_and_incidents(ctx: ReportContext, start: datetime, end: datetime) -> list[Item]:
    items: list[Item] = []
    if ctx.lifecycle is None:
        items.append(Note("Alert episodes are not available (no on-call state).", "unknown"))
    else:
        episodes = [e for e in ctx.lifecycle.episodes(unresolved_only=False, limit=5000)
                    if start <= e.opened_at < end]
        unacked = [e for e in ctx.lifecycle.episodes() if e.first_acknowledged_at is None]
        items.append(Figure("Alert episodes opened", len(episodes), "count", status="ok" if not episodes else "warn"))
        items.append(Figure("Open and never acknowledged now", len(unacked), "count",
                            status="ok" if not unacked else "bad"))
        rows = tuple((_when(e.opened_at, ctx), e.priority, e.group_labels.get("alertname", e.group_key),
                      e.state, _minutes(None if e.first_acknowledged_at is None
                                        else (e.first_acknowledged_at - e.opened_at).total_seconds()),
                      e.classification or "") for e in sorted(episodes, key=lambda e: e.opened_at))
        statuses: tuple[Status, ...] = tuple("ok" if e.state == "resolved" else "warn" if e.state == "acknowledged"
                                             else "bad" for e in sorted(episodes, key=lambda e: e.opened_at))
        if rows:
            items.append(Table("Alert episodes", ("opened", "priority", "alert", "state", "to acknowledge",
                                                  "classification"), rows, statuses,
                               units=("", "", "", "", "min", "")))
    if ctx.incidents is None:
        items.append(Note("Incidents are not available.", "unknown"))
        return items
    each, summary = figures_across(ctx.incidents, since=start)
    by_id = {i.id: i for i in ctx.incidents.incidents(since=start)}
    rows2 = []
    for f in each:
        inc = by_id.get(f.incident_id)
        if inc is None or inc.declared_at >= end:
            continue
        rows2.append((f.ref, inc.severity_name, inc.title, inc.status, _minutes(f.to_acknowledge),
                      _minutes(f.to_resolve)))
    items.append(Figure("Incidents declared or open in the period", len(rows2), "count",
                        status="ok" if not rows2 else "warn"))
    if rows2:
        items.append(Table("Incidents", ("ref", "severity", "title", "status", "to acknowledge", "to resolve"),
                           tuple(rows2), units=("", "", "", "", "min", "min")))
    if summary.incidents:
        items.append(Figure("Median time to resolve (incidents)", summary.to_resolve, "seconds"))
    return items


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def objectives(ctx: ReportContext, start: datetime, end: datetime) -> list[Item]:
    if ctx.objectives is None:
        return [Note("Objectives are not available in this Vigil.", "unknown")]
    figures = ctx.objectives.figures(start, end)
    data = figures.as_dict() if hasattr(figures, "as_dict") else dict(figures)
    items: list[Item] = []
    rows = []
    for key, value in data.items():
        if isinstance(value, int | float | str | type(None)):
            rows.append((key, value))
    if rows:
        items.append(Table("Objectives", ("figure", "value"), tuple(rows)))
    avail = ctx.objectives.availability(start, end)
    arows = [a.as_dict() if hasattr(a, "as_dict") else dict(a) for a in avail]
    if arows:
        cols = tuple(arows[0])
        items.append(Table("Availability per service", cols, tuple(tuple(r.get(c) for c in cols) for r in arows)))
    elif not rows:
        items.append(Note("No objective figures for this period.", "unknown"))
    return items


def slos(ctx: ReportContext, at: datetime) -> list[Item]:
    if ctx.slos is None:
        return [Note("SLOs are not available in this Vigil.", "unknown")]
    statuses = list(ctx.slos(at))
    if not statuses:
        return [Note("No SLOs are configured (slo: files in the config).", "unknown")]
    rows = [s.as_dict() if hasattr(s, "as_dict") else dict(s) for s in statuses]
    cols = tuple(c for c in rows[0] if not isinstance(rows[0][c], dict | list))
    return [Table("SLOs and error budgets", cols, tuple(tuple(r.get(c) for c in cols) for r in rows))]


def _evidence(evidence: dict[str, Any] | None) -> str:
    if not evidence:
        return ""
    if evidence.get("error"):
        return f"{evidence['error']} ({evidence.get('query', '')})".replace(" ()", "")
    return str(evidence.get("query") or evidence.get("source") or "")


def shifts(ctx: ReportContext, start: datetime, end: datetime) -> list[Item]:
    if ctx.shifts is None:
        return [Note("Shift checklists are not available in this Vigil.", "unknown")]
    records = ctx.shifts.history(start, end)
    if not records:
        return [Note("No shift was opened in this period.", "unknown")]
    items: list[Item] = []
    for rec in records:
        lines = tuple(ChecklistLine(i.title, i.done if i.status != "open" else None, i.by or "",
                                    i.note or _evidence(i.evidence)) for i in rec.items)
        items.append(Checklist(f"{rec.name} shift {rec.date.isoformat()}", lines))
        if rec.handover_note:
            items.append(Note(f"Hand-over ({rec.handed_over_by or 'unknown'}): {rec.handover_note}"))
    return items
