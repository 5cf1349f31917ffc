"""The alert state machine, driven by a scripted query function at injected times."""

from __future__ import annotations

from tests.rules.harness import MIN, T0, Harness, at
from tests.support.tsdb_store import TempTSDB
from vigil.model.labels import Labels
from vigil.storage import is_stale

DOWN = """
groups:
  - name: g
    interval: 1m
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        labels:
          severity: critical
          where: "{{ $labels.job }}/{{ $labels.instance }}"
        annotations:
          summary: "{{ $labels.instance }} down (value {{ $value }})"
"""
SERIES = {"__name__": "up", "instance": "a:9100", "job": "node"}
ALERT = Labels({"alertname": "InstanceDown", "instance": "a:9100", "job": "node",
                "severity": "critical", "where": "node/a:9100"})


def down_harness(store: TempTSDB, **kw) -> Harness:
    h = Harness(store, DOWN, **kw)
    assert h.query is not None
    h.query.set("up == 0", (SERIES, 0.0))
    return h


def test_pending_then_firing_after_for(tsdb_store: TempTSDB) -> None:
    h = down_harness(tsdb_store)
    for m in range(5):
        assert h.eval(T0 + m * MIN) == []
        assert h.states() == {str(ALERT): "pending"}
    sent = h.eval(T0 + 5 * MIN)
    assert h.states() == {str(ALERT): "firing"}
    assert len(sent) == 1
    a = sent[0]
    assert a.labels == ALERT  # rule labels templated, alertname added, __name__ dropped
    assert a.annotations == Labels.of(summary="a:9100 down (value 0)")
    assert a.starts_at == at(T0 + 5 * MIN)
    assert a.ends_at == at(T0 + 5 * MIN + 4 * MIN)  # 4 * max(interval, resend_delay)
    assert a.generator_url == "http://vigil.example:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    (active,) = h.manager.alerts()
    assert active.active_at == at(T0) and active.fired_at == at(T0 + 5 * MIN)


def test_alerts_series(tsdb_store: TempTSDB) -> None:
    h = down_harness(tsdb_store)
    for m in range(6):
        h.eval(T0 + m * MIN)
    pending = ALERT.merge({"__name__": "ALERTS", "alertstate": "pending"})
    firing = ALERT.merge({"__name__": "ALERTS", "alertstate": "firing"})
    for_state = ALERT.merge({"__name__": "ALERTS_FOR_STATE"})
    s = h.store.series()
    assert [t for t, v in s[pending] if not is_stale(v)] == [T0 + m * MIN for m in range(5)]
    assert h.store.is_stale_at(pending, T0 + 5 * MIN)  # the pending series ends when it fires
    assert s[firing] == [(T0 + 5 * MIN, 1.0)]
    assert {v for _, v in s[for_state]} == {T0 / 1000}  # active_at in seconds
    h.query.set("up == 0")
    h.eval(T0 + 6 * MIN)
    assert h.store.is_stale_at(firing, T0 + 6 * MIN)
    assert h.store.is_stale_at(for_state, T0 + 6 * MIN)


def test_resend_and_resolve(tsdb_store: TempTSDB) -> None:
    h = down_harness(tsdb_store)
    for m in range(6):
        h.eval(T0 + m * MIN)
    assert h.eval(T0 + 6 * MIN) == []  # sent at 5m; resend only once 60s have *passed*
    (again,) = h.eval(T0 + 7 * MIN)
    assert again.ends_at == at(T0 + 11 * MIN)
    h.query.set("up == 0")
    (resolved,) = h.eval(T0 + 8 * MIN)
    assert resolved.labels == ALERT
    assert resolved.starts_at == at(T0 + 5 * MIN)
    assert resolved.ends_at == at(T0 + 8 * MIN)
    assert resolved.resolved(at(T0 + 8 * MIN))
    assert h.manager.alerts() == []
    # The resolved alert is re-sent each resend delay while kept (15 min), then dropped.
    sends = {m: len(h.eval(T0 + m * MIN)) for m in range(9, 30)}
    assert sends[9] == 0 and sends[10] == 1
    assert sum(sends[m] for m in range(24, 30)) == 0
    assert all(a.resolved() for batch in h.sent[2:] for a in batch)


