"""Manager: persistence across restarts, reloads keeping state, and the scheduling loop."""

from __future__ import annotations

import asyncio

import pytest

from tests.rules.harness import MIN, T0, Harness, MemStateStore, Scripted, at
from tests.support.tsdb_store import TempTSDB
from vigil.model.labels import Labels
from vigil.rules import RuleStateStore

RULES = """
groups:
  - name: g
    interval: 1m
    rules:
      - alert: HighLoad
        expr: load > 1
        for: 5m
        labels: {severity: warning}
      - alert: HighLoad
        expr: load > 2
        for: 5m
        labels: {severity: critical}
"""
WARN = Labels({"alertname": "HighLoad", "instance": "a", "severity": "warning"})
CRIT = WARN.merge({"severity": "critical"})


def harness(tsdb: TempTSDB, state: RuleStateStore, load: float, rules: str = RULES) -> Harness:
    q = Scripted()
    q.set("load > 1", ({"instance": "a"}, load) if load > 1 else ({}, 0.0))
    if load <= 1:
        q.set("load > 1")
    q.set("load > 2", *([({"instance": "a"}, load)] if load > 2 else []))
    return Harness(tsdb, rules, query=q, state_store=state)


def test_restart_keeps_for_progress(tsdb_store: TempTSDB) -> None:
    store = MemStateStore()
    h1 = harness(tsdb_store, store, 3.0)
    h1.eval(T0)
    h1.eval(T0 + 2 * MIN)
    saved = store.groups["rules.yml;g"]
    assert {a.labels: a.state for a in saved} == {WARN: "pending", CRIT: "pending"}

    h2 = harness(tsdb_store, store, 3.0)  # a new process over the same state store
    assert {str(a.labels): a.active_at for a in h2.manager.alerts()} == {
        str(WARN): at(T0), str(CRIT): at(T0)}
    assert h2.eval(T0 + 4 * MIN) == []
    sent = h2.eval(T0 + 5 * MIN)  # 5m after the first process saw it, not after the restart
    assert sorted(a.labels.get("severity") for a in sent) == ["critical", "warning"]


def test_restart_keeps_firing_alerts_without_renotifying(tsdb_store: TempTSDB) -> None:
    store = MemStateStore()
    h1 = harness(tsdb_store, store, 3.0)
    for m in range(6):
        h1.eval(T0 + m * MIN)
    assert len(h1.sent) == 1  # both alerts in one batch at 5m
    h2 = harness(tsdb_store, store, 3.0)
    assert set(h2.states().values()) == {"firing"}
    assert h2.eval(T0 + 6 * MIN) == []  # last sent at 5m: not due again yet
    assert len(h2.eval(T0 + 7 * MIN)) == 2
    (a, _) = h2.manager.alerts()
    assert a.fired_at == at(T0 + 5 * MIN)


def test_restored_alert_that_is_gone_resolves(tsdb_store: TempTSDB) -> None:
    store = MemStateStore()
    h1 = harness(tsdb_store, store, 3.0)
    for m in range(6):
        h1.eval(T0 + m * MIN)
    h2 = harness(tsdb_store, store, 0.5)
    sent = h2.eval(T0 + 6 * MIN)
    assert len(sent) == 2 and all(a.ends_at == at(T0 + 6 * MIN) for a in sent)
    assert store.groups["rules.yml;g"] and all(a.state == "inactive" for a in store.groups["rules.yml;g"])


def test_state_is_saved_only_when_it_changes(tsdb_store: TempTSDB) -> None:
    store = MemStateStore()
    h = harness(tsdb_store, store, 1.5)
    h.eval(T0)
    n = store.saves
    h.eval(T0 + MIN)
    h.eval(T0 + 2 * MIN)
    assert store.saves == n  # still pending, same active_at: nothing to write
    for m in range(3, 6):
        h.eval(T0 + m * MIN)
    assert store.saves == n + 1  # fired (and was sent) at 5m
    assert {a.state for a in store.groups["rules.yml;g"]} == {"firing"}


def test_restore_happens_only_on_the_first_update(tsdb_store: TempTSDB) -> None:
    store = MemStateStore()
    h1 = harness(tsdb_store, store, 3.0)
    h1.eval(T0)
    h2 = harness(tsdb_store, store, 3.0, rules="groups: []\n")
    assert h2.manager.alerts() == []
    h2.reload(RULES)  # a group that appears later starts fresh
    assert h2.manager.alerts() == []


def test_reload_keeps_state_of_rules_that_still_exist(tsdb_store: TempTSDB) -> None:
    h = harness(tsdb_store, MemStateStore(), 3.0)
    h.eval(T0)
    h.eval(T0 + 2 * MIN)
    # Change the group: a new rule, the critical rule dropped, an annotation added.
    h.reload(RULES.replace("""      - alert: HighLoad
        expr: load > 2
        for: 5m
        labels: {severity: critical}
""", """      - alert: Other
        expr: other
        annotations: {x: y}
""").replace("labels: {severity: warning}",
             "labels: {severity: warning}\n        annotations: {s: hi}"))
    assert h.states() == {str(WARN): "pending"}
    sent = h.eval(T0 + 5 * MIN)
    assert [a.labels for a in sent] == [WARN]
    assert sent[0].annotations == Labels.of(s="hi")
    crit_alerts = CRIT.merge({"__name__": "ALERTS", "alertstate": "pending"})
    assert h.store.is_stale_at(crit_alerts, T0 + 5 * MIN)  # series of the removed rule end


