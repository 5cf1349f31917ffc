"""What the report definitions share: the definition record the registry holds, the report's
period in its time zone, and assembling sections while telling ``progress`` about each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.reports.context import ReportContext
from vigil.reports.model import Item, Report, Section

__all__ = ["ReportDefinition", "Sections", "aware"]


@dataclass(frozen=True)
class ReportDefinition:
    """One report: ``build(ctx, at)`` computes it for the period ending at ``at``;
    ``sections`` is how many sections it reports progress for."""
    name: str
    title: str
    sections: int
    builder: Callable[[ReportContext, datetime], Report]
    description: str = ""

    def build(self, ctx: ReportContext, at: datetime) -> Report:
        return self.builder(ctx, aware(at))


def aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a report's time must carry its time zone")
    return at


class Sections:
    """Collects a report's sections, calling ``ctx.progress`` once per section."""

    def __init__(self, ctx: ReportContext) -> None:
        self.ctx = ctx
        self.done: list[Section] = []

    def add(self, title: str, items: Sequence[Item], *, page_break_before: bool = False) -> None:
        self.done.append(Section(title, tuple(items), page_break_before))
        self.ctx.progress(title)

    def report(self, name: str, title: str, start: datetime, end: datetime) -> Report:
        zone = self.ctx.zone
        return Report(name, title, start.astimezone(zone), end.astimezone(zone),
                      datetime.now(zone), tuple(self.done), self.ctx.timezone, tuple(self.ctx.problems))


def days_ago(at: datetime, days: float) -> datetime:
    return at - timedelta(days=days)
