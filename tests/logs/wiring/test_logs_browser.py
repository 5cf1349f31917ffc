"""/logs in headless Chromium over a real log store served by uvicorn: a search finds the
lines holding a pushed needle (newest first, level coloured, labels and structured fields
shown), the histogram has bars for them, the query and range stay in the URL, and with live
tail on a line pushed afterwards appears on top over the WebSocket. Axe-clean, no CSP
violations, at 1280 and 360 px, light and dark; screenshots in test-artifacts/logs/."""

from __future__ import annotations

import dataclasses
import time
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest

from tests.support.browser import ARTIFACTS, axe_violations, record_csp_violations, serve_app
from tests.web.fakes import make_deps
from vigil.config.logs import LogsConfig
from vigil.logs.runtime import LogsRuntime
from vigil.web import create_app

SHOTS = ARTIFACTS / "logs"
S = 1_000_000_000
NEEDLE = "needle-7f3a"
QUERY = '{app="shop"} |= "' + NEEDLE + '"'


def push(url: str, stream: dict[str, str], values: list[list[object]]) -> None:
    r = httpx.post(url + "/loki/api/v1/push", json={"streams": [{"stream": stream, "values": values}]})
    assert r.status_code == 204, r.text


@pytest.fixture
def site(tmp_path):
    root = tmp_path
    runtime = LogsRuntime(LogsConfig(), store_path=str(root / "logs"), state_dir=str(root / "tail"))
    try:
        with serve_app(lambda _: create_app(dataclasses.replace(make_deps(), logs=runtime))) as url:
            now = time.time_ns()
            # 6 needles over the last 50 minutes (two error, one warning), among 40 other lines.
            needles = [[str(now - (50 - 10 * i) * 60 * S),
                        f"order {i} failed {NEEDLE} status=500" if i % 3 == 0 else
                        f"order {i} slow {NEEDLE} took=2s",
                        {"level": "error" if i % 3 == 0 else "warn", "trace_id": f"trace-{i}"}]
                       for i in range(6)]
            push(url, {"app": "shop", "host": "web-1"}, needles)
            push(url, {"app": "shop", "host": "web-2"},
                 [[str(now - k * 70 * S), f"order {k} ok", {"level": "info"}] for k in range(40)])
            push(url, {"app": "other"}, [[str(now - 5 * S), f"not this app {NEEDLE}"]])
            yield url
    finally:
        runtime.close()


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (360, "dark")])
def test_search_histogram_and_live_tail(browser, site, width, scheme):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(10_000)
    csp = record_csp_violations(page)
    try:
        page.goto(site + "/logs")
        page.fill("#logs-query", QUERY)
        page.select_option("#logs-range", "3h")
        page.click("button[type=submit]")
        page.wait_for_selector("#logs[data-state=done]")
        # The query and range are in the URL, so the search can be shared.
        params = parse_qs(urlsplit(page.url).query)
        assert params["query"] == [QUERY] and params["range"] == ["3h"]
        texts = page.locator(".log-line .log-text").all_inner_texts()
        assert texts == [f"order {i} " + ("failed" if i % 3 == 0 else "slow") + f" {NEEDLE} " +
                         ("status=500" if i % 3 == 0 else "took=2s") for i in reversed(range(6))]
        assert page.locator(".log-line.level-error").count() == 2
        assert page.locator(".log-line.level-warn").count() == 4
        assert "host=web-1" in page.locator(".log-line").first.locator(".log-labels").inner_text()
        # The histogram: the 6 lines in 6 buckets (10 minutes apart, 3-minute buckets).
        histogram = page.locator("#logs")
        assert histogram.get_attribute("data-total") == "6"
        assert histogram.get_attribute("data-bars") == "6"
        assert page.locator("#logs-histogram canvas").count() >= 1
        # A line opens to its labels and structured fields; the others stay closed.
        assert page.locator(".log-fields:visible").count() == 0
        first = page.locator(".log-line").first
        first.locator(".log-summary").click()
        assert first.locator(".log-summary").get_attribute("aria-expanded") == "true"
        fields = first.locator(".log-fields").inner_text()
        assert "trace_id" in fields and "trace-5" in fields
        assert page.locator(".log-fields:visible").count() == 1
        assert axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"logs-{width}-{scheme}.png"), full_page=True)

        # Live tail: a line pushed after it started appears on top.
        page.click("#logs-live")
        page.wait_for_selector("#logs[data-live=on]")
        assert page.locator("#logs-live").get_attribute("aria-pressed") == "true"
        live_line = f"pushed while tailing {NEEDLE} at {width}"
        push(site, {"app": "shop", "host": "web-3"}, [[str(time.time_ns()), live_line,
                                                       {"level": "error"}]])
        push(site, {"app": "shop", "host": "web-3"}, [[str(time.time_ns()), "no needle here"]])
        page.wait_for_selector(".log-line.log-new")
        assert page.locator(".log-line .log-text").first.inner_text() == live_line
        assert page.locator(".log-line.log-new").count() == 1
        assert axe_violations(page) == []
        page.screenshot(path=str(SHOTS / f"logs-live-{width}-{scheme}.png"), full_page=True)
        page.click("#logs-live")
        assert page.locator("#logs-live").get_attribute("aria-pressed") == "false"
        assert csp == []
    finally:
        context.close()


def test_a_bad_query_is_shown_not_thrown(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 700})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(site + "/logs?query=" + quote('{app="shop"'))
        page.wait_for_selector("#logs[data-state=error]")
        assert "parse error" in page.locator("#logs-status").inner_text()
    finally:
        context.close()


def test_a_logged_in_viewer_tails_over_the_session(browser, tmp_path):
    # With access control on, the page's WebSocket rides on the session cookie: the tail
    # route must let the viewer in (same origin) as the gate lets the page load.
    from vigil.access import AccessService, Role
    from vigil.state import Store
    from vigil.web.access_gate import AccessPolicy

    store = Store.open_in(str(tmp_path / "state"))
    people = AccessService(store.access)
    people.add_user("vic", Role.VIEWER, actor="test", password="vic-password")
    shipper = people.create_token("shipper", Role.RESPONDER, actor="test")
    runtime = LogsRuntime(LogsConfig(), store_path=str(tmp_path / "logs"),
                          state_dir=str(tmp_path / "tail"))
    deps = dataclasses.replace(make_deps(), logs=runtime, access=AccessPolicy(people))
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        with serve_app(lambda _: create_app(deps)) as url:
            page = context.new_page()
            page.set_default_timeout(10_000)
            target = "/logs?" + urlencode({"query": QUERY, "range": "15m"})
            page.goto(url + target)
            page.fill("#username", "vic")
            page.fill("#password", "vic-password")
            page.click("button[type=submit]")
            page.wait_for_url(url + target)
            page.wait_for_selector("#logs[data-state=done]")
            page.click("#logs-live")
            page.wait_for_selector("#logs[data-live=on]")
            r = httpx.post(url + "/loki/api/v1/push", headers={"Authorization": f"Bearer {shipper}"},
                           json={"streams": [{"stream": {"app": "shop"},
                                              "values": [[str(time.time_ns()), f"for vic {NEEDLE}"]]}]})
            assert r.status_code == 204
            page.wait_for_selector(".log-line.log-new")
            assert page.locator(".log-line .log-text").first.inner_text() == f"for vic {NEEDLE}"
    finally:
        context.close()
        runtime.close()
        store.close()