def test_pending_alert_that_goes_away_is_never_sent(tsdb_store: TempTSDB) -> None:
    h = down_harness(tsdb_store)
    h.eval(T0)
    h.query.set("up == 0")
    assert h.eval(T0 + MIN) == []
    assert h.states() == {}
    h.query.set("up == 0", (SERIES, 0.0))
    h.eval(T0 + 2 * MIN)  # comes back: a new alert, for starts again
    (active,) = h.manager.alerts()
    assert active.active_at == at(T0 + 2 * MIN)


def test_for_zero_fires_at_once_and_a_returning_series_is_a_new_alert(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, """
groups:
  - name: g
    interval: 1m
    rules:
      - alert: Now
        expr: x > 1
""")
    h.query.set("x > 1", ({"__name__": "x"}, 5.0))
    (a,) = h.eval(T0)
    assert a.starts_at == at(T0) and not a.resolved(at(T0))
    h.query.set("x > 1")
    (r,) = h.eval(T0 + MIN)
    assert r.resolved(at(T0 + MIN))
    h.query.set("x > 1", ({"__name__": "x"}, 5.0))
    (b,) = h.eval(T0 + 2 * MIN)  # resolved alerts are replaced, not revived
    assert b.starts_at == at(T0 + 2 * MIN) and not b.resolved(at(T0 + 2 * MIN))


KEEP = """
groups:
  - name: g
    interval: 1m
    rules:
      - alert: Flappy
        expr: x > 1
        keep_firing_for: 3m
"""


def test_keep_firing_for(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, KEEP)
    h.query.set("x > 1", ({"job": "j"}, 2.0))
    h.eval(T0)
    h.query.set("x > 1")
    for m in (1, 2, 3):
        h.eval(T0 + m * MIN)
        (a,) = h.manager.alerts()
        assert a.state == "firing"
        assert a.keep_firing_since == at(T0 + MIN)
    (resolved,) = h.eval(T0 + 4 * MIN)  # 3m after it first went missing
    assert resolved.ends_at == at(T0 + 4 * MIN)
    assert h.manager.alerts() == []


def test_keep_firing_for_resets_when_the_series_returns(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, KEEP)
    h.query.set("x > 1", ({"job": "j"}, 2.0))
    h.eval(T0)
    h.query.set("x > 1")
    h.eval(T0 + MIN)
    h.eval(T0 + 2 * MIN)
    h.query.set("x > 1", ({"job": "j"}, 2.0))
    h.eval(T0 + 3 * MIN)
    (a,) = h.manager.alerts()
    assert a.keep_firing_since is None and a.active_at == at(T0)
    h.query.set("x > 1")
    for m in (4, 5, 6):
        h.eval(T0 + m * MIN)
        assert h.states() != {}
    h.eval(T0 + 7 * MIN)
    assert h.states() == {}


def test_rule_labels_override_and_empty_removes(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, """
groups:
  - name: g
    rules:
      - alert: A
        expr: x
        labels: {job: override, instance: ""}
""")
    h.query.set("x", ({"__name__": "x", "job": "j", "instance": "i", "env": "p"}, 1.0))
    (a,) = h.eval(T0)
    assert a.labels == Labels({"alertname": "A", "job": "override", "env": "p"})


def test_template_error_is_shown_not_raised(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, """
groups:
  - name: g
    rules:
      - alert: A
        expr: x
        annotations:
          bad: "{{ $value | humanizeDuration | humanize }}"
          good: "{{ $externalLabels.dc }}"
""", external_labels={"dc": "eu1"})
    h.query.set("x", ({"__name__": "x"}, 90.0))
    (a,) = h.eval(T0)
    assert a.annotations.get("good") == "eu1"
    assert a.annotations.get("bad").startswith(
        "<error expanding template: error executing template __alert_A: template: __alert_A:1:")
    assert "strconv.ParseFloat" in a.annotations.get("bad")


