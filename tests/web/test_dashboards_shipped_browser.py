"""Every shipped dashboard (vigil/dashboards/shipped/) opened in headless Debian Chromium by
the dashboard page: every panel of the open rows is drawn, none shows an error, the CSP is
never violated; a screenshot of each goes to test-artifacts/dashboards/. The Infrastructure
dashboard runs over five node_exporter-like hosts (tests/support/dashboard_data.py) and is
checked for what a person sees: the hosts' series drawn, the targets grid, a stat's value;
axe finds nothing on it. Whether every panel query has data in a demo Vigil is
tests/dashboards/test_shipped_dashboards.py's business."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import (
    ARTIFACTS,
    axe_violations,
    new_page,
    record_csp_violations,
    serve_app,
)
from tests.support.dashboard_data import write_node_fleet
from tests.support.tsdb_store import open_temp_tsdb
from tests.web.fakes import make_deps
from tests.web.real_alerting import real_alerting
from vigil.dashboards.store import SHIPPED_DIR, DashboardSettings, DashboardStore
from vigil.model.labels import Labels
from vigil.promql import Engine
from vigil.web import create_app

pytestmark = pytest.mark.browser

SHIPPED = sorted(p for p in SHIPPED_DIR.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
HOSTS = [f"node-{h:03d}:9100" for h in range(5)]


def _write_milk_meters(db, now_ms: int) -> None:
    """Two milk meters as the demo's MQTT collector names them (metric_prefix milkmeter_),
    so the IoT dashboard's metric-name variables find values."""
    app = db.appender()
    for i, device in enumerate(("meter-1", "meter-2")):
        base = {"job": "demo-milk-meters", "device": device}
        for ts in range(now_ms - 3600_000, now_ms + 1, 15_000):
            app.append(Labels({"__name__": "milkmeter_device_online", **base}), ts, 1.0)
            app.append(Labels({"__name__": "milkmeter_device_last_seen_timestamp_seconds", **base}), ts, ts / 1000)
            app.append(Labels({"__name__": "milkmeter_flow_litres_per_minute", **base}), ts, 10.0 + i)
    app.commit()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("shipped")
    db = open_temp_tsdb(root / "tsdb")
    now_ms = int(time.time() * 1000)
    write_node_fleet(db, now_ms, len(HOSTS), hours=1.5)
    _write_milk_meters(db, now_ms)
    settings = DashboardSettings(folders=(), shipped=SHIPPED_DIR)
    deps = dataclasses.replace(make_deps(), engine=Engine(db), storage=db, now=time.time,
                               alerting=real_alerting(root / "alerting"),
                               dashboards=DashboardStore(lambda: settings))
    try:
        with serve_app(lambda _base: create_app(deps)) as base:
            yield base
    finally:
        db.close()


@pytest.fixture
def page(browser) -> Iterator:
    context, pg = new_page(browser)
    yield pg
    context.close()


def _open(page, base_url: str, name: str) -> list[str]:
    violations = record_csp_violations(page)
    page.goto(f"{base_url}/dashboards/{name}")
    page.wait_for_function("() => document.getElementById('dashboard')?.dataset.state === 'drawn'",
                           timeout=30_000)
    return violations


def test_every_runbook_dashboard_is_listed(page, base_url):
    page.goto(base_url + "/dashboards")
    listed = page.locator("tr.dashboard-entry a").all_inner_texts()
    assert len(listed) == len(SHIPPED) >= 8
    assert "Infrastructure Overview" in listed


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_dashboard_draws_every_panel(page, base_url, path: Path):
    import yaml

    name = yaml.safe_load(path.read_text())["metadata"]["name"]
    violations = _open(page, base_url, name)
    panels = page.locator(".dash-row:not(.collapsed) .dash-panel")
    assert panels.count() > 0
    errors = page.locator(".dash-panel[data-state=error]")
    assert errors.count() == 0, errors.all_inner_texts()
    states = panels.evaluate_all("ps => ps.map(p => p.dataset.state)")
    assert set(states) == {"drawn"}, states
    (ARTIFACTS / "dashboards").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboards" / f"{path.stem}.png"), full_page=True)
    assert violations == []


def test_infrastructure_shows_the_hosts(page, base_url):
    _open(page, base_url, "infrastructure")
    grid = page.locator('.dash-panel[data-kind="StatusGrid"] .status-cell')
    assert grid.count() == len(HOSTS)
    assert page.locator('.dash-panel[data-kind="StatusGrid"] .status-summary').inner_text() == "5 up, 0 down"
    charts = page.locator('.dash-panel[data-kind="TimeSeriesChart"]')
    drawn = charts.filter(has=page.locator("canvas"))
    assert drawn.count() >= 8, charts.all_inner_texts()
    legends = drawn.first.locator(".legend-name").all_inner_texts()
    assert any(host in name for name in legends for host in HOSTS), legends
    assert axe_violations(page) == []
