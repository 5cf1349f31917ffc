"""A small report of the tests' own (not one of the shipped reports): every kind of item, a
chart with a threshold, a page break, and figures with their statuses, so the machinery
(render, archive, schedule, delivery, API, CLI) is tested apart from the reports' contents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vigil.reports.model import (
    Chart,
    ChartSeries,
    Checklist,
    ChecklistLine,
    Figure,
    Note,
    Report,
    Section,
    Table,
)

START = datetime.fromisoformat("2026-12-06T09:00:00+00:00")


def sample_report(at: datetime = START + timedelta(days=1), *, name: str = "sample",
                  timezone: str = "Europe/Helsinki") -> Report:
    t0 = (at - timedelta(days=1)).timestamp()
    cpu = tuple((t0 + i * 3600, 40 + 20 * ((i % 12) / 12)) for i in range(25))
    mem = tuple((t0 + i * 3600, 55 + i * 0.8) for i in range(25))
    return Report(
        name=name, title="Sample health report", timezone=timezone,
        period_start=at - timedelta(days=1), period_end=at, generated_at=at,
        problems=("query up{job=\"db\"} failed: no such job",),
        sections=(
            Section("Summary", (
                Figure("Availability", 99.93, "percent", target="≥ 99.9 %", status="ok",
                       query='avg_over_time(up{job="api"}[1d]) * 100'),
                Figure("MTTA (P1)", 412.0, "seconds", target="≤ 5 min", status="bad"),
                Figure("Disk /var full in", 23.5, "days", status="warn", low=17.0, high=31.0,
                       query="predict_linear(node_filesystem_avail_bytes[7d], 0)"),
                Note("Two P1 incidents overnight.", status="bad"),
            )),
            Section("Trends", (
                Chart("CPU and memory, last 24 h", "percent",
                      (ChartSeries("cpu host-a", cpu), ChartSeries("memory host-a", mem)),
                      query="avg by (instance) (rate(node_cpu_seconds_total[5m]))",
                      thresholds=(("70 % target", 70.0),)),
            )),
            Section("Details", (
                Table("Filesystems", ("host", "mount", "free", "days until full"),
                      (("host-a", "/var", 12.5e9, 23.5), ("host-b", "/", 80e9, None)),
                      statuses=("warn", "ok"), units=("", "", "bytes", "days"), note="From a linear fit over 7 days."),
                Checklist("Morning checklist", (
                    ChecklistLine("Critical services green", True, "vigil", "12/12 up"),
                    ChecklistLine("Backups done", False, "vigil", "db-backup last ran 30 h ago"),
                    ChecklistLine("Review dashboards", None))),
            ), page_break_before=True),
        ))


@dataclass
class SampleDefinition:
    """A report definition as the registry holds them: ``build(ctx, at)``, ``sections``."""

    name: str = "sample"
    title: str = "Sample health report"
    sections: int = 3
    calls: list[datetime] = field(default_factory=list)

    def build(self, ctx: Any, at: datetime) -> Report:
        self.calls.append(at)
        # Progress as the shipped reports give it: one call per section computed.
        for title in ("Summary", "Trends", "Details"):
            ctx.progress(title)
        return sample_report(at, name=self.name)
