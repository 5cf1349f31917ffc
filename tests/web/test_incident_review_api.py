"""Post-mortems, figures, action items and incident candidates over HTTP, through the real
app and access gate: viewers read, responders change, each change audited once."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.incidents.support import basic, deps_with, people
from tests.incidents.test_correlation import checkout_burst
from tests.web.fakes import make_deps
from vigil.config import load_config_text
from vigil.config.correlation import CorrelationConfig
from vigil.incidents.correlation import Correlator
from vigil.incidents.review import IncidentReview
from vigil.incidents.service import IncidentService
from vigil.state import Store
from vigil.state.action_item_store import ActionItemStore
from vigil.state.incident_candidate_store import CandidateStore
from vigil.state.incident_store import IncidentStore
from vigil.web import create_app

VIEWER, RESPONDER = basic("vic"), basic("rita")


@pytest.fixture
def api(tmp_path):
    store = Store.open_in(str(tmp_path / "state"))
    access = people(store, viewers=["vic"], responders=["rita"])
    config = load_config_text("")
    groups = checkout_burst()[:3]
    incidents = IncidentStore(store.engine)
    service = IncidentService(incidents, lambda: config, groups=lambda: list(groups))
    correlator = Correlator(CandidateStore(store.engine), CorrelationConfig, lambda: list(groups), service=service)
    review = IncidentReview(incidents, ActionItemStore(store.engine), correlator=correlator,
                            external_url="https://vigil.example")
    with TestClient(create_app(deps_with(access, incident_review=review))) as client:
        yield client, store, correlator
    store.close()


def _audits(store: Store, prefix: str) -> list:
    return [e for e in store.access.audit_entries() if e.action.startswith(prefix)]


def test_candidates_accept_and_dismiss(api):
    client, store, correlator = api
    [cand] = correlator.observe()
    base = "/api/vigil/v1/incident-candidates"
    assert client.get(base).status_code == 401
    [listed] = client.get(base, headers=VIEWER).json()["data"]
    assert listed["id"] == cand.id and len(listed["groups"]) == 3
    assert listed["labels"] == {"service": "checkout", "cluster": "eu1"} and listed["severity"] == 3
    assert client.get(f"{base}/{cand.id}", headers=VIEWER).json()["data"] == listed
    assert client.get(f"{base}/nope", headers=VIEWER).status_code == 404
    assert client.get(f"{base}?state=maybe", headers=VIEWER).status_code == 400
    assert client.post(f"{base}/{cand.id}/accept", headers=VIEWER).status_code == 403

    answer = client.post(f"{base}/{cand.id}/accept", headers=RESPONDER, json={"severity": 2})
    assert answer.status_code == 200, answer.text
    incident = answer.json()["data"]["incident"]
    assert (incident["severity"], incident["status"]) == (2, "investigating")
    again = client.post(f"{base}/{cand.id}/accept", headers=RESPONDER).json()["data"]
    assert again["incident"]["id"] == incident["id"] and again["candidate"]["state"] == "accepted"
    assert len(_audits(store, "incident.")) == 1  # one click, one entry: the declaration's
    assert client.get(base, headers=VIEWER).json()["data"] == []  # none proposed now
    assert [c["state"] for c in client.get(f"{base}?state=all", headers=VIEWER).json()["data"]] == ["accepted"]

    bad = client.post(f"{base}/{cand.id}/accept", headers=RESPONDER, json={"severity": "high"})
    assert bad.status_code == 400 and "severity" in bad.json()["error"]
    refused = client.post(f"{base}/{cand.id}/dismiss", headers=RESPONDER, json={"reason": "noise"})
    assert refused.status_code == 409 and refused.json()["errorType"] == "conflict"
    assert client.post(f"{base}/{cand.id}/maybe", headers=RESPONDER).status_code == 404


def test_dismiss_needs_a_reason_and_is_audited_once(api):
    client, store, correlator = api
    [cand] = correlator.observe()
    url = f"/api/vigil/v1/incident-candidates/{cand.id}/dismiss"
    missing = client.post(url, headers=RESPONDER, json={})
    assert missing.status_code == 400 and "reason" in missing.json()["error"]
    done = client.post(url, headers=RESPONDER, json={"reason": "planned load test", "via": "ui"}).json()["data"]
    assert (done["state"], done["decidedBy"], done["reason"]) == ("dismissed", "rita", "planned load test")
    [entry] = _audits(store, "incident.")
    assert (entry.action, entry.actor) == ("incident.candidate.dismiss", "rita")
    assert correlator.observe() == []


def test_action_items_postmortem_and_figures(api):
    client, store, correlator = api
    [cand] = correlator.observe()
    inc = client.post(f"/api/vigil/v1/incident-candidates/{cand.id}/accept", headers=RESPONDER,
                      json={"title": "Checkout is slow"}).json()["data"]["incident"]
    items = f"/api/vigil/v1/incidents/{inc['ref']}/action-items"
    bad = client.post(items, headers=RESPONDER, json={"title": "x", "due_date": "next week"})
    assert bad.status_code == 400 and "due_date" in bad.json()["error"]
    assert client.post(items, headers=RESPONDER, json={"owner": "carol"}).status_code == 400
    assert client.post(items, headers=VIEWER, json={"title": "x"}).status_code == 403
    first = client.post(items, headers=RESPONDER, json={
        "title": "Canary checkout deploys", "owner": "carol", "due_date": "2026-12-21",
        "link": "https://tickets.example/OPS-1"}).json()["data"]
    second = client.post(items, headers=RESPONDER, json={"title": "Alert on p99 earlier"}).json()["data"]
    assert (first["state"], first["dueDate"], first["incidentRef"]) == ("open", "2026-12-21", inc["ref"])

    correlator.service.set_status(inc["id"], "resolved", actor="rita", via="api")
    closed = client.post(f"/api/vigil/v1/action-items/{second['id']}/close", headers=RESPONDER).json()["data"]
    assert (closed["state"], closed["closedBy"]) == ("closed", "rita")
    assert client.post(f"/api/vigil/v1/action-items/{second['id']}/close", headers=RESPONDER).status_code == 409
    assert client.post("/api/vigil/v1/action-items/999/close", headers=RESPONDER).status_code == 404
    # Tracked after the incident's resolution: the open ones across incidents.
    open_items = client.get("/api/vigil/v1/action-items?state=open", headers=VIEWER).json()["data"]
    assert [i["id"] for i in open_items] == [first["id"]]
    assert client.get("/api/vigil/v1/action-items?state=done", headers=VIEWER).status_code == 400
    assert [i["state"] for i in client.get(items, headers=VIEWER).json()["data"]] == ["open", "closed"]
    assert [e.action for e in _audits(store, "incident.action_item")] == [
        "incident.action_item.add", "incident.action_item.add", "incident.action_item.close"]
    reopened = client.post(f"/api/vigil/v1/action-items/{second['id']}/reopen", headers=RESPONDER).json()["data"]
    assert reopened["state"] == "open" and reopened["closedBy"] is None

    answer = client.get(f"/api/vigil/v1/incidents/{inc['ref']}/postmortem", headers=VIEWER)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/markdown")
    text = answer.text
    assert text.startswith(f"# {inc['ref']}: Checkout is slow\n")
    assert "| 1 | Canary checkout deploys | carol | 2026-12-21 | open | [link](https://tickets.example/OPS-1) |" in text
    assert "Action item #2 closed" in text and "Action item #2 reopened" in text
    assert client.get("/api/vigil/v1/incidents/INC-20000101-001/postmortem", headers=VIEWER).status_code == 404

    fig = client.get(f"/api/vigil/v1/incidents/{inc['id']}/figures", headers=VIEWER).json()["data"]
    assert (fig["ref"], fig["groups"], fig["firstAlertAt"]) == (inc["ref"], 3, "2026-12-07T03:00:00Z")
    assert fig["secondsToResolve"] is not None and fig["secondsToDeclare"] > 0
    across = client.get("/api/vigil/v1/incident-figures?since=2026-01-01T00:00:00Z", headers=VIEWER).json()["data"]
    assert across["summary"]["incidents"] == 1 and [f["ref"] for f in across["incidents"]] == [inc["ref"]]
    assert client.get("/api/vigil/v1/incident-figures?since=yesterday", headers=VIEWER).status_code == 400


def test_without_incidents_the_api_answers_404(tmp_path):
    with TestClient(create_app(make_deps())) as client:
        for path in ("/api/vigil/v1/incident-candidates", "/api/vigil/v1/action-items",
                     "/api/vigil/v1/incidents/INC-20261207-001/postmortem"):
            assert client.get(path).status_code == 404
