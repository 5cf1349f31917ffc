"""Geometry of the server-rendered time-series graph: scales, ticks and polylines.

:func:`build_plot` turns a range-query :class:`~vigil.promql.value.Matrix` into plain numbers
in SVG user units; the ``_graph.html`` template only writes them out. Times are int ms and
shown in UTC. A series is broken into several polylines where it has gaps (a missing step
or a non-finite value), so absent data is never drawn as a straight line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

from vigil.gocompat.floats import format_sample_value
from vigil.promql.value import Matrix
from vigil.web.formatting import dumps

__all__ = ["PALETTE", "Plot", "SeriesPlot", "Tick", "build_plot", "format_tick_value",
           "hover_data"]

PALETTE = ("#1f77b4", "#e6550d", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939")

_SECOND = 1000
_TIME_STEPS_MS = [s * _SECOND for s in (1, 2, 5, 10, 15, 30)] + \
    [m * 60 * _SECOND for m in (1, 2, 5, 10, 15, 30)] + \
    [h * 3600 * _SECOND for h in (1, 2, 3, 6, 12)] + \
    [d * 86400 * _SECOND for d in (1, 2, 7, 14, 30, 90, 365)]
_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


@dataclass(frozen=True)
class Tick:
    pos: float  # x or y in SVG units
    label: str


@dataclass(frozen=True)
class SeriesPlot:
    label: str  # the series' labels as PromQL prints them
    color: str
    lines: tuple[str, ...]  # SVG polyline "points" attributes, one per contiguous run
    last_value: float | None


@dataclass(frozen=True)
class Plot:
    width: int
    height: int
    left: float  # plot area origin and size, inside the axes
    top: float
    plot_width: float
    plot_height: float
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    series: tuple[SeriesPlot, ...] = field(default_factory=tuple)

    @property
    def bottom(self) -> float:
        return self.top + self.plot_height

    @property
    def right(self) -> float:
        return self.left + self.plot_width


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is at least ``raw``."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw * (1 - 1e-9):
            return m * power
    return 10 * power


def format_tick_value(value: float, step: float) -> str:
    """A value-axis label: SI suffix for large numbers, as many decimals as the step needs."""
    if value == 0:
        return "0"
    divisor, suffix = 1.0, ""
    for size, name in _SI:
        if abs(value) >= size and step >= size / 1000:
            divisor, suffix = size, name
            break
    scaled_step = step / divisor
    decimals = max(0, -math.floor(math.log10(scaled_step) + 1e-9)) if scaled_step > 0 else 0
    if scaled_step * 10**decimals % 1 > 1e-6:  # steps such as 2.5 need one more digit
        decimals += 1
    return f"{value / divisor:.{min(decimals, 12)}f}{suffix}"


def _time_label(ts_ms: int, interval_ms: int, span_ms: int) -> str:
    t = datetime.fromtimestamp(ts_ms / 1000, tz=timezone.utc)
    if interval_ms >= 86_400_000:
        return t.strftime("%m-%d")
    if span_ms > 86_400_000:
        return t.strftime("%m-%d %H:%M")
    if interval_ms < 60_000:
        return t.strftime("%H:%M:%S")
    return t.strftime("%H:%M")


def _value_range(matrix: Matrix) -> tuple[float, float]:
    lo, hi = math.inf, -math.inf
    for s in matrix.series:
        for v in s.values.tolist():
            if math.isfinite(v):
                lo, hi = min(lo, v), max(hi, v)
    if lo > hi:
        return 0.0, 1.0
    if lo == hi:
        pad = abs(lo) * 0.1 or 1.0
        return lo - pad, hi + pad
    return lo, hi


def build_plot(matrix: Matrix, start_ms: int, end_ms: int, step_ms: int, *,
               width: int = 960, height: int = 360) -> Plot:
    """Lay out ``matrix`` over ``[start_ms, end_ms]``; ``step_ms`` is the query resolution,
    used to detect gaps. Pure: the same inputs give the same plot."""
    left, top, right_pad, bottom_pad = 64.0, 12.0, 16.0, 28.0
    pw, ph = width - left - right_pad, height - top - bottom_pad
    span = max(end_ms - start_ms, 1)

    lo, hi = _value_range(matrix)
    ystep = _nice_step((hi - lo) / 5)
    ymin, ymax = math.floor(lo / ystep) * ystep, math.ceil(hi / ystep) * ystep
    if ymax <= ymin:
        ymax = ymin + ystep

    def x(ts: int) -> float:
        return left + (ts - start_ms) / span * pw

    def y(v: float) -> float:
        return top + (ymax - v) / (ymax - ymin) * ph

    interval = next((s for s in _TIME_STEPS_MS if span / s <= 8), _TIME_STEPS_MS[-1])
    first = -(-start_ms // interval) * interval
    x_ticks = tuple(Tick(round(x(t), 1), _time_label(t, interval, span))
                    for t in range(first, end_ms + 1, interval))
    count = round((ymax - ymin) / ystep)
    y_ticks = tuple(Tick(round(y(ymin + i * ystep), 1), format_tick_value(ymin + i * ystep, ystep))
                    for i in range(count + 1))

    plots = []
    gap = max(step_ms, 1) * 1.5
    for i, s in enumerate(matrix.series):
        runs: list[list[str]] = []
        prev_ts: int | None = None
        for ts, v in zip(s.timestamps.tolist(), s.values.tolist(), strict=True):
            if not math.isfinite(v):
                prev_ts = None
                continue
            if prev_ts is None or ts - prev_ts > gap:
                runs.append([])
            runs[-1].append(f"{x(ts):.1f},{y(v):.1f}")
            prev_ts = ts
        finite = [v for v in s.values.tolist() if math.isfinite(v)]
        plots.append(SeriesPlot(
            label=str(s.labels),
            color=PALETTE[i % len(PALETTE)],
            lines=tuple(" ".join(r) for r in runs if r),
            last_value=finite[-1] if finite else None,
        ))
    return Plot(width, height, left, top, pw, ph, x_ticks, y_ticks, tuple(plots))


def hover_data(matrix: Matrix, plot: Plot, start_ms: int, end_ms: int) -> str:
    """The samples behind the graph as JSON for the hover read-out in ``graph.js``.

    HTML-significant characters are escaped (``\\u003c``), so the text is safe inside a
    ``<script type="application/json">`` element."""
    return dumps({
        "left": plot.left, "right": plot.right, "start": start_ms, "end": end_ms,
        "series": [{"label": p.label, "color": p.color, "t": s.timestamps.tolist(),
                    "v": [format_sample_value(v) for v in s.values.tolist()]}
                   for s, p in zip(matrix.series, plot.series, strict=True)],
    })
