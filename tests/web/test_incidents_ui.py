"""The incident pages' forms through the real app and access gate: viewers read and cannot
post, responders act; every change lands on the page with a 303 and ONE audit entry (the
service's); a refused change answers the API's status (400, 404, 409) with the reason on the
page and writes no audit entry; candidates are accepted and dismissed from /incidents; the
alerts page's one-click declaration finds the same incident when clicked twice."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.incidents.support import (
    audit_by_people,
    deps_with,
    html_headers,
    page_error,
    people,
)
from tests.incidents.test_correlation import checkout_burst
from vigil.config import load_config_text
from vigil.config.correlation import CorrelationConfig
from vigil.incidents.correlation import Correlator
from vigil.incidents.response import incident_response
from vigil.incidents.review import IncidentReview
from vigil.incidents.service import IncidentService
from vigil.oncall.reach import ConfigDirectory
from vigil.state import Store
from vigil.state.action_item_store import ActionItemStore
from vigil.state.incident_candidate_store import CandidateStore
from vigil.state.incident_store import IncidentStore
from vigil.web import create_app

VIEWER, RESPONDER = html_headers("vic"), html_headers("rita")
CONFIG = load_config_text("""
status_page:
  components: [{name: checkout, query: 'up{job="checkout"}'}]
""")


@pytest.fixture
def ui(tmp_path):
    store = Store.open_in(str(tmp_path / "state"))
    access = people(store, viewers=["vic"], responders=["rita"])
    groups = checkout_burst()[:3]
    incidents = IncidentStore(store.engine)
    service = IncidentService(incidents, lambda: CONFIG, groups=lambda: list(groups))
    correlator = Correlator(CandidateStore(store.engine), CorrelationConfig, lambda: list(groups), service=service)
    deps = deps_with(
        access, incidents=service,
        incident_review=IncidentReview(incidents, ActionItemStore(store.engine), correlator=correlator),
        incident_response=incident_response(store.engine, lambda: CONFIG, ConfigDirectory(CONFIG)))
    with TestClient(create_app(deps), follow_redirects=False) as client:
        yield client, store, service, correlator
    store.close()


def test_declare_form_refusals_name_the_field_and_write_no_audit_entry(ui):
    client, store, service, _ = ui
    page = client.get("/incidents", headers=VIEWER)
    assert page.status_code == 200 and 'id="declare"' not in page.text  # viewers get no form
    assert client.post("/incidents", headers=VIEWER, data={"title": "x", "severity": "1"}).status_code == 403
    form = {"title": " ", "severity": "2", "summary": "checkout answers 502", "components": "checkout"}
    empty = client.post("/incidents", headers=RESPONDER, data=form)
    assert empty.status_code == 400 and page_error(empty.text) == "title must not be empty"
    assert "checkout answers 502</textarea>" in empty.text  # what was typed is kept
    worst = client.post("/incidents", headers=RESPONDER, data={**form, "title": "Checkout down", "severity": "0"})
    assert worst.status_code == 400 and page_error(worst.text) == "severity must be 1..4 (SEV-1 is the worst), not '0'"
    matcher = client.post("/incidents", headers=RESPONDER, data={**form, "title": "Checkout down",
                                                                 "alert_matchers": 'cluster="eu1"\nservice=~"("'})
    assert matcher.status_code == 400 and page_error(matcher.text).startswith(
        "alert_matchers[1]: invalid regular expression in matcher 'service=~\"(\"'")
    assert audit_by_people(store) == [] and service.store.incidents() == []

    done = client.post("/incidents", headers=RESPONDER, data={
        **form, "title": "Checkout down", "alert_matchers": 'service="checkout"\ncluster="eu1"\n'})
    assert done.status_code == 303
    [inc] = service.store.incidents()
    assert done.headers["location"] == f"/incidents/{inc.ref}"
    assert (inc.title, inc.severity, inc.components, inc.summary) == ("Checkout down", 2, ("checkout",),
                                                                      "checkout answers 502")
    assert inc.alert_matchers == ('service="checkout"', 'cluster="eu1"')
    assert {g.group_labels["alertname"] for g in service.store.attached(inc.id)} == {"HighLatency", "PodRestarts"}
    assert audit_by_people(store) == [("rita", "incident.declare")]
    listed = client.get("/incidents", headers=VIEWER).text
    assert f'<a href="/incidents/{inc.ref}">{inc.ref}</a>' in listed and "SEV-2</span>" in listed
    assert client.get("/incidents?severity=1", headers=VIEWER).text.count('class="incident incident-') == 0
    assert client.get("/incidents?q=CHECKOUT", headers=VIEWER).text.count('class="incident incident-') == 1


def test_every_action_is_one_audit_entry_and_refusals_show_the_reason(ui):
    client, store, service, _ = ui
    inc = service.declare(title="Checkout down", severity=1, actor="rita", via="api")
    page = f"/incidents/{inc.ref}"
    before = len(audit_by_people(store))
    viewer = client.get(page, headers=VIEWER)
    assert viewer.status_code == 200 and 'method="post"' not in viewer.text.split("<main>")[1]
    assert client.post(page + "/notes", headers=VIEWER, data={"text": "x"}).status_code == 403

    steps = [
        ("/roles", {"role": "commander", "user": "rita", "op": "set"}, "#roles", "incident.role"),
        ("/roles", {"user": "sam", "op": "add"}, "#roles", "incident.role"),
        ("/roles", {"user": "sam", "op": "remove"}, "#roles", "incident.role"),
        ("/roles", {"role": "scribe", "user": "tom", "op": "set"}, "#roles", "incident.role"),
        ("/severity", {"severity": "2", "note": "only checkout"}, "#severity", "incident.severity"),
        ("/components", {"components": "checkout, payments"}, "#components", "incident.components"),
        ("/status", {"status": "resolved", "note": "fixed"}, "#status", "incident.status"),
        ("/reopen", {"note": "back"}, "#status", "incident.reopen"),
        ("/notes", {"text": "payments provider slow"}, "#timeline", "incident.note"),
        ("/tasks/page-oncall/done", {"note": "paged"}, "#checklist", "incident.task"),
        ("/tasks/page-oncall/reopen", {}, "#checklist", "incident.task"),
        ("/action-items", {"title": "Alert on payment latency", "owner": "tom", "due_date": "2026-12-31"},
         "#action-items", "incident.action_item"),
    ]
    for path, data, anchor, action in steps:
        r = client.post(page + path, headers=RESPONDER, data=data)
        assert (r.status_code, r.headers.get("location")) == (303, page + anchor), (path, r.text[:500])
        assert audit_by_people(store)[-1][1].startswith(action), (path, audit_by_people(store)[-1])
    assert len(audit_by_people(store)) == before + len(steps)
    [item] = client.app.state.deps.incident_review.items(incident=inc.id)
    for action in ("close", "reopen"):
        r = client.post(f"{page}/action-items/{item.id}/{action}", headers=RESPONDER)
        assert r.status_code == 303
    now = service.store.get(inc.ref)
    assert (now.status, now.severity, now.commander, now.components) == ("investigating", 2, "rita",
                                                                        ("checkout", "payments"))
    assert now.roles["scribe"] == "tom" and now.roles["responders"] == []
    assert len(audit_by_people(store)) == before + len(steps) + 2

    refusals = [
        ("/status", {"status": "investigating"}, 409, f"incident {inc.ref} cannot move from investigating to "
         "investigating (it is already there); allowed from investigating: identified, monitoring, resolved"),
        ("/reopen", {}, 409, f"incident {inc.ref} is investigating, not resolved: only a resolved incident can be "
         "reopened"),
        ("/severity", {"severity": "high"}, 400, "severity must be 1..4 (SEV-1 is the worst), not 'high'"),
        ("/roles", {"role": "commander", "op": "set"}, 400, "user: name the person"),
        ("/roles", {"user": "nobody", "op": "remove"}, 409, f"nobody is not a responder of {inc.ref}"),
        ("/notes", {"text": "  "}, 400, "text must not be empty"),
        ("/tasks/no-such-task/done", {}, 404, None),
        ("/action-items", {"title": "x", "due_date": "soon"}, 400,
         "due_date must be a date such as 2026-12-31, not 'soon'"),
        ("/communications", {"kind": "carrier-pigeon"}, 400, "kind must be internal or external, not 'carrier-pigeon'"),
    ]
    for path, data, status, message in refusals:
        r = client.post(page + path, headers=RESPONDER, data=data)
        assert r.status_code == status, (path, r.text[:300])
        assert page_error(r.text) == message if message else "no-such-task" in page_error(r.text)
        assert "<h1>" in r.text and 'role="alert"' in r.text  # the page, with the reason on it
    assert client.post(page + "/explode", headers=RESPONDER).status_code == 404
    assert len(audit_by_people(store)) == before + len(steps) + 2  # refusals change nothing, audit nothing

    missing = client.get("/incidents/INC-20990101-001", headers=VIEWER)
    assert missing.status_code == 404 and "INC-20990101-001" in page_error(missing.text)
    postmortem = client.get(page + "/postmortem.md", headers=VIEWER)
    assert postmortem.status_code == 200 and postmortem.headers["content-type"].startswith("text/markdown")
    assert postmortem.headers["content-disposition"] == f'attachment; filename="{inc.ref}-postmortem.md"'
    assert "payments provider slow" in postmortem.text and "Alert on payment latency" in postmortem.text


def test_candidates_accepted_and_dismissed_from_the_list(ui):
    client, store, service, correlator = ui
    [cand] = correlator.observe()
    viewer = client.get("/incidents", headers=VIEWER).text
    assert cand.title in viewer and "/accept" not in viewer
    page = client.get("/incidents", headers=RESPONDER).text
    assert f'action="/incidents/candidates/{cand.id}/accept"' in page
    assert "HighLatency" in page and "PodRestarts" in page
    no_reason = client.post(f"/incidents/candidates/{cand.id}/dismiss", headers=RESPONDER, data={"reason": ""})
    assert no_reason.status_code == 400 and "reason" in page_error(no_reason.text)
    accepted = client.post(f"/incidents/candidates/{cand.id}/accept", headers=RESPONDER)
    [inc] = service.store.incidents()
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/incidents/{inc.ref}"
    assert audit_by_people(store) == [("rita", "incident.declare")]
    assert cand.title not in client.get("/incidents", headers=RESPONDER).text.split('id="open-heading"')[0]
    late = client.post(f"/incidents/candidates/{cand.id}/dismiss", headers=RESPONDER, data={"reason": "noise"})
    assert late.status_code == 409 and audit_by_people(store) == [("rita", "incident.declare")]


def test_dismissing_a_candidate(ui):
    client, store, _, correlator = ui
    [cand] = correlator.observe()
    r = client.post(f"/incidents/candidates/{cand.id}/dismiss", headers=RESPONDER, data={"reason": "load test"})
    assert (r.status_code, r.headers["location"]) == (303, "/incidents#candidates")
    assert correlator.store.get(cand.id).state == "dismissed"
    assert audit_by_people(store) == [("rita", "incident.candidate.dismiss")]
    assert 'id="candidates"' not in client.get("/incidents", headers=RESPONDER).text


def test_one_click_from_a_group_twice_finds_the_same_incident(ui):
    client, store, service, _ = ui
    alerts = client.get("/alerts", headers=RESPONDER).text
    assert alerts.count('class="declare-incident"') == 3
    assert "Declare incident" not in client.get("/alerts", headers=VIEWER).text
    key = service.groups()[0].key
    first = client.post("/incidents/from-group", headers=RESPONDER, data={"group_key": key})
    second = client.post("/incidents/from-group", headers=RESPONDER, data={"group_key": key})
    [inc] = service.store.incidents()
    assert first.headers["location"] == second.headers["location"] == f"/incidents/{inc.ref}"
    assert (inc.title, inc.source, inc.severity) == ("HighLatency", "alert", 3)
    assert audit_by_people(store) == [("rita", "incident.declare")]
    alerts = client.get("/alerts", headers=RESPONDER).text
    assert alerts.count('class="declare-incident"') == 2
    assert f'<a class="incident-ref" href="/incidents/{inc.ref}">{inc.ref}</a>' in alerts
    unknown = client.post("/incidents/from-group", headers=RESPONDER, data={"group_key": "{}:nothing"})
    assert unknown.status_code == 404 and page_error(unknown.text) == "no firing alert group '{}:nothing'"
