"""Recording rules over the real PromQL engine and a real TSDB in a temp dir."""

from __future__ import annotations

from tests.rules.harness import MIN, T0, Harness
from tests.support.tsdb_store import TempTSDB
from vigil.model.labels import Labels
from vigil.storage import STALE_NAN, is_stale

RULES = """
groups:
  - name: rec
    interval: 1m
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels:
          team: infra
      - record: job:up:doubled
        expr: job:up:sum * 2
      - alert: JobDown
        expr: job:up:sum == 0
"""


def load_up(h: Harness, job: str, instance: str, values: list[float], start: int = T0 - 5 * MIN) -> None:
    labels = {"__name__": "up", "job": job, "instance": instance}
    h.store.add(labels, [(start + i * 15_000, v) for i, v in enumerate(values)])


def test_recorded_series_at_the_evaluation_time(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, RULES, engine=True)
    load_up(h, "api", "a", [1.0] * 21)
    load_up(h, "api", "b", [1.0] * 21)
    load_up(h, "db", "c", [0.0] * 21)
    h.eval(T0)
    s = h.store.series()
    assert s[Labels({"__name__": "job:up:sum", "job": "api", "team": "infra"})] == [(T0, 2.0)]
    assert s[Labels({"__name__": "job:up:sum", "job": "db", "team": "infra"})] == [(T0, 0.0)]
    # Later rules of a group see what earlier rules wrote at the same timestamp.
    assert s[Labels({"__name__": "job:up:doubled", "job": "api", "team": "infra"})] == [(T0, 4.0)]
    (alert,) = h.manager.alerts()
    assert alert.labels == Labels({"alertname": "JobDown", "job": "db", "team": "infra"})
    rec = h.manager.groups()[0].rules[0]
    assert (rec.type, rec.health, rec.labels) == ("recording", "ok", Labels.of(team="infra"))


def test_vanished_series_get_a_stale_marker(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, RULES, engine=True)
    load_up(h, "api", "a", [1.0] * 21)
    load_up(h, "db", "c", [1.0] * 21)
    h.eval(T0)
    # db's only target stops reporting: its up series ends with a stale marker.
    h.store.add({"__name__": "up", "job": "db", "instance": "c"}, [(T0 + 15_000, STALE_NAN)])
    load_up(h, "api", "a", [1.0] * 4, start=T0 + 15_000)
    h.eval(T0 + MIN)
    db = h.store.series()[Labels({"__name__": "job:up:sum", "job": "db", "team": "infra"})]
    assert db[0] == (T0, 1.0)
    assert is_stale(db[-1][1]) and db[-1][0] == T0 + MIN
    api = h.store.series()[Labels({"__name__": "job:up:sum", "job": "api", "team": "infra"})]
    assert api == [(T0, 1.0), (T0 + MIN, 1.0)]


def test_empty_rule_label_removes_and_duplicates_are_an_error(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, """
groups:
  - name: rec
    rules:
      - record: up:nojob
        expr: up
        labels: {job: ""}
""", engine=True)
    load_up(h, "api", "a", [1.0] * 21)
    h.eval(T0)
    assert Labels({"__name__": "up:nojob", "instance": "a"}) in h.store.series()
    load_up(h, "db", "a", [1.0] * 21)  # same instance in another job: labels collide
    h.eval(T0 + MIN)
    (rule,) = h.manager.groups()[0].rules
    assert rule.health == "err"
    assert rule.last_error == "vector contains metrics with the same labelset after applying rule labels"


def test_scalar_result_is_recorded_without_labels(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, "groups:\n  - name: s\n    rules:\n      - record: answer\n        expr: '42'\n",
                engine=True)
    h.eval(T0)
    assert h.store.series()[Labels({"__name__": "answer"})] == [(T0, 42.0)]


def test_recording_limit(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, "groups:\n  - name: s\n    limit: 1\n    rules:\n      - record: r\n        expr: up\n",
                engine=True)
    load_up(h, "api", "a", [1.0] * 21)
    load_up(h, "api", "b", [1.0] * 21)
    h.eval(T0)
    (rule,) = h.manager.groups()[0].rules
    assert rule.last_error == "exceeded limit 1 with 2 series"
    assert not h.store.series("r")
