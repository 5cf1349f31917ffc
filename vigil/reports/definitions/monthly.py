"""The monthly health assessment (runbook §7, P1–P4): each infrastructure target met or
missed (node utilisation, database CPU, cache hit ratio, storage growth month over month, CDN
hit ratio), the business figures the SQL collector gathers, the objectives and the SLOs'
error budgets. The period is the calendar month (in the report's time zone) up to ``at``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from vigil.reports.context import ReportContext
from vigil.reports.definitions import _records
from vigil.reports.definitions._common import ReportDefinition, Sections
from vigil.reports.definitions.weekly_capacity import CPU, FS_USED
from vigil.reports.model import Figure, Item, Note, Report, Table
from vigil.reports.queries import Queries, above, below, duration, no_data, shifted

__all__ = ["MONTHLY", "month_start"]

SQL_METRICS = "group by (metric) (vigil_sql_query_duration_seconds)"
SECTIONS = 5
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def month_start(at: datetime, ctx: ReportContext) -> datetime:
    """The start of the calendar month (in the report's zone) that the period ending at
    ``at`` reports: a report run at midnight on the 1st covers the month before."""
    local = at.astimezone(ctx.zone)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if local == first:
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def targets(q: Queries, start: datetime, at: datetime) -> list[Item]:
    d = duration(at - start)
    node = f"avg(avg_over_time(({CPU})[{d}:5m]))"
    redis = (f"100 * sum(increase(redis_keyspace_hits_total[{d}])) / (sum(increase(redis_keyspace_hits_total[{d}]))"
             f" + sum(increase(redis_keyspace_misses_total[{d}])))")
    pg_cache = f"100 * avg(avg_over_time(pg_cache_hit_ratio[{d}]))"
    used = f"sum({FS_USED})"
    growth = f"100 * ({used} - {shifted(used, at - start)}) / {shifted(used, at - start)}"
    items: list[Item] = [
        q.figure("Node utilisation (CPU, average)", node, at, unit="percent", target="< 70 %", judge=below(70)),
        Figure("Database CPU (average)", None, "percent", "< 60 %", "unknown",
               note="no data: Vigil has no CPU series for the database hosts (their node metrics name no role)"),
        q.figure("Cache hit ratio (Redis)", redis, at, unit="percent", target="> 99 %", judge=above(99)),
        q.figure("Cache hit ratio (PostgreSQL buffers)", pg_cache, at, unit="percent", target="> 99 %",
                 judge=above(99)),
        q.figure("Storage growth in the month (runbook: month over month)", growth, at, unit="percent", target="< 20 %",
                 judge=below(20)),
        Figure("CDN cache hit ratio", None, "percent", "> 85 %", "unknown",
               note="no data: Vigil collects no CDN metrics"),
    ]
    met = sum(1 for i in items if isinstance(i, Figure) and i.status in ("ok", "warn"))
    missed = sum(1 for i in items if isinstance(i, Figure) and i.status == "bad")
    unknown = sum(1 for i in items if isinstance(i, Figure) and i.status == "unknown")
    items.insert(0, Note(f"{met} targets met, {missed} missed, {unknown} without data.",
                         "bad" if missed else "ok" if not unknown else "unknown"))
    return items


def business(q: Queries, start: datetime, at: datetime) -> list[Item]:
    names = sorted({lb.get("metric", "") for lb, _ in q.vector(SQL_METRICS, at) or []} - {""})
    names = [n for n in names if _METRIC_NAME.match(n)]
    if not names:
        return [no_data("business figures", "the SQL collector gathers no queries (collect: sql).")]
    items: list[Item] = []
    for name in names:
        expr = f'{{__name__="{name}"}}'
        before_expr = shifted(expr, at - start)
        rows = q.vector(expr, at) or []
        before = {tuple(sorted((k, v) for k, v in lb.items() if k != "__name__")): v
                  for lb, v in q.vector(before_expr, at) or []}
        table_rows = []
        for lb, v in rows:
            key = tuple(sorted((k, val) for k, val in lb.items() if k != "__name__"))
            labels = ", ".join(f"{k}={val}" for k, val in key if k not in ("job", "instance")) or "(all)"
            table_rows.append((labels, v, before.get(key)))
        items.append(Table(name, ("series", "now", "at the period's start"), tuple(sorted(table_rows, key=str)),
                           query=f"{expr}\n{before_expr}"))
    return items


def build(ctx: ReportContext, at: datetime) -> Report:
    q, out = Queries(ctx), Sections(ctx)
    start = month_start(at, ctx)
    out.add("Infrastructure targets", targets(q, start, at))
    out.add("Business figures", business(q, start, at))
    out.add("Objectives", _records.objectives(ctx, start, at), page_break_before=True)
    out.add("SLOs and error budgets", _records.slos(ctx, at))
    out.add("Incidents", _records.alerts_and_incidents(ctx, start, at))
    return out.report("monthly", f"Monthly health assessment {start.strftime('%B %Y')}", start, at)


MONTHLY = ReportDefinition("monthly", "Monthly health assessment", SECTIONS, build,
                           "Targets met or missed, business figures, objectives and error budgets")
