"""The incident page's edit and detach forms and the "Status page" section of /incidents in
headless Chromium: a responder edits the title, summary and impact and detaches an alert
group by clicking, then sets a component's override (status, public message, until) and
sees the public /status page change, and clears it again; a refused override shows its
reason. axe-core finds no WCAG A/AA violation on either page, headings go down one level at
a time; viewers see the statuses without a form. No page reports a Content-Security-Policy
violation. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser import (
    ARTIFACTS,
    axe_violations,
    new_page,
    record_csp_violations,
)
from tests.support.incident_pages import (
    assert_headings_in_order,
    login,
    serve_services,
    submit,
    timeline_rows,
)
from vigil.access import AccessService, Role
from vigil.config import load_config_text
from vigil.incidents.service import IncidentService
from vigil.incidents.status_page_service import StatusPageService
from vigil.oncall.lifecycle import FiringGroup
from vigil.state import Store
from vigil.state.incident_store import IncidentStore
from vigil.state.status_page_store import StatusPageStore

pytestmark = pytest.mark.browser

CONFIG = load_config_text("""
status_page:
  title: Smart Dairy status
  components:
    - {name: milk-api, description: Milk collection API, query: 'up{job="milk-api"}'}
    - {name: shop, description: Online shop, query: 'up{job="shop"}'}
