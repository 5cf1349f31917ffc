"""The public status page in headless Chromium, with access configured (nobody anonymous may
see anything else): it changes when an incident naming a component is declared and a public
update is posted; it passes axe-core's WCAG A/AA rules, its headings go down one level at a
time, every status colour has a contrast of at least 4.5:1 (computed here from the rendered
colours), every link is reached with Tab and shows its focus. Screenshots go to
``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.incidents.support import engine_query, load_samples, record_public_update
from tests.support.browser import (
    ARTIFACTS,
    axe_violations,
    new_page,
    record_csp_violations,
)
from tests.support.incident_pages import assert_headings_in_order, serve_services
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

pytestmark = pytest.mark.browser

CONFIG = load_config_text("""
alerting:
  time_intervals:
    - name: always
      time_intervals: [{times: [{start_time: "00:00", end_time: "24:00"}]}]
status_page:
  title: Smart Dairy status
  components:
    - {name: shop, description: Online shop, group: Customers, query: 'probe_success{instance="https://shop"}'}
    - {name: milk-api, description: Milk collection API, group: Customers, query: 'up{job="milk-api"}'}
    - {name: billing, group: Back office, query: 'up{job="billing"}'}
    - {name: reports, group: Back office, query: 'up{job="reports"}'}
    - {name: queue, group: Back office, query: 'up{job="queue"}'}
  maintenance:
    - {time_interval: always, components: [reports], description: Report database upgrade}
""")


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("status")
    store = Store.open_in(str(root / "state"))
    people = AccessService(store.access)
    people.add_user("alice", Role.RESPONDER, actor="test", password="alice-password")
    service = StatusPageService(StatusPageStore(store.engine), IncidentStore(store.engine), lambda: CONFIG)
    with DB.open(root / "tsdb") as db:
        load_samples(db, {("probe_success", "instance", "https://shop"): 1.0, ("up", "job", "milk-api"): 1.0,
                          ("up", "job", "billing"): 1.0, ("up", "job", "reports"): 1.0, ("up", "job", "queue"): 1.0})
        recorder = StatusRecorder(service, engine_query(Engine(db)))
        recorder.check_once()

        with serve_services(people, lambda _base: dict(status_page=service)) as base:
            yield {"base": base, "store": store, "service": service, "db": db, "recorder": recorder}
    store.close()


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(x) for x in css[css.index("(") + 1:css.index(")")].split(","))


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((_luminance(_rgb(fg)), _luminance(_rgb(bg))), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_page_changes_when_an_incident_is_declared_and_updated(browser, env):
    base, store = env["base"], env["store"]
    context, page = new_page(browser)  # nobody logged in
    violations = record_csp_violations(page)
    page.goto(base + "/status")
    # Reports is in its maintenance window: the rest is operational.
    assert page.locator("#overall").inner_text().strip() == "Maintenance in progress"
    assert page.locator("#component-shop .badge").inner_text().strip() == "Operational"
    assert page.locator("#component-reports .badge").inner_text().strip() == "Under maintenance"
    assert page.locator("#current-incidents").count() == 0
    page.screenshot(path=str(ARTIFACTS / "status-page-operational.png"), full_page=True)

    incidents = IncidentStore(store.engine)
    inc, _ = incidents.declare(title="Online shop unavailable", severity=1, actor="alice", via="api",
                               components=["shop"], commander="alice")
    page.reload()
    # Declared, not yet published: the component shows the impact, the incident is not listed.
    assert page.locator("#component-shop .badge").inner_text().strip() == "Major outage"
    assert page.locator("#current-incidents").count() == 0
    with store.engine.begin() as conn:
        record_public_update(conn, inc.id, at=db_now(conn), actor="alice", status="investigating",
                             message="The online shop does not load. We are on it.")
    page.reload()
    assert page.locator("#overall").inner_text().strip() == "Major outage"
    incident = page.locator(f"#incident-{inc.id}")
    assert incident.locator("h3").inner_text() == "Online shop unavailable"
    assert "The online shop does not load." in incident.inner_text()
    assert "Investigating" in incident.inner_text() and "alice" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "status-page-incident.png"), full_page=True)
    assert violations == []
    context.close()


def test_accessible_headings_contrast_and_keyboard(browser, env):
    base, service = env["base"], env["service"]
    # One component in each status, so every status colour is on the page.
    service.set_override("billing", status="degraded_performance", message="Invoices are slow",
                         actor="alice", until=service.store.now() + timedelta(hours=1))
    service.set_override("milk-api", status="partial_outage", actor="alice")
    service.set_override("shop", status="major_outage", message="Closed for repairs", actor="alice")
    # A published SEV-4 incident (cosmetic: no impact on status), so incidents are on the page.
    inc, _ = IncidentStore(env["store"].engine).declare(title="Wrong logo on invoices", severity=4, actor="alice",
                                                        via="api", components=["queue"])
    with env["store"].engine.begin() as conn:
        record_public_update(conn, inc.id, at=db_now(conn), actor="alice", status="identified",
                             message="A fix ships tomorrow.")
    env["recorder"].check_once()
    context, page = new_page(browser)
    page.goto(base + "/status")
    shown = {page.locator(f"#component-{n} .badge").inner_text().strip() for n in
             ("shop", "milk-api", "billing", "reports", "queue")}
    assert shown == {"Major outage", "Partial outage", "Degraded performance", "Under maintenance", "Operational"}
    page.screenshot(path=str(ARTIFACTS / "status-page-every-status.png"), full_page=True)

    assert axe_violations(page) == []
    assert_headings_in_order(page)

    colours = page.eval_on_selector_all(
        ".badge, #overall",
        "els => els.map(e => [e.className, getComputedStyle(e).color, getComputedStyle(e).backgroundColor])")
    assert {c.split()[-1] for c, _, _ in colours} >= {
        "status-operational", "status-under_maintenance", "status-degraded_performance",
        "status-partial_outage", "status-major_outage"}
    for name, fg, bg in colours:
        assert contrast(fg, bg) >= 4.5, (name, fg, bg)

    # Tab reaches the skip link first, then every link, each with a visible outline.
    links = page.eval_on_selector_all("a[href], button, input, select, textarea",
                                      "els => els.map(e => e.outerHTML)")
    reached = []
    for _ in range(len(links)):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("""() => { const e = document.activeElement;
            const s = getComputedStyle(e);
            return [e.outerHTML, s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0]; }"""))
    assert [html for html, _ in reached] == links
    assert "Skip to main content" in reached[0][0]
    assert all(visible for _, visible in reached)
    page.goto(base + "/status")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link moves focus to the content
    assert page.evaluate("document.activeElement.id") == "main"
    context.close()
