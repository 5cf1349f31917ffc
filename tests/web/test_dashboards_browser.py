"""The dashboard pages in headless Debian Chromium over a real TSDB with known series
(tests/support/dashboard_data.py): what a person sees on tests/data/dashboards/browser-hosts.yaml
(series drawn, hover values, a stat's value and unit, a table's rows, the status grid), the
time range, a variable and a drag-zoom changing the URL and the data; an editor editing and
saving the YAML (the file changes on disk) and importing a Grafana dashboard; a viewer sees no
edit controls. axe finds nothing, the CSP is never violated; screenshots go to test-artifacts/."""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.support.browser import (
    ARTIFACTS,
    axe_violations,
    new_page,
    record_csp_violations,
    serve_app,
)
from tests.support.dashboard_data import write_hosts
from tests.support.tsdb_store import open_temp_tsdb
from tests.web.fakes import make_deps
from tests.web.real_alerting import real_alerting
from vigil.access import AccessService, Role
from vigil.dashboards.store import DashboardSettings, DashboardStore
from vigil.model.alert import Alert
from vigil.model.labels import Labels
from vigil.promql import Engine
from vigil.state import Store
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parents[1] / "data"
NAME = "browser-hosts"
PAGE = f"/dashboards/{NAME}"


@dataclasses.dataclass
class Served:
    base: str
    folder: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("dashboards")
    db = open_temp_tsdb(root / "tsdb")
    write_hosts(db, int(time.time() * 1000))
    folder = root / "folder"
    folder.mkdir()
    shutil.copy(DATA / "dashboards" / f"{NAME}.yaml", folder)
    store = Store.open_in(str(root / "state"))
    access = AccessService(store.access)
    access.add_user("vera", Role.VIEWER, actor="test", password="vera-password")
    access.add_user("ed", Role.EDITOR, actor="test", password="ed-password")
    alerting = real_alerting(root / "alerting")
    alerting.put_alerts([Alert(Labels.of(alertname="HostDown", instance="host-c", severity="critical"),
                               Labels.of(summary="host-c does not answer"),
                               starts_at=datetime.now(timezone.utc)),
                         Alert(Labels.of(alertname="SlowDisk", severity="warning"), Labels.of(),
                               starts_at=datetime.now(timezone.utc))])
    settings = DashboardSettings(folders=(folder,), shipped=None)
    deps = dataclasses.replace(make_deps(), engine=Engine(db), storage=db, now=time.time,
                               alerting=alerting, access=AccessPolicy(access),
                               dashboards=DashboardStore(lambda: settings))
    try:
        with serve_app(lambda _base: create_app(deps)) as base:
            yield Served(base, folder)
    finally:
        db.close()
        store.close()


def _log_in(browser, base: str, user: str, password: str):
    context, page = new_page(browser)
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page


@pytest.fixture
def viewer(browser, served) -> Iterator:
    context, page = _log_in(browser, served.base, "vera", "vera-password")
    yield page
    context.close()


@pytest.fixture
def editor(browser, served) -> Iterator:
    context, page = _log_in(browser, served.base, "ed", "ed-password")
    yield page
    context.close()


def _drawn(page, generation: int = 0) -> int:
    """Waits until every open panel is drawn (after ``generation``); the new generation."""
    page.wait_for_function(
        "g => { const d = document.getElementById('dashboard');"
        " return d !== null && d.dataset.state === 'drawn' && Number(d.dataset.generation) > g; }", arg=generation)
    return int(page.locator("#dashboard").get_attribute("data-generation"))


def _panel(page, name: str):
    return page.locator(f'.dash-panel[data-panel="{name}"]')