""")


def _groups() -> list[FiringGroup]:
    from tests.incidents.test_correlation import checkout_burst

    return checkout_burst()[:2]  # HighLatency and ErrorRate of the checkout service


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[dict]:
    store = Store.open_in(str(tmp_path_factory.mktemp("incidents-edit")))
    people = AccessService(store.access)
    people.add_user("ann", Role.RESPONDER, actor="test", password="ann-password")
    people.add_user("vic", Role.VIEWER, actor="test", password="vic-password")
    groups = _groups()
    incident_store = IncidentStore(store.engine)
    service = IncidentService(incident_store, lambda: CONFIG, groups=lambda: list(groups))
    status_page = StatusPageService(StatusPageStore(store.engine), incident_store, lambda: CONFIG)
    with serve_services(people, lambda _base: dict(incidents=service, status_page=status_page)) as base:
        yield {"base": base, "store": store, "service": service, "groups": groups}
    store.close()


def _public(browser, base: str, component: str) -> tuple[str, str]:
    """(status, public message) of ``component`` on /status, nobody logged in."""
    context, page = new_page(browser)
    page.goto(base + "/status")
    item = page.locator(f"#component-{component}")
    status = item.locator(".badge").inner_text().strip()
    message = item.locator(".message").inner_text() if item.locator(".message").count() else ""
    context.close()
    return status, message


def _audit(store: Store) -> list[str]:
    return [e.action for e in store.access.audit_entries() if e.actor == "ann" and not e.action.startswith("login")]


def test_edit_and_detach_by_clicking(browser, env):
    base, service = env["base"], env["service"]
    inc = service.declare(title="Checkout slow", severity=2, actor="ann", via="api",
                          group_keys=[g.key for g in env["groups"]])
    context, page = new_page(browser)
    violations = record_csp_violations(page)
    login(page, base, f"/incidents/{inc.ref}", "ann")
    assert page.locator("#edit-title").input_value() == "Checkout slow"
    page.fill("#edit-title", "Checkout failing")
    page.fill("#edit-summary", "POST /api/orders answers 502 since the 2.3 deploy")
    page.fill("#edit-impact", "a third of the orders fail")
    submit(page, page.locator("#edit-submit"))
    assert page.url.endswith(f"/incidents/{inc.ref}#details")
    assert page.locator("h1").inner_text() == f"{inc.ref} Checkout failing"
    assert page.locator("#incident-summary").inner_text() == "POST /api/orders answers 502 since the 2.3 deploy"
    assert page.locator("#incident-impact").inner_text() == "Impact: a third of the orders fail"

    groups = page.locator("#alerts .attached-group")
    assert sorted(groups.locator("h3").all_inner_texts()) == ["alertname=ErrorRate", "alertname=HighLatency"]
    submit(page, page.get_by_role("button", name="Detach alert group alertname=HighLatency"))
    assert page.url.endswith("#alerts")
    assert page.locator("#alerts .attached-group.detached h3").inner_text() == "alertname=HighLatency (detached)"
    assert page.locator("button.detach-group").count() == 1  # ErrorRate's
    kinds = [(kind, text) for _, kind, text in timeline_rows(page)]
    assert [k for k, _ in kinds] == ["declared", "alert_attached", "alert_attached", "edited", "alert_detached"]
    assert kinds[3][1] == "Edited impact, summary, title" and "HighLatency" in kinds[4][1]
    assert _audit(env["store"]) == ["incident.declare", "incident.edit", "incident.detach"]
    assert_headings_in_order(page)
    found = axe_violations(page)
    assert found == [], "\n".join(f"{v['id']}: {v['nodes']}" for v in found)
    page.screenshot(path=str(ARTIFACTS / "incident-edit-detach.png"), full_page=True)
    assert violations == []
    context.close()


def test_override_a_component_and_see_the_status_page_change(browser, env):
    base = env["base"]
    context, page = new_page(browser)
    violations = record_csp_violations(page)
    login(page, base, "/incidents", "ann")
    row = page.locator("#status-component-milk-api")
    assert row.locator(".component-status").inner_text() == "Operational"
    assert "not checked yet" in row.locator(".component-source").inner_text()
    assert _public(browser, base, "milk-api") == ("Operational", "")

    # A time that is not one: refused with the reason, nothing set.
    page.select_option("#override-status-milk-api", "major_outage")
    page.fill("#override-until-milk-api", "after lunch")
    submit(page, page.locator("#override-set-milk-api"))
    assert page.locator("#incident-error").inner_text() == (
        "milk-api: until: 'after lunch' is neither a duration such as 2h nor a time such as 2026-12-07 18:00 (UTC)")
    assert _public(browser, base, "milk-api") == ("Operational", "")

    page.select_option("#override-status-milk-api", "major_outage")
    page.fill("#override-message-milk-api", "Milk uploads fail; the farms keep their data.")
    page.fill("#override-until-milk-api", "2h")
    submit(page, page.locator("#override-set-milk-api"))
    assert page.url.endswith("/incidents#status-page")
    row = page.locator("#status-component-milk-api")
    assert row.locator(".component-status").inner_text() == "Major outage"
    source = row.locator(".component-source").inner_text()
    assert source.startswith("set by hand") and "by ann at " in source and "until 20" in source
    assert row.locator(".component-message").inner_text() == "Milk uploads fail; the farms keep their data."
    assert _public(browser, base, "milk-api") == ("Major outage", "Milk uploads fail; the farms keep their data.")
    assert _public(browser, base, "shop") == ("Operational", "")

    assert_headings_in_order(page)
    found = axe_violations(page)
    assert found == [], "\n".join(f"{v['id']}: {v['nodes']}" for v in found)
    page.locator("#status-page").screenshot(path=str(ARTIFACTS / "incidents-status-page-override.png"))

    submit(page, page.locator("#override-clear-milk-api"))
    assert page.locator("#status-component-milk-api .component-status").inner_text() == "Operational"
    assert page.locator("#override-clear-milk-api").count() == 0
    assert _public(browser, base, "milk-api") == ("Operational", "")
    assert _audit(env["store"])[-2:] == ["statuspage.override", "statuspage.override"]
    assert violations == []
    context.close()


def test_viewers_see_the_statuses_without_forms(browser, env):
    base = env["base"]
    context, page = new_page(browser)
    login(page, base, "/incidents", "vic")
    section = page.locator("#status-page")
    assert section.locator("tr.status-component").count() == 2
    assert section.locator("form").count() == 0 and section.locator("button").count() == 0
    found = axe_violations(page)
    assert found == [], "\n".join(f"{v['id']}: {v['nodes']}" for v in found)
    context.close()
