"""Vigil's own checks on a shift, on real parts: samples in a TSDB queried through Vigil's
PromQL engine, and alert episodes in the state database. Each outcome carries the evidence a
person reads: the query or filter, the time, and what came back (failing series first)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.shifts.support import now_s, open_episode, shifts_config, write_samples
from vigil.promql import Engine
from vigil.shifts.checks import ShiftChecker
from vigil.state import Store
from vigil.state.lifecycle_store import LifecycleStore
from vigil.tsdb import DB


@pytest.fixture
def parts(tmp_path):
    store = Store.open_in(str(tmp_path / "state"))
    with DB.open(str(tmp_path / "tsdb")) as db:
        yield db, ShiftChecker(Engine(db), LifecycleStore(store.engine)), LifecycleStore(store.engine)
    store.close()


def test_promql_check_ok_failed_and_evidence(parts) -> None:
    db, checker, _ = parts
    at = now_s()
    write_samples(db, at - timedelta(seconds=10), [
        ({"__name__": "probe_success", "instance": "https://erp.example"}, 1.0),
        ({"__name__": "probe_success", "instance": "https://api.example"}, 0.0),
        ({"__name__": "probe_success", "instance": "https://shop.example"}, 1.0),
        ({"__name__": "vigil_backup_newest_age_seconds", "dir": "/backups/pg"}, 7200.0)])
    status, evidence = checker.run("critical_services", {"query": "probe_success", "ok_when": "== 1"}, at)
    assert status == "failed"
    assert evidence["query"] == "probe_success" and evidence["ok_when"] == "== 1"
    assert evidence["at"] == at.isoformat()
    assert (evidence["series_count"], evidence["failing"]) == (3, 1)
    assert evidence["series"][0] == {"labels": {"__name__": "probe_success", "instance": "https://api.example"},
                                     "value": 0.0, "ok": False}
    assert [s["ok"] for s in evidence["series"]] == [False, True, True]

    status, evidence = checker.run("backups_done", {"query": "vigil_backup_newest_age_seconds",
                                                    "ok_when": "< 93600"}, at)
    assert (status, evidence["failing"], evidence["series"][0]["value"]) == ("ok", 0, 7200.0)
    # The same data against a stricter condition fails: the verdict follows the numbers.
    assert checker.run("backups_done", {"query": "vigil_backup_newest_age_seconds", "ok_when": "< 3600"},
                       at)[0] == "failed"
    # A scalar answer is judged too.
    assert checker.run("promql", {"query": "scalar(sum(probe_success))", "ok_when": ">= 2"}, at)[0] == "ok"


def test_promql_check_without_data_or_with_a_bad_query_is_an_error(parts) -> None:
    _, checker, _ = parts
    at = now_s()
    status, evidence = checker.run("replication_healthy", {"query": "pg_replication_lag_seconds",
                                                           "ok_when": "<= 5"}, at)
    assert status == "error" and evidence["series_count"] == 0
    assert evidence["error"].startswith("no data: the query returned no series")
    status, evidence = checker.run("promql", {"query": "sum(", "ok_when": "== 1"}, at)
    assert status == "error" and "sum(" in evidence["query"] and evidence["error"]


def test_alert_checks_read_the_episodes(parts) -> None:
    _, checker, episodes = parts
    at = now_s()
    assert checker.run("unacknowledged_alerts", {"priorities": ["P1", "P2"]}, at) == (
        "ok", {"source": "alert episodes (state database)",
               "filter": "unresolved and never acknowledged, priority in P1, P2", "at": at.isoformat(),
               "count": 0, "episodes": []})
    p1 = open_episode(episodes, "DatabaseDown", "P1")
    open_episode(episodes, "ApiSlow", "P2", acknowledged_by="alice")
    open_episode(episodes, "DiskFilling", "P3")
    status, evidence = checker.run("unacknowledged_alerts", {"priorities": ["P1", "P2"]}, at)
    assert status == "failed" and evidence["count"] == 1
    assert evidence["episodes"][0]["id"] == p1 and evidence["episodes"][0]["labels"] == {"alertname": "DatabaseDown"}
    # open_alerts counts acknowledged ones too (the end-of-day "no critical alerts pending").
    status, evidence = checker.run("open_alerts", {"priorities": ["P1", "P2"]}, at)
    assert (status, evidence["count"]) == ("failed", 2)
    episodes.resolve(p1, actor="alice", via="api", classification="actionable")
    assert checker.run("unacknowledged_alerts", {"priorities": ["P1", "P2"]}, at)[0] == "ok"


def test_every_default_check_query_parses() -> None:
    from vigil.config.shifts import DEFAULT_PROMQL_CHECKS
    from vigil.promql.parser import parse_expr
    for query, _, _ in DEFAULT_PROMQL_CHECKS.values():
        parse_expr(query)
    assert shifts_config("{}\n").shifts[0].items
