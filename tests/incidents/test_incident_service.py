"""IncidentService: declaring by hand, from matchers and from one group, paging the
severity's response through the on-call machinery, the status moves it allows and refuses
(with the reason), severity, roles, notes, edits, components, attaching and detaching, and
one audit entry per change."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from vigil.config.loader import load_config_text
from vigil.incidents.service import IncidentService, group_title
from vigil.model import Labels
from vigil.model.alert import Alert
from vigil.oncall.lifecycle import FiringGroup
from vigil.oncall.reach import ConfigDirectory
from vigil.state import Store, schema
from vigil.state.access_store import AccessStore
from vigil.state.incident_store import IncidentError, IncidentStore
from vigil.state.lifecycle_store import LifecycleStore

CONFIG = """
users:
  - name: ann
    contacts: [{kind: webhook, address: "https://hooks.example/ann"}]
  - name: bob
    contacts: [{kind: slack_webhook, address: "https://hooks.slack.example/bob"}, {kind: phone, address: "+4915112345678"}]
  - name: vp
    contacts: [{kind: email, address: vp@example.org}]
teams:
  - {name: sre, members: [ann, bob]}
incidents:
  severities:
    - severity: 1
      response: {teams: [sre], users: [vp, ann]}
    - severity: 2
      response: {users: [bob]}
