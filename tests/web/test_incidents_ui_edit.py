"""The incident pages' edit and detach forms and the "Status page" section of /incidents,
through the real app and access gate: viewers see no form and cannot post; a responder's
change answers 303 to its section and writes ONE audit entry (the service's); a refused one
shows the page again with the reason and the API's status (400, 404, 409) and audits
nothing. Overrides set from the page are what /status/api.json shows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

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
from vigil.incidents.service import IncidentService
from vigil.incidents.status_page_service import StatusPageService
from vigil.state import Store
from vigil.state.incident_store import IncidentStore
from vigil.state.status_page_store import StatusPageError, StatusPageStore
from vigil.web import create_app
from vigil.web.status_page_admin import override_until

VIEWER, RESPONDER = html_headers("vic"), html_headers("rita")
CONFIG = load_config_text("""
status_page:
  title: Smart Dairy status
  components:
    - {name: checkout, description: Checkout, query: 'up{job="checkout"}'}
    - {name: milk-api, description: Milk collection API, query: 'up{job="milk-api"}'}
""")


@pytest.fixture
def ui(tmp_path):
    store = Store.open_in(str(tmp_path / "state"))
    access = people(store, viewers=["vic"], responders=["rita"])
    groups = checkout_burst()[:2]
    incidents = IncidentStore(store.engine)
    service = IncidentService(incidents, lambda: CONFIG, groups=lambda: list(groups))
    status_page = StatusPageService(StatusPageStore(store.engine), incidents, lambda: CONFIG)
    deps = deps_with(access, incidents=service, status_page=status_page)
    with TestClient(create_app(deps), follow_redirects=False) as client:
        yield client, store, service, groups
    store.close()


def test_edit_title_summary_and_impact(ui):
    client, store, service, _ = ui
    inc = service.declare(title="Checkout slow", severity=2, actor="rita", via="api", summary="p95 at 4 s")
    page = f"/incidents/{inc.ref}"
    before = len(audit_by_people(store))
    assert 'id="details"' not in client.get(page, headers=VIEWER).text
    assert client.post(page + "/edit", headers=VIEWER, data={"title": "x"}).status_code == 403
    form = client.get(page, headers=RESPONDER).text
    assert 'value="Checkout slow"' in form and ">p95 at 4 s</textarea>" in form

    empty = client.post(page + "/edit", headers=RESPONDER, data={"title": " ", "summary": "", "impact": ""})
    assert empty.status_code == 400 and page_error(empty.text) == "title must not be empty"
    same = client.post(page + "/edit", headers=RESPONDER,
                       data={"title": "Checkout slow", "summary": "p95 at 4 s", "impact": ""})
    assert same.status_code == 409 and page_error(same.text) == (
        f"incident {inc.ref} has that title, summary, impact already")
    assert len(audit_by_people(store)) == before

    done = client.post(page + "/edit", headers=RESPONDER, data={
        "title": "Checkout failing", "summary": "p95 at 4 s", "impact": "a third of orders fail"})
    assert (done.status_code, done.headers["location"]) == (303, page + "#details")
    now = service.store.get(inc.ref)
    assert (now.title, now.summary, now.impact) == ("Checkout failing", "p95 at 4 s", "a third of orders fail")
    assert audit_by_people(store)[before:] == [("rita", "incident.edit")]
    [edited] = [e for e in service.store.events(inc.id) if e.kind == "edited"]
    assert edited.via == "ui" and set(edited.detail["changes"]) == {"title", "impact"}  # summary unchanged
    shown = client.get(page, headers=VIEWER).text
    assert "a third of orders fail" in shown.split('id="incident-impact"')[1].split("</p>")[0]
    # A form that leaves a field out does not clear it.
    client.post(page + "/edit", headers=RESPONDER, data={"title": "Checkout down"})
    assert service.store.get(inc.ref).summary == "p95 at 4 s"


def test_detach_a_group(ui):
    client, store, service, groups = ui
    inc = service.declare(title="Checkout", severity=2, actor="rita", via="api",
                          group_keys=[g.key for g in groups])
    page = f"/incidents/{inc.ref}"
    assert 'class="detach-group"' not in client.get(page, headers=VIEWER).text
    html = client.get(page, headers=RESPONDER).text
    assert html.count('class="detach-group"') == 2
    assert 'aria-label="Detach alert group alertname=HighLatency"' in html
    before = len(audit_by_people(store))
    key = groups[0].key
    assert client.post(page + "/detach", headers=VIEWER, data={"group_key": key}).status_code == 403
    done = client.post(page + "/detach", headers=RESPONDER, data={"group_key": key})
    assert (done.status_code, done.headers["location"]) == (303, page + "#alerts")
    assert [g.group_key for g in service.store.attached(inc.id)] == [groups[1].key]
    assert audit_by_people(store)[before:] == [("rita", "incident.detach")]
    html = client.get(page, headers=RESPONDER).text
    assert html.count('class="detach-group"') == 1 and "(detached)" in html
    again = client.post(page + "/detach", headers=RESPONDER, data={"group_key": key})
    assert again.status_code == 404 and page_error(again.text) == f"alert group {key!r} is not attached to {inc.ref}"
    assert len(audit_by_people(store)) == before + 1


def _components(client: TestClient) -> dict[str, tuple[str, str, str]]:
    data = client.get("/status/api.json").json()
    return {c["name"]: (c["status"], c["source"], c["message"]) for c in data["components"]}


def test_status_page_overrides_from_the_incidents_page(ui):
    client, store, service, _ = ui
    viewer = client.get("/incidents", headers=VIEWER).text
    section = viewer.split('id="status-page"')[1].split("</section>")[0]
    assert "Milk collection API" in section and "not checked yet" in section
    assert "<form" not in section  # viewers see the statuses only
    url = "/incidents/status-page/milk-api/override"
    assert client.post(url, headers=VIEWER, data={"status": "major_outage"}).status_code == 403

    refusals = [
        (url, {"status": "on_fire"}, 400, "milk-api: unknown status 'on_fire'; known: operational, "
         "under_maintenance, degraded_performance, partial_outage, major_outage"),
        (url, {"status": "major_outage", "until": "soonish"}, 400, "milk-api: until: 'soonish' is neither "
         "a duration such as 2h nor a time such as 2026-12-07 18:00 (UTC)"),
        (url, {"status": "major_outage", "until": "2020-01-01 00:00"}, 400, None),
        ("/incidents/status-page/tractor/override", {"status": "major_outage"}, 404,
         "tractor: no status page component 'tractor'"),
        ("/incidents/status-page/milk-api/clear", {}, 404, None),
    ]
    for path, data, status, message in refusals:
        r = client.post(path, headers=RESPONDER, data=data)
        assert r.status_code == status, (path, r.text[:300])
        assert page_error(r.text) == message if message else page_error(r.text).startswith("milk-api: ")
        assert "<h1>Incidents</h1>" in r.text
    assert audit_by_people(store) == [] and _components(client)["milk-api"][1] == "none"

    done = client.post(url, headers=RESPONDER, data={"status": "partial_outage", "message": " Uploads are slow ",
                                                     "until": "2h"})
    assert (done.status_code, done.headers["location"]) == (303, "/incidents#status-page")
    assert _components(client)["milk-api"] == ("partial_outage", "override", "Uploads are slow")
    until = client.get("/status/api.json").json()["components"][1]["overrideUntil"]
    left = datetime.fromisoformat(until.replace("Z", "+00:00")) - datetime.now(timezone.utc)
    assert timedelta(hours=1, minutes=58) < left <= timedelta(hours=2)
    assert audit_by_people(store) == [("rita", "statuspage.override")]
    row = client.get("/incidents", headers=RESPONDER).text.split('id="status-component-milk-api"')[1].split("</tr>")[0]
    assert "Partial outage" in row and "set by hand" in row and "by rita at " in row
    assert 'id="override-clear-milk-api"' in row

    cleared = client.post("/incidents/status-page/milk-api/clear", headers=RESPONDER)
    assert (cleared.status_code, cleared.headers["location"]) == (303, "/incidents#status-page")
    assert _components(client)["milk-api"] == ("operational", "none", "")
    assert audit_by_people(store) == [("rita", "statuspage.override")] * 2
    assert client.post("/incidents/status-page/milk-api/explode", headers=RESPONDER).status_code == 404


def test_override_until_reads_durations_and_utc_times():
    now = datetime(2026, 12, 7, 5, 0, tzinfo=timezone.utc)
    assert override_until("", now) is None and override_until("  ", now) is None
    assert override_until("2h", now) == datetime(2026, 12, 7, 7, 0, tzinfo=timezone.utc)
    assert override_until("90m", now) == datetime(2026, 12, 7, 6, 30, tzinfo=timezone.utc)
    assert override_until("2026-12-07T18:00:00Z", now) == datetime(2026, 12, 7, 18, 0, tzinfo=timezone.utc)
    assert override_until("2026-12-07T19:00:00+01:00", now) == datetime(2026, 12, 7, 18, 0, tzinfo=timezone.utc)
    assert override_until("2026-12-07 18:00 UTC", now) == datetime(2026, 12, 7, 18, 0, tzinfo=timezone.utc)
    assert override_until("2026-12-07 18:00", now) == datetime(2026, 12, 7, 18, 0, tzinfo=timezone.utc)
    with pytest.raises(StatusPageError, match="neither a duration"):
        override_until("tomorrow", now)
