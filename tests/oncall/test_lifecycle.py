"""The lifecycle service: episodes opened, raised and resolved from the alerting stage's
groups; breaches counted; acknowledge latency observed; selection by matchers; and the
groups read from a real dispatcher."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.state.conftest import two_stores  # noqa: F401
from vigil.alerting.dispatch import Dispatcher
from vigil.alerting.service import Alerting
from vigil.alerting.silence import Silences
from vigil.config import load_config_text
from vigil.config.oncall import OncallConfig
from vigil.errors import ConfigError
from vigil.model import Alert, Labels
from vigil.model.matchers import parse_matchers
from vigil.oncall.lifecycle import FiringGroup, Lifecycle, firing_groups
from vigil.oncall.priorities import group_priority, group_runbooks
from vigil.selfmetrics import SelfMetrics
from vigil.state import Store
from vigil.state.lifecycle_store import LifecycleStore

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)


def _alert(name: str, priority: str = "", start: datetime = T0, **annotations: str) -> Alert:
    labels = {"alertname": name, "instance": "db1"}
    if priority:
        labels["priority"] = priority
    return Alert(Labels(labels), Labels(annotations), start, None, "", updated_at=start)


def _group(name: str, *alerts: Alert, active: bool = True) -> FiringGroup:
    return FiringGroup(f'{{}}:{{alertname="{name}"}}', "ops", Labels({"alertname": name}),
                       alerts, active)


def _metric(metrics: SelfMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_priority_and_runbooks_of_a_group():
    alerts = [_alert("A", "P3", runbook_url="/runbooks/A"), _alert("A", "p2"),
              _alert("A", "urgent", runbook_url="/runbooks/A")]
    assert group_priority(alerts, "P4") == "P2"
    assert group_priority([_alert("A")], "P4") == "P4"
    assert group_runbooks(alerts) == ("/runbooks/A",)


def test_reconcile_opens_raises_resolves_and_counts_breaches(tmp_path):
    store = Store.open_in(str(tmp_path))
    groups: list[FiringGroup] = []
    metrics = SelfMetrics()
    config = OncallConfig(acknowledge_deadlines={"P1": 0.001})
    life = Lifecycle(LifecycleStore(store.engine), config, lambda: list(groups), metrics=metrics)

    groups[:] = [_group("Disk", _alert("Disk", "P3")), _group("Muted", _alert("Muted", "P1"), active=False)]
    life.reconcile()
    [ep] = life.store.episodes()
    assert (ep.priority, ep.group_labels, ep.receiver) == ("P3", {"alertname": "Disk"}, "ops")
    assert ep.ack_deadline_at - ep.opened_at == timedelta(hours=1)

    # A P1 alert joins: the deadline becomes 1 ms after opening, so the breach is recorded
    # at the next pass, and only once.
    groups[0] = _group("Disk", _alert("Disk", "P3"), _alert("Disk", "P1"))
    life.reconcile()
    life.reconcile()
    assert life.store.get(ep.id).priority == "P1"
    assert life.store.get(ep.id).breached_at is not None
    assert _metric(metrics, "vigil_oncall_sla_breaches_total", priority="P1") == 1.0

    acked = life.acknowledge(ep.id, actor="alice", via="api")
    assert _metric(metrics, "vigil_oncall_acknowledge_seconds_count", priority="P1") == 1.0
    assert _metric(metrics, "vigil_oncall_acknowledge_seconds_sum", priority="P1") == (
        acked.acknowledged_at - acked.opened_at).total_seconds()
    life.unacknowledge(ep.id, actor="alice", via="api")
    life.acknowledge(ep.id, actor="bob", via="api")  # not the first: not observed again
    assert _metric(metrics, "vigil_oncall_acknowledge_seconds_count", priority="P1") == 1.0

    assert [e.id for e in life.select(parse_matchers('alertname="Disk"'))] == [ep.id]
    assert life.select(parse_matchers("alertname=~Mut.*")) == []

    groups[:] = []  # every alert resolved
    life.reconcile()
    done = life.store.get(ep.id)
    assert (done.state, done.resolved_by, done.classification) == ("resolved", None, None)
    assert life.store.events(ep.id)[-1].via == "vigil"

    # The group fires again: a new episode, linked to the old one.
    groups[:] = [_group("Disk", _alert("Disk", "P4", start=datetime.now(timezone.utc) + timedelta(seconds=1)))]
    life.reconcile()
    [again] = life.store.episodes()
    assert again.previous_id == ep.id and again.priority == "P4"
    store.close()


def test_firing_groups_from_a_real_dispatcher(tmp_path):
    store = Store.open_in(str(tmp_path))
    cfg = load_config_text("""
