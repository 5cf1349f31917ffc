"""/slos in headless Chromium: a viewer logs in and reads each SLO's budget left (meter and
percentage) and its burn rate per window, those over an alert threshold marked. Axe-clean,
no CSP violations, readable at 360 px; screenshots in test-artifacts/slos/."""

from __future__ import annotations

import pytest

from tests.slo.support import serve_slos
from tests.support.browser import ARTIFACTS, axe_violations, record_csp_violations

SHOTS = ARTIFACTS / "slos"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with serve_slos(tmp_path_factory.mktemp("slo-browser")) as url:
        yield url


@pytest.mark.parametrize("width", [1280, 360])
def test_a_viewer_reads_the_slos(browser, site, width):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(site + "/slos")
        page.fill("#username", "vic")
        page.fill("#password", "vic-pw")
        page.click("button[type=submit]")
        page.wait_for_url(site + "/slos")
        csp = record_csp_violations(page)
        page.reload()
        page.wait_for_load_state("networkidle")
        assert page.locator("#slo-shop-avail meter").get_attribute("value") == "0"
        assert page.locator("#slo-shop-relaxed meter").get_attribute("value") == "0.944"
        # 5m, 30m and 1h are over their page limits; 2h, 6h, 1d, 3d over their ticket limits.
        assert page.locator("#slo-shop-avail td.over-page").count() == 3
        assert page.locator("#slo-shop-avail td.over-ticket").count() == 4
        assert page.locator("#slo-shop-relaxed td.over").count() == 0
        assert "page when 5m and 1h burn above 14.40×" in page.locator("#slo-thresholds").inner_text()
        assert axe_violations(page) == []
        assert csp == []
        page.screenshot(path=str(SHOTS / f"slos-{width}.png"), full_page=True)
    finally:
        context.close()