def test_reload_with_changed_labels_starts_over(tsdb_store: TempTSDB) -> None:
    h = harness(tsdb_store, MemStateStore(), 1.5)
    h.eval(T0)
    h.reload(RULES.replace("{severity: warning}", "{severity: info}"))
    assert h.manager.alerts() == []


def test_unchanged_reload_keeps_everything(tsdb_store: TempTSDB) -> None:
    h = harness(tsdb_store, MemStateStore(), 1.5)
    h.eval(T0)
    before = h.manager.alerts()
    h.reload(RULES)
    assert h.manager.alerts() == before
    assert h.manager.groups()[0].last_evaluation == at(T0)


def test_removed_group_is_cleared_and_its_series_marked_stale(tsdb_store: TempTSDB) -> None:
    store = MemStateStore()
    h = harness(tsdb_store, store, 3.0)
    h.eval(T0)
    h.now_s = (T0 + 30_000) / 1000
    h.reload("groups: []\n")
    assert store.groups["rules.yml;g"] == []
    assert h.store.is_stale_at(WARN.merge({"__name__": "ALERTS", "alertstate": "pending"}), T0 + 30_000)
    assert h.manager.groups() == []


def test_evaluate_unknown_group(tsdb_store: TempTSDB) -> None:
    h = harness(tsdb_store, MemStateStore(), 0.5)
    other = Harness(tsdb_store, "groups:\n  - name: other\n").groups[0]
    with pytest.raises(KeyError):
        h.manager.evaluate_group(other, T0)


def test_notify_failure_does_not_stop_evaluation(tsdb_store: TempTSDB) -> None:
    calls = []

    def broken(alerts):
        calls.append(alerts)
        raise RuntimeError("receiver down")

    q = Scripted()
    q.set("load > 1", ({"instance": "a"}, 3.0))
    h = Harness(tsdb_store, RULES.replace("for: 5m", "for: 0s"), query=q, notify=broken)
    h.eval(T0)
    h.eval(T0 + MIN)
    assert len(calls) == 1
    assert set(h.states().values()) == {"firing"}


def test_run_evaluates_on_schedule_until_cancelled(tsdb_store: TempTSDB) -> None:
    import time

    q = Scripted()
    q.set("x > 0", ({"i": "1"}, 1.0))
    got = asyncio.Event()
    h = Harness(tsdb_store, """
groups:
  - name: fast
    interval: 50ms
    rules:
      - alert: A
        expr: x > 0
""", query=q, clock=time.time, notify=lambda alerts: loop.call_soon_threadsafe(got.set))
    loop = asyncio.new_event_loop()

    async def main() -> None:
        task = asyncio.create_task(h.manager.run())
        await asyncio.wait_for(got.wait(), timeout=10)
        # A reload while running replaces the group's task.
        h.manager.update(h.groups + Harness(tsdb_store, "groups:\n  - name: more\n    interval: 50ms\n").groups)
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert len(q.calls) >= 1
    evaluated = [ts for _, ts in q.calls]
    assert evaluated == sorted(evaluated)
    assert all(ts % 50 == evaluated[0] % 50 for ts in evaluated)  # aligned to the interval
    names = {g.name: g.last_evaluation for g in h.manager.groups()}
    assert names["fast"] is not None


def test_restart_through_the_sqlite_state_store(tmp_path, tsdb_store: TempTSDB) -> None:
    from vigil.state import Store

    store = Store.open_in(str(tmp_path))
    try:
        h1 = harness(tsdb_store, store, 3.0)
        for m in range(3):
            h1.eval(T0 + m * MIN)
    finally:
        store.close()
    store = Store.open_in(str(tmp_path))
    try:
        h2 = harness(tsdb_store, store, 3.0)
        assert {a.active_at for a in h2.manager.alerts()} == {at(T0)}
        assert len(h2.eval(T0 + 5 * MIN)) == 2
    finally:
        store.close()


def test_reload_with_longer_for_turns_firing_back_to_pending(tsdb_store: TempTSDB) -> None:
    h = harness(tsdb_store, MemStateStore(), 1.5, rules=RULES.replace("for: 5m", "for: 1m"))
    h.eval(T0)
    h.eval(T0 + MIN)
    assert h.states() == {str(WARN): "firing"}
    h.reload(RULES.replace("for: 5m", "for: 10m"))
    assert h.eval(T0 + 2 * MIN) == []
    assert h.states() == {str(WARN): "pending"}
    (a,) = h.eval(T0 + 10 * MIN)  # 10m after it became active: fires, and is sent again
    assert a.starts_at == at(T0 + 10 * MIN)
