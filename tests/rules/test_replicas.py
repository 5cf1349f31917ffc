"""Rules on replicas (issue 15): alerting rules run on the primary only, and a replica that
takes over continues the previous primary's ``for`` timers and resend times from the state
store instead of starting again."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.rules.harness import MIN, T0, Harness, Scripted
from tests.support.tsdb_store import TempTSDB
from vigil.model.labels import Labels
from vigil.rules.alerting import ALERT_METRIC_NAME
from vigil.state import Store
from vigil.state.records import StoredAlert
from vigil.storage import is_stale

RULES = """
groups:
  - name: g
    interval: 1m
    rules:
      - record: job:load:max
        expr: max(load)
      - alert: HighLoad
        expr: load > 1
        for: 5m
"""
HIGH = Labels({"alertname": "HighLoad", "instance": "a"})


class Role:
    """Who is primary, switched by the test as the lease would."""

    def __init__(self, primary: str) -> None:
        self.primary = primary

    def of(self, name: str) -> Callable[[], bool]:
        return lambda: self.primary == name


def replica(make_tsdb_store: Callable[[], TempTSDB], state: Store, role: Role, name: str,
            *, resend_delay_s: float = 60.0, replica_records: bool = True) -> Harness:
    q = Scripted()
    q.set("load > 1", ({"instance": "a"}, 3.0))
    q.set("max(load)", ({}, 3.0))
    return Harness(make_tsdb_store(), RULES, query=q, state_store=state, is_primary=role.of(name),
                   resend_delay_s=resend_delay_s, replica_records=replica_records)


@pytest.fixture
def state(tmp_path) -> Store:
    s = Store.open_in(str(tmp_path / "state"))
    yield s
    s.close()


def test_for_timer_continues_on_the_new_primary(make_tsdb_store, state: Store) -> None:
    """A ``for: 5m`` alert pending for 3 minutes on A fires 2 minutes after B takes over."""
    role = Role("a")
    a, b = replica(make_tsdb_store, state, role, "a"), replica(make_tsdb_store, state, role, "b")
    for m in range(4):  # T0 .. T0+3m: A is primary, B a replica
        assert a.eval(T0 + m * MIN) == []
        assert b.eval(T0 + m * MIN) == []
    # B shows the primary's alerts (read from the state store), evaluates none of them.
    assert a.states() == {str(HIGH): "pending"} and b.states() == {str(HIGH): "pending"}
    assert b.store.series(ALERT_METRIC_NAME) == {}

    role.primary = "b"  # A is killed (or loses its lease)
    assert b.eval(T0 + 4 * MIN) == []
    assert b.states() == {str(HIGH): "pending"}
    fired = b.eval(T0 + 5 * MIN)  # 5 minutes after A first saw it, not 5 after the take-over
    assert [x.labels for x in fired] == [HIGH]
    assert fired[0].starts_at == b.manager.alerts()[0].fired_at

    # A, still running but no longer primary, sends nothing and shows B's alerts.
    assert a.eval(T0 + 5 * MIN) == [] and a.eval(T0 + 6 * MIN) == []
    assert a.states() == {str(HIGH): "firing"}


def test_firing_alert_is_not_resent_early_after_take_over(make_tsdb_store, state: Store) -> None:
    role = Role("a")
    a = replica(make_tsdb_store, state, role, "a", resend_delay_s=300)
    b = replica(make_tsdb_store, state, role, "b", resend_delay_s=300)
    sent_a = [x for m in range(7) for x in a.eval(T0 + m * MIN)]
    assert [x.labels for x in sent_a] == [HIGH]  # fired at T0+5m, once
    b.eval(T0)  # B evaluated as a replica before: its restored alerts were dropped
    role.primary = "b"
    # The last send was at T0+5m with resend_delay 5m: B stays quiet until after T0+10m.
    assert [x for m in range(7, 11) for x in b.eval(T0 + m * MIN)] == []
    assert [x.labels for x in b.eval(T0 + 11 * MIN)] == [HIGH]


def test_replica_shows_the_primarys_alerts_at_most_once_a_second(make_tsdb_store, state: Store) -> None:
    role = Role("a")
    a, b = replica(make_tsdb_store, state, role, "a"), replica(make_tsdb_store, state, role, "b")
    a.eval(T0)
    b.eval(T0 + 100)
    assert b.states() == {str(HIGH): "pending"}
    state.save_rule_alerts("rules.yml;g", [])  # the primary's alert resolved and was dropped
    b.eval(T0 + 900)
    assert b.states() == {str(HIGH): "pending"}  # read again only a second later
    b.eval(T0 + 1100)
    assert b.states() == {}


def test_back_and_forth_reloads_the_state_each_time(make_tsdb_store, state: Store) -> None:
    role = Role("a")
    a, b = replica(make_tsdb_store, state, role, "a"), replica(make_tsdb_store, state, role, "b")
    a.eval(T0)
    a.eval(T0 + MIN)
    role.primary = "b"
    a.eval(T0 + 2 * MIN)  # A steps down
    b.eval(T0 + 2 * MIN)
    b.eval(T0 + 3 * MIN)
    role.primary = "a"
    assert a.eval(T0 + 4 * MIN) == []
    assert [x.labels for x in a.eval(T0 + 5 * MIN)] == [HIGH]
    saved = state.load_rule_alerts()
    assert [(s.labels, s.state, s.active_at) for s in saved] == [(HIGH, "firing", a.manager.alerts()[0].active_at)]


def test_replica_records_into_its_own_tsdb_unless_told_not_to(make_tsdb_store, state: Store) -> None:
    role = Role("a")
    b = replica(make_tsdb_store, state, role, "b")
    c = replica(make_tsdb_store, state, role, "c", replica_records=False)
    for m in range(3):
        b.eval(T0 + m * MIN)
        c.eval(T0 + m * MIN)
    assert b.store.values("job:load:max") == [3.0, 3.0, 3.0]
    assert b.store.series(ALERT_METRIC_NAME) == {}  # alerting rules did not run
    assert c.store.series("job:load:max") == {}
    assert state.load_rule_alerts() == []  # and neither wrote the cluster's alert state


def test_stepping_down_ends_the_alerts_series(make_tsdb_store, state: Store) -> None:
    role = Role("a")
    a = replica(make_tsdb_store, state, role, "a")
    a.eval(T0)
    role.primary = "b"
    a.eval(T0 + MIN)
    points = next(iter(a.store.series(ALERT_METRIC_NAME).values()))
    assert points[0] == (T0, 1.0) and points[-1][0] == T0 + MIN and is_stale(points[-1][1])


class FlakyStore:
    """A state store whose reads fail while ``down`` (the database restarting)."""

    def __init__(self, inner: Store) -> None:
        self.inner, self.down = inner, False

    def load_rule_alerts(self) -> list[StoredAlert]:
        if self.down:
            raise ConnectionError("database restarting")
        return self.inner.load_rule_alerts()

    def save_rule_alerts(self, group_key: str, alerts: list[StoredAlert]) -> None:
        self.inner.save_rule_alerts(group_key, alerts)


def test_take_over_waits_until_the_saved_state_can_be_read(make_tsdb_store, state: Store) -> None:
    role = Role("a")
    a = replica(make_tsdb_store, state, role, "a", resend_delay_s=300)
    for m in range(6):
        a.eval(T0 + m * MIN)  # firing and sent at T0+5m
    flaky = FlakyStore(state)
    b = replica(make_tsdb_store, flaky, role, "b", resend_delay_s=300)  # type: ignore[arg-type]
    b.eval(T0 + 5 * MIN)
    role.primary, flaky.down = "b", True
    # Without the saved state B would see a new pending alert and restart the timer:
    # it does not alert at all until it can read the state (and keeps showing its last copy).
    saved = state.load_rule_alerts()
    assert b.eval(T0 + 6 * MIN) == [] and b.states() == {str(HIGH): "firing"}
    assert state.load_rule_alerts() == saved
    flaky.down = False
    assert b.eval(T0 + 7 * MIN) == []  # taken over: sent at T0+5m, not due again yet
    assert b.states() == {str(HIGH): "firing"}
