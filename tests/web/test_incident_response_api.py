"""The incident checklist and communications API through the real app and access gate: the
checklist with due times, tasks done and reopened (responders; viewers refused), previews
and sends with their timeline events and ONE audit entry per change, errors naming the field."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.incidents.support import basic, deps_with, people
from vigil.config.loader import load_config_text
from vigil.incidents.response import incident_response
from vigil.incidents.service import IncidentService
from vigil.oncall.reach import ConfigDirectory
from vigil.state import Store, schema
from vigil.state.incident_store import IncidentStore
from vigil.web import create_app

ANN, VIC = basic("ann"), basic("vic")
CONFIG = """
alerting:
  route: {receiver: hooks}
  receivers: [{name: hooks, webhook_configs: [{url: "http://hooks.example/incidents"}]}]
incidents:
  communications:
    external:
      receivers: {SEV-1: [hooks]}
"""


@pytest.fixture
def env(tmp_path):
    store = Store.open_in(str(tmp_path / "state"))
    access = people(store, viewers=["vic"], responders=["ann"])
    config = load_config_text(CONFIG)
    response = incident_response(store.engine, lambda: config, ConfigDirectory(config),
                                 external_url="http://vigil.test")
    service = IncidentService(IncidentStore(store.engine), lambda: config)
    inc = service.declare(title="Milk API down", severity=1, actor="ann", via="api", commander="ann",
                          impact="farmers cannot record milkings", components=["Milk API"])
    with TestClient(create_app(deps_with(access, incident_response=response))) as client:
        yield client, store, inc
    store.close()


def _audit(store: Store, prefix: str) -> list[tuple[str, str]]:
    a = schema.audit_log
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(a.c.actor, a.c.action).where(a.c.action.like(prefix + "%"))
                                               .order_by(a.c.id))]


def test_checklist_with_due_times(env):
    client, _, inc = env
    r = client.get(f"/api/vigil/v1/incidents/{inc.ref}/checklist", headers=VIC)
    assert r.status_code == 200
    data = r.json()["data"]
    assert (data["ref"], data["severity"], data["status"]) == (inc.ref, "SEV-1", "investigating")
    assert [(p["label"], p["title"], len(p["tasks"])) for p in data["phases"]] == [
        ("T+0:00", "Incident Declared", 4), ("T+0:05", "Initial Assessment", 4),
        ("T+0:15", "Recovery Attempts Begin", 4), ("T+0:30", "Communication Update", 4),
        ("T+1:00", "Escalation if Not Resolved", 4)]
    first = data["phases"][0]["tasks"][0]
    assert first == {"key": "page-oncall", "title": "Page on-call engineer", "phase": "Incident Declared",
                     "dueAt": data["declaredAt"], "done": False, "doneAt": None, "doneBy": None,
                     "doneByVigil": False, "note": "", "overdue": False, "overdueAt": None, "pagedAt": None,
                     "doneWhen": "paged"}
    missing = client.get("/api/vigil/v1/incidents/INC-20000101-001/checklist", headers=VIC)
    assert missing.status_code == 404 and "no incident" in missing.json()["error"]


def test_tasks_done_and_reopened_by_responders_audited_once(env):
    client, store, inc = env
    url = f"/api/vigil/v1/incidents/{inc.ref}/checklist/dns"
    assert client.post(url + "/done", json={"note": "x"}, headers=VIC).status_code == 403
    r = client.post(url + "/done", json={"note": "resolvers fine", "via": "cli"}, headers=ANN)
    assert r.status_code == 200
    assert {k: r.json()["data"][k] for k in ("key", "done", "doneBy", "note")} == {
        "key": "dns", "done": True, "doneBy": "ann", "note": "resolvers fine"}
    again = client.post(url + "/done", headers=ANN)
    assert again.status_code == 409 and "done already" in again.json()["error"]
    assert client.post(url + "/reopen", json={"note": "flapping"}, headers=ANN).json()["data"]["done"] is False
    assert client.post(url + "/undo", headers=ANN).status_code == 404
    unknown = client.post(f"/api/vigil/v1/incidents/{inc.ref}/checklist/nope/done", headers=ANN)
    assert unknown.status_code == 404 and "has no task 'nope'" in unknown.json()["error"]
    bad = client.post(url + "/done", json={"note": 5}, headers=ANN)
    assert bad.status_code == 400 and bad.json()["error"] == "note must be text"
    assert _audit(store, "incident.task") == [("ann", "incident.task.done"), ("ann", "incident.task.reopen")]
    events = client.get(f"/api/vigil/v1/incidents/{inc.ref}/checklist", headers=VIC).json()["data"]
    dns = next(t for p in events["phases"] for t in p["tasks"] if t["key"] == "dns")
    assert (dns["done"], dns["note"]) == (False, "flapping")


def test_preview_send_and_list_communications(env):
    client, store, inc = env
    base = f"/api/vigil/v1/incidents/{inc.ref}/communications"
    r = client.get(base + "/preview", params={"kind": "external", "symptoms": "failed uploads"}, headers=VIC)
    assert r.status_code == 200
    preview = r.json()["data"]
    assert preview["body"] == ("We are currently investigating issues affecting Milk API.\n"
                               "Users may experience failed uploads.\n"
                               "We will provide updates as more information becomes available.\n")
    assert preview["receivers"] == ["hooks"] and preview["nextUpdateAt"].endswith("Z")
    internal = client.get(base + "/preview", headers=VIC).json()["data"]
    assert internal["subject"] == "[INCIDENT] Smart Dairy - Milk API down" and internal["receivers"] == []
    assert client.get(base + "/preview", params={"kind": "x"}, headers=VIC).status_code == 400
    assert client.post(base, json={"kind": "external"}, headers=VIC).status_code == 403
    assert _audit(store, "incident.communication") == []

    r = client.post(base, json={"kind": "external", "symptoms": "failed uploads"}, headers=ANN)
    assert r.status_code == 200
    sent = r.json()["data"]
    assert (sent["kind"], sent["body"], sent["sentBy"], sent["via"]) == ("external", preview["body"], "ann", "api")
    assert len(sent["notifications"]) == 1
    edited = client.post(base, json={"kind": "internal", "subject": "SEV-1: milk", "body": "Rolled back.\n",
                                     "via": "ui"}, headers=ANN).json()["data"]
    assert (edited["subject"], edited["body"], edited["receivers"]) == ("SEV-1: milk", "Rolled back.\n", [])
    bad = client.post(base, json={"kind": "public"}, headers=ANN)
    assert bad.status_code == 400 and "kind must be internal or external" in bad.json()["error"]
    assert client.post(base, json={"kind": "internal", "body": ["x"]}, headers=ANN).json()["error"] == "body must be text"
    listed = client.get(base, headers=VIC).json()["data"]
    assert [(c["kind"], c["sentBy"]) for c in listed] == [("external", "ann"), ("internal", "ann")]
    assert _audit(store, "incident.communication") == [("ann", "incident.communication.external"),
                                                       ("ann", "incident.communication.internal")]
    public = [e for e in IncidentStore(store.engine).events(inc.id, public_only=True) if e.kind == "public_update"]
    assert [e.detail for e in public] == [{"status": "investigating", "message": preview["body"]}]


def test_each_change_is_audited_once_and_refusals_not_at_all(env):
    client, store, inc = env
    a = schema.audit_log
    with store.engine.connect() as conn:
        before = conn.execute(select(a.c.id).order_by(a.c.id.desc())).scalars().first()
    client.post(f"/api/vigil/v1/incidents/{inc.ref}/checklist/dns/done", headers=ANN)
    client.post(f"/api/vigil/v1/incidents/{inc.ref}/checklist/dns/done", headers=ANN)  # refused: 409
    client.post(f"/api/vigil/v1/incidents/{inc.ref}/communications", json={"kind": "internal"}, headers=ANN)
    with store.engine.connect() as conn:
        rows = conn.execute(select(a.c.actor, a.c.action, a.c.target).where(a.c.id > before).order_by(a.c.id)).all()
    assert [tuple(r) for r in rows] == [("ann", "incident.task.done", f"incident {inc.ref} task dns"),
                                        ("ann", "incident.communication.internal", f"incident {inc.ref}")]
