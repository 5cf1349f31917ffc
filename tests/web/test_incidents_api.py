"""The incidents API through the real app and access gate: viewers read, responders declare
and change; refusals as 400/404/409 naming the field or the reason; ONE audit entry per
change (the service's); the timeline exported. End to end in the assembled app: alerts
posted to the Alertmanager API, the one-click declaration from their group, the statuses
walked, the timeline in order with its content, exported as JSON, CSV and Markdown."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.incidents.support import assembled_app, basic, deps_with, people
from vigil.config.loader import load_config_text
from vigil.incidents.service import IncidentService
from vigil.model import Alert, Labels
from vigil.oncall.lifecycle import FiringGroup, firing_groups
from vigil.state import Store, schema
from vigil.state.incident_store import IncidentStore
from vigil.web import create_app

BASE = "/api/vigil/v1/incidents"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


ANN, VIC = basic("ann"), basic("vic")
DISK = '{}:{alertname="DiskFull"}'


@pytest.fixture
def env(tmp_path):
    store = Store.open_in(str(tmp_path / "state"))
    access = people(store, viewers=["vic"], responders=["ann"])
    config = load_config_text("{}")
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    alert = Alert(Labels({"alertname": "DiskFull", "service": "milk"}), Labels({"summary": "disk full"}), start)
    groups = [FiringGroup(DISK, "ops", Labels({"alertname": "DiskFull"}), (alert,), True)]
    service = IncidentService(IncidentStore(store.engine), lambda: config, groups=lambda: list(groups))
    with TestClient(create_app(deps_with(access, incidents=service))) as client:
        yield client, store
    store.close()


def _audit(store: Store) -> list[tuple[str, str]]:
    a = schema.audit_log
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(a.c.actor, a.c.action).where(a.c.actor != "test")
                                               .order_by(a.c.id))]


def test_viewers_read_responders_change_with_one_audit_entry_each(env):
    client, store = env
    declared = {"title": "Milk data lost", "severity": 1, "alert_matchers": ['service="milk"'],
                "components": ["Milk API"], "commander": "ann"}
    assert client.post(BASE, json=declared, headers=VIC).status_code == 403
    r = client.post(BASE, json=declared, headers=ANN)
    assert r.status_code == 201, r.text
    inc = r.json()["data"]
    assert (inc["severityName"], inc["status"], inc["commander"], inc["declaredBy"]) == (
        "SEV-1", "investigating", "ann", "ann")
    assert inc["severityRule"]["criteria"] == "Complete system outage" and inc["severityRule"]["team"] == "All hands"
    assert [g["groupKey"] for g in inc["groups"]] == [DISK] and inc["groups"][0]["alerts"][0]["labels"]["service"] == "milk"
    assert inc["allowedStatuses"] == ["identified", "monitoring", "resolved"] and not inc["canReopen"]
    f = inc["figures"]  # the commander was named at declaration: acknowledged on detection's clock
    assert f["secondsToAcknowledge"] == pytest.approx(
        (_at(inc["acknowledgedAt"]) - _at(inc["detectedAt"])).total_seconds(), abs=0.001)
    assert f["secondsToResolve"] is None and f["groups"] == 1
    assert [e["kind"] for e in inc["timeline"]] == ["declared", "role", "alert_attached"]
    ref = inc["ref"]

    listed = client.get(BASE, headers=VIC).json()["data"]
    assert [i["ref"] for i in listed] == [ref]
    assert client.get(f"{BASE}/{ref.lower()}", headers=VIC).json()["data"]["id"] == inc["id"]
    for path, body in [("status", {"status": "identified", "note": "disk full on db-1"}),
                       ("severity", {"severity": 2}), ("roles", {"role": "scribe", "user": "vic"}),
                       ("roles", {"role": "responders", "user": "bob"}), ("notes", {"text": "cleaning up"}),
                       ("components", {"components": ["Milk API", "Dashboards"]}),
                       ("edit", {"impact": "no milk readings for 10 minutes"}),
                       ("detach", {"group_key": DISK}), ("attach", {"group_keys": [DISK]}),
                       ("status", {"status": "resolved"}), ("reopen", {"note": "again"})]:
        assert client.post(f"{BASE}/{ref}/{path}", json=body, headers=VIC).status_code == 403
        r = client.post(f"{BASE}/{ref}/{path}", json=body, headers=ANN)
        assert r.status_code == 200, (path, r.text)
    data = r.json()["data"]
    assert (data["status"], data["severity"], data["roles"]["scribe"], data["roles"]["responders"]) == (
        "investigating", 2, "vic", ["bob"])
    assert data["impact"] == "no milk readings for 10 minutes" and data["components"] == ["Milk API", "Dashboards"]
    assert _audit(store) == [("ann", a) for a in (
        "incident.declare", "incident.status", "incident.severity", "incident.role", "incident.role", "incident.note",
        "incident.components", "incident.edit", "incident.detach", "incident.attach", "incident.status",
        "incident.reopen")]


def test_refusals_name_the_field_or_the_reason(env):
    client, store = env
    cases = [({"title": "x", "severity": 7}, 400, "severity must be 1..4"),
             ({"title": " ", "severity": 2}, 400, "title must not be empty"),
             ({"title": "x", "severity": "2"}, 400, "severity must be a whole number"),
             ({"title": "x", "severity": 2, "alert_matchers": ["service~x"]}, 400, "alert_matchers[0]: bad matcher"),
             ({"title": "x", "severity": 2, "group_keys": ["nope"]}, 404, "no firing alert group 'nope'"),
             ({"title": "x", "severity": 2, "components": "api"}, 400, "components must be a list of strings"),
             ({"title": "x", "severity": 2, "via": "fax"}, 400, "via must be one of")]
    for body, status, message in cases:
        r = client.post(BASE, json=body, headers=ANN)
        assert (r.status_code, r.json()["status"]) == (status, "error") and message in r.json()["error"], r.text
    assert client.post(BASE, content=b"[1]", headers=ANN).status_code == 400
    ref = client.post(BASE, json={"title": "x", "severity": 3}, headers=ANN).json()["data"]["ref"]
    r = client.post(f"{BASE}/{ref}/status", json={"status": "resolved"}, headers=ANN)
    r = client.post(f"{BASE}/{ref}/status", json={"status": "monitoring"}, headers=ANN)
    assert r.status_code == 409 and r.json()["errorType"] == "conflict"
    assert r.json()["error"] == f"incident {ref} cannot move from resolved to monitoring; reopen it to go back to investigating"
    assert client.post(f"{BASE}/{ref}/status", json={"status": "done"}, headers=ANN).status_code == 400
    assert client.get(f"{BASE}/INC-20000101-001", headers=VIC).status_code == 404
    assert client.post(f"{BASE}/INC-20000101-001/notes", json={"text": "x"}, headers=ANN).status_code == 404
    assert client.get(f"{BASE}/{ref}/timeline?format=pdf", headers=VIC).status_code == 400
    assert client.get(f"{BASE}?state=some", headers=VIC).status_code == 400
    assert [a for _, a in _audit(store)] == ["incident.declare", "incident.status"]  # refusals write nothing


def test_one_click_from_a_group_and_the_timeline_exports(env):
    client, _ = env
    r = client.post(f"{BASE}/from-group", json={"group_key": DISK}, headers=ANN)
    assert r.status_code == 201, r.text
    inc = r.json()["data"]
    assert (inc["title"], inc["severity"], inc["source"]) == ("DiskFull", 3, "alert")
    again = client.post(f"{BASE}/from-group", json={"group_key": DISK}, headers=ANN)
    assert again.status_code == 200 and again.json()["data"]["id"] == inc["id"]
    assert client.post(f"{BASE}/from-group", json={}, headers=ANN).status_code == 400
    r = client.get(f"{BASE}/{inc['ref']}/timeline?format=csv", headers=VIC)
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == f'inline; filename="{inc["ref"]}-timeline.csv"'
    assert [row["kind"] for row in csv.DictReader(io.StringIO(r.text))] == ["declared", "alert_attached"]
    r = client.get(f"{BASE}/{inc['ref']}/timeline?format=markdown", headers=VIC)
    assert r.text.startswith(f"# {inc['ref']}: DiskFull\n") and "| ann | Declared SEV-3: DiskFull (alert) |" in r.text
    assert client.get(f"{BASE}/{inc['ref']}/timeline", headers=VIC).json()["events"][0]["kind"] == "declared"


CONFIG = """\
default_rules: false
collectors: {host: {enabled: false}}
alerting:
  receivers: [{name: ops}]
  route: {receiver: ops, group_by: [alertname]}
