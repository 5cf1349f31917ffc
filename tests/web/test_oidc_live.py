"""Single sign-on end to end over real sockets: Vigil served by uvicorn on 127.0.0.1, the
test OpenID provider (tests/access/oidc_provider.py) in another thread, and an httpx client
that follows every redirect between the two as a browser would (tests/access/test_oidc.py
drives the same flow hop by hop through Starlette's TestClient).

Beyond those: the session works on a page, whoami, and is refused an admin API; each refused
ID token leaves no session and an ``sso.failure`` audit entry whose reason says what was
wrong and holds no token; an authorization code issued for another PKCE challenge (an
attacker's code injected into the victim's callback) is refused by the token endpoint; a
disabled user's open session ends and SSO does not let them back in.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.access.oidc_provider import Provider
from tests.web.sso_support import BUTTON, CLIENT_ID

HTML = {"Accept": "text/html"}


@pytest.fixture
def base_url(served) -> str:
    return served[0]


@pytest.fixture
def provider(served) -> Iterator[Provider]:
    provider = served[1]
    provider.tamper, provider.groups_in_id_token = "", True
    yield provider
    provider.tamper = ""


def _user(provider: Provider, name: str, groups: list[str]) -> None:
    provider.user = {"sub": f"sub-{name}", "preferred_username": name,
                     "email": f"{name}@example.org", "name": name.title(), "groups": groups}


def _sign_in(client: httpx.Client, base_url: str, target: str = "/alerts") -> httpx.Response:
    """Follow the login page's single sign-on link through the provider and back."""
    page = client.get(f"{base_url}/login?next={target}", headers=HTML)
    assert page.status_code == 200 and BUTTON in page.text
    assert f'href="/login/oidc?next={target}"' in page.text
    return client.get(f"{base_url}/login/oidc?next={target}", headers=HTML)


def test_sign_in_over_real_sockets_gives_a_working_session(base_url, provider, sso_service):
    _user(provider, "alice", ["staff", "sre"])
    with httpx.Client(follow_redirects=True, timeout=10) as client:
        start = client.get(f"{base_url}/silences", headers=HTML)
        assert start.url == httpx.URL(f"{base_url}/login?next=/silences")
        done = _sign_in(client, base_url, "/silences")
        assert done.status_code == 200 and done.url == httpx.URL(f"{base_url}/silences")
        hops = [str(r.url).split("?")[0] for r in done.history]
        assert hops == [f"{base_url}/login/oidc", f"{provider.issuer}/authorize",
                        f"{base_url}/login/oidc/callback"]
        assert "alice · responder" in done.text
        me = client.get(f"{base_url}/api/vigil/v1/whoami").json()["data"]
        assert (me["name"], me["role"], me["kind"]) == ("alice", "responder", "user")
        assert client.get(f"{base_url}/api/vigil/v1/users").status_code == 403  # not an admin
    token_request = provider.token_requests[-1]
    assert 43 <= len(token_request["code_verifier"]) <= 128  # RFC 7636 4.1
    assert "client_secret" not in token_request  # sent with HTTP basic, not in the form
    user = sso_service.store.user("alice")
    assert (user.role, user.email, user.password_hash) == ("responder", "alice@example.org", None)
    success = sso_service.audit_entries(action="sso.success")[-1]
    assert (success.actor, success.target) == ("alice", "user:alice")


@pytest.mark.parametrize(("tamper", "says"), [
    ("signature", "signature does not verify"),
    ("audience", "not meant for this client"),
    ("expired", "expired"),
    ("nonce", "nonce does not match"),
    ("issuer", "issuer"),
    ("alg-none", "is not accepted (RS256, ES256)"),
])
def test_refused_tokens_say_why_and_are_audited(base_url, provider, sso_service, tamper, says):
    name = f"refused-{tamper}"
    _user(provider, name, ["sre"])
    provider.tamper = tamper
    before = len(sso_service.audit_entries(action="sso.failure"))
    with httpx.Client(follow_redirects=True, timeout=10) as client:
        refused = _sign_in(client, base_url)
        assert refused.status_code == 403, refused.text
        assert "Single sign-on failed" in refused.text and says in refused.text
        assert "vigil_session" not in client.cookies
        assert client.get(f"{base_url}/api/vigil/v1/whoami").status_code == 401
    assert sso_service.store.user(name) is None
    failures = sso_service.audit_entries(action="sso.failure")
    assert len(failures) == before + 1
    reason = failures[-1].after["reason"]
    assert says in reason
    assert "eyJ" not in reason  # no JWT (header or payload) in the audit log


def test_a_code_issued_for_another_pkce_challenge_is_refused(base_url, provider, sso_service):
    """The attacker's own authorization code, injected into the victim's callback with the
    victim's state: the provider refuses Vigil's verifier, nobody is logged in."""
    _user(provider, "mallory", ["sre-leads"])
    attacker = httpx.get(f"{provider.issuer}/authorize", params={
        "response_type": "code", "client_id": CLIENT_ID, "scope": "openid",
        "redirect_uri": provider.redirect_uri, "state": "attacker-state", "nonce": "n",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"})
    assert attacker.status_code == 302
    stolen_code = parse_qs(urlsplit(attacker.headers["location"]).query)["code"][0]
    with httpx.Client(follow_redirects=False, timeout=10) as victim:
        start = victim.get(f"{base_url}/login/oidc?next=/alerts")
        assert start.status_code == 303
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        injected = victim.get(f"{base_url}/login/oidc/callback",
                              params={"code": stolen_code, "state": state})
        assert injected.status_code == 403 and "Single sign-on failed" in injected.text
        assert "vigil_session" not in victim.cookies
    assert sso_service.store.user("mallory") is None
    reason = sso_service.audit_entries(action="sso.failure")[-1].after["reason"]
    assert "invalid_grant" in reason and "PKCE" in reason


def test_a_disabled_user_is_logged_out_and_cannot_come_back(base_url, provider, sso_service):
    _user(provider, "dora", ["sre"])
    with httpx.Client(follow_redirects=True, timeout=10) as client:
        assert _sign_in(client, base_url).status_code == 200
        assert client.get(f"{base_url}/api/vigil/v1/whoami").status_code == 200
        sso_service.disable_user("dora", actor="test")
        assert client.get(f"{base_url}/api/vigil/v1/whoami").status_code == 401  # session ended
        refused = _sign_in(client, base_url)
        assert refused.status_code == 403 and "disabled" in refused.text
        assert client.get(f"{base_url}/api/vigil/v1/whoami").status_code == 401
    failure = sso_service.audit_entries(action="sso.failure")[-1]
    assert (failure.target, failure.after["reason"]) == ("user:dora", "disabled")
