"""Objective figures from a recorded history (tests/objectives/history.py) in a real state
database equal the values computed by hand below."""

from __future__ import annotations

import pytest

from tests.objectives.history import END, START, record_history
from vigil.config.objectives import ObjectivesConfig
from vigil.objectives.records import TimeStats
from vigil.objectives.service import ObjectivesService
from vigil.state import Store
from vigil.state.incident_store import IncidentStore


class NoMetrics:
    """The record figures never query metrics; availability is tested with a real TSDB."""

    def instant_query(self, query: str, ts_ms: int):
        raise AssertionError(f"unexpected query {query}")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    store = Store.open_in(str(tmp_path_factory.mktemp("state")))
    store.migrate()
    record_history(store)
    yield ObjectivesService(ObjectivesConfig(), store.engine, IncidentStore(store.engine), NoMetrics())
    store.close()


def _groups(figures, part="alerts"):
    return {g.key: g for g in getattr(figures, part)}


def test_by_priority(service):
    f = service.figures(START, END, by="priority")
    g = _groups(f)
    assert sorted(g) == ["P1", "P2", "P3", "P4"]
    # P1: E1 (ack 90 s, resolve 1800 s), E2 (480 s, 5400 s); E6 and E7 lie outside.
    p1 = g["P1"]
    assert (p1.episodes, p1.acknowledge.count, p1.acknowledge.mean) == (2, 2, 285)
    assert (p1.acknowledge.median, p1.acknowledge.p90) == (285, 480)
    assert (p1.resolve.count, p1.resolve.mean) == (2, 3600)
    assert (p1.classified, p1.false_positives, p1.false_positive_ratio) == (2, 1, 0.5)
    # P2: E3 acknowledged in 240 s; E4 never acknowledged, resolved by Vigil (unclassified).
    p2 = g["P2"]
    assert (p2.episodes, p2.acknowledge.count, p2.acknowledge.mean) == (2, 1, 240)
    assert (p2.resolve.mean, p2.resolve.median) == (900, 900)
    assert (p2.classified, p2.false_positive_ratio) == (1, 0.0)  # a duplicate is not false
    # P3: E5 acknowledged, still open: no resolve time, nothing classified.
    p3 = g["P3"]
    assert (p3.acknowledge.mean, p3.resolve.count, p3.resolve.mean, p3.false_positive_ratio) == (600, 0, None, None)
    assert (g["P4"].acknowledge.mean, g["P4"].resolve.mean, g["P4"].classified) == (60, 300, 1)


def test_totals_and_targets(service):
    f = service.figures(START, END)
    t = f.alerts_total
    # Acknowledged: 90, 480, 240, 600, 60 -> mean 294, median 240, p90 (5th of 5) 600.
    assert (t.episodes, t.acknowledge.count, t.acknowledge.mean) == (6, 5, 294)
    assert (t.acknowledge.median, t.acknowledge.p90) == (240, 600)
    # Resolved: 1800, 5400, 1200, 600, 300 -> mean 1860, median 1200.
    assert (t.resolve.count, t.resolve.mean, t.resolve.median) == (5, 1860, 1200)
    # Classified: actionable, false_positive, duplicate, no_action_needed -> 1 of 4.
    assert (t.classified, t.false_positives, t.false_positive_ratio) == (4, 1, 0.25)
    assert f.classifications == {"actionable": 1, "false_positive": 1, "duplicate": 1, "no_action_needed": 1}
    targets = {x.name: x for x in f.targets}
    assert (targets["mtta"].actual, targets["mtta"].target, targets["mtta"].met) == (294, 300, True)
    # MTTR on SEV-1 incidents declared in the window: 10:00 -> 10:50 (3000 s) and
    # 01:00 -> 03:30 (9000 s): mean 6000 s, over the 1 h target.
    assert (targets["mttr"].actual, targets["mttr"].met) == (6000, False)
    assert targets["mttr"].measured_on == "2 resolved SEV-1 incidents"
    assert (targets["false_positive_rate"].actual, targets["false_positive_rate"].target,
            targets["false_positive_rate"].met) == (0.25, 0.05, False)


