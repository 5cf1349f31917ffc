"""Single sign-on against an OpenID Connect provider the test starts (discovery, JWKS,
authorization code + PKCE, token endpoint): the role comes from the groups claim, the user
is created, the session works; forged, replayed or misdirected answers are refused."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from starlette.testclient import TestClient

from tests.access.oidc_provider import Provider
from tests.web.fakes import make_deps
from vigil.access import AccessService
from vigil.access.oidc import OIDCLogin
from vigil.config.access import OIDCConfig
from vigil.state import Store
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

CALLBACK = "http://testserver/login/oidc/callback"


@pytest.fixture(scope="module")
def provider():
    p = Provider(client_id="vigil", client_secret="s3cret", redirect_uri=CALLBACK).start()
    yield p
    p.stop()


@pytest.fixture
def service(tmp_path):
    store = Store.open_in(str(tmp_path))
    yield AccessService(store.access)
    store.close()


@pytest.fixture
def client(provider, service):
    provider.tamper = ""
    provider.groups_in_id_token = True
    provider.user = {"sub": "u-1", "preferred_username": "olga", "email": "olga@example.com",
                     "name": "Olga", "groups": ["staff", "oncall"]}
    settings = OIDCConfig(issuer=provider.issuer, client_id="vigil",
                          role_groups={"responder": ["oncall"], "admin": ["sre-leads"],
                                       "viewer": ["staff"]})
    oidc = OIDCLogin(settings, redirect_url=CALLBACK, client_secret="s3cret")
    deps = dataclasses.replace(make_deps(), access=AccessPolicy(service, oidc=oidc))
    with TestClient(create_app(deps)) as c:
        yield c


def sso(client, next_path="/alerts"):
    """Walk the redirects: Vigil -> provider -> Vigil's callback. The callback's answer."""
    start = client.get(f"/login/oidc?next={next_path}", follow_redirects=False)
    assert start.status_code == 303
    authorize = httpx.get(start.headers["location"], follow_redirects=False, timeout=10)
    assert authorize.status_code == 302, authorize.text
    callback = authorize.headers["location"]
    assert callback.startswith(CALLBACK + "?")
    return client.get(callback.removeprefix("http://testserver"), follow_redirects=False)


def test_login_page_offers_single_sign_on(client):
    page = client.get("/login?next=/rules")
    assert 'href="/login/oidc?next=/rules"' in page.text and "single sign-on" in page.text


def test_sso_login_creates_the_user_with_the_role_of_their_groups(client, service, provider):
    done = sso(client)
    assert (done.status_code, done.headers["location"]) == (303, "/alerts")
    assert "HttpOnly" in done.headers["set-cookie"]
    me = client.get("/api/vigil/v1/whoami").json()["data"]
    assert (me["name"], me["role"], me["kind"]) == ("olga", "responder", "user")
    user = service.store.user("olga")
    assert (user.email, user.display_name, user.password_hash) == ("olga@example.com", "Olga", None)
    request = provider.token_requests[-1]
    assert request["grant_type"] == "authorization_code" and len(request["code_verifier"]) >= 43
    actions = [e.action for e in service.audit_entries()]
    assert actions == ["user.sso_create", "sso.success"]
    # Groups change at the provider: the next login follows them.
    provider.user = {**provider.user, "groups": ["sre-leads"]}
    sso(client)
    assert service.store.user("olga").role == "admin"


def test_groups_from_userinfo_when_the_id_token_has_none(client, provider):
    provider.groups_in_id_token = False
    assert sso(client).status_code == 303
    assert client.get("/api/vigil/v1/whoami").json()["data"]["role"] == "responder"


@pytest.mark.parametrize("tamper", ["signature", "nonce", "audience", "expired", "issuer",
                                    "alg-none"])
def test_forged_or_misdirected_id_tokens_are_refused(client, provider, service, tamper):
    provider.tamper = tamper
    refused = sso(client)
    assert refused.status_code == 403 and "Single sign-on failed" in refused.text
    assert "vigil_session" not in refused.headers.get("set-cookie", "")
    assert service.store.user("olga") is None
    assert service.audit_entries(action="sso.failure")[-1].after["reason"]


def test_no_group_no_role_and_disabled_users(client, provider, service):
    provider.user = {**provider.user, "groups": ["contractors"]}
    refused = sso(client)
    assert refused.status_code == 403 and "no group that gives a role" in refused.text
    provider.user = {**provider.user, "groups": ["oncall"]}
    assert sso(client).status_code == 303
    service.disable_user("olga", actor="test")
    assert sso(client).status_code == 403


def test_state_must_match_the_browser_and_codes_are_used_once(client, provider):
    start = client.get("/login/oidc", follow_redirects=False)
    authorize = httpx.get(start.headers["location"], follow_redirects=False, timeout=10)
    callback = authorize.headers["location"].removeprefix("http://testserver")
    other_browser = TestClient(client.app)
    assert other_browser.get(callback, follow_redirects=False).status_code == 403
    # The stranger's attempt did not use up the login: its own browser finishes it, once.
    assert client.get(callback, follow_redirects=False).status_code == 303
    assert client.get(callback, follow_redirects=False).status_code == 403
    forged = client.get("/login/oidc/callback?code=x&state=y", follow_redirects=False)
    assert forged.status_code == 403


def test_a_provider_name_cannot_take_over_a_local_account(client, provider, service):
    """Whoever can pick 'root' as their name at the provider must not become Vigil's root."""
    from vigil.access.roles import parse_role

    service.add_user("root", parse_role("admin"), actor="test", password="local secret")
    provider.user = {"sub": "attacker-7", "preferred_username": "root", "groups": ["staff"]}
    refused = sso(client)
    assert refused.status_code == 403 and "belongs to another Vigil account" in refused.text
    assert "vigil_session" not in refused.headers.get("set-cookie", "")
    root = service.store.user("root")
    assert (root.role, root.sso_subject) == ("admin", None)
    assert service.audit_entries(action="sso.failure")[-1].after["reason"]


