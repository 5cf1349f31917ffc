"""The weekly performance review (runbook §6.2, P2): average and p95 latency, error rate and
throughput per job over the week, each compared with the week before (the same query with
``offset 1w``), the probes' response times, and the week's throughput chart."""

from __future__ import annotations

from datetime import datetime, timedelta

from vigil.reports import forecast
from vigil.reports.context import ReportContext
from vigil.reports.definitions._common import ReportDefinition, Sections
from vigil.reports.model import Chart, ChartSeries, Item, Note, Report, Status, Table
from vigil.reports.queries import Queries, no_data

__all__ = ["WEEKLY_PERFORMANCE", "error_rate", "week_over_week"]

LATENCY_AVG = ("sum by (job) (rate(http_request_duration_seconds_sum[1w]))"
               " / sum by (job) (rate(http_request_duration_seconds_count[1w]))")
LATENCY_P95 = "histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket[1w])))"


def error_rate(status_label: str) -> str:
    """The 5xx share of requests per job, in percent (``reports.http_status_label``)."""
    return (f'100 * sum by (job) (rate(http_requests_total{{{status_label}=~"5.."}}[1w]))'
            " / sum by (job) (rate(http_requests_total[1w]))")

THROUGHPUT = "sum by (job) (rate(http_requests_total[1w]))"
THROUGHPUT_CHART = "sum by (job) (rate(http_requests_total[5m]))"
PROBE_LATENCY = "avg by (instance) (avg_over_time(probe_duration_seconds[1w]))"
SECTIONS = 4


def week_over_week(q: Queries, title: str, expr: str, at: datetime, key: str, unit: str,
                   worse_when_higher: bool = True, tolerance: float = 0.2) -> Table | None:
    """A table of ``expr`` per ``key`` this week and last week (``offset 1w``) with the
    change; a change for the worse by more than ``tolerance`` is a warning. None: no data."""
    now = q.vector(expr, at)
    if not now:
        return None
    last = forecast.last_week(expr)
    before = {lb.get(key, ""): v for lb, v in q.vector(last, at) or []}
    rows, statuses = [], []

    def judge(change: float) -> Status:
        worse = change > tolerance if worse_when_higher else change < -tolerance
        return "warn" if worse else "ok"

    for lb, v in sorted(now, key=lambda r: r[0].get(key, "")):
        prev = before.get(lb.get(key, ""))
        change = None if not prev else (v - prev) / prev
        # Rounded to a millionth of a percent: float noise must not print as "-0.000000 %".
        rows.append((lb.get(key, "") or "(all)", v, prev, None if change is None else round(100 * change, 6) + 0.0))
        statuses.append("unknown" if change is None else judge(change))
    return Table(title, (key, "this week", "last week", "change"), tuple(rows), tuple(statuses),
                 f"{expr}\n{last}", "compared with the same 7 days one week earlier",
                 units=("", unit, unit, "percent"))


def _section(q: Queries, at: datetime, specs: list[tuple[str, str, str, str, bool]], missing: str) -> list[Item]:
    items: list[Item] = [t for t in (week_over_week(q, title, expr, at, key, unit, higher)
                                     for title, expr, key, unit, higher in specs) if t is not None]
    return items or [no_data(specs[0][0].lower(), missing)]


def build(ctx: ReportContext, at: datetime) -> Report:
    q, out = Queries(ctx), Sections(ctx)
    start = at - timedelta(days=7)
    http = "no http_request_duration_seconds / http_requests_total series from the applications."
    out.add("Latency", _section(q, at, [("Average latency", LATENCY_AVG, "job", "seconds", True),
                                        ("95th percentile latency", LATENCY_P95, "job", "seconds", True)], http))
    out.add("Errors and throughput", _section(q, at, [("Error rate (5xx)", error_rate(ctx.config.reports.http_status_label),
                                                       "job", "percent", True),
                                                      ("Throughput", THROUGHPUT, "job", "req/s", False)], http))
    probes = week_over_week(q, "Probe response time", PROBE_LATENCY, at, "instance", "seconds")
    out.add("Probes", [probes] if probes else [no_data("probe response times", "no probe_duration_seconds series.")])
    series = q.matrix(THROUGHPUT_CHART, start, at, timedelta(hours=1))
    chart: list[Item] = ([Chart("Requests per second, 7 days", "req/s",
                                tuple(ChartSeries(lb.get("job", "") or "(all)", tuple(p)) for lb, p in series),
                                THROUGHPUT_CHART)] if series else
                         [Note("No request rate to chart.", "unknown")])
    out.add("Throughput over the week", chart)
    return out.report("weekly-performance", "Weekly performance review", start, at)


WEEKLY_PERFORMANCE = ReportDefinition("weekly-performance", "Weekly performance review", SECTIONS, build,
                                      "Latency (avg, p95), error rate, throughput, week over week")
