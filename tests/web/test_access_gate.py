"""The access gate through the real app: sessions with CSRF, bearer tokens, basic auth,
lockout and throttling, security headers, the open local mode and the audit API."""

from __future__ import annotations

import base64
import dataclasses
import re
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from tests.web.fakes import make_deps
from tests.web.real_alerting import real_alerting
from vigil.access import AccessService, Role
from vigil.config.access import AccessConfig
from vigil.state import Store
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy
from vigil.web.webconfig_auth import WebConfigGate

HTML = {"Accept": "text/html"}


@pytest.fixture
def service(tmp_path):
    store = Store.open_in(str(tmp_path / "access"))
    service = AccessService(store.access, AccessConfig(lockout_after=3))
    yield service
    store.close()


def app_for(service, tmp_path, *, open_when_unconfigured=True):
    deps = dataclasses.replace(make_deps(), alerting=real_alerting(tmp_path / "alerting"),
                               access=AccessPolicy(service, open_when_unconfigured))
    return create_app(deps)


@pytest.fixture
def people(service):
    service.add_user("ann", Role.RESPONDER, actor="test", password="ann-pw")
    service.add_user("vic", Role.VIEWER, actor="test", password="vic-pw")
    service.add_user("root", Role.ADMIN, actor="test", password="root-pw")
    return service


def _basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def _silence(client, **kwargs):
    body = {"matchers": [{"name": "alertname", "value": "X", "isRegex": False}],
            "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
            "createdBy": "someone", "comment": "test"}
    return client.post("/api/v2/silences", json=body, **kwargs)


