"""Correlation: related firing groups become one incident candidate (K1), recorded once
across replicas, growing within its window, never re-proposed after a dismissal."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.state.conftest import two_stores  # noqa: F401
from vigil.config.correlation import CorrelationConfig
from vigil.errors import VigilError
from vigil.incidents.correlation import Correlator, plan, related
from vigil.model import Alert, Labels
from vigil.oncall.lifecycle import FiringGroup
from vigil.state import Store
from vigil.state.incident_candidate_store import CandidateStore, CorrelationState

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)


def _group(name: str, start: datetime, active: bool = True, priority: str = "P3",
           **labels: str) -> FiringGroup:
    alert_labels = {"alertname": name, "instance": "web1", "priority": priority, **labels}
    alert = Alert(Labels(alert_labels), Labels(), start, None, "", updated_at=start)
    return FiringGroup(f'{{}}:{{alertname="{name}"}}', "ops", Labels({"alertname": name}), (alert,), active)


def checkout_burst() -> list[FiringGroup]:
    return [
        _group("HighLatency", T0, service="checkout", cluster="eu1"),
        _group("ErrorRate", T0 + timedelta(minutes=4), service="checkout", priority="P2"),
        _group("PodRestarts", T0 + timedelta(minutes=9), service="checkout", cluster="eu1"),
        _group("DiskFull", T0 + timedelta(minutes=2), service="billing", cluster="us1"),  # another service
        _group("QueueDepth", T0 + timedelta(minutes=30), service="checkout"),  # 30 min later
    ]


def test_related_needs_one_shared_label_and_no_disagreement():
    assert related({"service": "checkout"}, {"service": "checkout", "cluster": "eu1"})
    assert not related({"service": "checkout", "cluster": "eu1"}, {"service": "checkout", "cluster": "us1"})
    assert not related({"service": "checkout"}, {"cluster": "eu1"})  # nothing in common


def test_three_checkout_groups_in_ten_minutes_are_one_candidate():
    state = CorrelationState(T0, [], [], set())
    result = plan(state, checkout_burst(), CorrelationConfig(), "P3")
    [cand] = result.new
    assert [g.group_labels["alertname"] for g in cand.groups] == ["HighLatency", "ErrorRate", "PodRestarts"]
    assert cand.labels == {"service": "checkout", "cluster": "eu1"}
    assert cand.window_start == T0
    assert cand.severity == 3  # the ErrorRate alert is P2
    assert cand.title == "cluster=eu1, service=checkout: HighLatency, ErrorRate, PodRestarts"
    assert result.joins == []


def test_groups_attached_to_an_open_incident_silenced_or_unlabelled_are_left_out():
    groups = checkout_burst()[:3]
    groups[1] = _group("ErrorRate", T0, active=False, service="checkout")
    state = CorrelationState(T0, [], [], {groups[2].key})
    assert plan(state, groups, CorrelationConfig(), "P3").new == []  # one group left: below min_groups
    no_labels = [_group("A", T0), _group("B", T0)]
    assert plan(CorrelationState(T0, [], [], set()), no_labels, CorrelationConfig(), "P3").new == []


def test_config_labels_min_groups_and_severity_apply():
    groups = checkout_burst()
    config = CorrelationConfig(labels=["cluster"], min_groups=3, severity_by_priority={"P3": 3})
    state = CorrelationState(T0, [], [], set())
    assert plan(state, groups, config, "P3").new == []  # only two groups carry cluster=eu1
    config = CorrelationConfig(labels=["cluster"], severity_by_priority={"P3": 3})
    [cand] = plan(state, groups, config, "P3").new
    assert (cand.labels, cand.severity, len(cand.groups)) == ({"cluster": "eu1"}, 3, 2)


def _correlator(store: Store, groups: list[FiringGroup], **config) -> Correlator:
    return Correlator(CandidateStore(store.engine), lambda: CorrelationConfig(**config), lambda: list(groups))


def test_candidate_grows_and_is_recorded_once_by_two_replicas(two_stores):  # noqa: F811
    first, second = two_stores
    groups = checkout_burst()[:2]
    a, b = _correlator(first, groups), _correlator(second, groups)
    [made] = a.observe()
    assert b.observe() == [] and a.observe() == []
    assert len(CandidateStore(second.engine).candidates()) == 1
    groups.append(checkout_burst()[2])  # PodRestarts, 9 minutes after the first
    groups.append(checkout_burst()[4])  # QueueDepth, 30 minutes later: does not join
    [grown] = b.observe()
    assert grown.id == made.id and len(grown.groups) == 3 and grown.title.endswith("PodRestarts")
    assert a.observe() == []
    [cand] = CandidateStore(first.engine).candidates(state="proposed")
    assert [g.group_labels["alertname"] for g in cand.groups] == ["HighLatency", "ErrorRate", "PodRestarts"]


def test_a_dismissed_candidate_does_not_come_back_for_the_same_firing(tmp_path):
    store = Store.open_in(str(tmp_path))
    groups = checkout_burst()[:3]
    correlator = _correlator(store, groups)
    [cand] = correlator.observe()
    with pytest.raises(VigilError, match="reason"):
        correlator.store.dismiss(cand.id, actor="alice", via="api", reason=" ")
    done = correlator.store.dismiss(cand.id, actor="alice", via="api", reason="a planned load test")
    assert (done.state, done.decided_by, done.reason) == ("dismissed", "alice", "a planned load test")
    assert correlator.observe() == []
    with pytest.raises(VigilError, match="dismissed, not proposed"):
        correlator.store.dismiss(cand.id, actor="alice", via="api", reason="again")
    entries = [e for e in store.access.audit_entries() if e.action == "incident.candidate.dismiss"]
    assert len(entries) == 1 and entries[0].actor == "alice"
    # The same groups firing again an hour later are a new burst: proposed again.
    later = T0 + timedelta(hours=1)
    groups[:] = [_group(g.labels.get("alertname"), later, service="checkout") for g in groups]
    [again] = correlator.observe()
    assert again.id != cand.id and again.window_start == later
    store.close()


def test_disabled_correlation_proposes_nothing(tmp_path):
    store = Store.open_in(str(tmp_path))
    assert _correlator(store, checkout_burst(), enabled=False).observe() == []
    assert CandidateStore(store.engine).candidates() == []
    store.close()


def test_two_replicas_observing_at_once_record_one_candidate(two_stores):  # noqa: F811
    first, second = two_stores
    groups = checkout_burst()
    replicas = [_correlator(first, groups), _correlator(second, groups)]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda c: c.observe(), replicas))
    assert sorted(len(r) for r in results) == [0, 1]
    [cand] = CandidateStore(first.engine).candidates()
    assert len(cand.groups) == 3