def _query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_viewer_sees_every_panel_drawn_from_the_series(viewer, served):
    violations = record_csp_violations(viewer)
    viewer.goto(served.base + PAGE)
    _drawn(viewer)
    assert viewer.locator("#dash-title").inner_text() == "Browser hosts"
    q = _query(viewer)
    assert q["from"] == ["now-1h"] and q["to"] == ["now"] and q["refresh"] == ["1m"]
    assert q["var-instance"] == ["$__all"]

    load = _panel(viewer, "load")
    assert load.locator("canvas").count() >= 1
    assert load.locator(".legend-name").all_inner_texts() == ["host-a", "host-b", "host-c"]
    box = load.locator(".u-over").bounding_box()
    viewer.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    tooltip = load.locator(".chart-tooltip")
    tooltip.wait_for(state="visible")
    rows = tooltip.locator(".tt-row")
    assert rows.count() == 3
    assert rows.first.locator(".tt-name").inner_text() == "host-b"  # highest first
    assert rows.first.locator(".tt-value").inner_text() == "3"
    assert tooltip.locator(".tt-utc").inner_text().endswith("UTC")
    viewer.screenshot(path=str(ARTIFACTS / "dashboard-hover.png"))
    viewer.mouse.move(0, 0)

    memory = _panel(viewer, "memory")
    assert memory.locator(".stat-number").inner_text() == "2"
    assert memory.locator(".stat-unit").inner_text() == "GiB"
    assert memory.locator(".stat-threshold").inner_text() == "enough"
    assert memory.locator("svg.sparkline polyline").count() == 1
    assert _panel(viewer, "cpu").locator(".gauge-value").inner_text() == "50%"
    table_rows = _panel(viewer, "table").locator("tbody tr")
    assert table_rows.count() == 3
    assert table_rows.nth(1).locator("td").all_inner_texts() == ["host-b", "node", "3"]
    grid = _panel(viewer, "targets")
    assert grid.locator(".status-cell.status-down .status-name").all_inner_texts() == ["host-c"]
    assert grid.locator(".status-cell.status-up .status-name").all_inner_texts() == ["host-a", "host-b"]
    assert _panel(viewer, "bars").locator(".bar-value").all_inner_texts() == ["90%", "40%", "20%"]
    assert _panel(viewer, "latency").locator("canvas.heatmap").count() == 1
    alerts = _panel(viewer, "alerts").locator(".alert-item")
    assert alerts.count() == 1 and "HostDown" in alerts.inner_text()
    notes = _panel(viewer, "notes").locator(".markdown")
    assert notes.locator("h4").inner_text() == "On call"  # "##" under the panel's h3
    assert "<script>alert(1)</script>" in notes.inner_text()  # shown as text, never run
    assert notes.locator("script").count() == 0
    assert notes.locator("a").get_attribute("href") == "/runbooks"

    # Viewers get no edit or import controls, and the editor pages refuse them.
    assert viewer.locator("a.edit-link").count() == 0
    assert viewer.request.get(served.base + PAGE + "/edit").status == 403
    viewer.goto(served.base + "/dashboards")
    assert viewer.locator("a[href='/dashboards/import']").count() == 0
    assert viewer.locator("tr.dashboard-entry a").all_inner_texts() == ["Browser hosts"]
    assert axe_violations(viewer) == []
    viewer.goto(served.base + PAGE)
    _drawn(viewer)
    viewer.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert axe_violations(viewer) == []
    assert violations == []


def test_range_variable_zoom_and_rows_change_url_and_data(viewer, served):
    starts: list[float] = []
    viewer.on("request", lambda r: starts.append(float(parse_qs(urlparse(r.url).query)["start"][0]))
              if "/api/v1/query_range" in r.url and "node_load1" in r.url else None)
    viewer.goto(served.base + PAGE)
    generation = _drawn(viewer)
    assert starts and abs(starts[-1] - (time.time() - 3600)) < 120

    viewer.select_option("#range-select", "now-6h")
    generation = _drawn(viewer, generation)
    assert _query(viewer)["from"] == ["now-6h"]
    assert abs(starts[-1] - (time.time() - 6 * 3600)) < 120

    # A variable: host-b alone, re-queried.
    viewer.select_option("#var-instance", ["host-b"])
    generation = _drawn(viewer, generation)
    assert _query(viewer)["var-instance"] == ["host-b"]
    assert _panel(viewer, "load").locator(".legend-name").all_inner_texts() == ["host-b"]
    assert _panel(viewer, "table").locator("tbody tr").count() == 1

    # The legend hides and shows a series; a collapsed row loads when opened.
    viewer.select_option("#var-instance", ["host-a", "host-b"])
    generation = _drawn(viewer, generation)
    first = _panel(viewer, "load").locator(".legend-button").first
    first.click()
    assert first.get_attribute("aria-pressed") == "false"
    first.click()
    assert first.get_attribute("aria-pressed") == "true"
    disk = _panel(viewer, "disk")
    assert disk.is_hidden()
    viewer.locator("button.row-toggle", has_text="Disks").click()
    disk.locator("canvas").first.wait_for()
    assert disk.locator(".legend-name").all_inner_texts() == ["host-a", "host-b"]

    # Drag across the load chart's middle third: the range narrows to absolute times.
    before = len(starts)
    box = _panel(viewer, "load").locator(".u-over").bounding_box()
    y = box["y"] + box["height"] / 2
    viewer.mouse.move(box["x"] + box["width"] / 3, y)
    viewer.mouse.down()
    viewer.mouse.move(box["x"] + box["width"] * 2 / 3, y, steps=8)
    viewer.mouse.up()
    _drawn(viewer, generation)
    q = _query(viewer)
    start_ms, end_ms = int(q["from"][0]), int(q["to"][0])
    assert 1.5 * 3600_000 < end_ms - start_ms < 2.5 * 3600_000  # a third of 6 h
    assert len(starts) > before and abs(starts[-1] - start_ms / 1000) < 2
    assert viewer.locator("#range-select").input_value() == "custom"
    assert _panel(viewer, "load").locator(".legend-name").all_inner_texts() == ["host-a", "host-b"]
    viewer.screenshot(path=str(ARTIFACTS / "dashboard-zoomed.png"), full_page=True)


