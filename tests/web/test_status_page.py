"""The public status page over HTTP with access configured (a user exists, so nothing else is
open): anonymous readers get the page, its JSON and its Atom feed, which show component
statuses computed from real PromQL results and the incidents' public updates only; overriding
needs a responder and is audited once; the page leaks nothing behind the login."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree as ET

import pytest
from starlette.testclient import TestClient

from tests.incidents.support import engine_query, load_samples, record_note, record_public_update
from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.config import load_config_text
from vigil.incidents.status_page_service import StatusPageService
from vigil.incidents.status_recorder import StatusRecorder
from vigil.promql import Engine
from vigil.state import Store
from vigil.state.coordination import db_now
from vigil.state.incident_store import IncidentStore
from vigil.state.status_page_store import StatusPageStore
from vigil.tsdb import DB
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy
from vigil.web.status_page import PUBLIC_CSP

ATOM = "{http://www.w3.org/2005/Atom}"
CONFIG = load_config_text("""
alerting:
  time_intervals:
    - name: always
      time_intervals: [{times: [{start_time: "00:00", end_time: "24:00"}]}]
status_page:
  title: Smart Dairy status
  components:
    - {name: shop, description: Online shop, group: Customers, query: 'probe_success{instance=~"https://shop.*"}'}
    - {name: milk-api, description: Milk collection API, group: Customers, query: 'up{job="milk-api"}'}
    - {name: reports, query: 'up{job="reports"}'}
  maintenance:
    - {time_interval: always, components: [reports], description: Report database upgrade}