def test_by_severity_team_and_month(service):
    sev = _groups(service.figures(START, END, by="severity"))
    assert {k: v.episodes for k, v in sev.items()} == {"(none)": 1, "critical": 2, "info": 1, "warning": 2}
    team = _groups(service.figures(START, END, by="team"))
    # db: E1, E3, E8 -> ack (90 + 240 + 60) / 3 = 130, resolve (1800 + 1200 + 300) / 3 = 1100.
    assert (team["db"].episodes, team["db"].acknowledge.mean, team["db"].resolve.mean) == (3, 130, 1100)
    # web: E2, E4, E5 -> ack (480 + 600) / 2 = 540, resolve (5400 + 600) / 2 = 3000, E2 false.
    assert (team["web"].acknowledge.mean, team["web"].resolve.mean, team["web"].false_positive_ratio) == (540, 3000, 1.0)
    month = _groups(service.figures(START, END, by="month"))
    assert {k: v.episodes for k, v in month.items()} == {"2026-10": 2, "2026-11": 4}


def test_incidents_reuse_the_incident_figures(service):
    f = service.figures(START, END, by="severity")
    inc = _groups(f, "incidents")
    # SEV-1: acknowledged 4 min and 10 min after detection; SEV-2 acknowledged, unresolved.
    assert (inc["SEV-1"].incidents, inc["SEV-1"].acknowledge.mean, inc["SEV-1"].resolve.mean) == (2, 420, 6000)
    assert (inc["SEV-2"].incidents, inc["SEV-2"].acknowledge.mean, inc["SEV-2"].resolve.count) == (1, 600, 0)
    assert f.incidents_total.incidents == 3  # "Old outage" was declared before the window
    by_month = _groups(service.figures(START, END, by="month"), "incidents")
    assert {k: v.incidents for k, v in by_month.items()} == {"2026-10": 1, "2026-11": 2}
    # Incidents have no priority: one group.
    assert [g.key for g in service.figures(START, END, by="priority").incidents] == ["all"]


def test_mttr_severities_and_targets_come_from_the_config(service):
    config = ObjectivesConfig.model_validate({"targets": {"mttr_severities": [1, 2], "mtta": 200,
                                                          "false_positive_percent": 30}})
    other = ObjectivesService(lambda: config, service.state_engine, service.incidents, NoMetrics())
    targets = {x.name: x for x in other.figures(START, END).targets}
    # SEV-2 has no resolution, so the mean is still over the two SEV-1 incidents.
    assert targets["mttr"].measured_on == "2 resolved SEV-1,SEV-2 incidents"
    assert (targets["mtta"].met, targets["false_positive_rate"].met) == (False, True)


def test_an_empty_window_meets_and_misses_nothing(service):
    from datetime import timedelta
    f = service.figures(START - timedelta(days=400), START - timedelta(days=300))
    assert f.alerts == [] and f.alerts_total.episodes == 0
    assert [x.met for x in f.targets] == [None, None, None]
    assert f.as_dict()["targets"][0]["actual"] is None


def test_time_stats_nearest_rank():
    stats = TimeStats.of([None, *range(20, 0, -1)])  # 1..20 in any order, an item without a time
    assert (stats.count, stats.mean, stats.median, stats.p90) == (20, 10.5, 10.5, 18)
    assert TimeStats.of([7.0]).p90 == 7.0
    assert TimeStats.of([None]) == TimeStats(0, None, None, None)


def test_bad_arguments(service):
    with pytest.raises(ValueError, match="unknown grouping 'region'"):
        service.figures(START, END, by="region")
    with pytest.raises(ValueError, match="end must be after start"):
        service.figures(END, START)
