"""Notification rules through the API path of contact methods: PUT
/api/vigil/v1/users/{name}/contacts takes a list (contacts only) or an object with
notification rules and working hours, validated as the config's; GET shows them; admins only."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from fastapi.testclient import TestClient

from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.config.access import AccessConfig
from vigil.state import Store
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

URL = "/api/vigil/v1/users/ann/contacts"


def _basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


ADMIN, ANN = _basic("root", "root-pw"), _basic("ann", "ann-pw")


@pytest.fixture
def client(tmp_path):
    store = Store.open_in(str(tmp_path))
    service = AccessService(store.access, AccessConfig())
    service.add_user("ann", Role.RESPONDER, actor="test", password="ann-pw")
    service.add_user("root", Role.ADMIN, actor="test", password="root-pw")
    deps = dataclasses.replace(make_deps(), access=AccessPolicy(service, True))
    with TestClient(create_app(deps)) as c:
        yield c
    store.close()


def test_rules_set_read_and_validated(client) -> None:
    body = {"contacts": [{"kind": "email", "address": "ann@example.org", "label": "work"},
                         {"kind": "slack_webhook", "address": "https://hooks.example/ann"}],
            "notification_rules": {"high": [{"contact": "slack_webhook"}, {"contact": "work", "after": "2m"}]},
            "working_hours": [{"kind": "weekly", "start": "mon 09:00", "end": "fri 17:00"}]}
    r = client.put(URL, json=body, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["notification_rules"] == \
        {"high": [{"contact": "slack_webhook", "after": 0.0}, {"contact": "work", "after": 120.0}]}
    # A list replaces the contacts only; the rules stay (and must still name a contact).
    assert client.put(URL, json=[{"kind": "email", "address": "a2@example.org", "label": "work"},
                                 {"kind": "slack_webhook", "address": "https://hooks.example/a2"}],
                      headers=ADMIN).status_code == 200
    got = client.get(URL, headers=ADMIN).json()["data"]
    assert [c["address"] for c in got["contacts"]] == ["a2@example.org", "https://hooks.example/a2"]
    assert got["working_hours"] == [{"kind": "weekly", "start": "mon 09:00", "end": "fri 17:00"}]
    assert len(got["notification_rules"]["high"]) == 2
    r = client.put(URL, json=[{"kind": "email", "address": "a2@example.org"}], headers=ADMIN)
    assert r.status_code == 400
    assert "notification_rules.high.0.contact" in r.json()["error"] and "'slack_webhook'" in r.json()["error"]
    r = client.put(URL, json={"working_hours": [{"kind": "daily", "start": "17:00", "end": "09:00"}]},
                   headers=ADMIN)
    assert r.status_code == 400 and "working_hours.0.end" in r.json()["error"]
    assert client.put(URL, json={"rules": {}}, headers=ADMIN).status_code == 400
    # Clearing: an empty object of rules and no working hours.
    r = client.put(URL, json={"notification_rules": {}, "working_hours": []}, headers=ADMIN)
    assert r.json()["data"]["notification_rules"] == {} and r.json()["data"]["working_hours"] == []


def test_only_admins_and_known_users(client) -> None:
    assert client.get(URL, headers=ANN).status_code == 403
    assert client.put(URL, json={"notification_rules": {}}, headers=ANN).status_code == 403
    assert client.get("/api/vigil/v1/users/zed/contacts", headers=ADMIN).status_code == 404
    assert client.put("/api/vigil/v1/users/zed/contacts", json={}, headers=ADMIN).status_code == 404