alerting:
  receivers: [{name: ops}]
  route: {receiver: ops, group_by: [alertname]}
""")
    now = datetime.now(timezone.utc)
    dispatcher = Dispatcher(cfg.alerting, store, external_url="http://vigil")
    silences = Silences(store)
    alerting = Alerting(dispatcher, silences, resolve_timeout_s=300)
    alerting.put_alerts([_alert("Disk", "P2", start=now), _alert("Gone", start=now - timedelta(hours=1))])
    dispatcher.put([Alert(Labels({"alertname": "Gone", "instance": "db1"}), Labels(),
                          now - timedelta(hours=1), now - timedelta(minutes=1), "", now)])
    [group] = firing_groups(alerting)
    assert group.key == '{}:{alertname="Disk"}' and group.receiver == "ops" and group.active
    assert [a.labels.get("priority") for a in group.alerts] == ["P2"]
    store.close()


def test_group_resolved_by_hand_while_firing_stays_resolved_until_it_fires_again(tmp_path):
    store = Store.open_in(str(tmp_path))
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    groups = [_group("Disk", _alert("Disk", "P2", start=start))]
    life = Lifecycle(LifecycleStore(store.engine), OncallConfig(), lambda: list(groups))
    life.reconcile()
    [ep] = life.store.episodes()
    life.resolve(ep.id, actor="alice", via="api", classification="no_action_needed")
    life.reconcile()
    life.reconcile()
    assert life.store.episodes() == []  # still firing from before: no new episode
    groups.append(_group("Disk", _alert("Disk", "P2", start=start), _alert("Disk", "P2",
                  start=datetime.now(timezone.utc) + timedelta(seconds=1))))
    groups.pop(0)
    life.reconcile()
    [again] = life.store.episodes()
    assert again.previous_id == ep.id
    store.close()


def test_two_replicas_reconciling_open_one_episode_and_count_one_breach(two_stores):  # noqa: F811
    groups = [_group("Disk", _alert("Disk", "P1"))]
    config = OncallConfig(acknowledge_deadlines={"P1": 0.001})
    metrics = [SelfMetrics(), SelfMetrics()]
    lives = [Lifecycle(LifecycleStore(s.engine), config, lambda: list(groups), metrics=m)
             for s, m in zip(two_stores, metrics, strict=True)]
    for _ in range(2):
        for life in lives:
            life.reconcile()
    [ep] = lives[1].store.episodes()
    assert [e.kind for e in lives[0].store.events(ep.id)] == ["opened", "sla_breach"]
    assert sum(_metric(m, "vigil_oncall_sla_breaches_total", priority="P1") for m in metrics) == 1.0


def test_oncall_config_errors_name_the_place():
    with pytest.raises(ConfigError) as err:
        load_config_text("oncall:\n  acknowledge_deadlines:\n    P7: 5m\n")
    assert "oncall.acknowledge_deadlines" in str(err.value) and "unknown priority 'P7'" in str(err.value)
    assert load_config_text("oncall: {acknowledge_deadlines: {P1: 2m}}").oncall.deadline_s("P1") == 120.0
