"""Forecasting against data whose answers are computed by hand: a least-squares line with a
known slope, its prediction interval from Student's t table, the honest "not growing",
"not enough data" and "full", leak suspects by steady growth, and ``offset 1w`` baselines."""

from __future__ import annotations

import math

import pytest

from vigil.reports.forecast import (
    DAY_S,
    ForecastSettings,
    days_until_full,
    last_week,
    linear_fit,
    shifted,
    steady_growth,
    t_quantile,
)

# Six daily points: t = 0..5 days, values 1, 3, 2, 5, 4, 6. By hand: t̄ = 2.5, v̄ = 3.5,
# Sxx = 17.5 day², Sxy = 15.5, slope = 31/35 a day, SSE = 3.771428…, s = √(SSE/4).
POINTS = [(d * DAY_S, v) for d, v in enumerate((1.0, 3.0, 2.0, 5.0, 4.0, 6.0))]
SLOPE_PER_DAY = 31 / 35
SSE = 132 / 35
T_TABLE_95_4 = 2.132  # Student's t, one-sided 95 %, 4 degrees of freedom (two-sided 90 %)


@pytest.mark.parametrize(("p", "df", "table"), [(0.95, 4, 2.132), (0.95, 8, 1.860), (0.975, 10, 2.228),
                                                (0.95, 30, 1.697), (0.995, 20, 2.845)])
def test_t_quantile_matches_the_table(p: float, df: int, table: float) -> None:
    assert t_quantile(p, df) == pytest.approx(table, abs=0.002)


def test_linear_fit_by_hand() -> None:
    fit = linear_fit(POINTS)
    assert fit is not None
    assert fit.slope * DAY_S == pytest.approx(SLOPE_PER_DAY)
    assert fit.intercept == pytest.approx(3.5)
    assert fit.t_mean == pytest.approx(2.5 * DAY_S)
    assert fit.residual_sd == pytest.approx(math.sqrt(SSE / 4))
    assert fit.r2 == pytest.approx(1 - SSE / 17.5)  # Syy = 17.5 too


def test_days_until_full_with_its_range_by_hand() -> None:
    capacity, now = 20.0, 5 * DAY_S
    f = days_until_full(POINTS, capacity, now, ForecastSettings(min_points=6, confidence=0.9))
    assert f.status == "growing"
    # The line reaches 20 at t̄ + (20 − 3.5)/slope = 2.5 + 16.5·35/31 days; now is day 5.
    assert f.days == pytest.approx(2.5 + 16.5 * 35 / 31 - 5)
    assert f.growth_per_day == pytest.approx(SLOPE_PER_DAY)
    # The band's edges meet the capacity where (16.5 − b·u)² = c²(1 + 1/6 + u²/17.5), u = t − t̄
    # in days, c = t·s: a quadratic whose smaller root is the earliest day, the larger the latest.
    b, c = SLOPE_PER_DAY, T_TABLE_95_4 * math.sqrt(SSE / 4)
    qa, qb, qc = b * b - c * c / 17.5, -33 * b, 16.5**2 - c * c * 7 / 6
    disc = math.sqrt(qb * qb - 4 * qa * qc)
    u_low, u_high = (-qb - disc) / (2 * qa), (-qb + disc) / (2 * qa)
    assert f.low == pytest.approx(u_low + 2.5 - 5, abs=0.02)
    assert f.high == pytest.approx(u_high + 2.5 - 5, abs=0.05)
    assert f.low < f.days < f.high


def test_an_exact_line_has_no_spread() -> None:
    # 40 GiB used, growing 1 GiB a day for 10 days, 100 GiB disk: 50 days left after day 10.
    pts = [(h * 3600.0, 40 + h / 24) for h in range(241)]
    f = days_until_full(pts, 100.0, 240 * 3600.0)
    assert (f.status, f.days) == ("growing", pytest.approx(50.0))
    assert f.low == pytest.approx(50.0, abs=1e-4) and f.high == pytest.approx(50.0, abs=1e-4)


def test_days_are_counted_from_now_not_from_the_last_point() -> None:
    pts = [(h * 3600.0, 40 + h / 24) for h in range(241)]
    later = days_until_full(pts, 100.0, 240 * 3600.0 + 2 * DAY_S)
    assert later.days == pytest.approx(48.0)


def test_noise_without_clear_growth_has_no_upper_bound() -> None:
    # Slope 0.02 a day under ±5 of noise: the lower edge of the band never reaches 100.
    pts = [(d * DAY_S, 50 + 0.02 * d + (5 if d % 2 else -5)) for d in range(14)]
    f = days_until_full(pts, 100.0, 13 * DAY_S)
    assert f.status == "growing" and f.high is None
    assert f.low is not None and f.low < f.days


def test_honest_answers_instead_of_numbers() -> None:
    shrinking = [(d * DAY_S, 80 - d) for d in range(10)]
    assert days_until_full(shrinking, 100.0, 9 * DAY_S).status == "not growing"
    flat = [(d * DAY_S, 50.0) for d in range(10)]
    assert days_until_full(flat, 100.0, 9 * DAY_S).status == "not growing"
    few = [(d * DAY_S, 50.0 + d) for d in range(5)]
    assert days_until_full(few, 100.0, 4 * DAY_S).status == "not enough data"
    gaps = [(d * DAY_S, math.nan) for d in range(10)]
    assert days_until_full(gaps, 100.0, 9 * DAY_S).status == "not enough data"
    full = [(d * DAY_S, 95.0 + d) for d in range(10)]
    f = days_until_full(full, 100.0, 9 * DAY_S)
    assert (f.status, f.days) == ("full", 0.0)


def test_steady_growth_finds_a_leak_and_spares_a_daily_cycle() -> None:
    leak = [(h * 3600.0, 200e6 + 20e6 * h / 24) for h in range(168)]
    g = steady_growth(leak)
    assert g.suspect and g.r2 == pytest.approx(1.0)
    # 20 MB a day over a mean of 200 + 20·3.5 MB.
    assert g.per_day_ratio == pytest.approx(20e6 / (200e6 + 20e6 * 83.5 / 24))
    cycle = [(h * 3600.0, 6e9 + 1e9 * math.sin(2 * math.pi * h / 24)) for h in range(168)]
    assert not steady_growth(cycle).suspect
    # A jump (a cache filled at once): it rose a lot, but no line fits it (r² = 0.75).
    jump = [(h * 3600.0, 1e9 if h < 84 else 1.5e9) for h in range(168)]
    g = steady_growth(jump)
    assert g.per_day_ratio is not None and g.per_day_ratio > 0.05
    assert g.r2 == pytest.approx(0.75, abs=0.01) and not g.suspect
    slow = [(h * 3600.0, 1e9 + 1e6 * h / 24) for h in range(168)]  # 0.1 % a day: not a leak
    assert not steady_growth(slow).suspect


def test_last_week_moves_every_selector() -> None:
    assert last_week('sum(rate(http_requests_total{job="api"}[5m]))') == \
        'sum(rate(http_requests_total{job="api"}[5m] offset 1w))'
    assert last_week("a / b offset 1d") == "a offset 1w / b offset 8d"
    assert last_week("a @ 100") == "a @ 100.000"  # pinned: left as it is
    assert shifted("max_over_time(up[1h])", 3_600_000) == "max_over_time(up[1h] offset 1h)"
