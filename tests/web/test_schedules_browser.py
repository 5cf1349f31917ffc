"""The /schedules page in headless Chromium: the timeline with layers, overrides and a gap,
no content-security-policy violation, and an override added through the page's form.
The screenshot goes to test-artifacts/schedules.png."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from tests.support.browser import ARTIFACTS, new_page, record_csp_violations, serve_app
from tests.web.fakes import make_deps
from vigil.oncall.schedule import Layer, Restriction, Schedule
from vigil.oncall.schedules import ScheduleService
from vigil.state import Store
from vigil.state.schedule_store import ScheduleStore
from vigil.web import create_app

pytestmark = pytest.mark.browser

NOW = datetime(2026, 3, 26, 10, tzinfo=UTC)  # Thursday; the range crosses Berlin's spring change
PRIMARY = Schedule("primary", "Europe/Berlin", (
    Layer("weekly", ("ann", "bob", "carl"), timedelta(weeks=1), date(2026, 3, 2), time(9)),
    # Business hours on weekdays only, cover from dora: the weekend stays with the weekly layer.
    Layer("business-hours", ("dora", "eve"), timedelta(days=1), date(2026, 3, 2), time(9),
          restrictions=(Restriction("weekly", 9 * 60, 4 * 1440 + 17 * 60),)),
), "Production on call")
# Nights only: the rest of each day is a gap, drawn in red.
NIGHTS = Schedule("nights", "America/New_York", (
    Layer("nights", ("frank", "gina"), timedelta(days=1), date(2026, 3, 2), time(0),
          restrictions=(Restriction("daily", 0, 8 * 60), Restriction("daily", 20 * 60, 1440))),))


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, ScheduleService]]:
    store = Store.open_in(str(tmp_path_factory.mktemp("state")))
    service = ScheduleService(ScheduleStore(store.engine), lambda: {"primary": PRIMARY, "nights": NIGHTS},
                              clock=lambda: NOW)
    service.create_override("primary", "zoe", datetime(2026, 3, 27, 12, tzinfo=UTC),
                            datetime(2026, 3, 28, 6, tzinfo=UTC), actor="test", note="trade")
    deps = dataclasses.replace(make_deps(), schedules=service)
    with serve_app(lambda _base: create_app(deps)) as base:
        yield base, service
    store.close()


def test_schedules_page_draws_layers_overrides_and_gaps(browser, served):
    base, service = served
    context, page = new_page(browser)
    try:
        violations = record_csp_violations(page)
        page.goto(f"{base}/schedules")
        assert page.locator("nav a.active").inner_text() == "Schedules"
        primary = page.locator("#schedule-primary")
        assert "on call now: dora" in primary.locator(".oncall-now").inner_text()
        labels = primary.locator(".row-layer text").all_text_contents()
        assert "weekly" in labels and "business-hours" in labels
        assert primary.locator(".row-overrides rect.override").count() == 1
        assert "zoe" in primary.locator(".row-overrides rect title").text_content()
        assert primary.locator(".row-final rect.gap").count() == 0
        nights = page.locator("#schedule-nights")
        assert nights.locator(".row-final rect.gap").count() == 14
        assert "14 gaps" in nights.locator(".gap-count").inner_text()
        assert nights.locator("line.now").count() == 1
        box = primary.locator("svg.timeline").bounding_box()
        assert box is not None and box["width"] > 1000
        page.screenshot(path=str(ARTIFACTS / "schedules.png"), full_page=True)
        # Add an override through the form (the local admin may name anyone).
        form = page.locator("#schedule-nights form.override-form")
        form.locator("input[name=user]").fill("zoe")
        form.locator("input[name=from]").fill("2026-03-26T09:00")
        form.locator("input[name=to]").fill("2026-03-26T17:00")
        form.locator("input[name=note]").fill("day cover")
        form.locator("button[type=submit]").click()
        page.wait_for_url(f"{base}/schedules")
        nights = page.locator("#schedule-nights")
        assert nights.locator(".row-overrides rect.override").count() == 1
        assert nights.locator(".row-final rect.gap").count() == 15  # the override splits one gap in two
        rows = service.override_rows("nights", NOW - timedelta(days=1), NOW + timedelta(days=1))
        assert [(r.user, r.starts_at, r.ends_at, r.note) for r in rows] == [
            ("zoe", datetime(2026, 3, 26, 13, tzinfo=UTC), datetime(2026, 3, 26, 21, tzinfo=UTC), "day cover")]
        assert violations == []
    finally:
        context.close()
