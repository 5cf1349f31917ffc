"""Logging in with a real browser (headless Debian Chromium): a failed login, a responder who
logs in and silences an alert, the admin's audit page showing it, logging out, getting
throttled; no Content-Security-Policy violation on any page (the graph page included)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from tests.support.browser import ARTIFACTS, new_page, record_csp_violations, serve_app
from tests.web.fakes import make_deps
from tests.web.real_alerting import real_alerting
from vigil.access import AccessService, Role
from vigil.state import Store
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[AccessService]:
    store = Store.open_in(str(tmp_path_factory.mktemp("access")))
    service = AccessService(store.access)
    service.add_user("ann", Role.RESPONDER, actor="test", password="ann-password")
    service.add_user("root", Role.ADMIN, actor="test", password="root-password")
    yield service
    store.close()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory, service) -> Iterator[str]:
    deps = dataclasses.replace(make_deps(), access=AccessPolicy(service),
                               alerting=real_alerting(tmp_path_factory.mktemp("alerting")))
    with serve_app(lambda _base: create_app(deps)) as base:
        yield base


def _log_in(page, base_url, name, password, target="/silences"):
    page.goto(base_url + target)
    assert page.url == f"{base_url}/login?next={target}"
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_login_silence_audit_logout_throttle(browser, base_url, service):
    context, page = new_page(browser)
    violations = record_csp_violations(page)

    _log_in(page, base_url, "ann", "wrong")
    assert page.locator("p.error").inner_text() == "Invalid user name or password."

    page.fill("#password", "ann-password")
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/silences")
    assert page.locator(".whoami").inner_text() == "ann · responder"
    page.fill("#matchers", 'alertname="DiskFull"')
    page.fill("#comment", "disk swap")
    page.click("form.silence-form button[type=submit]")
    page.wait_for_url(base_url + "/silences")
    row = page.locator("section.silences-active tr.silence")
    assert row.count() == 1 and "ann" in row.inner_text()
    page.goto(base_url + "/graph?g0.expr=node_load1")  # the graph's script and colours
    page.wait_for_selector('#graph[data-state="drawn"]')  # the uPlot bundle, under the CSP
    swatch = page.locator("#graph .chart-legend .swatch").first.evaluate("e => e.style.background")
    assert swatch  # set through the CSSOM by the chart module, not an inline style attribute
    page.click("form.logout button")
    page.wait_for_url(base_url + "/login")
    page.goto(base_url + "/silences")
    assert page.url.startswith(base_url + "/login")

    _log_in(page, base_url, "root", "root-password", target="/audit")
    page.wait_for_url(base_url + "/audit")
    page.fill("#audit-user", "ann")
    page.click("form.audit-filter button")
    entries = page.locator("tr.audit-entry").all_inner_texts()
    assert any("silence.create" in e and "silence:" in e for e in entries)
    assert any("login.failure" in e for e in entries)
    page.screenshot(path=str(ARTIFACTS / "audit.png"), full_page=True)
    page.click("form.logout button")
    page.wait_for_url(base_url + "/login")

    service.throttle.limit = 3
    for _ in range(3):
        page.fill("#username", "root")
        page.fill("#password", "guess")
        page.click("button[type=submit]")
        page.wait_for_selector("p.error")
    assert "too many failed logins" in page.locator("p.error").inner_text()
    page.screenshot(path=str(ARTIFACTS / "login-throttled.png"))
    assert violations == []
    context.close()
