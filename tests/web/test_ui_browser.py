"""The UI in headless Chromium: the app runs under uvicorn on a loopback port with fakes
behind its seams. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import dataclasses
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
    page.wait_for_selector("svg.graph")
    assert "g0.expr=node_load1" in page.url and "g0.range_input=3h" in page.url
    assert page.locator("svg.graph g.series polyline").count() == 3
    legend = page.locator("ul.legend li")
    assert legend.count() == 3
    assert 'instance="host-0:9100"' in legend.first.inner_text()
    assert page.locator("table.values tbody tr").count() == 3
    assert page.locator("svg.graph text.tick").count() >= 8
    # Hovering a legend entry highlights that series.
    legend.nth(1).hover()
    assert page.locator('svg.graph g.series.focused[data-series="1"]').count() == 1
    page.mouse.move(0, 0)
    page.screenshot(path=str(ARTIFACTS / "graph.png"), full_page=True)
    # Hovering the plot shows the values at the nearest sample time.
    box = page.locator("svg.graph").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    hover = page.locator("#hover")
    hover.wait_for(state="visible")
    assert hover.locator(".row").count() == 3
    assert hover.locator(".time").inner_text().startswith("2023-11-14T")
    assert page.locator("svg.graph line.cursor").get_attribute("visibility") == "visible"
    page.screenshot(path=str(ARTIFACTS / "graph-hover.png"))


def test_graph_enter_submits_and_parse_error_is_shown(page, base_url):
    page.goto(base_url + "/graph")
    page.fill("#expr", "rate(x")
    page.press("#expr", "Enter")
    page.wait_for_selector(".error-box")
    assert "parse error" in page.locator(".error-box").inner_text()
    assert page.locator("svg.graph").count() == 0
    page.screenshot(path=str(ARTIFACTS / "graph-error.png"), full_page=True)


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
