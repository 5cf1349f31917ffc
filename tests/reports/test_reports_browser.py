"""The reports page and an archived report in headless Chromium: an editor logs in, runs the
report with the form (CSRF), sees it in the archive and opens its HTML; no CSP violation (the
report's one style sheet is allowed by its hash, so it is styled), WCAG A/AA by axe-core,
headings in order. Screenshots in test-artifacts/reports/."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.reports.support import harness
from tests.support.browser import ARTIFACTS, axe_violations, new_page, record_csp_violations
from tests.support.incident_pages import assert_headings_in_order, login, serve_services, submit
from vigil.access import AccessService, Role
from vigil.config import load_config_text
from vigil.config.access import AccessConfig
from vigil.reports.service import ReportService

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS / "reports"


def test_run_a_report_from_the_page_and_open_it(browser, tmp_path: Path) -> None:
    h = harness(tmp_path)
    people = AccessService(h.store.access, AccessConfig())
    people.add_user("eddie", Role.EDITOR, actor="test", password="eddie-password")
    cfg = load_config_text('reports:\n  schedules:\n    - {report: sample, cron: "30 8 * * *", email: [ops@example.org]}\n')
    service = ReportService(h.runner(), lambda: cfg.reports)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve_services(people, lambda _url: {"reports": service}) as base:
        context, page = new_page(browser)
        csp = record_csp_violations(page)
        try:
            login(page, base, "/reports", "eddie")
            assert page.locator("nav a[aria-current=page]").inner_text() == "Reports"
            page.fill("#at-sample", "2026-12-07T06:30:00Z")
            submit(page, page.locator("#report-sample button[type=submit]"))
            for _ in range(200):  # the page refreshes itself while the run is in progress
                if page.locator("table.report-archive .badge.report-done").count():
                    break
                time.sleep(0.1)
                page.reload()
            row = page.locator("table.report-archive tbody tr").first
            assert "done" in row.inner_text() and "eddie (ui)" in row.inner_text()
            assert_headings_in_order(page)
            assert axe_violations(page) == []
            page.screenshot(path=str(SHOTS / "reports-page.png"), full_page=True)
            with page.expect_navigation():
                row.locator("a", has_text="HTML").click()
            assert page.locator("h1").inner_text() == "Sample health report"
            # Styled: the embedded style sheet applied (grid of figures, coloured status border).
            assert page.locator(".figures").evaluate("e => getComputedStyle(e).display") == "grid"
            assert page.locator(".figure.status-bad").evaluate("e => getComputedStyle(e).borderLeftColor") == \
                "rgb(176, 0, 32)"
            assert page.locator("svg.chart polyline").count() == 2
            assert_headings_in_order(page)
            assert axe_violations(page) == []
            page.screenshot(path=str(SHOTS / "report-html.png"), full_page=True)
            assert csp == []
        finally:
            context.close()
    h.store.close()