"""


def test_end_to_end_declare_from_an_alert_group_walk_the_statuses_export(tmp_path):
    app = assembled_app(tmp_path, CONFIG)
    try:
        started = (datetime.now(timezone.utc) - timedelta(minutes=4)).replace(microsecond=0)
        with TestClient(app.web) as client:
            r = client.post("/api/v2/alerts", json=[{
                "labels": {"alertname": "MilkApiDown", "service": "milk-api", "priority": "P1"},
                "annotations": {"summary": "milk API answers 503"}, "startsAt": started.isoformat(),
                "generatorURL": "http://vigil/graph?g0.expr=up"}])
            assert r.status_code == 200, r.text
            app.lifecycle.reconcile()  # the episode of the group (P1)
            [group] = firing_groups(app.alerting)
            r = client.post(f"{BASE}/from-group", json={"group_key": group.key})
            assert r.status_code == 201, r.text
            inc = r.json()["data"]
            assert (inc["severity"], inc["title"], inc["detectedAt"]) == (
                1, "MilkApiDown", started.isoformat().replace("+00:00", "Z"))
            assert inc["channel"].startswith("#incident-") and inc["channel"].endswith("-001")
            assert app.incident_timeline.tick() == 1  # the alert, firing since before the declaration
            steps = [("roles", {"role": "commander", "user": "ann"}), ("status", {"status": "identified",
                     "note": "a bad deploy"}), ("notes", {"text": "rolled back"}), ("status", {"status": "monitoring"}),
                     ("status", {"status": "resolved", "note": "error rate normal for 15 min"})]
            for action, body in steps:
                r = client.post(f"{BASE}/{inc['ref']}/{action}", json=body)
                assert r.status_code == 200, r.text
            done = client.get(f"{BASE}/{inc['ref']}").json()["data"]
            texts = [(e["kind"], e["text"]) for e in done["timeline"]]
            assert texts == [
                ("alert_firing", "Alert firing: alertname=MilkApiDown, priority=P1, service=milk-api — milk API "
                                 "answers 503"),
                ("declared", "Declared SEV-1: MilkApiDown (alert)"),
                ("alert_attached", "Alert group attached: alertname=MilkApiDown"),
                ("role", "Commander: ann"), ("status", "Status: investigating → identified — a bad deploy"),
                ("note", "rolled back"), ("status", "Status: identified → monitoring"),
                ("status", "Status: monitoring → resolved — error rate normal for 15 min")]
            ats = [e["at"] for e in done["timeline"]]
            assert ats == sorted(ats)
            assert done["timeline"][0]["detail"]["generator_url"] == "http://vigil/graph?g0.expr=up"
            f = done["figures"]
            assert f["secondsToMitigate"] <= f["secondsToResolve"] and f["secondsToDeclare"] >= 240
            assert (f["alerts"], f["groups"]) == (1, 1)
            markdown = client.get(f"{BASE}/{inc['ref']}/timeline?format=markdown").text
            assert markdown.count("\n| 20") == len(texts) and "| Vigil | Alert firing" in markdown
            as_json = client.get(f"{BASE}/{inc['ref']}/timeline?format=json").json()
            assert [e["kind"] for e in as_json["events"]] == [k for k, _ in texts]
            metrics = client.get("/metrics").text
            assert 'vigil_incidents_declared_total{severity="1",source="alert"} 1.0' in metrics
    finally:
        app.close()
