"""Every page of the navigation in headless Chromium, as a person on call at night sees it:
at 1280 px, at 360 px (a phone: nothing wider than the screen but the tables, which scroll
inside themselves) and in dark mode, each page showing its rows and values, axe-core clean
(WCAG 2 A/AA, both themes) and without a Content-Security-Policy violation. Then what the
night needs: the alerts page's filters kept in the URL, acknowledging in place, the query
editor suggesting a metric name as one types, a new alert appearing without a reload, the
theme toggle kept across pages, the skip link. Screenshots go to ``test-artifacts/pages/``
(the run's summary names the folder)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

import vigil.dashboards
from tests.support.browser import ARTIFACTS, axe_violations, record_csp_violations, serve_app
from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.alerting.dispatch import Dispatcher
from vigil.alerting.service import Alerting
from vigil.alerting.silence import Silences
from vigil.alerting.silence.silences import SilenceInput
from vigil.cluster import Membership
from vigil.config import load_config_text
from vigil.dashboards.store import DashboardSettings, DashboardStore
from vigil.incidents.service import IncidentService
from vigil.model import Alert, Labels
from vigil.model.matchers import Matcher
from vigil.oncall.lifecycle import Lifecycle, firing_groups
from vigil.oncall.schedule import Layer, Schedule
from vigil.oncall.schedules import ScheduleService
from vigil.state import Store
from vigil.state.cluster_store import ClusterStore
from vigil.state.incident_store import IncidentStore
from vigil.state.lifecycle_store import LifecycleStore
from vigil.state.schedule_store import ScheduleStore
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "pages"
CONFIG = load_config_text("""
alerting:
  receivers: [{name: ops, webhook_configs: [{url: "http://127.0.0.1:9/hook"}]}]
  route: {receiver: ops, group_by: [alertname]}
""")
PRIMARY = Schedule("primary", "UTC", (
    Layer("weekly", ("ann", "bob"), timedelta(weeks=1), date(2026, 1, 5), time(9)),), "Production on call")

# Each page of the navigation with what a person must see on it: (path, selector, text).
PAGES = [
    ("/overview", "h1", "Overview"),
    ("/alerts", "li.alert.alert-firing .summary", "Instance host-1:9100 down"),
    ("/graph?g0.expr=node_load1&g0.range_input=1h", "table.values tbody", 'instance="host-2:9100"'),
    ("/targets", "tr.target-down td.error", "connection refused"),
    ("/rules", "tr.rule-err td.error", "vector contains metrics"),
    ("/silences", ".silences-active tr.silence", "load test tonight"),
    ("/notifications", "h1", "Notifications"),
    ("/schedules", "#schedule-primary", "primary"),
    ("/cluster", "main", "night-1"),
    ("/incidents", "main", "Milk API down"),
    ("/people", "main", "ada"),
    ("/audit", "h1", "Audit"),
    ("/dashboards", "main", "Infrastructure Overview"),
]
SHIPPED = Path(vigil.dashboards.__file__).parent / "shipped"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The app with access control, alerting, on call, incidents, schedules, a cluster of
    one and the shipped dashboards, an on-call episode (P1) for the firing InstanceDown alert and a silence on HighLoad."""
    store = Store.open_in(str(tmp_path_factory.mktemp("pages")))
    people = AccessService(store.access)
    people.add_user("ada", Role.ADMIN, actor="test", password="ada-password")
    life_store = LifecycleStore(store.engine)
    dispatcher = Dispatcher(CONFIG.alerting, store, external_url="http://vigil.example")
    alerting = Alerting(dispatcher, Silences(store), resolve_timeout_s=300)
    life = Lifecycle(life_store, CONFIG.oncall, lambda: firing_groups(alerting))
    incidents = IncidentService(IncidentStore(store.engine), lambda: CONFIG,
                                groups=lambda: firing_groups(alerting), episodes=life_store,
                                external_url="http://vigil.example")
    schedules = ScheduleService(ScheduleStore(store.engine), lambda: {"primary": PRIMARY})
    member = Membership(ClusterStore(store.engine), name="night-1", url="http://night-1:9090",
                        version="0.1.0", member_timeout_s=30.0)
    member.tick()
    started = datetime.now(UTC) - timedelta(minutes=5)
    dispatcher.put([Alert(Labels({"alertname": "InstanceDown", "instance": "host-1:9100",
                                  "priority": "P1"}),
                          Labels({"summary": "host-1 down"}), started, None, "", started)])
    life.reconcile()
    now = datetime.now(UTC)
    alerting.silences.set(SilenceInput((Matcher.equal("alertname", "HighLoad"),), now,
                                       now + timedelta(hours=2), "ada", "load test tonight"))
    incidents.declare(title="Milk API down", severity=2, actor="ada", via="api")
    deps = dataclasses.replace(make_deps(), access=AccessPolicy(people), alerting=alerting,
                               oncall=life, incidents=incidents, schedules=schedules,
                               cluster=member,
                               dashboards=DashboardStore(lambda: DashboardSettings((), SHIPPED, 15.0)))
    with serve_app(lambda _base: create_app(deps)) as base:
        yield {"base": base, "dispatcher": dispatcher}
    store.close()


