"""The timeline loop over a real dispatcher's groups and the state database's episodes:
alerts firing and resolved, escalation pages, acknowledgements and episode resolutions of
the attached groups, groups attached later by the incident's matchers; in order, each once
when the pass runs twice or two services (two replicas' engines) run it; exported as JSON,
CSV and Markdown."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.state.conftest import two_stores  # noqa: F401
from vigil.alerting.dispatch import Dispatcher
from vigil.alerting.service import Alerting
from vigil.alerting.silence import Silences
from vigil.config import load_config_text
from vigil.incidents.service import IncidentService
from vigil.incidents.timeline import Timeline, dispatcher_groups
from vigil.incidents.timeline_export import export
from vigil.model import Alert, Labels
from vigil.oncall.lifecycle import Lifecycle, firing_groups
from vigil.selfmetrics import SelfMetrics
from vigil.state.escalation_store import EscalationStore
from vigil.state.incident_store import IncidentStore
from vigil.state.lifecycle_store import LifecycleStore

CONFIG = """
alerting:
  receivers: [{name: ops}]
  route: {receiver: ops, group_by: [alertname]}
"""


def _alert(name: str, start: datetime, end: datetime | None = None, **labels: str) -> Alert:
    return Alert(Labels({"alertname": name, "instance": "db-1", **labels}),
                 Labels({"summary": f"{name} on db-1"}), start, end, f"http://prom/graph?{name}", start)


def test_timeline_from_a_real_dispatcher_and_episodes(two_stores):  # noqa: F811
    first, second = two_stores
    cfg = load_config_text(CONFIG)
    now = datetime.now(timezone.utc)
    dispatcher = Dispatcher(cfg.alerting, first, external_url="http://vigil")
    alerting = Alerting(dispatcher, Silences(first), resolve_timeout_s=300)
    disk = _alert("DiskFull", now - timedelta(minutes=6), service="milk")
    api = _alert("MilkApiDown", now - timedelta(minutes=3), service="milk")
    alerting.put_alerts([disk, api, _alert("Other", now - timedelta(minutes=1), service="feed")])
    episodes = LifecycleStore(first.engine)
    Lifecycle(episodes, cfg.oncall, lambda: firing_groups(alerting)).reconcile()
    disk_key, api_key = '{}:{alertname="DiskFull"}', '{}:{alertname="MilkApiDown"}'
    disk_ep = episodes.unresolved_for_group(disk_key)
    # An escalation page before the incident was declared: part of its story.
    EscalationStore(first.engine).take_step(disk_ep.id, "0:0:0", member_id="m1", detail={
        "policy": "runbook", "level": 1, "kind": "notify_users",
        "paged": [{"user": "ann", "kind": "webhook", "label": "", "via": "user", "delay_s": 0.0}]})

    metrics = SelfMetrics()
    service = IncidentService(IncidentStore(first.engine), lambda: cfg, groups=lambda: firing_groups(alerting),
                              episodes=episodes)
    timeline = Timeline(service, lambda: dispatcher_groups(alerting), metrics=metrics)
    inc = service.declare(title="Milk readings lost", severity=1, actor="alice", via="cli",
                          alert_matchers=['service="milk"'])
    assert inc.acknowledged_at is None
    episodes.acknowledge(disk_ep.id, actor="bob", via="link", note="on it")
    assert timeline.tick() == 4
    assert timeline.tick() == 0  # again: nothing new

    events = service.store.events(inc.id)
    assert [(e.kind, e.actor) for e in events] == [
        ("alert_firing", None), ("alert_firing", None), ("page", None), ("declared", "alice"),
        ("alert_attached", "alice"), ("alert_attached", "alice"), ("acknowledged", "bob")]
    firing = events[0].detail
    assert firing == {"group_key": disk_key, "labels": disk.labels.to_dict(),
                      "annotations": {"summary": "DiskFull on db-1"},
                      "starts_at": disk.starts_at.isoformat().replace("+00:00", "Z"), "ends_at": None,
                      "generator_url": "http://prom/graph?DiskFull", "fingerprint": disk.fingerprint()}
    page = events[2].detail
    assert (page["source"], page["policy"], page["episode_id"], page["paged"][0]["user"]) == (
        "escalation", "runbook", disk_ep.id, "ann")
    assert events[6].via == "link" and events[6].detail["note"] == "on it"
    assert service.store.get(inc.id).acknowledged_at == events[6].at  # the episode's acknowledgement
    assert metrics.registry.get_sample_value("vigil_incidents_open", {"severity": "1"}) == 1.0

    # The disk alert resolves, the episode is resolved by a person; a new milk group fires.
    end = datetime.now(timezone.utc)
    dispatcher.put([_alert("DiskFull", disk.starts_at, end, service="milk")])
    episodes.resolve(disk_ep.id, actor="bob", via="api", classification="actionable", note="cleaned up")
    queue = _alert("MilkQueueFull", end, service="milk")
    alerting.put_alerts([queue])
    # A second replica's service and loop, on its own engine: the same work, done once.
    other = Timeline(IncidentService(IncidentStore(second.engine), lambda: cfg,
                                     groups=lambda: firing_groups(alerting), episodes=LifecycleStore(second.engine)),
                     lambda: dispatcher_groups(alerting))
    added = [timeline.tick(), other.tick(), timeline.tick()]
    assert sum(added) == 3 and added[1:] == [0, 0]  # resolved, episode resolved, the new group's alert
    kinds = [(e.kind, e.detail.get("group_key")) for e in service.store.events(inc.id)][7:]
    assert sorted(kinds, key=str) == sorted([
        ("alert_resolved", disk_key), ("episode_resolved", disk_key),
        ("alert_attached", '{}:{alertname="MilkQueueFull"}'), ("alert_firing", '{}:{alertname="MilkQueueFull"}')],
        key=str)
    resolved = next(e for e in service.store.events(inc.id) if e.kind == "alert_resolved")
    assert resolved.at == end and resolved.detail["ends_at"] == end.isoformat().replace("+00:00", "Z")
    ordered = service.store.events(inc.id)
    assert [(e.at, e.id) for e in ordered] == sorted((e.at, e.id) for e in ordered)

    # An alert that leaves the dispatcher unseen resolved (Vigil was down) is resolved when missed.
    timeline.groups = lambda: [g for g in dispatcher_groups(alerting) if g.key != api_key]
    assert timeline.tick() == 1
    gone = service.store.events(inc.id)[-1]
    assert (gone.kind, gone.detail["gone"], gone.detail["fingerprint"]) == ("alert_resolved", True, api.fingerprint())
    assert timeline.tick() == 0

    # Exports: the same events in every format.
    events = service.store.events(inc.id)
    as_json = json.loads(export("json", service.store.get(inc.id), events)[0])
    assert [e["kind"] for e in as_json["events"]] == [e.kind for e in events]
    assert as_json["events"][2]["text"] == "Escalation runbook level 1 paged: ann via webhook"
    rows = list(csv.DictReader(io.StringIO(export("csv", service.store.get(inc.id), events)[0])))
    assert [r["kind"] for r in rows] == [e.kind for e in events] and rows[3]["actor"] == "alice"
    assert rows[0]["text"].startswith("Alert firing: alertname=DiskFull, instance=db-1, service=milk — DiskFull")
    markdown = export("markdown", service.store.get(inc.id), events)[0]
    assert markdown.startswith(f"# {inc.ref}: Milk readings lost\n")
    assert markdown.count("\n| ") == len(events) + 1 and "| bob | Alert episode acknowledged — on it |" in markdown

    # Resolved incidents are no longer followed.
    service.set_status(inc.ref, "resolved", actor="alice", via="cli")
    alerting.put_alerts([_alert("MilkLate", datetime.now(timezone.utc), service="milk")])
    assert timeline.tick() == 0
    assert metrics.registry.get_sample_value("vigil_incidents_open", {"severity": "1"}) == 0.0