def test_template_query_calls_back(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, """
groups:
  - name: g
    rules:
      - alert: A
        expr: x
        annotations:
          total: '{{ with query "sum(x)" }}{{ . | first | value }}{{ end }}'
""")
    h.query.set("x", ({"__name__": "x", "i": "1"}, 2.0))
    h.query.set("sum(x)", ({}, 42.0))
    (a,) = h.eval(T0)
    assert a.annotations.get("total") == "42"
    assert ("sum(x)", T0) in h.query.calls


def test_failing_query_marks_rule_unhealthy_and_others_go_on(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, """
groups:
  - name: g
    rules:
      - alert: Broken
        expr: broken
      - alert: Fine
        expr: fine
""")
    h.query.fail("broken", "query timed out")
    h.query.set("fine", ({"__name__": "fine"}, 1.0))
    (a,) = h.eval(T0)
    assert a.name == "Fine"
    broken, fine = h.manager.groups()[0].rules
    assert (broken.health, broken.last_error) == ("err", "query timed out")
    assert (fine.health, fine.last_error) == ("ok", "")
    assert h.metrics.rule_eval_failures.labels("rules.yml;g")._value.get() == 1
    h.query.failing.clear()
    h.eval(T0 + MIN)
    assert h.manager.groups()[0].rules[0].health == "ok"


def test_duplicate_labelsets_after_dropping_the_name_are_an_error(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: '{job=\"j\"}'\n")
    h.query.set('{job="j"}', ({"__name__": "a", "job": "j"}, 1.0), ({"__name__": "b", "job": "j"}, 1.0))
    h.eval(T0)
    (rule,) = h.manager.groups()[0].rules
    assert rule.health == "err"
    assert rule.last_error == "vector contains metrics with the same labelset after applying alert labels"


def test_group_limit(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, "groups:\n  - name: g\n    limit: 1\n    rules:\n      - alert: A\n        expr: x\n")
    h.query.set("x", ({"i": "1"}, 1.0), ({"i": "2"}, 1.0))
    assert h.eval(T0) == []
    (rule,) = h.manager.groups()[0].rules
    assert rule.last_error == "exceeded limit of 1 with 2 alerts"
    assert h.manager.alerts() == []


def test_rule_status_reports_alerts(tsdb_store: TempTSDB) -> None:
    h = down_harness(tsdb_store)
    h.eval(T0)
    g = h.manager.groups()[0]
    assert (g.name, g.file, g.interval_s, g.last_evaluation) == ("g", "rules.yml", 60.0, at(T0))
    (r,) = g.rules
    assert (r.type, r.state, r.duration_s, r.query) == ("alerting", "pending", 300.0, "up == 0")
    assert r.labels.get("severity") == "critical"
    assert [a.labels for a in r.alerts] == [ALERT]
    assert h.metrics.alerts_active.labels("pending")._value.get() == 1


def test_query_offset_shifts_query_time_not_alert_time(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, """
groups:
  - name: g
    query_offset: 30s
    rules:
      - alert: A
        expr: x
""")
    h.query.set("x", ({"i": "1"}, 1.0))
    (a,) = h.eval(T0)
    assert h.query.calls == [("x", T0 - 30_000)]
    assert a.starts_at == at(T0)
    alerts = Labels({"__name__": "ALERTS", "alertname": "A", "alertstate": "firing", "i": "1"})
    assert h.store.series()[alerts] == [(T0 - 30_000, 1.0)]


def test_query_and_generator_url_use_the_canonical_expression(tsdb_store: TempTSDB) -> None:
    h = Harness(tsdb_store, "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(x)by(job)>1\n")
    h.query.set("sum by (job) (x) > 1", ({"job": "j"}, 2.0))
    (a,) = h.eval(T0)
    assert h.manager.groups()[0].rules[0].query == "sum by (job) (x) > 1"
    assert a.generator_url.endswith("/graph?g0.expr=sum+by+%28job%29+%28x%29+%3E+1&g0.tab=1")
