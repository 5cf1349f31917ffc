"""Loading the Infrastructure dashboard over 100 hosts in headless Debian Chromium (issue 18's
measure): first paint and all panels drawn.

A real Vigil web app (uvicorn on loopback, the PromQL engine over a real TSDB, no access
control, an empty alerting store) serves the dashboard file (by default the shipped
vigil/dashboards/shipped/infrastructure.yaml) and node_exporter-like series for ``--hosts``
hosts over the dashboard's range plus half an hour at 15 s
(tests/support/dashboard_data.write_node_fleet; every 37th host down). Each of ``--runs``
loads opens /dashboards/NAME in a fresh 1280×900 page with the default range and variables
(every host) and reads, in ms since navigation started: first contentful paint, and the
dashboard's ``vigil:all-drawn`` mark (every open panel's queries answered and drawn). The
medians are printed with the panels drawn and those that showed an error.

Run: ``.venv/bin/python bench/dashboard_load.py [--hosts 100] [--runs 3]
[--dashboard vigil/dashboards/shipped/infrastructure.yaml]`` (needs ``npm ci``, the built
bundle (node scripts/build-web.mjs) and Debian's chromium, as scripts/test installs them).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, serve_app  # noqa: E402
from tests.support.dashboard_data import write_node_fleet  # noqa: E402
from tests.support.tsdb_store import open_temp_tsdb  # noqa: E402
from tests.web.fakes import make_deps  # noqa: E402
from tests.web.real_alerting import real_alerting  # noqa: E402
from vigil.dashboards.store import DashboardSettings, DashboardStore  # noqa: E402
from vigil.gocompat.durations import parse_duration_ms  # noqa: E402
from vigil.promql import Engine  # noqa: E402
from vigil.web import create_app  # noqa: E402

DEFAULT = ROOT / "vigil" / "dashboards" / "shipped" / "infrastructure.yaml"
TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const drawn = performance.getEntriesByName("vigil:all-drawn")[0];
  const panels = [...document.querySelectorAll(".dash-panel")];
  return {fcp: fcp ? fcp.startTime : null, drawn: drawn ? drawn.startTime : null,
          domContentLoaded: nav.domContentLoadedEventEnd,
          panels: panels.length,
          drawnPanels: panels.filter(p => p.dataset.state === "drawn").length,
          errors: panels.filter(p => p.dataset.state === "error")
                        .map(p => p.dataset.panel + ": " + p.innerText.slice(0, 200))};
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dashboard", type=Path, default=DEFAULT)
    args = parser.parse_args()
    if not args.dashboard.exists():
        sys.exit(f"{args.dashboard}: no such dashboard file")
    spec = yaml.safe_load(args.dashboard.read_text())
    name = spec["metadata"]["name"]
    hours = parse_duration_ms(spec["spec"].get("duration", "1h")) / 3600_000 + 0.5

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "dashboards"
        folder.mkdir()
        shutil.copy(args.dashboard, folder)
        db = open_temp_tsdb(Path(tmp) / "tsdb")
        began = time.monotonic()
        write_node_fleet(db, int(time.time() * 1000), args.hosts, hours=hours)
        series = len(db.series_labels())
        print(f"wrote {series:,} series for {args.hosts} hosts over {hours:g} h in "
              f"{time.monotonic() - began:.1f} s")
        settings = DashboardSettings(folders=(folder,), shipped=None)
        deps = dataclasses.replace(make_deps(), engine=Engine(db), storage=db, now=time.time,
                                   alerting=real_alerting(Path(tmp) / "alerting"),
                                   dashboards=DashboardStore(lambda: settings))
        runs = []
        try:
            with serve_app(lambda _base: create_app(deps)) as base, sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for _ in range(args.runs):
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    page.goto(f"{base}/dashboards/{name}")
                    page.wait_for_function(
                        "() => document.getElementById('dashboard')?.dataset.state === 'drawn'",
                        timeout=120_000)
                    runs.append(page.evaluate(TIMINGS))
                    page.close()
                browser.close()
        finally:
            db.close()

    last = runs[-1]
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{args.dashboard.name}: {last['panels']} panels, {last['drawnPanels']} drawn, "
          f"{len(last['errors'])} with an error; {args.runs} loads, median ms since navigation:")
    for key, label in (("fcp", "first contentful paint"), ("domContentLoaded", "DOM content loaded"),
                       ("drawn", "all panels drawn")):
        print(f"  {label:24s} {statistics.median(r[key] for r in runs):8.0f}")
    for error in last["errors"]:
        print(f"  error: {error}")


if __name__ == "__main__":
    main()