def _context(browser, **options: Any) -> Any:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options})


def _logged_in(context: Any, base: str) -> Any:
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(base + "/alerts")
    page.fill("#username", "ada")
    page.fill("#password", "ada-password")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/alerts")
    return page


def _name(path: str) -> str:
    return path.strip("/").split("?")[0] or "overview"


MODES = {
    "desktop": {},
    "phone": {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True},
    "dark": {"color_scheme": "dark"},
}


@pytest.mark.parametrize("mode", MODES)
def test_every_page_shows_its_content_axe_clean_without_csp_violations(browser, site, mode):
    context = _context(browser, **MODES[mode])
    try:
        page = _logged_in(context, site["base"])
        csp = record_csp_violations(page)
        for path, selector, text in PAGES:
            page.goto(site["base"] + path)
            assert text in page.locator(selector).first.inner_text(), (path, selector)
            page.wait_for_load_state("networkidle")
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            dark = mode == "dark"
            assert (background == "rgb(15, 19, 24)") == dark, (path, background)
            if mode == "phone":  # only tables may be wider than the screen, inside themselves
                assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
                assert page.locator(".topnav").evaluate("n => n.scrollWidth > n.clientWidth")
            assert axe_violations(page) == [], path
            page.screenshot(path=str(SHOTS / f"{_name(path)}-{mode}.png"), full_page=True)
        assert csp == []
    finally:
        context.close()


def test_alert_filters_live_in_the_url_and_acknowledge_in_place(browser, site):
    context = _context(browser)
    try:
        page = _logged_in(context, site["base"])

        def shown() -> list[str]:
            return page.locator("li.alert .summary").all_inner_texts()

        page.select_option("#filter-state", "pending")
        page.click("form.alert-filters button[type=submit]")
        page.wait_for_url("**state=pending**")
        assert shown() == ["Load is high on host-2:9100"]
        assert "showing 1 of 2 alerts" in page.locator("#filter-summary").inner_text()
        page.goto(site["base"] + "/alerts?state=silenced")
        assert shown() == ["Load is high on host-2:9100"]
        assert page.locator("li.alert .badge.state-silenced").count() == 1
        page.goto(site["base"] + "/alerts?labels=instance%3D%22host-1%3A9100%22")
        assert shown() == ["Instance host-1:9100 down"]
        assert page.locator("#filter-labels").input_value() == 'instance="host-1:9100"'
        page.goto(site["base"] + "/alerts?priority=P1&severity=critical")
        assert shown() == ["Instance host-1:9100 down"]
        assert page.locator("#filter-priority").input_value() == "P1"
        page.goto(site["base"] + "/alerts?state=acknowledged")
        assert shown() == []
        assert "No alerts match these filters." in page.locator("p.empty").inner_text()
        page.goto(site["base"] + "/alerts?labels=instance")
        assert "labels: bad matcher format: instance" in page.locator("#filter-error").inner_text()
        # Acknowledge the P1 alert where it is listed; it is then acknowledged, by ada, and
        # the page comes back with the filters it had.
        page.goto(site["base"] + "/alerts?priority=P1&severity=critical")
        firing = page.locator("li.alert.alert-firing")
        assert firing.locator(".badge.priority").inner_text() == "P1"
        with page.expect_navigation():
            firing.locator("button.alert-ack").click()
        assert page.url.split("#")[0].endswith("/alerts?priority=P1&severity=critical")
        assert page.locator("#filter-priority").input_value() == "P1"
        assert "ACKNOWLEDGED by ada" in page.locator("li.alert.alert-firing .state-acknowledged").inner_text()
        page.goto(site["base"] + "/alerts?state=acknowledged")
        assert shown() == ["Instance host-1:9100 down"]
        silence = page.locator("li.alert.alert-firing a.silence-link").get_attribute("href")
        assert silence.startswith("/silences?matchers=") and "InstanceDown" in silence
        page.screenshot(path=str(SHOTS / "alerts-acknowledged.png"), full_page=True)
    finally:
        context.close()


def test_query_editor_suggests_metric_names_and_runs_with_enter(browser, site):
    context = _context(browser)
    try:
        page = _logged_in(context, site["base"])
        csp = record_csp_violations(page)
        page.goto(site["base"] + "/graph")
        editor = page.locator("#expr")
        assert editor.get_attribute("contenteditable") == "true"
        editor.click()
        page.keyboard.type("http_req")
        suggestions = page.locator(".cm-tooltip-autocomplete li")
        suggestions.filter(has_text="http_requests_total").wait_for()
        page.screenshot(path=str(SHOTS / "graph-autocomplete.png"))
        page.keyboard.press("Tab")
        assert editor.inner_text() == "http_requests_total"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "g0.expr=http_requests_total" in page.url
        # A parse error is underlined by the linter before running the query.
        page.locator("#expr").click()
        page.keyboard.press("End")
        page.keyboard.type(" +")
        page.locator(".cm-lintRange-error, .cm-lintPoint-error").first.wait_for(state="attached")
        assert csp == []
    finally:
        context.close()