def test_editor_checks_and_saves_the_yaml(editor, served):
    violations = record_csp_violations(editor)
    editor.goto(served.base + PAGE)
    _drawn(editor)
    editor.click("a.edit-link")
    editor.wait_for_url(served.base + PAGE + "/edit")
    source = editor.locator("#dashboard-source")
    text = source.input_value()
    assert text.startswith("# The dashboard tests/web/test_dashboards_browser.py opens")

    source.fill(text.replace("$instance", "$nosuchvariable", 1))
    editor.click("#lint-button")
    error = editor.locator("#edit-errors .lint-error").first
    error.wait_for()
    assert "spec.panels.load" in error.locator(".lint-path").inner_text()
    assert "nosuchvariable" in error.locator(".lint-message").inner_text()
    error.locator("button.lint-line").click()  # selects the query's line in the editor
    selected = source.evaluate("a => a.value.slice(a.selectionStart, a.selectionEnd)")
    assert "$nosuchvariable" in selected
    assert axe_violations(editor) == []
    editor.screenshot(path=str(ARTIFACTS / "dashboard-edit-errors.png"), full_page=True)

    source.fill(text.replace("name: Browser hosts,", "name: Browser hosts (edited),"))
    editor.click("#lint-button")
    editor.locator("#edit-status", has_text="No problems found.").wait_for()
    editor.click("#save-button")
    editor.locator("#edit-status", has_text="Saved to").wait_for()
    saved = (served.folder / f"{NAME}.yaml").read_text()
    assert "Browser hosts (edited)" in saved
    editor.click("#edit-view-link")
    editor.wait_for_url(served.base + PAGE + "**")
    _drawn(editor)
    assert editor.locator("#dash-title").inner_text() == "Browser hosts (edited)"
    assert violations == []


def test_editor_imports_a_grafana_dashboard(editor, served):
    violations = record_csp_violations(editor)
    editor.goto(served.base + "/dashboards")
    editor.click("a[href='/dashboards/import']")
    editor.set_input_files("#grafana-file", str(DATA / "grafana" / "redis-exporter.json"))
    editor.click("#import-form button[type=submit]")
    summary = editor.locator("#import-summary")
    summary.wait_for()
    terms = summary.locator("dt").all_inner_texts()
    assert terms[:4] == ["Title", "Panels", "Converted", "Placeholders"]
    suggested = editor.locator("#dashboard-name").input_value()
    converted = editor.locator("#dashboard-source").input_value()
    assert converted.startswith("kind: Dashboard") and f"name: {suggested}\n" in converted
    name = "redis-imported"  # saved under another name than the converter suggests
    editor.fill("#dashboard-name", name)
    assert axe_violations(editor) == []
    editor.screenshot(path=str(ARTIFACTS / "dashboard-import.png"), full_page=True)
    editor.click("#save-button")
    editor.locator("#edit-status", has_text="Saved to").wait_for()
    assert f"name: {name}\n" in (served.folder / f"{name}.yaml").read_text()
    editor.click("#edit-view-link")
    editor.wait_for_url(f"{served.base}/dashboards/{name}**")
    _drawn(editor)
    assert editor.locator(".dash-panel").count() > 5
    editor.screenshot(path=str(ARTIFACTS / "dashboard-imported.png"), full_page=True)
    assert violations == []


def test_auto_refresh_requeries_and_pauses_while_the_tab_is_hidden(viewer, served):
    viewer.clock.install()  # the page's timers run on Playwright's clock, advanced below
    viewer.goto(served.base + PAGE + "?from=now-1h&to=now&refresh=10s")
    generation = _drawn(viewer)
    assert viewer.locator("#refresh-select").input_value() == "10s"
    viewer.clock.run_for(10_500)
    generation = _drawn(viewer, generation)  # refreshed once

    hide = "hidden => { Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});" \
           " document.dispatchEvent(new Event('visibilitychange')); }"
    viewer.evaluate(hide, True)
    viewer.clock.run_for(30_500)  # three refreshes due, none made (none started: still drawn)
    assert viewer.locator("#dashboard").get_attribute("data-state") == "drawn"
    assert int(viewer.locator("#dashboard").get_attribute("data-generation")) == generation
    viewer.evaluate(hide, False)  # back: one refresh at once
    generation = _drawn(viewer, generation)

    viewer.select_option("#refresh-select", "off")
    assert _query(viewer)["refresh"] == ["off"]
    viewer.clock.run_for(60_000)
    assert viewer.locator("#dashboard").get_attribute("data-state") == "drawn"
    assert int(viewer.locator("#dashboard").get_attribute("data-generation")) == generation
