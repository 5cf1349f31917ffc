"""SLO statuses through Vigil's PromQL engine over a real TSDB, against hand-computed answers.

Data: one sample a minute for 150 minutes; requests grow 1000 a minute; errors 10 a minute for
the first 120 minutes, then 100 a minute. Both counters are sampled at the same instants and
never near zero inside the short windows, so ``rate`` extrapolates them alike and each window's
error ratio is the ratio of the increases between the samples inside the window:

- 5m (4 intervals, all in the 100/min phase): 400 / 4000 = 0.1 → burn 0.1 / 0.001 = 100;
- 1h (59 intervals: 30 at 100/min, 29 at 10/min): 3290 / 59000;
- 30d (the whole series, 150 intervals; both counters start at 0, so both are clamped at the
  first sample alike): (1200 + 3000) / 150000 = 0.028 → budget left 1 - 28 = -27.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigil.model import Labels
from vigil.promql import Engine
from vigil.slo.model import SLOFile
from vigil.slo.status import slo_statuses

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
END = START + timedelta(minutes=150)


def _spec() -> SLOFile:
    return SLOFile.model_validate({"version": "prometheus/v1", "service": "shop", "slos": [
        {"name": "avail", "objective": 99.9, "alerting": {"name": "ShopErrors"}, "sli": {"events": {
            "error_query": 'sum(rate(req_total{code="500"}[{{.window}}]))',
            "total_query": "sum(rate(req_total[{{.window}}]))"}}},
        {"name": "raw", "objective": 90, "alerting": {"name": "ShopRaw"}, "sli": {"raw": {
            "error_ratio_query": 'sum(rate(req_total{code="500"}[{{ .window }}]))'
                                 " / sum(rate(req_total[{{ .window }}]))"}}},
        {"name": "nodata", "objective": 99, "alerting": {"name": "Nothing"}, "sli": {"events": {
            "error_query": "sum(rate(absent_total[{{.window}}]))",
            "total_query": "sum(rate(absent_total[{{.window}}]))"}}},
    ]})


@pytest.fixture
def engine(tsdb_store):
    t0 = int(START.timestamp() * 1000)
    errors = ok = 0.0
    app = tsdb_store.appender()
    for minute in range(151):
        if minute:
            e = 10 if minute <= 120 else 100
            errors += e
            ok += 1000 - e
        at = t0 + minute * 60_000
        app.append(Labels({"__name__": "req_total", "code": "500"}), at, errors)
        app.append(Labels({"__name__": "req_total", "code": "200"}), at, ok)
    app.commit()
    return Engine(tsdb_store)


def test_budget_left_and_burn_rate_per_window(engine) -> None:
    avail, raw, nodata = slo_statuses(engine, [_spec()], END)
    assert (avail.service, avail.name, avail.slo_id, avail.window) == ("shop", "avail", "shop-avail", "30d")
    rates = {b.window: b for b in avail.burn_rates}
    assert list(rates) == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
    assert rates["5m"].error_ratio == pytest.approx(0.1)
    assert rates["5m"].burn_rate == pytest.approx(100)
    assert rates["30m"].error_ratio == pytest.approx(0.1)
    assert rates["1h"].error_ratio == pytest.approx(3290 / 59000)
    assert rates["1h"].burn_rate == pytest.approx(3290 / 59000 / 0.001)
    assert avail.period_error_ratio == pytest.approx(0.028)
    assert avail.error_budget_left_ratio == pytest.approx(-27)
    assert avail.met is False and avail.problems == ()
    # The raw SLI gives the same ratios; a 10 % budget makes them 10× smaller burn rates.
    assert raw.burn_rates[0].burn_rate == pytest.approx(1.0)
    assert raw.error_budget_left_ratio == pytest.approx(1 - 0.28)
    assert raw.met is True
    # No data: no ratio, no verdict (not "all good").
    assert nodata.period_error_ratio is None and nodata.error_budget_left_ratio is None
    assert nodata.met is None and all(b.burn_rate is None for b in nodata.burn_rates)
    d = avail.as_dict()
    assert d["objectivePercent"] == 99.9 and d["burnRates"][0] == {
        "window": "5m", "errorRatio": pytest.approx(0.1), "burnRate": pytest.approx(100)}


def test_a_failing_query_is_a_problem_not_an_exception(engine) -> None:
    spec = _spec()
    broken = spec.model_copy(update={"slos": [spec.slos[0].model_copy(update={"sli": spec.slos[0].sli.model_copy(
        update={"events": spec.slos[0].sli.events.model_copy(update={"total_query": "sum(rate(req_total[{{.window}}])"})})})]})
    (status,) = slo_statuses(engine, [broken], END)
    assert status.error_budget_left_ratio is None
    assert len(status.problems) == 8 and status.problems[0].startswith("5m: ")
