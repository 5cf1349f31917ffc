"""What a report is, independent of how it is drawn: sections of figures, tables, charts,
notes and checklists, each figure carrying the PromQL that produced it so that a reader can
check it against the query API. Rendered to HTML, PDF and JSON by :mod:`vigil.reports.render`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["Chart", "ChartSeries", "Checklist", "ChecklistLine", "Figure", "Note", "Report",
           "Section", "Status", "Table"]

# ok: target met; warn: close to it or needs a look; bad: missed; unknown: no data to tell.
Status = Literal["ok", "warn", "bad", "unknown"]


@dataclass(frozen=True)
class Figure:
    """One number with its unit (``percent``, ``seconds``, ``bytes``, ``days``, ``count``,
    ``ratio``, or free text such as ``req/s``), the target it is held to, if any, and the
    PromQL that computed it (empty for figures read from Vigil's own records)."""
    label: str
    value: float | None
    unit: str = ""
    target: str = ""
    status: Status = "unknown"
    query: str = ""
    note: str = ""
    # A range around ``value`` where it is an estimate (a forecast): (low, high).
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    # Per row, the status of the row (same length as rows) or empty for none.
    statuses: tuple[Status, ...] = ()
    query: str = ""
    note: str = ""
    # Per column, the unit its numbers are written in (as Figure.unit; "" for none), or
    # empty: numbers written as they are.
    units: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChartSeries:
    name: str
    points: tuple[tuple[float, float], ...]  # (unix seconds, value), ascending


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    series: tuple[ChartSeries, ...]
    query: str = ""
    # Horizontal lines worth drawing (a threshold, a target): (label, value).
    thresholds: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Note:
    """A paragraph of plain text (no markup); ``status`` colours it when it is a finding."""
    text: str
    status: Status | None = None


@dataclass(frozen=True)
class ChecklistLine:
    item: str
    done: bool | None  # None: not checked
    by: str = ""  # "vigil" for items Vigil verified, else the person
    evidence: str = ""


@dataclass(frozen=True)
class Checklist:
    title: str
    lines: tuple[ChecklistLine, ...]


Item = Figure | Table | Chart | Note | Checklist


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Item, ...]
    # A section that starts on a new printed page.
    page_break_before: bool = False


@dataclass(frozen=True)
class Report:
    name: str  # daily, weekly-capacity, weekly-performance, weekly-security, monthly
    title: str
    period_start: datetime  # timezone-aware
    period_end: datetime
    generated_at: datetime
    sections: tuple[Section, ...]
    timezone: str = "UTC"
    # Problems met while computing (a query that failed): shown at the top, never hidden.
    problems: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``--format json``, the archive, the API): items carry a ``kind``."""
        def item(i: Item) -> dict[str, Any]:
            return {"kind": type(i).__name__.lower(), **asdict(i)}
        return {"name": self.name, "title": self.title, "timezone": self.timezone,
                "periodStart": self.period_start.isoformat(), "periodEnd": self.period_end.isoformat(),
                "generatedAt": self.generated_at.isoformat(), "problems": list(self.problems),
                "sections": [{"title": s.title, "pageBreakBefore": s.page_break_before,
                              "items": [item(i) for i in s.items]} for s in self.sections]}