"""


def _group(name: str, started: datetime, **labels: str) -> FiringGroup:
    alert = Alert(Labels({"alertname": name, **labels}), Labels({"summary": f"{name} fired"}), started, None,
                  "http://prom/graph?g0.expr=up", started)
    return FiringGroup(f'{{}}:{{alertname="{name}"}}', "ops", Labels({"alertname": name}), (alert,), True)


@pytest.fixture
def world(tmp_path):
    store = Store.open_in(str(tmp_path))
    config = load_config_text(CONFIG)
    now = datetime.now(timezone.utc)
    groups = [_group("MilkApiDown", now - timedelta(minutes=4), service="milk"),
              _group("DiskFull", now - timedelta(minutes=9), service="milk", instance="db-1"),
              _group("HighLoad", now - timedelta(minutes=1), service="feed")]
    firing = list(groups)
    episodes = LifecycleStore(store.engine)
    service = IncidentService(IncidentStore(store.engine), lambda: config, groups=lambda: list(firing),
                              directory=ConfigDirectory(config), episodes=episodes,
                              external_url="https://vigil.example/")
    yield service, firing, store
    store.close()


def _audit(store: Store, action: str) -> list:
    return AccessStore(store.engine).audit_entries(action=action)


def _outbox(store: Store) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(schema.outbox).order_by(schema.outbox.c.id)).mappings()]


def test_declare_by_hand_pages_the_response_once_per_contact(world):
    service, _, store = world
    inc = service.declare(title="Milk API outage", severity=1, actor="alice", via="cli", commander="alice",
                          summary="all milk readings fail", components=["milk-api"])
    pages = [e.detail for e in service.store.events(inc.id) if e.kind == "page"]
    # users vp, ann, then team sre (ann, bob): ann once; vp has e-mail but no receiver has
    # SMTP settings; bob's phone cannot be paged.
    assert [(p["user"], p["kind"], p["via"], "problem" in p) for p in pages] == [
        ("vp", "email", "user", True), ("vp", "", "user", True), ("ann", "webhook", "user", False),
        ("bob", "slack_webhook", "team:sre", False), ("bob", "phone", "team:sre", True)]
    assert "no receiver has any" in pages[0]["problem"] and "no telephony" in pages[4]["problem"]
    assert all("hooks" not in str(p) for p in pages)  # addresses (credentials) stay out of the timeline
    outbox = _outbox(store)
    assert [(o["receiver"], o["integration"], o["group_key"]) for o in outbox] == [
        ("@oncall", "http", f"inc:{inc.id}"), ("@oncall", "http", f"inc:{inc.id}")]
    body = outbox[0]["payload"]["body"]
    assert body["incident"]["ref"] == inc.ref and body["url"] == f"https://vigil.example/incidents/{inc.ref}"
    assert inc.ref in outbox[1]["payload"]["body"]["text"] and "SEV-1" in outbox[1]["payload"]["body"]["text"]
    assert inc.detected_at == inc.declared_at and inc.acknowledged_at == inc.declared_at
    assert [(a.actor, a.action) for a in _audit(store, "incident.declare")] == [("alice", "incident.declare")]


def test_declare_with_matchers_attaches_matching_groups_and_keeps_them(world):
    service, firing, _ = world
    inc = service.declare(title="milk", severity=2, actor="bob", via="api", alert_matchers=['service="milk"'])
    attached = service.store.attached(inc.id)
    # group labels hold only alertname; the alerts' labels carry service=milk
    assert sorted(g.group_key for g in attached) == ['{}:{alertname="DiskFull"}', '{}:{alertname="MilkApiDown"}']
    assert inc.detected_at == min(g.first_alert_at for g in attached)
    assert inc.alert_matchers == ('service="milk"',)
    firing.append(_group("MilkQueueFull", datetime.now(timezone.utc), service="milk"))
    assert service.attach_matching() == [(inc.ref, '{}:{alertname="MilkQueueFull"}')]
    assert service.attach_matching() == []
    service.detach(inc.ref, '{}:{alertname="DiskFull"}', actor="bob", via="api")
    assert service.attach_matching() == []  # a group a person detached is not taken back
    attached_by = {g.group_key: g.attached_by for g in service.store.attached(inc.id)}
    assert attached_by == {'{}:{alertname="MilkApiDown"}': "bob", '{}:{alertname="MilkQueueFull"}': None}
    with pytest.raises(IncidentError, match="bad matcher format"):
        service.declare(title="x", severity=2, actor="bob", via="api", alert_matchers=["service~milk"])


def test_declare_from_group_in_one_call_is_idempotent_per_episode(world):
    service, firing, store = world
    group = firing[0]
    episode = service.episodes.open(group.key, receiver="ops", group_labels=group.labels.to_dict(),
                                    priority="P2", deadline_s=600)
    inc, created = service.declare_from_group(group.key, actor="carol", via="ui")
    assert created and inc.severity == 2 and inc.source == "alert" and inc.origin_key == f"group:{episode.id}"
    assert inc.title == "MilkApiDown" == group_title({"alertname": "MilkApiDown"})
    assert [g.group_key for g in service.store.attached(inc.id)] == [group.key]
    assert inc.detected_at == group.alerts[0].starts_at
    again, created = service.declare_from_group(group.key, actor="dave", via="ui")
    assert (again.id, created) == (inc.id, False)
    with pytest.raises(IncidentError, match="no firing alert group") as err:
        service.declare_from_group('{}:{alertname="Nope"}', actor="carol", via="ui")
    assert err.value.kind == "not_found"
    assert group_title({"alertname": "A", "job": "x", "env": "p"}) == "A on env=p, job=x"


def test_status_moves_allowed_and_refused_with_reasons(world):
    service, _, store = world
    inc = service.declare(title="t", severity=3, actor="a", via="api")
    with pytest.raises(IncidentError) as err:
        service.set_status(inc.ref, "investigating", actor="a", via="api")
    assert err.value.kind == "conflict" and "from investigating to investigating (it is already there)" in str(err.value)
    assert "allowed from investigating: identified, monitoring, resolved" in str(err.value)
    monitoring = service.set_status(inc.ref, "monitoring", actor="a", via="api", note="fix deployed")  # skip
    assert monitoring.mitigated_at is not None
    with pytest.raises(IncidentError, match="unknown|must be one of"):
        service.set_status(inc.ref, "fixed", actor="a", via="api")
    relapse = service.set_status(inc.ref, "identified", actor="b", via="ui", note="errors again")
    assert relapse.status == "identified" and relapse.mitigated_at == monitoring.mitigated_at
    with pytest.raises(IncidentError, match="from identified to investigating; allowed from identified: "
                                            "monitoring, resolved"):
        service.set_status(inc.ref, "investigating", actor="a", via="api")
    again_monitoring = service.set_status(inc.ref, "monitoring", actor="a", via="api")
    assert again_monitoring.mitigated_at == monitoring.mitigated_at  # the first mitigation counts
    done = service.set_status(inc.ref, "resolved", actor="a", via="api")
    assert done.resolved_at is not None and done.next_update_at is None and not done.is_open
    with pytest.raises(IncidentError, match="from resolved to monitoring; reopen it"):
        service.set_status(inc.ref, "monitoring", actor="a", via="api")
    with pytest.raises(IncidentError, match="not resolved: only a resolved incident can be reopened"):
        service.reopen(service.declare(title="u", severity=4, actor="a", via="api").ref, actor="a", via="api")
    again = service.reopen(inc.ref, actor="c", via="cli", note="it is back")
    assert (again.status, again.resolved_at) == ("investigating", None)
    moves = [(e.detail["from"], e.detail["to"], e.actor) for e in service.store.events(inc.id) if e.kind == "status"]
    assert moves == [("investigating", "monitoring", "a"), ("monitoring", "identified", "b"),
                     ("identified", "monitoring", "a"), ("monitoring", "resolved", "a"),
                     ("resolved", "investigating", "c")]
    assert len(_audit(store, "incident.status")) == 4 and len(_audit(store, "incident.reopen")) == 1


def test_severity_roles_notes_edits_components(world):
    service, _, store = world
    inc = service.declare(title="t", severity=3, actor="a", via="api")
    assert inc.next_update_at is None and inc.acknowledged_at is None
    raised = service.set_severity(inc.ref, 1, actor="a", via="api", note="customers affected")
    assert raised.severity == 1 and raised.next_update_at is not None
    assert raised.next_update_at - raised.updated_at == timedelta(minutes=30)
    pages = [e for e in service.store.events(inc.id) if e.kind == "page"]
    assert {p.detail["user"] for p in pages} == {"ann", "bob", "vp"} and all(p.actor is None for p in pages)
    assert all(p.detail["reason"] == "severity raised" for p in pages)
    with pytest.raises(IncidentError, match="is SEV-1 already"):
        service.set_severity(inc.ref, 1, actor="a", via="api")
    with pytest.raises(IncidentError, match="severity must be 1..4"):
        service.set_severity(inc.ref, 5, actor="a", via="api")
    lowered = service.set_severity(inc.ref, 3, actor="a", via="api")
    assert lowered.next_update_at is None
    assert len(_outbox(store)) == 2  # lowering pages nobody

    took = service.set_role(inc.ref, "commander", "carol", actor="carol", via="ui")
    assert took.commander == "carol" and took.acknowledged_at is not None
    service.set_role(inc.ref, "commander", "dave", actor="carol", via="ui")
    assert service.store.get(inc.ref).acknowledged_at == took.acknowledged_at
    service.set_role(inc.ref, "scribe", "erin", actor="dave", via="api")
    service.set_role(inc.ref, "responders", "fred", actor="dave", via="api")
    service.set_role(inc.ref, "responders", "gina", actor="dave", via="api")
    service.set_role(inc.ref, "responders", "fred", actor="dave", via="api", remove=True)
    with pytest.raises(IncidentError, match="fred is not a responder"):
        service.set_role(inc.ref, "responders", "fred", actor="dave", via="api", remove=True)
    with pytest.raises(IncidentError, match="role must be one of"):
        service.set_role(inc.ref, "chef", "x", actor="dave", via="api")
    cur = service.store.get(inc.ref)
    assert cur.commander == "dave" and cur.roles == {"communications": None, "scribe": "erin", "responders": ["gina"]}

    service.add_note(inc.ref, "restarted the pods", actor="dave", via="cli")
    with pytest.raises(IncidentError, match="text must not be empty"):
        service.add_note(inc.ref, "  ", actor="dave", via="cli")
    edited = service.edit(inc.ref, actor="dave", via="api", summary="db disk full", impact="no milk data")
    assert (edited.title, edited.summary, edited.impact) == ("t", "db disk full", "no milk data")
    service.set_components(inc.ref, ["milk-api", "dashboards"], actor="dave", via="api")
    service.set_components(inc.ref, ["milk-api"], actor="dave", via="api")
    kinds = [(e.kind, e.actor) for e in service.store.events(inc.id) if e.kind not in ("page",)]
    assert kinds == [("declared", "a"), ("severity", "a"), ("severity", "a"), ("role", "carol"), ("role", "carol"),
                     ("role", "dave"), ("role", "dave"), ("role", "dave"), ("role", "dave"), ("note", "dave"),
                     ("edited", "dave"), ("component", "dave"), ("component", "dave")]
    last = service.store.events(inc.id)[-1].detail
    assert last == {"added": [], "removed": ["dashboards"], "components": ["milk-api"]}
    counts = {a: len(_audit(store, a)) for a in ("incident.severity", "incident.role", "incident.note",
                                                 "incident.edit", "incident.components")}
    assert counts == {"incident.severity": 2, "incident.role": 6, "incident.note": 1, "incident.edit": 1,
                      "incident.components": 2}


def test_attach_and_detach_by_hand(world):
    service, firing, store = world
    inc = service.declare(title="t", severity=2, actor="a", via="api")
    attached = service.attach(inc.ref, [firing[1].key], actor="b", via="api")
    assert attached.detected_at == firing[1].alerts[0].starts_at  # the earliest alert moves detection back
    with pytest.raises(IncidentError, match="attached to .* already"):
        service.attach(inc.ref, [firing[1].key], actor="b", via="api")
    with pytest.raises(IncidentError, match="no firing alert group"):
        service.attach(inc.ref, ["nope"], actor="b", via="api")
    service.detach(inc.ref, firing[1].key, actor="b", via="api")
    with pytest.raises(IncidentError, match="is not attached"):
        service.detach(inc.ref, firing[1].key, actor="b", via="api")
    assert service.store.attached(inc.id) == []
    service.attach(inc.ref, [firing[1].key], actor="b", via="api")  # attached again
    assert [g.group_key for g in service.store.attached(inc.id)] == [firing[1].key]
    service.set_status(inc.ref, "resolved", actor="a", via="api")
    with pytest.raises(IncidentError, match="is resolved: reopen it"):
        service.attach(inc.ref, [firing[0].key], actor="b", via="api")
    assert len(_audit(store, "incident.attach")) == 2 and len(_audit(store, "incident.detach")) == 1
