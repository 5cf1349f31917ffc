"""Report sections read from Vigil's own records rather than metrics: alert episodes and
incidents (with the incident figures of :mod:`vigil.incidents.figures`), the objectives, the
SLOs and the shifts' checklists. Each says so when its source is absent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vigil.incidents.figures import figures_across
from vigil.objectives.service import TargetResult, availability_target
from vigil.reports.context import ReportContext
from vigil.reports.model import Checklist, ChecklistLine, Figure, Item, Note, Status, Table
from vigil.slo.status import SLOStatus

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
        every = ctx.lifecycle.episodes(unresolved_only=False, limit=5000)
        episodes = [e for e in every if start <= e.opened_at < end]
        # As things stood at the end of the period (an archived report reads the same later).
        unacked = [e for e in every if e.opened_at < end
                   and (e.first_acknowledged_at is None or e.first_acknowledged_at > end)
                   and (e.resolved_at is None or e.resolved_at > end)]
        items.append(Figure("Alert episodes opened", len(episodes), "count", status="ok" if not episodes else "warn"))
        items.append(Figure("Open and not acknowledged at the end of the period", len(unacked), "count",
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


_TARGET_LABELS = {"mtta": "Mean time to acknowledge", "mttr": "Mean time to recover",
                  "false_positive_rate": "False-positive rate"}


def _target_figure(t: TargetResult, query: str = "") -> Figure:
    status: Status = "unknown" if t.met is None else "ok" if t.met else "bad"
    label = _TARGET_LABELS.get(t.name) or f"Availability of {t.name.removeprefix('availability:')}"
    scale = 100.0 if t.unit == "ratio" else 1.0
    unit = "percent" if t.unit == "ratio" else t.unit
    limit = t.target * scale
    written = f"{limit / 60:g} min" if unit == "seconds" else f"{limit:g} %"
    return Figure(label, None if t.actual is None else t.actual * scale, unit,
                  f"{'≤' if t.direction == 'below' else '≥'} {written}", status, query,
                  t.measured_on if t.actual is not None else f"no data ({t.measured_on})")


def objectives(ctx: ReportContext, start: datetime, end: datetime) -> list[Item]:
    """The runbook's objectives over the period: MTTA, MTTR and false-positive rate from the
    records, availability and error budget per service (PromQL, with its query)."""
    if ctx.objectives is None:
        return [Note("Objectives are not available in this Vigil.", "unknown")]
    figures = ctx.objectives.figures(start, end, "priority")
    avail = list(ctx.objectives.availability(start, end))
    items: list[Item] = [_target_figure(t) for t in figures.targets]
    items += [_target_figure(availability_target(a), a.availability_query) for a in avail]
    if figures.alerts:
        items.append(Table("Alerts by priority", ("priority", "episodes", "median to acknowledge",
                                                  "median to resolve", "false positives"),
                           tuple((g.key, g.episodes, g.acknowledge.median, g.resolve.median,
                                  None if g.false_positive_ratio is None else 100 * g.false_positive_ratio)
                                 for g in figures.alerts),
                           units=("", "count", "seconds", "seconds", "percent")))
    if avail:
        items.append(Table("Error budget per service", ("service", "availability", "downtime", "budget",
                                                        "budget left"),
                           tuple((a.service, None if a.availability_ratio is None else 100 * a.availability_ratio,
                                  a.downtime_seconds, a.budget_seconds,
                                  None if a.budget_remaining_ratio is None else 100 * a.budget_remaining_ratio)
                                 for a in avail),
                           tuple(_budget_status(a.budget_remaining_ratio) for a in avail),
                           "\n".join(a.availability_query for a in avail),
                           units=("", "percent", "seconds", "seconds", "percent")))
    else:
        items.append(Note("No services are configured for availability (objectives: services).", "unknown"))
    return items


def _budget_status(left: float | None) -> Status:
    return "unknown" if left is None else "bad" if left < 0 else "warn" if left < 0.25 else "ok"


def slos(ctx: ReportContext, at: datetime) -> list[Item]:
    """Each SLO's error budget left over its period and its burn rate per alert window."""
    if ctx.slos is None:
        return [Note("SLOs are not available in this Vigil.", "unknown")]
    statuses: list[SLOStatus] = list(ctx.slos(at))
    if not statuses:
        return [Note("No SLOs are configured (slo: files in the config).", "unknown")]
    windows = [b.window for b in statuses[0].burn_rates]
    rows = []
    for st in statuses:
        rates = {b.window: b.burn_rate for b in st.burn_rates}
        rows.append((st.service, st.name, st.objective_percent, st.window,
                     None if st.error_budget_left_ratio is None else 100 * st.error_budget_left_ratio,
                     *(rates.get(w) for w in windows)))
        ctx.problems.extend(f"SLO {st.service}/{st.name}: {p}" for p in st.problems)
    return [Table("SLOs: error budget left and burn rate", ("service", "SLO", "objective", "period", "budget left",
                                                           *(f"burn {w}" for w in windows)),
                  tuple(rows), tuple(_budget_status(st.error_budget_left_ratio) for st in statuses),
                  units=("", "", "percent", "", "percent", *("" for _ in windows)))]


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
        items.append(Checklist(f"{ctx.shifts.title(rec.name)}, {rec.date.isoformat()}", lines))
        if rec.handover_note:
            items.append(Note(f"Hand-over ({rec.handed_over_by or 'unknown'}): {rec.handover_note}"))
    return items
