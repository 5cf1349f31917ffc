"""PromQL for the report definitions: every metric figure goes through the context's engine
and keeps its query; a query that fails is recorded as a problem of the report (shown at its
top) and reads as "no data", never as a zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from vigil.errors import VigilError
from vigil.promql.value import Matrix, Scalar, Vector
from vigil.reports import forecast
from vigil.reports.context import ReportContext
from vigil.reports.model import Figure, Note, Status

__all__ = ["Queries", "Row", "Series", "above", "below", "duration", "no_data", "shifted"]

Row = tuple[dict[str, str], float]  # (labels, value)
Series = tuple[dict[str, str], list[tuple[float, float]]]  # (labels, [(unix s, value)])


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def duration(span: timedelta) -> str:
    """A PromQL duration for ``span`` in whole seconds (``604800s``)."""
    return f"{int(span.total_seconds())}s"


def shifted(expr: str, span: timedelta) -> str:
    """``expr`` with every selector moved ``span`` earlier."""
    return forecast.shifted(expr, int(span.total_seconds() * 1000))


def no_data(what: str, needs: str) -> Note:
    """The note a section shows when its data is absent (instead of zeros)."""
    return Note(f"No data for {what}: {needs}", "unknown")


class Queries:
    """Instant and range queries through ``ctx.engine``; failures become report problems."""

    def __init__(self, ctx: ReportContext) -> None:
        self.ctx = ctx

    def _problem(self, expr: str, e: Exception) -> None:
        self.ctx.problems.append(f"query failed: {expr}: {e}")

    def vector(self, expr: str, at: datetime) -> list[Row] | None:
        """The samples of ``expr`` at ``at`` (finite values only), or None if it failed."""
        try:
            value = self.ctx.engine.instant_query(expr, _ms(at)).value
        except (VigilError, ValueError) as e:
            self._problem(expr, e)
            return None
        if isinstance(value, Scalar):
            return [({}, value.value)] if math.isfinite(value.value) else []
        if isinstance(value, Vector):
            return [(dict(s.labels), s.value) for s in value.samples if math.isfinite(s.value)]
        self._problem(expr, ValueError(f"a {value.type} where an instant vector was expected"))
        return None

    def value(self, expr: str, at: datetime) -> float | None:
        """The single value of ``expr`` at ``at`` (None: no data or failed)."""
        rows = self.vector(expr, at)
        return rows[0][1] if rows else None

    def matrix(self, expr: str, start: datetime, end: datetime, step: timedelta) -> list[Series] | None:
        step_ms = int(step.total_seconds() * 1000)
        try:
            value = self.ctx.engine.range_query(expr, _ms(start), _ms(end), step_ms).value
        except (VigilError, ValueError) as e:
            self._problem(expr, e)
            return None
        assert isinstance(value, Matrix)
        return [(dict(s.labels), [(int(t) / 1000, float(v)) for t, v in zip(s.timestamps, s.values, strict=True)
                                  if math.isfinite(v)]) for s in value.series]

    def figure(self, label: str, expr: str, at: datetime, *, unit: str = "", target: str = "",
               judge: Callable[[float], Status] | None = None, note: str = "") -> Figure:
        """A figure of the single value of ``expr``; its status from ``judge`` (unknown
        without data)."""
        v = self.value(expr, at)
        status: Status = "unknown" if v is None or judge is None else judge(v)
        return Figure(label, v, unit, target, status, expr, note if v is not None else (note or "no data"))


def below(limit: float, warn_share: float = 0.9) -> Callable[[float], Status]:
    """ok under ``warn_share`` of the limit, warn up to it, bad over it."""
    return lambda v: "ok" if v < limit * warn_share else ("warn" if v < limit else "bad")


def above(limit: float) -> Callable[[float], Status]:
    return lambda v: "ok" if v > limit else "bad"