""")


@pytest.fixture
def env(tmp_path) -> Iterator[dict]:
    store = Store.open_in(str(tmp_path / "state"))
    people = AccessService(store.access)
    people.add_user("alice", Role.RESPONDER, actor="test", password="alice-password")
    responder = people.create_token("alice-cli", Role.RESPONDER, actor="test", user="alice")
    viewer = people.create_token("watcher", Role.VIEWER, actor="test")
    service = StatusPageService(StatusPageStore(store.engine), IncidentStore(store.engine), lambda: CONFIG)
    with DB.open(tmp_path / "tsdb") as db:
        load_samples(db, {("probe_success", "instance", "https://shop"): 1.0,
                          ("probe_success", "instance", "https://shop/pay"): 1.0,
                          ("up", "job", "milk-api"): 0.0, ("up", "job", "reports"): 0.0})
        StatusRecorder(service, engine_query(Engine(db))).check_once()
        deps = dataclasses.replace(make_deps(), access=AccessPolicy(people), status_page=service)
        with TestClient(create_app(deps)) as client:
            yield {"client": client, "store": store, "people": people, "service": service,
                   "responder": {"Authorization": f"Bearer {responder}"},
                   "viewer": {"Authorization": f"Bearer {viewer}"}}
    store.close()


def declare_with_update(store: Store) -> str:
    incidents = IncidentStore(store.engine)
    inc, _ = incidents.declare(title="Payments failing", severity=2, actor="alice", via="api",
                               components=["shop"], commander="alice",
                               alert_matchers=['alertname="PaymentErrors"'])
    with store.engine.begin() as conn:
        now = db_now(conn)
        record_note(conn, inc.id, at=now, actor="alice", text="secret-note: card processor key rotated")
        record_public_update(conn, inc.id, at=now, actor="alice", status="investigating",
                             message="Some card payments fail.")
        record_public_update(conn, inc.id, at=now + timedelta(seconds=1), actor="alice", status="identified",
                             message="The card processor is degraded.")
    return inc.id


def test_anonymous_reads_the_page_with_statuses_from_promql(env):
    client = env["client"]
    assert client.get("/alerts", headers={"accept": "application/json"}).status_code == 401  # the rest needs a login
    resp = client.get("/status")
    assert resp.status_code == 200 and resp.headers["content-security-policy"] == PUBLIC_CSP
    html = resp.text
    assert html.count("<h1") == 1 and "<script" not in html.lower() and " style=" not in html
    shop = html[html.index('id="component-shop"'):html.index('id="component-milk-api"')]
    assert "Operational" in shop and "Online shop" in shop
    api = html[html.index('id="component-milk-api"'):html.index('id="component-reports"')]
    assert "Major outage" in api
    reports = html[html.index('id="component-reports"'):]
    assert "Under maintenance" in reports and "Report database upgrade" in reports
    # No way into the app: every link stays on the status page.
    assert set(re.findall(r'href="([^"]+)"', html)) == {"/status/status.css", "/status/feed.atom",
                                                         "/status/api.json", "#main"}
    css = client.get("/status/status.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_json_and_atom_show_public_updates_only(env):
    client, store = env["client"], env["store"]
    incident_id = declare_with_update(store)
    data = client.get("/status/api.json").json()
    assert data["page"]["title"] == "Smart Dairy status" and data["page"]["historyDays"] == 90
    assert (data["page"]["status"], data["page"]["description"]) == ("major_outage", "Major outage")
    comps = {c["name"]: c for c in data["components"]}
    assert (comps["shop"]["status"], comps["shop"]["source"]) == ("partial_outage", "incident")
    assert comps["milk-api"]["statusLabel"] == "Major outage" and comps["milk-api"]["checkedAt"]
    assert len(comps["shop"]["uptime"]["days"]) == 90 and comps["shop"]["uptime"]["days"][-1]["share"] == 1.0
    [inc] = data["incidents"]
    assert (inc["id"], inc["title"], inc["status"], inc["impact"]) == (
        incident_id, "Payments failing", "identified", "partial_outage")
    assert [u["message"] for u in inc["updates"]] == ["The card processor is degraded.", "Some card payments fail."]
    [window] = data["maintenance"]
    assert window["active"] and window["components"] == ["reports"]
    for text in (client.get("/status/api.json").text, client.get("/status").text,
                 client.get("/status/feed.atom").text):
        assert "alice" not in text and "secret-note" not in text and "PaymentErrors" not in text
        assert "INC-" not in text

    feed_text = client.get("/status/feed.atom")
    assert feed_text.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(feed_text.content)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    assert feed.find(f"{ATOM}link[@rel='self']").get("href").endswith("/status/feed.atom")
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}content").text for e in entries] == [
        "The card processor is degraded.", "Some card payments fail."]
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{required}").text, required
        assert entry.find(f"{ATOM}id").text.startswith("urn:uuid:")
        datetime.fromisoformat(entry.find(f"{ATOM}updated").text)
    assert entries[0].find(f"{ATOM}title").text == "Payments failing: Identified"
    assert feed.find(f"{ATOM}updated").text == entries[0].find(f"{ATOM}updated").text
    again = ET.fromstring(client.get("/status/feed.atom").content)
    assert [e.find(f"{ATOM}id").text for e in again.findall(f"{ATOM}entry")] == \
        [e.find(f"{ATOM}id").text for e in entries]  # stable ids
    assert len({e.find(f"{ATOM}id").text for e in entries}) == 2


def test_override_needs_a_responder_and_is_audited_once(env):
    client, people = env["client"], env["people"]
    url = "/api/vigil/v1/status-page/components/shop/override"
    body = {"status": "major_outage", "message": "Checkout closed for a fix"}
    assert client.post(url, json=body).status_code == 401
    assert client.delete(url).status_code == 401
    assert client.post(url, json=body, headers=env["viewer"]).status_code == 403
    until = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    resp = client.post(url, json={**body, "until": until}, headers=env["responder"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"]["status"] == "major_outage" and resp.json()["data"]["setBy"] == "token:alice-cli"
    shop = next(c for c in client.get("/status/api.json").json()["components"] if c["name"] == "shop")
    assert (shop["status"], shop["message"]) == ("major_outage", "Checkout closed for a fix")
    assert shop["overrideUntil"] is not None
    bad = [(client.post("/api/vigil/v1/status-page/components/nope/override", json=body,
                        headers=env["responder"]), 404, "no status page component"),
           (client.post(url, json={"status": "broken"}, headers=env["responder"]), 400, "unknown status"),
           (client.post(url, json={**body, "until": "tomorrow"}, headers=env["responder"]), 400, "until"),
           (client.post(url, json=["x"], headers=env["responder"]), 400, "JSON object")]
    for resp, status, text in bad:
        assert resp.status_code == status and text in resp.json()["error"], resp.text
    assert client.delete(url, headers=env["responder"]).status_code == 200
    assert client.delete(url, headers=env["responder"]).status_code == 404
    audit = people.audit_entries(action="statuspage.override")
    assert [(a.actor, a.after is None) for a in audit] == [("token:alice-cli", False), ("token:alice-cli", True)]
    # The gate wrote no second entry for these calls.
    assert [a for a in people.audit_entries() if a.target.endswith("/override")] == []


def test_disabled_page_answers_404(env, tmp_path):
    off = load_config_text("status_page: {enabled: false, components: [{name: a, query: up}]}")
    service = StatusPageService(StatusPageStore(env["store"].engine), IncidentStore(env["store"].engine),
                                lambda: off)
    deps = dataclasses.replace(make_deps(), status_page=service)
    with TestClient(create_app(deps)) as client:
        assert client.get("/status").status_code == 404
        assert client.get("/status/api.json").status_code == 404
    with TestClient(create_app(make_deps())) as client:  # no status page at all
        assert client.get("/status/feed.atom").status_code == 404
