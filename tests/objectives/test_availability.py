"""Availability and error budgets computed by Vigil's PromQL engine over samples in a real
TSDB, equal to values worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from vigil.config.objectives import ObjectivesConfig
from vigil.model import Labels
from vigil.objectives.service import ObjectivesService
from vigil.promql import Engine
from vigil.state import Store
from vigil.state.incident_store import IncidentStore
from vigil.tsdb import DB

START = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)
END = START + timedelta(hours=1)


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    base = tmp_path_factory.mktemp("avail")
    with DB.open(base / "tsdb") as db:
        app = db.appender()
        for minute in range(61):  # one sample a minute, 10:00 .. 11:00
            at = _ms(START) + minute * 60_000
            # api: down 10:20..10:25 (6 samples).
            app.append(Labels({"__name__": "probe_success", "job": "api"}), at, 0.0 if 20 <= minute <= 25 else 1.0)
            # db: two targets, db-2 down for the second half (minutes 31..60: 30 samples).
            app.append(Labels({"__name__": "up", "job": "db", "instance": "db-1"}), at, 1.0)
            app.append(Labels({"__name__": "up", "job": "db", "instance": "db-2"}), at, 0.0 if minute > 30 else 1.0)
            # cache: only scraped from 10:31 on, down at 10:40.
            if minute > 30:
                app.append(Labels({"__name__": "up", "job": "cache"}), at, 0.0 if minute == 40 else 1.0)
        app.commit()
        config = ObjectivesConfig.model_validate({"services": [
            {"name": "api", "query": 'probe_success{job="api"}', "availability_percent": 80},
            {"name": "db", "query": 'up{job="db"}'},
            {"name": "cache", "query": 'up{job="cache"}', "availability_percent": 99},
            {"name": "gone", "query": 'up{job="gone"}'},
            {"name": "broken", "query": 'up{job="x"'},
        ]})
        store = Store.open_in(str(base / "state"))
        store.migrate()
        yield ObjectivesService(config, store.engine, IncidentStore(store.engine), Engine(db))
        store.close()


def test_availability_per_service(service):
    found = {a.service: a for a in service.availability(START, END)}
    assert list(found) == ["api", "db", "cache", "gone", "broken"]
    # The subquery samples 10:01 .. 11:00 (60 points); api is down at 6 of them.
    api = found["api"]
    assert api.availability_ratio == pytest.approx(54 / 60)
    assert api.coverage_ratio == pytest.approx(1.0)
    assert api.downtime_seconds == pytest.approx(360)
    # Target 80 %: the budget is 20 % of an hour (720 s), half of it spent.
    assert (api.budget_seconds, api.budget_remaining_ratio, api.met) == (pytest.approx(720), pytest.approx(0.5), True)
    # db: both up for 30 points, half up for 30 -> 0.75; 900 s down against a 3.6 s budget.
    db = found["db"]
    assert db.availability_ratio == pytest.approx(0.75)
    assert db.budget_remaining_ratio == pytest.approx(1 - 900 / 3.6)
    assert (db.target_percent, db.met) == (99.9, False)
    # cache: data for half the window only (30 points), down at one: 29/30 of the time with
    # data; the half without data is not counted down, so 1/30 of 1800 s = 60 s.
    cache = found["cache"]
    assert (cache.availability_ratio, cache.coverage_ratio) == (pytest.approx(29 / 30), pytest.approx(0.5))
    assert cache.downtime_seconds == pytest.approx(60)
    # Target 99 %: a budget of 36 s, overspent.
    assert (cache.budget_remaining_ratio, cache.met) == (pytest.approx(1 - 60 / 36), False)
    # No data at all: no figure and no verdict. A bad query: its error, the others go on.
    assert (found["gone"].availability_ratio, found["gone"].met, found["gone"].error) == (None, None, None)
    assert found["broken"].availability_ratio is None and "unexpected" in (found["broken"].error or "")


def test_the_queries_are_kept_and_targets_list_each_service(service):
    api = service.availability(START, END)[0]
    assert api.availability_query == 'avg_over_time((avg(probe_success{job="api"}))[3600s:60s])'
    assert api.as_dict()["availabilityPercent"] == pytest.approx(90)
    targets = {t.name: t for t in service.targets(START, END)}
    assert (targets["availability:api"].actual, targets["availability:api"].met) == (pytest.approx(90), True)
    assert targets["availability:db"].met is False
    assert targets["availability:gone"].met is None
