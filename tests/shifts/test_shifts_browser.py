"""/shifts in headless Chromium as a person on shift uses it: the checklist, Vigil's checks
run with their evidence (the failing probe shown), a tick with a note, the hand-over that
carries the open items to the next shift, whose page shows them as carried; a viewer sees
no forms. Every state is axe-clean, without CSP violations, readable at 360 px and in dark
mode; screenshots in test-artifacts/shifts/."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from tests.incidents.support import deps_with, people
from tests.shifts.support import now_s, shifts_config, write_samples
from tests.support.browser import ARTIFACTS, axe_violations, record_csp_violations, serve_app
from vigil.promql import Engine
from vigil.shifts.checks import ShiftChecker
from vigil.shifts.service import ShiftService
from vigil.state import Store
from vigil.state.lifecycle_store import LifecycleStore
from vigil.state.shift_store import ShiftStore
from vigil.tsdb import DB
from vigil.web import create_app

SHOTS = ARTIFACTS / "shifts"
# One shift a day (the runbook's morning list), so the test's instant always falls in it.
CONFIG = shifts_config("""
shifts:
  shifts:
    - name: morning
      title: Morning checklist
      start: "00:00"
      items:
        - {title: Review overnight alerts (PagerDuty/Slack), key: overnight_alerts}
        - {title: Verify all critical services are green, key: critical_services, check: critical_services}
        - {title: Review backup completion status, key: backups, check: backups_done}
        - {title: Check IoT device connectivity, key: iot_connectivity}
""")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shifts-browser")
    store = Store.open_in(str(tmp / "state"))
    access = people(store, viewers=["vic"], responders=["ann"])
    with DB.open(str(tmp / "tsdb")) as db:
        at = now_s()
        write_samples(db, at - timedelta(seconds=5), [
            ({"__name__": "probe_success", "instance": "https://erp.example"}, 1.0),
            ({"__name__": "probe_success", "instance": "https://milk-api.example"}, 0.0),
            ({"__name__": "vigil_backup_newest_age_seconds", "dir": "/backups/pg"}, 5400.0)])
        service = ShiftService(ShiftStore(store.engine), config=lambda: CONFIG,
                               checker=ShiftChecker(Engine(db), LifecycleStore(store.engine)))
        deps = dataclasses.replace(deps_with(access), shifts=service)
        with serve_app(lambda _url: create_app(deps)) as url:
            yield url
    store.close()


def _login(browser, base: str, user: str, **options):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(base + "/shifts")
    page.fill("#username", user)
    page.fill("#password", f"{user}-pw")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/shifts")
    return context, page


def _clean(page, csp: list[str], shot: str) -> None:
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == [], shot
    assert csp == [], shot
    page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)


def test_a_shift_checked_ticked_and_handed_over_in_the_browser(browser, site):
    context, page = _login(browser, site, "ann")
    try:
        csp = record_csp_violations(page)
        assert page.locator("h1").inner_text().startswith("Morning checklist ")
        assert page.locator(".shift-item .badge").all_inner_texts() == ["To do"] * 4
        assert page.locator(".shift-item .item-kind").nth(1).inner_text() == "checked by Vigil (critical_services)"
        _clean(page, csp, "1-opened")

        page.click("#run-checks")
        services = page.locator("#item-critical_services")
        assert services.locator(".badge").inner_text() == "Failed"
        assert services.locator(".item-by").inner_text().startswith("Vigil at ")
        evidence = services.locator(".item-evidence")
        assert evidence.get_attribute("open") is not None  # a failure shows its evidence at once
        assert "Query probe_success, condition == 1" in evidence.inner_text()
        assert "2 series, 1 failing" in evidence.inner_text()
        first = evidence.locator("tbody tr").first
        assert first.get_attribute("class") == "bad"
        assert 'instance="https://milk-api.example"' in first.inner_text() and "no" in first.inner_text()
        assert page.locator("#item-backups .badge").inner_text() == "Verified"
        page.locator("#item-backups summary").click()
        assert "5400" in page.locator("#item-backups .evidence-series").inner_text()
        _clean(page, csp, "2-checked")

        iot = page.locator("#item-iot_connectivity")
        iot.locator("input[name=note]").fill("212 of 214 sensors report; 2 barn-3 meters offline since 07:10")
        iot.get_by_role("button", name="Done: Check IoT device connectivity").click()
        iot = page.locator("#item-iot_connectivity")
        assert iot.locator(".badge").inner_text() == "Done"
        assert iot.locator(".item-by").inner_text().startswith("ann at ")
        assert "2 barn-3 meters offline" in iot.locator(".item-note").inner_text()
        # A tick needs a note: the browser asks for one before posting.
        overnight = page.locator("#item-overnight_alerts")
        overnight.get_by_role("button", name="Done: Review overnight alerts (PagerDuty/Slack)").click()
        assert overnight.locator(".badge").inner_text() == "To do"
        assert page.locator("#item-overnight_alerts input[name=note]").evaluate("e => !e.validity.valid")

        assert page.locator(".open-items li").all_inner_texts() == [
            "Review overnight alerts (PagerDuty/Slack)", "Verify all critical services are green"]
        page.fill("#handover-note", "milk-api probe down, vendor ticket MA-77; overnight alerts not reviewed yet")
        page.get_by_role("button", name="Hand over").click()
        assert "vendor ticket MA-77" in page.locator(".handover-note").inner_text()
        assert "by ann at " in page.locator("#handover").inner_text()
        _clean(page, csp, "3-handed-over")

        page.locator("#handover a").first.click()
        assert page.locator("h1").inner_text().startswith("Morning checklist ")
        # The next shift opens with the note it was handed.
        assert "vendor ticket MA-77" in page.locator("#received .handover-note").inner_text()
        assert "handed over by ann" in page.locator("#received h2").inner_text()
        carried = page.locator(".shift-item", has_text="carried over from")
        assert carried.locator(".item-title").all_inner_texts() == [
            "Review overnight alerts (PagerDuty/Slack)", "Verify all critical services are green"]
        assert page.locator(".shift-history tbody tr").count() == 2
        _clean(page, csp, "4-next-shift")
    finally:
        context.close()


@pytest.mark.parametrize("mode", ["phone", "dark"])
def test_viewer_sees_no_forms_and_the_page_reads_on_a_phone_and_in_dark_mode(browser, site, mode):
    options = ({"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
                "has_touch": True} if mode == "phone" else {"color_scheme": "dark"})
    context, page = _login(browser, site, "vic", **options)
    try:
        csp = record_csp_violations(page)
        assert page.locator(".shift-item").count() >= 4
        assert page.locator("form.tick-form, .handover-form, #run-checks").count() == 0
        if mode == "phone":
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
        else:
            assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(15, 19, 24)"
        _clean(page, csp, f"viewer-{mode}")
    finally:
        context.close()