def test_graph_draws_a_uplot_chart_with_one_series_per_matching_series(browser, site):
    context = _context(browser)
    try:
        page = _logged_in(context, site["base"])
        csp = record_csp_violations(page)
        # The app's engine (tests.web.fakes) serves node_load1 for three hosts, "scalar" as one
        # series without labels, and nothing for any other name.
        for expr, names in (("node_load1", [f'node_load1{{instance="host-{i}:9100", job="node"}}'
                                            for i in range(3)]),
                            ("scalar", ["{}"])):
            page.goto(site["base"] + "/graph?" + urlencode({"g0.expr": expr, "g0.range_input": "1h"}))
            page.wait_for_selector('#graph[data-state="drawn"]')
            assert page.locator("#graph").get_attribute("data-series") == str(len(names)), expr
            drawn = page.evaluate("""() => {
                const canvas = document.querySelector('#graph .uplot canvas');
                return canvas !== null && canvas.width > 0;
            }""")
            assert drawn, expr
            assert page.locator("#graph .chart-legend .legend-name").all_inner_texts() == names, expr
            over = page.locator("#graph .u-over").bounding_box()
            page.mouse.move(over["x"] + over["width"] * 0.7, over["y"] + over["height"] / 2)
            page.locator("#graph .chart-tooltip").wait_for(state="visible")
            assert page.locator("#graph .chart-tooltip .tt-row").count() == len(names), expr
            if expr == "node_load1":
                page.screenshot(path=str(SHOTS / "graph-uplot-hover.png"))
        page.goto(site["base"] + "/graph?g0.expr=no_such_metric")
        page.wait_for_selector('#graph[data-state="drawn"]')
        assert page.locator("#graph").get_attribute("data-series") == "0"
        assert page.locator("#graph .uplot").count() == 0
        assert "no data" in page.locator("#graph .graph-chart").inner_text()
        page.screenshot(path=str(SHOTS / "graph-no-data.png"), full_page=True)
        assert csp == []
    finally:
        context.close()


def test_a_new_alert_appears_without_a_reload_and_hidden_tabs_pause(browser, site):
    context = _context(browser)
    try:
        page = _logged_in(context, site["base"])
        page.goto(site["base"] + "/alerts?refresh=2")
        page.evaluate("window.notReloaded = true")
        assert "DiskFull" not in page.locator("#alerts-live").inner_text()
        started = datetime.now(UTC)
        site["dispatcher"].put([Alert(Labels({"alertname": "DiskFull", "instance": "db-1"}),
                                      Labels(), started, None, "", started)])
        page.locator("#alerts-live tr.incident-group", has_text="DiskFull").wait_for()
        assert page.evaluate("window.notReloaded") is True
        assert page.locator("#alerts-live-status").inner_text().startswith("Live · updated")
        # A hidden tab stops refreshing (and says so) until it is shown again.
        page.evaluate("""() => {
            Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
            document.dispatchEvent(new Event("visibilitychange"));
        }""")
        assert page.locator("#alerts-live-status").inner_text() == "Live · paused"
        page.evaluate("""() => {
            Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
            document.dispatchEvent(new Event("visibilitychange"));
        }""")
        page.locator("#alerts-live-status", has_text="updated").wait_for()
    finally:
        context.close()


def test_theme_toggle_is_kept_and_the_skip_link_is_first(browser, site):
    context = _context(browser)
    try:
        page = _logged_in(context, site["base"])
        page.goto(site["base"] + "/rules")
        page.keyboard.press("Tab")
        skip = page.locator("a.skip-link")
        assert skip.evaluate("n => n === document.activeElement")
        assert skip.bounding_box()["y"] >= 0  # shown when focused
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "content"
        toggle = page.locator("#theme-toggle")
        assert toggle.inner_text() == "Dark mode"
        toggle.click()
        assert page.locator("html").get_attribute("data-theme") == "dark"
        assert toggle.get_attribute("aria-pressed") == "true"
        page.goto(site["base"] + "/targets")
        assert page.locator("html").get_attribute("data-theme") == "dark"
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(15, 19, 24)"
        assert axe_violations(page) == []
        page.screenshot(path=str(SHOTS / "targets-dark-toggle.png"), full_page=True)
        page.locator("#theme-toggle").click()
        assert page.locator("html").get_attribute("data-theme") == "light"
    finally:
        context.close()