def test_the_account_follows_the_subject_not_the_name(client, provider, service):
    assert sso(client).status_code == 303  # olga, sub u-1: a new account bound to u-1
    assert service.store.user("olga").sso_subject == f"{provider.issuer} u-1"
    # Another identity calling itself olga does not get olga's account.
    provider.user = {**provider.user, "sub": "u-2"}
    assert sso(client).status_code == 403
    # The same identity under a new name at the provider still signs in as olga.
    provider.user = {**provider.user, "sub": "u-1", "preferred_username": "olga.renamed"}
    assert sso(client).status_code == 303
    assert client.get("/api/vigil/v1/whoami").json()["data"]["name"] == "olga"


def test_an_account_without_password_is_linked_once(client, provider, service):
    from vigil.access.roles import parse_role

    service.add_user("olga", parse_role("editor"), actor="test")  # no password: SSO only
    assert sso(client).status_code == 303
    olga = service.store.user("olga")
    assert olga.sso_subject == f"{provider.issuer} u-1"
    assert "user.sso_update" in [e.action for e in service.audit_entries()]


def test_email_stands_in_for_the_name_only_when_verified(client, provider, service):
    provider.user = {"sub": "u-9", "email": "ivy@example.com", "groups": ["oncall"]}
    refused = sso(client)
    assert refused.status_code == 403 and "no preferred_username claim" in refused.text
    provider.user = {**provider.user, "email_verified": True}
    assert sso(client).status_code == 303
    assert client.get("/api/vigil/v1/whoami").json()["data"]["name"] == "ivy@example.com"


def test_es256_id_tokens_verify_and_keys_must_fit_the_algorithm():
    from cryptography.hazmat.primitives.asymmetric import ec
    from joserfc import jwt
    from joserfc.jwk import ECKey, RSAKey

    from vigil.access.oidc import OIDCError, verify_id_token

    ec_key = ECKey.import_key(ec.generate_private_key(ec.SECP256R1()), {"kid": "e1"})
    claims = {"iss": "https://idp", "aud": "vigil", "exp": 2000, "iat": 1000, "nonce": "n"}
    token = jwt.encode({"alg": "ES256", "kid": "e1"}, claims, ec_key)
    public = ec_key.as_dict(private=False)
    assert verify_id_token(token, keys=[public], issuer="https://idp", client_id="vigil",
                           nonce="n", now=1500)["aud"] == "vigil"
    # An RSA key published under the same kid cannot verify an ES256 token.
    rsa_key = RSAKey.generate_key(2048, parameters={"kid": "e1"}).as_dict(private=False)
    with pytest.raises(OIDCError, match="signature does not verify"):
        verify_id_token(token, keys=[rsa_key], issuer="https://idp", client_id="vigil",
                        nonce="n", now=1500)
    with pytest.raises(OIDCError, match="not a signed JWT"):
        verify_id_token("not.a.jwt", keys=[public], issuer="https://idp", client_id="vigil",
                        nonce="n", now=1500)
    with pytest.raises(OIDCError, match="expired"):
        verify_id_token(token, keys=[public], issuer="https://idp", client_id="vigil",
                        nonce="n", now=2100)
