"""Capacity forecasting with honest uncertainty, and "compared with last week".

* :func:`days_until_full`: a least-squares line through the used amount over a window, and
  the day it reaches the capacity, with a range from the line's prediction interval: the
  earliest day is where the band's upper edge reaches the capacity, the latest where its lower
  edge does (none when the lower edge never gets there: the growth is not clearly above
  zero). It says "not enough data" or "not growing" when that is the truth instead of
  printing a number.
* :func:`steady_growth`: memory-leak suspects — a series that grows steadily (a good linear
  fit) by more than a share of its size per day.
* :func:`last_week`: a PromQL expression with every selector moved back one week
  (``offset 1w``), the runbook's "compared with last week".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from vigil.config.reports import ReportsForecast
from vigil.promql.parser import ast
from vigil.promql.parser.parse import parse_expr

__all__ = ["DAY_S", "WEEK_MS", "DaysUntilFull", "ForecastSettings", "Growth", "LinearFit", "days_until_full",
           "forecast_settings", "last_week", "linear_fit", "shifted", "steady_growth", "t_quantile"]

DAY_S = 86_400.0
WEEK_MS = 7 * 86_400_000

Points = Sequence[tuple[float, float]]  # (unix seconds, value)


@dataclass(frozen=True)
class ForecastSettings:
    """``window_s``: how far back the line is fitted; ``step_s``: the spacing of the points
    read; ``confidence``: of the prediction interval; ``horizon_days``: how far ahead a
    forecast looks; ``min_points``: fewer points than this are "not enough data"."""
    window_s: float = 7 * DAY_S
    step_s: float = 3600.0
    confidence: float = 0.9
    horizon_days: float = 730.0
    min_points: int = 6


def forecast_settings(config: ReportsForecast) -> ForecastSettings:
    """The settings of the ``reports.forecast`` section."""
    return ForecastSettings(window_s=config.window, step_s=config.step,
                            confidence=config.confidence, horizon_days=config.horizon / DAY_S)


def t_quantile(p: float, df: int) -> float:
    """Student's t quantile (Cornish–Fisher expansion around the normal; within 0.2 % of
    the tables for df >= 4, which :class:`ForecastSettings` ``min_points`` >= 6 ensures)."""
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    z = NormalDist().inv_cdf(p)
    v = float(df)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
            + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4))


@dataclass(frozen=True)
class LinearFit:
    """value = intercept + slope * (t - t_mean); slope per second."""
    n: int
    slope: float
    intercept: float  # the fitted value at t_mean
    t_mean: float
    sxx: float  # sum of (t - t_mean)^2
    residual_sd: float  # sqrt(SSE / (n - 2))
    r2: float  # 1 for a perfect line; 0 for a flat series too

    def at(self, t: float) -> float:
        return self.intercept + self.slope * (t - self.t_mean)

    def half_width(self, t: float, tcrit: float) -> float:
        """Half the prediction interval for one new value at ``t``."""
        return tcrit * self.residual_sd * math.sqrt(1 + 1 / self.n + (t - self.t_mean) ** 2 / self.sxx)


def linear_fit(points: Points) -> LinearFit | None:
    """The least-squares line, or None with fewer than three points or no time spread."""
    pts = [(t, v) for t, v in points if math.isfinite(v)]
    n = len(pts)
    if n < 3:
        return None
    t_mean = sum(t for t, _ in pts) / n
    v_mean = sum(v for _, v in pts) / n
    sxx = sum((t - t_mean) ** 2 for t, _ in pts)
    if sxx == 0:
        return None
    sxy = sum((t - t_mean) * (v - v_mean) for t, v in pts)
    slope = sxy / sxx
    sse = sum((v - (v_mean + slope * (t - t_mean))) ** 2 for t, v in pts)
    syy = sum((v - v_mean) ** 2 for _, v in pts)
    r2 = 1 - sse / syy if syy > 0 else 0.0
    return LinearFit(n, slope, v_mean, t_mean, sxx, math.sqrt(sse / (n - 2)), r2)


@dataclass(frozen=True)
class DaysUntilFull:
    status: Literal["not enough data", "not growing", "full", "growing"]
    days: float | None = None  # the line's estimate, from ``now``
    low: float | None = None  # the earliest day (the band's upper edge)
    high: float | None = None  # the latest day; None: the band's lower edge never gets there
    growth_per_day: float | None = None  # of the used amount, in its unit
    points: int = 0


def _first_crossing(f, lo: float, hi: float) -> float:  # type: ignore[no-untyped-def]
    """The t in [lo, hi] where increasing ``f`` crosses 0 (f(lo) < 0 <= f(hi))."""
    for _ in range(200):
        mid = (lo + hi) / 2
        if f(mid) >= 0:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1.0:
            break
    return hi


def days_until_full(used: Points, capacity: float, now: float,
                    settings: ForecastSettings = ForecastSettings()) -> DaysUntilFull:
    """Days from ``now`` (unix seconds) until ``used`` reaches ``capacity``, with a range."""
    pts = [(t, v) for t, v in used if math.isfinite(v)]
    if len(pts) < max(settings.min_points, 3):
        return DaysUntilFull("not enough data", points=len(pts))
    fit = linear_fit(pts)
    if fit is None:
        return DaysUntilFull("not enough data", points=len(pts))
    growth = fit.slope * DAY_S
    if pts[-1][1] >= capacity:
        return DaysUntilFull("full", 0.0, 0.0, 0.0, growth, len(pts))
    if fit.slope <= 0:
        return DaysUntilFull("not growing", growth_per_day=growth, points=len(pts))
    tcrit = t_quantile(1 - (1 - settings.confidence) / 2, fit.n - 2)
    end = now + settings.horizon_days * DAY_S
    days = max(0.0, ((capacity - fit.intercept) / fit.slope + fit.t_mean - now) / DAY_S)

    def upper(t: float) -> float:  # increasing after the data's middle, so after now
        return fit.at(t) + fit.half_width(t, tcrit) - capacity

    def lower(t: float) -> float:  # concave: rises to a peak, then may fall
        return fit.at(t) - fit.half_width(t, tcrit) - capacity

    low = 0.0 if upper(now) >= 0 else (
        None if upper(end) < 0 else (_first_crossing(upper, now, end) - now) / DAY_S)
    high: float | None
    if lower(now) >= 0:
        high = 0.0
    else:
        a, b = now, end  # the peak of the concave lower edge, by ternary search
        for _ in range(200):
            m1, m2 = a + (b - a) / 3, b - (b - a) / 3
            if lower(m1) < lower(m2):
                a = m1
            else:
                b = m2
            if b - a < 1.0:
                break
        peak = (a + b) / 2
        high = None if lower(peak) < 0 else (_first_crossing(lower, now, peak) - now) / DAY_S
    return DaysUntilFull("growing", days, low, high, growth, len(pts))


@dataclass(frozen=True)
class Growth:
    suspect: bool
    per_day_ratio: float | None  # growth per day as a share of the series' mean
    r2: float | None
    points: int


def steady_growth(points: Points, *, min_r2: float = 0.8, min_per_day_ratio: float = 0.01,
                  min_points: int = 6) -> Growth:
    """Whether ``points`` grow steadily: a line fits well (r² >= ``min_r2``) and rises by at
    least ``min_per_day_ratio`` of the mean a day — how a leak looks, unlike a cache that
    fills and levels off or usage that goes up and down with the day."""
    pts = [(t, v) for t, v in points if math.isfinite(v)]
    fit = linear_fit(pts) if len(pts) >= min_points else None
    if fit is None or fit.intercept <= 0:
        return Growth(False, None, None, len(pts))
    ratio = fit.slope * DAY_S / fit.intercept
    return Growth(ratio >= min_per_day_ratio and fit.r2 >= min_r2, ratio, fit.r2, len(pts))


def shifted(expr: str, ms: int) -> str:
    """``expr`` with every selector ``ms`` earlier (added to its ``offset``); selectors
    pinned with ``@`` are left as they are."""
    tree = parse_expr(expr)
    for node in ast.walk(tree):
        if isinstance(node, ast.VectorSelector) and node.at is None and node.offset_expr is None:
            node.offset_ms += ms
    return str(tree)


def last_week(expr: str) -> str:
    """``expr`` one week earlier: every selector gets ``offset 1w`` more."""
    return shifted(expr, WEEK_MS)