def _csrf(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


def test_login_session_csrf_and_logout(people, tmp_path):
    with TestClient(app_for(people, tmp_path)) as client:
        r = client.get("/silences", headers=HTML, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login?next=/silences")
        r = client.get("/login?next=/silences")
        assert r.status_code == 200 and 'name="password"' in r.text
        r = client.post("/login", data={"username": "ann", "password": "nope", "next": "/silences"})
        assert r.status_code == 401 and "Invalid user name or password." in r.text
        r = client.post("/login", data={"username": "ann", "password": "ann-pw",
                                        "next": "/silences"}, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/silences")
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        page = client.get("/silences")
        assert page.status_code == 200 and "ann · responder" in page.text
        token = _csrf(page.text)
        form = {"matchers": 'alertname="X"', "duration": "1h", "author": "ann", "comment": "c"}
        assert client.post("/silences", data=form).status_code == 403  # no CSRF token
        assert client.post("/silences", data={**form, "_csrf": "forged"}).status_code == 403
        r = client.post("/silences", data={**form, "_csrf": token}, follow_redirects=False)
        assert r.status_code in (200, 303)
        assert _silence(client).status_code == 403  # JSON without the header
        assert _silence(client, headers={"X-CSRF-Token": token}).status_code == 200
        r = client.post("/logout", data={"_csrf": token}, follow_redirects=False)
        assert r.status_code == 303
        assert client.get("/api/v2/silences").status_code == 401
    entries = people.audit_entries()
    audit = [(e.actor, e.action, e.target.split(":")[0]) for e in entries]
    assert ("ann", "login.failure", "user") in audit
    # Both silences (the form and the API) with what was made, before/after.
    created = [e for e in entries if e.action == "silence.create"]
    assert [e.actor for e in created] == ["ann", "ann"]
    assert all(e.before is None and e.after["matchers"][0]["value"] == "X" for e in created)
    assert {e.after["comment"] for e in created} >= {"c"}
    assert audit[-1] == ("ann", "logout", "user")


def test_roles_on_routes(people, tmp_path):
    with TestClient(app_for(people, tmp_path)) as client:
        assert _silence(client, headers=_basic("vic", "vic-pw")).status_code == 403
        assert _silence(client, headers=_basic("ann", "ann-pw")).status_code == 200
        assert client.post("/-/reload", headers=_basic("ann", "ann-pw")).status_code == 403
        assert client.get("/api/vigil/v1/audit", headers=_basic("ann", "ann-pw")).status_code == 403
        r = client.get("/api/vigil/v1/audit?user=ann", headers=_basic("root", "root-pw"))
        assert r.status_code == 200
        assert [e["action"] for e in r.json()["data"]] == ["silence.create"]


def test_bad_credentials_do_not_say_which_part(people, tmp_path):
    with TestClient(app_for(people, tmp_path)) as client:
        wrong_password = client.get("/api/v1/targets", headers=_basic("ann", "x"))
        no_such_user = client.get("/api/v1/targets", headers=_basic("nobody", "ann-pw"))
        bad_token = client.get("/api/v1/targets", headers={"Authorization": "Bearer vgl_nope"})
        for r in (wrong_password, no_such_user, bad_token):
            assert r.status_code == 401 and r.json()["error"] == "invalid credentials"
        assert wrong_password.headers["www-authenticate"].startswith("Basic")
        # Public routes answer whatever credentials come with them.
        assert client.get("/-/healthy", headers=_basic("ann", "x")).status_code == 200


def test_tokens_expiry_and_disabled_users(people, tmp_path, monkeypatch):
    secret = people.create_token("ci", Role.VIEWER, actor="test", user="vic",
                                 expires_in=timedelta(days=1))
    with TestClient(app_for(people, tmp_path)) as client:
        auth = {"Authorization": f"Bearer {secret}"}
        assert client.get("/api/v1/targets", headers=auth).status_code == 200
        later = people.clock() + timedelta(days=2)
        monkeypatch.setattr(people, "clock", lambda: later)
        r = client.get("/api/v1/targets", headers=auth)
        assert r.status_code == 401 and "expired" in r.json()["error"]
        monkeypatch.undo()
        people.disable_user("vic", actor="test")
        assert client.get("/api/v1/targets", headers=auth).status_code == 401
        assert client.get("/api/v1/targets", headers=_basic("vic", "vic-pw")).status_code == 401


def test_lockout_and_throttling_over_http(people, tmp_path):
    people.throttle.limit = 5
    with TestClient(app_for(people, tmp_path)) as client:
        for _ in range(3):
            client.post("/login", data={"username": "ann", "password": "guess"})
        r = client.post("/login", data={"username": "ann", "password": "ann-pw"})
        assert r.status_code == 401  # locked
        for _ in range(2):
            client.post("/login", data={"username": "vic", "password": "guess"})
        r = client.post("/login", data={"username": "vic", "password": "vic-pw"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    actions = [e.action for e in people.audit_entries()]
    # ann: 3 guesses + 1 while locked; vic: 1 guess, then the address reaches the limit of 5
    assert actions.count("login.failure") == 5 and actions.count("login.throttled") == 2


def test_security_headers_on_every_response(people, tmp_path):
    with TestClient(app_for(people, tmp_path)) as client:
        for r in (client.get("/-/healthy"), client.get("/api/v1/targets"),
                  client.get("/login"), client.get("/static/vigil.css"),
                  client.get("/nope", headers=_basic("vic", "vic-pw"))):
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
            assert "unsafe-inline" not in csp
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "same-origin"


def test_open_local_mode_and_closed_network_mode(service, tmp_path):
    with TestClient(app_for(service, tmp_path)) as client:  # nobody configured, loopback
        assert _silence(client).status_code == 200
        assert client.get("/api/vigil/v1/whoami").json()["data"]["name"] == "local-admin"
        # A cross-site page cannot use the implicit admin.
        assert _silence(client, headers={"Origin": "https://evil.example"}).status_code == 403
        assert _silence(client, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    with TestClient(app_for(service, tmp_path, open_when_unconfigured=False)) as client:
        assert client.get("/api/v1/targets").status_code == 401
    assert [e.actor for e in service.audit_entries(action="silence.create")] == ["local:local-admin"]


class FakeWebConfig:
    """The web config file's view as vigil.web.webconfig_auth reads it: one user."""

    headers: dict[str, str] = {}
    requires_basic_auth = True

    def basic_user_cached(self, name: str, password: str) -> bool:
        return False

    def verify_basic_user(self, name: str, password: str) -> bool:
        return (name, password) == ("prom", "prom-pw")


def test_webconfig_users_act_as_admins(service, tmp_path):
    service.add_user("vic", Role.VIEWER, actor="test", password="vic-pw")
    gated = WebConfigGate(app_for(service, tmp_path), FakeWebConfig)
    with TestClient(gated) as client:
        r = client.get("/api/vigil/v1/whoami", headers=_basic("prom", "prom-pw"))
        assert r.json()["data"] == {"name": "prom", "role": "admin", "kind": "webconfig",
                                    "csrfToken": None}
        assert client.get("/api/vigil/v1/audit", headers=_basic("prom", "prom-pw")).status_code == 200
        assert client.get("/api/vigil/v1/whoami", headers=_basic("prom", "x")).status_code == 401


def test_admin_api_users_and_tokens(people, tmp_path):
    admin = _basic("root", "root-pw")
    with TestClient(app_for(people, tmp_path)) as client:
        r = client.post("/api/vigil/v1/users", json={"name": "dee", "role": "editor"}, headers=admin)
        assert r.status_code == 201 and r.json()["data"]["role"] == "editor"
        r = client.post("/api/vigil/v1/tokens", json={"name": "grafana", "role": "viewer",
                                                      "expires": "90d"}, headers=admin)
        secret = r.json()["data"]["token"]
        assert client.get("/api/v1/targets",
                          headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        listed = client.get("/api/vigil/v1/tokens", headers=admin).text
        assert secret not in listed and "grafana" in listed
        assert client.delete("/api/vigil/v1/tokens/grafana", headers=admin).status_code == 200
        assert client.get("/api/v1/targets",
                          headers={"Authorization": f"Bearer {secret}"}).status_code == 401
        assert client.post("/api/vigil/v1/users/dee/disable", headers=admin).status_code == 200
        users = client.get("/api/vigil/v1/users", headers=admin).json()["data"]
        assert {u["name"]: u["disabled"] for u in users}["dee"] is True
        audit = client.get("/api/vigil/v1/audit?since=1h", headers=admin).json()["data"]
    # One entry per change: the service's, with before/after (no second generic one).
    assert [e["action"] for e in audit if e["actor"] == "root"] == [
        "user.create", "token.create", "token.revoke", "user.disable"]


def test_admin_api_teams_and_contacts(people, tmp_path):
    admin = _basic("root", "root-pw")
    with TestClient(app_for(people, tmp_path)) as client:
        r = client.put("/api/vigil/v1/teams/db", json={"display_name": "Databases",
                                                     "members": ["ann", "root"]}, headers=admin)
        assert r.status_code == 200 and r.json()["data"]["members"] == ["ann", "root"]
        r = client.put("/api/vigil/v1/teams/db", json={"members": ["ann", "nobody"]}, headers=admin)
        assert r.status_code == 400 and "no such users: nobody" in r.json()["error"]
        contacts = [{"kind": "email", "address": "ann@example.com"},
                    {"kind": "phone", "address": "+4915112345678", "label": "mobile"}]
        r = client.put("/api/vigil/v1/users/ann/contacts", json=contacts, headers=admin)
        assert r.status_code == 200
        assert [c["kind"] for c in r.json()["data"]["contacts"]] == ["email", "phone"]
        r = client.put("/api/vigil/v1/users/ann/contacts",
                       json=[{"kind": "phone", "address": "0151"}], headers=admin)
        assert r.status_code == 400 and "not a valid phone" in r.json()["error"]
        assert client.put("/api/vigil/v1/users/zed/contacts", json=[],
                          headers=admin).status_code == 404
        teams = client.get("/api/vigil/v1/teams", headers=admin).json()["data"]
        assert [(t["name"], t["members"]) for t in teams] == [("db", ["ann", "root"])]
        ann = _basic("ann", "ann-pw")
        assert client.put("/api/vigil/v1/teams/db", json={"members": []},
                          headers=ann).status_code == 403  # not an admin
    actions = [(e.action, e.target) for e in people.audit_entries() if e.actor == "root"]
    assert actions == [("team.create", "team:db"), ("user.contacts", "user:ann")]


def test_admin_pages_people_and_tokens(people, tmp_path):
    with TestClient(app_for(people, tmp_path)) as client:
        client.post("/login", data={"username": "ann", "password": "ann-pw"})
        assert client.get("/people").status_code == 403  # a responder
        client.post("/logout", data={"_csrf": _csrf(client.get("/silences").text)})
        client.post("/login", data={"username": "root", "password": "root-pw"})
        page = client.get("/people")
        assert page.status_code == 200 and 'id="user-ann"' in page.text
        token = _csrf(page.text)
        r = client.post("/people/tokens", data={"name": "grafana", "role": "viewer",
                                                "expires": "30d", "_csrf": token})
        secret = re.search(r'id="new-token">([^<]+)<', r.text).group(1)
        assert secret.startswith("vgl_")
        assert secret not in client.get("/people").text  # shown once
        r = client.post("/people/users", data={"name": "dee", "role": "editor", "_csrf": token},
                        follow_redirects=False)
        assert r.status_code == 303 and people.store.user("dee").role == "editor"
        assert client.post("/people/users/dee/disable", data={"_csrf": "x"}).status_code == 403
        client.post("/people/users/dee/disable", data={"_csrf": token})
        client.post("/people/tokens/grafana/revoke", data={"_csrf": token})
        audit = client.get("/audit?since=1h").text
    assert people.store.user("dee").disabled
    assert "token.revoke" in audit and "user.disable" in audit and secret not in audit


def test_remembered_basic_auth_still_sees_disabling_and_password_changes(people, tmp_path):
    with TestClient(app_for(people, tmp_path)) as client:
        for _ in range(2):  # the second one is served from the remembered success
            assert client.get("/api/v1/targets", headers=_basic("vic", "vic-pw")).status_code == 200
        assert people._basic_ok  # remembered
        people.set_user("vic", actor="test", password="vic-new")
        assert client.get("/api/v1/targets", headers=_basic("vic", "vic-pw")).status_code == 401
        assert client.get("/api/v1/targets", headers=_basic("vic", "vic-new")).status_code == 200
        people.disable_user("vic", actor="test")
        assert client.get("/api/v1/targets", headers=_basic("vic", "vic-new")).status_code == 401


def test_silence_changes_are_audited_with_before_and_after(service, tmp_path):
    with TestClient(app_for(service, tmp_path)) as client:
        silence_id = _silence(client).json()["silenceID"]
        assert client.delete(f"/api/v2/silence/{silence_id}").status_code == 200
        assert client.delete("/api/v2/silence/no-such-id").status_code == 404
    created, expired = (service.audit_entries(action=a) for a in ("silence.create",
                                                                  "silence.expire"))
    assert [e.target for e in created] == [f"silence:{silence_id}"]
    assert created[0].before is None and created[0].after["createdBy"] == "someone"
    assert [e.target for e in expired] == [f"silence:{silence_id}"]  # the 404 is not a change
    assert expired[0].before["status"]["state"] == "active"
    assert expired[0].after["status"]["state"] == "expired"
