"""The UI in headless Chromium: the app runs under uvicorn on a loopback port with fakes
behind its seams. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

from tests.support.browser import ARTIFACTS, new_page, serve_app
from tests.web.fakes import make_deps
from tests.web.real_alerting import real_alerting
from vigil.web import create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory) -> Iterator[str]:
    deps = dataclasses.replace(make_deps(),
                               alerting=real_alerting(tmp_path_factory.mktemp("alerting")))
    with serve_app(lambda _base: create_app(deps)) as base:
        yield base


@pytest.fixture
def page(browser):
    context, pg = new_page(browser)
    yield pg
    context.close()


def test_alerts_page_lists_firing_alert(page, base_url):
    page.goto(base_url + "/alerts")
    firing = page.locator("li.alert.alert-firing")
    assert firing.count() == 1
    assert "Instance host-1:9100 down" in firing.inner_text()
    assert "CRITICAL" in firing.locator(".badge.severity").inner_text().upper()
    assert page.locator("li.alert.alert-pending").count() == 1
    assert page.locator("nav a.active").inner_text() == "Alerts"
    page.screenshot(path=str(ARTIFACTS / "alerts.png"), full_page=True)


def test_targets_page_shows_down_target_error(page, base_url):
    page.goto(base_url + "/targets")
    down = page.locator("tr.target-down")
    assert down.count() == 1
    assert "DOWN" in down.locator(".badge").inner_text()
    assert "connection refused" in down.locator("td.error").inner_text()
    assert page.locator("section.target-pool h2").all_inner_texts()[1].startswith("node")
    assert page.locator("#job-node .badge.dropped").inner_text() == "1 dropped by relabelling"
    page.screenshot(path=str(ARTIFACTS / "targets.png"), full_page=True)


def test_graph_page_draws_query(page, base_url):
    page.goto(base_url + "/graph")
    page.fill("#expr", "node_load1")
    page.select_option("#range", "3h")
    page.click("button[type=submit]")
    page.wait_for_selector('#graph[data-state="drawn"]')
    assert "g0.expr=node_load1" in page.url and "g0.range_input=3h" in page.url
    assert page.locator("#graph .uplot canvas").count() >= 1
    legend = page.locator("#graph .chart-legend .legend-button")
    assert legend.count() == 3
    assert 'instance="host-0:9100"' in legend.first.inner_text()
    assert page.locator("table.values tbody tr").count() == 3
    assert page.locator("#graph .u-axis").count() == 2
    assert page.locator("#graph .graph-status").inner_text().startswith("resolution ")
    page.mouse.move(0, 0)
    page.screenshot(path=str(ARTIFACTS / "graph.png"), full_page=True)
    # Hovering the plot shows every series' value at that time, in UTC too.
    box = page.locator("#graph .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    hover = page.locator("#graph .chart-tooltip")
    hover.wait_for(state="visible")
    assert hover.locator(".tt-row").count() == 3
    assert "2023-11-14" in hover.locator(".tt-utc").inner_text()
    page.screenshot(path=str(ARTIFACTS / "graph-hover.png"))
    # A legend click hides that series: the hover then lists two.
    legend.nth(1).click()
    assert legend.nth(1).get_attribute("aria-pressed") == "false"
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    assert hover.locator(".tt-row").count() == 2
    # Dragging across the chart zooms: the page opens for that range, its end in the URL.
    with page.expect_navigation():
        page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.5)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5, steps=5)
        page.mouse.up()
    assert "g0.end_input=2023-11-14T" in page.url and "g0.range_input=3h" not in page.url
    range_input = page.locator("#range").input_value()
    assert range_input.endswith(("m", "s")) and "h" not in range_input  # a quarter of 3 h
    page.wait_for_selector('#graph[data-state="drawn"]')
    assert page.locator("#graph .chart-legend .legend-button").count() == 3


def test_graph_enter_submits_and_parse_error_is_shown(page, base_url):
    page.goto(base_url + "/graph")
    page.fill("#expr", "rate(x")
    page.press("#expr", "Enter")
    page.wait_for_selector(".error-box")
    assert "parse error" in page.locator(".error-box").inner_text()
    assert page.locator("#graph").count() == 0
    page.screenshot(path=str(ARTIFACTS / "graph-error.png"), full_page=True)


def test_graph_shows_the_range_query_error(page, base_url):
    # The table's instant query passes but the graph's range query is refused (the fake
    # engine refuses none, so the API's answer is stood in for): the person reads why.
    too_many = "query processing would load too many samples into memory in query execution"
    page.route("**/api/v1/query_range?*", lambda route: route.fulfill(
        status=422, content_type="application/json",
        body=json.dumps({"status": "error", "errorType": "execution", "error": too_many})))
    page.goto(base_url + "/graph?g0.expr=node_load1&g0.range_input=1w")
    page.wait_for_selector('#graph[data-state="error"]')
    assert too_many in page.locator("#graph .graph-error[role=alert]").inner_text()
    assert page.locator("table.values tbody tr").count() == 3
    page.screenshot(path=str(ARTIFACTS / "graph-range-error.png"), full_page=True)


def test_rules_page(page, base_url):
    page.goto(base_url + "/rules")
    assert page.locator("tr.rule").count() == 3
    assert page.locator("tr.rule-err td.error").inner_text().startswith("vector contains")
    page.screenshot(path=str(ARTIFACTS / "rules.png"), full_page=True)


def test_silence_an_alert_from_the_alerts_page_then_expire_it(page, base_url):
    page.goto(base_url + "/alerts")
    page.locator("li.alert.alert-firing a.silence-link").click()
    assert 'alertname="InstanceDown"' in page.locator("#matchers").input_value()
    page.fill("#author", "alice")
    page.fill("#comment", "host-1 is being replaced")
    page.click("form.silence-form button[type=submit]")
    row = page.locator(".silences-active tr.silence")
    assert row.count() == 1 and "host-1 is being replaced" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "silences.png"), full_page=True)
    row.locator("button.expire").click()
    assert page.locator(".silences-active tr.silence").count() == 0
    assert "host-1 is being replaced" in page.locator(".silences-expired").inner_text()
