"""/objectives in headless Chromium: a viewer logs in, reads the targets (met and missed in
words), the availability with its error budget meter, MTTA/MTTR per group, and changes the
grouping with the form. Axe-clean, no CSP violations, readable at 360 px; screenshots in
test-artifacts/objectives/."""

from __future__ import annotations

import pytest

from tests.objectives.support import serve_objectives
from tests.support.browser import ARTIFACTS, axe_violations, record_csp_violations

SHOTS = ARTIFACTS / "objectives"
WINDOW = "/objectives?start=2026-10-20&end=2026-11-19"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with serve_objectives(tmp_path_factory.mktemp("objectives-browser")) as (url, _token):
        yield url


def _clean(page, csp: list[str], shot: str) -> None:
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == [], shot
    assert csp == [], shot
    page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 360])
def test_a_viewer_reads_the_objectives(browser, site, width):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(site + WINDOW)
        page.fill("#username", "vic")
        page.fill("#password", "vic-pw")
        page.click("button[type=submit]")
        page.wait_for_url(site + WINDOW)
        csp = record_csp_violations(page)
        page.reload()
        assert page.locator("#target-mtta .badge").inner_text() == "Met"
        assert page.locator("#target-mttr .badge").inner_text() == "Missed"
        assert page.locator("#target-false_positive_rate .badge").inner_text() == "Missed"
        assert page.locator("#target-availability-api .badge").inner_text() == "Met"
        assert page.locator("#service-api meter").get_attribute("value") is not None
        assert page.locator("#alerts tbody th").all_inner_texts() == ["P1", "P2", "P3", "P4", "Total"]
        _clean(page, csp, f"by-priority-{width}")

        page.select_option("select[name=by]", "team")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**by=team**")
        assert page.locator("#alerts tbody th").all_inner_texts() == ["db", "web", "Total"]
        web = page.locator("#alerts tbody tr", has_text="web")
        assert "9m 00s" in web.inner_text() and "1 of 1 (100.0 %)" in web.inner_text()
        _clean(page, csp, f"by-team-{width}")
    finally:
        context.close()
