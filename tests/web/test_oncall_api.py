"""The alert lifecycle API through the real app and access gate: list with deadlines and
time left, one episode with its event log, acknowledge / unacknowledge / resolve by id and
by matchers, roles (viewers read, responders act), errors and the audit log."""

from __future__ import annotations

import base64
import dataclasses
from datetime import datetime, timezone

import pytest
from starlette.testclient import TestClient

from tests.web.fakes import make_deps
from tests.web.real_alerting import real_alerting
from vigil.access import AccessService, Role
from vigil.config.access import AccessConfig
from vigil.config.oncall import OncallConfig
from vigil.model import Alert, Labels
from vigil.oncall.lifecycle import FiringGroup, Lifecycle
from vigil.state import Store
from vigil.state.lifecycle_store import LifecycleStore
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy


def _basic(name: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{name}-pw".encode()).decode()}


ANN, VIC = _basic("ann"), _basic("vic")
T0 = datetime(2026, 12, 7, tzinfo=timezone.utc)


def _group(name: str, priority: str, **labels: str) -> FiringGroup:
    alert = Alert(Labels({"alertname": name, "priority": priority, **labels}), Labels(), T0)
    return FiringGroup(f'{{}}:{{alertname="{name}"}}', "ops",
                       Labels({"alertname": name, **labels}), (alert,), True)


@pytest.fixture
def env(tmp_path):
    store = Store.open_in(str(tmp_path / "state"))
    service = AccessService(store.access, AccessConfig())
    service.add_user("ann", Role.RESPONDER, actor="test", password="ann-pw")
    service.add_user("vic", Role.VIEWER, actor="test", password="vic-pw")
    groups = [_group("DiskFull", "P2", team="db"), _group("CPUHigh", "P4", team="web")]
    life = Lifecycle(LifecycleStore(store.engine), OncallConfig(), lambda: groups)
    life.reconcile()
    deps = dataclasses.replace(make_deps(), alerting=real_alerting(tmp_path / "alerting"),
                               access=AccessPolicy(service, False), oncall=life)
    with TestClient(create_app(deps)) as client:
        yield client, life, service
    store.close()


def _ids(client) -> dict[str, str]:
    data = client.get("/api/vigil/v1/episodes", headers=VIC).json()["data"]
    return {ep["groupLabels"]["alertname"]: ep["id"] for ep in data}


def test_list_and_get_with_deadlines(env):
    client, _life, _ = env
    r = client.get("/api/vigil/v1/episodes", headers=VIC)
    assert r.status_code == 200
    data = r.json()["data"]
    assert [ep["groupLabels"]["alertname"] for ep in data] == ["DiskFull", "CPUHigh"]  # earliest deadline first
    disk = data[0]
    assert (disk["priority"], disk["state"], disk["breached"], disk["acknowledgedBy"]) == ("P2", "open", False, None)
    assert 0 < disk["secondsLeft"] <= 900
    assert disk["acknowledgeBy"].endswith("Z")
    only = client.get("/api/vigil/v1/episodes", params={"filter": 'team="web"'}, headers=VIC).json()["data"]
    assert [ep["groupLabels"]["alertname"] for ep in only] == ["CPUHigh"]
    bad = client.get("/api/vigil/v1/episodes", params={"filter": "not a matcher"}, headers=VIC)
    assert bad.status_code == 400 and bad.json()["error"].startswith("filter:")
    one = client.get(f"/api/vigil/v1/episodes/{disk['id']}", headers=VIC).json()["data"]
    assert one["id"] == disk["id"] and [e["kind"] for e in one["events"]] == ["opened"]
    missing = client.get("/api/vigil/v1/episodes/nope", headers=VIC)
    assert missing.status_code == 404 and "no alert episode 'nope'" in missing.json()["error"]


def test_actions_by_id_roles_and_audit(env):
    client, _life, service = env
    disk = _ids(client)["DiskFull"]
    assert client.post(f"/api/vigil/v1/episodes/{disk}/ack", headers=VIC).status_code == 403
    r = client.post(f"/api/vigil/v1/episodes/{disk}/ack", json={"note": "on it"}, headers=ANN)
    assert r.status_code == 200, r.text
    ep = r.json()["data"]
    assert (ep["state"], ep["acknowledgedBy"], ep["secondsLeft"]) == ("acknowledged", "ann", None)
    again = client.post(f"/api/vigil/v1/episodes/{disk}/ack", headers=ANN)
    assert again.status_code == 409 and "is acknowledged, not open" in again.json()["error"]
    assert client.post(f"/api/vigil/v1/episodes/{disk}/unack", headers=ANN).json()["data"]["state"] == "open"
    nocls = client.post(f"/api/vigil/v1/episodes/{disk}/resolve", json={"note": "x"}, headers=ANN)
    assert nocls.status_code == 400 and "classification must be one of" in nocls.json()["error"]
    assert client.post(f"/api/vigil/v1/episodes/{disk}/snooze", headers=ANN).status_code == 404
    bad_via = client.post(f"/api/vigil/v1/episodes/{disk}/ack", json={"via": "pigeon"}, headers=ANN)
    assert bad_via.status_code == 400
    done = client.post(f"/api/vigil/v1/episodes/{disk}/resolve", headers=ANN,
                       json={"classification": "false_positive", "procedure": "/runbooks/DiskFull",
                             "note": "threshold too low"}).json()["data"]
    assert (done["state"], done["classification"], done["resolvedBy"]) == ("resolved", "false_positive", "ann")
    events = client.get(f"/api/vigil/v1/episodes/{disk}", headers=VIC).json()["data"]["events"]
    assert [(e["kind"], e["actor"], e["via"]) for e in events] == [
        ("opened", None, "vigil"), ("acknowledged", "ann", "api"), ("unacknowledged", "ann", "api"),
        ("resolved", "ann", "api")]
    audit = [(e.action, e.actor, e.target) for e in service.audit_entries(limit=50)]
    assert ("episode.ack", "ann", disk) in audit and ("episode.resolve", "ann", disk) in audit
    assert sum(1 for a in audit if a[0] == "episode.ack") == 1  # the refused ones are not audited


def test_actions_by_matchers(env):
    client, _life, _ = env
    r = client.post("/api/vigil/v1/episode-actions/ack", json={"matchers": ['team=~"db|web"'], "via": "cli"},
                    headers=ANN)
    data = r.json()["data"]
    assert r.status_code == 200 and data["matched"] == 2 and len(data["episodes"]) == 2
    assert {e["acknowledgedBy"] for e in data["episodes"]} == {"ann"}
    # Acknowledged already: matched, skipped with the reason.
    data = client.post("/api/vigil/v1/episode-actions/ack", json={"matchers": ["alertname=CPUHigh"]},
                       headers=ANN).json()["data"]
    assert data["matched"] == 1 and data["episodes"] == [] and "not open" in data["skipped"][0]["reason"]
    none = client.post("/api/vigil/v1/episode-actions/ack", json={"matchers": ["alertname=Nope"]},
                       headers=ANN).json()["data"]
    assert none == {"matched": 0, "episodes": [], "skipped": []}
    assert client.post("/api/vigil/v1/episode-actions/resolve", json={"matchers": ["alertname=CPUHigh"]},
                       headers=ANN).status_code == 400
    assert client.post("/api/vigil/v1/episode-actions/ack", json={"matchers": []},
                       headers=ANN).status_code == 400
    assert client.post("/api/vigil/v1/episode-actions/ack", json={"matchers": ["a"]},
                       headers=VIC).status_code == 403
    ok = client.post("/api/vigil/v1/episode-actions/resolve", headers=ANN,
                     json={"matchers": ["alertname=CPUHigh"], "classification": "duplicate"}).json()["data"]
    assert [e["classification"] for e in ok["episodes"]] == ["duplicate"]
    assert list(_ids(client)) == ["DiskFull"]


def test_alerts_page_buttons_return_to_the_filtered_page(env):
    client, life, _ = env
    page = client.get("/alerts?state=firing&labels=team%3D%22db%22&episode_error=old", headers=ANN).text
    forms = page.count('action="/alerts/episodes/')
    assert forms >= 2 and page.count('name="next" value="/alerts?state=firing&amp;labels=team%3D%22db%22"') == forms
    disk = _ids(client)["DiskFull"]
    back = "/alerts?state=firing&labels=team%3D%22db%22"
    r = client.post(f"/alerts/episodes/{disk}/ack", data={"next": back}, headers=ANN, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"{back}#episode-{disk}")
    assert life.store.get(disk).state == "acknowledged"
    r = client.post(f"/alerts/episodes/{disk}/ack", data={"next": back}, headers=ANN, follow_redirects=False)
    assert r.headers["location"].startswith(back + "&episode_error=")  # acknowledged already
    cpu = _ids(client)["CPUHigh"]
    r = client.post(f"/alerts/episodes/{cpu}/resolve", data={"next": "https://evil.example/alerts?x=1", "classification": "actionable"},
                    headers=ANN, follow_redirects=False)
    assert r.headers["location"] == f"/alerts#episode-{cpu}"
