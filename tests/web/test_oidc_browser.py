"""Single sign-on in a real browser (headless Debian Chromium): the login page's link
(``a#sso``) goes through the test OpenID provider and back to the page asked for, logged in
with the role of the user's groups; a refused sign-in shows why on the login page and leaves
the browser logged out. No Content-Security-Policy violation on the way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser import record_csp_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser) -> Iterator[tuple[object, list[str]]]:
    """A fresh browser context's page, and the CSP violations it reports."""
    context = browser.new_context()
    page = context.new_page()
    violations = record_csp_violations(page)
    yield page, violations
    context.close()


def test_sign_in_with_the_provider_in_a_browser(page, served, sso_service):
    base_url, provider = served
    provider.tamper = ""
    provider.user = {"sub": "sub-bea", "preferred_username": "bea", "email": "bea@example.org",
                     "name": "Bea", "groups": ["staff", "sre"]}
    p, violations = page
    p.goto(base_url + "/silences")
    assert p.url == f"{base_url}/login?next=/silences"
    p.click("a#sso")
    p.wait_for_url(f"{base_url}/silences")
    assert "bea · responder" in p.content()
    cookies = {c["name"]: c for c in p.context.cookies()}
    assert cookies["vigil_session"]["httpOnly"] and cookies["vigil_session"]["sameSite"] == "Lax"
    assert "vigil_oidc_state" not in cookies  # used once, then dropped
    assert violations == []
    assert sso_service.store.user("bea").role == "responder"


def test_a_refused_sign_in_shows_why_in_the_browser(page, served, sso_service):
    base_url, provider = served
    provider.user = {"sub": "sub-cy", "preferred_username": "cy", "groups": ["sre"]}
    provider.tamper = "audience"
    p, violations = page
    try:
        p.goto(base_url + "/login?next=/alerts")
        p.click("a#sso")
        p.wait_for_selector(".error")
        message = p.inner_text(".error")
        assert "Single sign-on failed" in message and "not meant for this client" in message
        assert "vigil_session" not in {c["name"] for c in p.context.cookies()}
    finally:
        provider.tamper = ""
    assert violations == []
    assert sso_service.store.user("cy") is None
