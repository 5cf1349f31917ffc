"""Charts of a report drawn on the server as inline SVG, so that a printed page (and the PDF
Chromium prints) shows them without running any script.

Only presentation attributes (``stroke``, ``fill``) are used, never ``style=``: the archived
report is served under a Content-Security-Policy that allows the report's one style sheet and
nothing inline. Times on the x axis are written in the report's time zone.
"""

from __future__ import annotations

import math
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from vigil.reports.format import format_value
from vigil.reports.model import Chart

__all__ = ["PALETTE", "chart_svg", "nice_ticks"]

# Colour-blind-safe (Okabe–Ito), dark enough to print on white.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442")
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 70, 12, 12, 28


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values (1, 2, 2.5 or 5 times a power of ten apart) covering
    [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def _time_ticks(start: float, end: float, tz: ZoneInfo) -> list[tuple[float, str]]:
    """About six labelled times between start and end (unix seconds)."""
    span = max(end - start, 1.0)
    for step in (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400):
        if span / step <= 7:
            break
    fmt = "%H:%M" if step < 86400 and span <= 86400 else "%d %b %H:%M" if step < 86400 else "%d %b"
    # Align to the step in local time (a day step starts at local midnight).
    first = math.ceil(start / step) * step
    if step >= 86400:
        local = datetime.fromtimestamp(start, tz).replace(hour=0, minute=0, second=0, microsecond=0)
        first = local.timestamp() + (86400 if local.timestamp() < start else 0)
    out, t = [], first
    while t <= end:
        out.append((t, datetime.fromtimestamp(t, tz).strftime(fmt)))
        t += step
    return out


def chart_svg(chart: Chart, timezone: str = "UTC") -> str:
    """The chart as an ``<svg>`` element (a string of markup, already escaped)."""
    tz = ZoneInfo(timezone)
    points = [(t, v) for s in chart.series for t, v in s.points if math.isfinite(v)]
    title = escape(chart.title)
    if not points:
        return (f'<svg class="chart" viewBox="0 0 {WIDTH} 60" role="img" aria-label="{title}: no data">'
                f'<text x="{WIDTH / 2}" y="34" text-anchor="middle" fill="#555">no data</text></svg>')
    t0, t1 = min(p[0] for p in points), max(p[0] for p in points)
    values = [v for _, v in points] + [v for _, v in chart.thresholds]
    ticks = nice_ticks(min(values), max(values))
    y0, y1 = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - t0) / ((t1 - t0) or 1.0) * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - (v - y0) / ((y1 - y0) or 1.0) * plot_h

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}">',
             f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>']
    for v in ticks:
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" fill="#333">'
                     f'{escape(format_value(v, chart.unit))}</text>')
    for t, label in _time_ticks(t0, t1, tz):
        parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" stroke="#999"/>')
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="11" fill="#333">'
                     f'{escape(label)}</text>')
    for label, value in chart.thresholds:
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     f'stroke="#b00020" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{LEFT + plot_w - 4}" y="{y(value) - 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#b00020">{escape(label)}</text>')
    for i, series in enumerate(chart.series):
        colour = PALETTE[i % len(PALETTE)]
        # A gap in the data (a NaN) breaks the line instead of joining across it.
        runs: list[list[str]] = [[]]
        for t, v in series.points:
            if math.isfinite(v):
                runs[-1].append(f"{x(t):.1f},{y(v):.1f}")
            elif runs[-1]:
                runs.append([])
        for run in runs:
            if len(run) == 1:
                cx, cy = run[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="{colour}"/>')
            elif run:
                parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="1.6"/>')
    parts.append("</svg>")
    return "".join(parts)
