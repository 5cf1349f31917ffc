"""Reports through the real app and access gate: viewers read the archive, editors run a
report now (202, then its progress and status at its URL), the renderings served (the HTML
under its own CSP), refusals as 400/404 naming what; the page lists, runs and opens them;
every run asked for is audited once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.incidents.support import basic, deps_with, html_headers
from tests.reports.sample import SampleDefinition, sample_report
from tests.reports.support import harness
from vigil.access import Role
from vigil.access.service import AccessService
from vigil.config.access import AccessConfig
from vigil.config.loader import load_config_text
from vigil.reports.render import REPORT_CSP
from vigil.reports.service import ReportService
from vigil.web import create_app

BASE = "/api/vigil/v1/reports"
VIC, EDDIE = basic("vic"), basic("eddie")


class Slow(SampleDefinition):
    """Waits between sections until the test lets it go on, so progress can be read."""

    def __init__(self) -> None:
        super().__init__()
        self.go: list[bool] = []

    def build(self, ctx, at):
        for i, title in enumerate(("Summary", "Trends", "Details")):
            ctx.progress(title)
            while i == 0 and not self.go:
                time.sleep(0.02)
        return sample_report(at)


@pytest.fixture
def env(tmp_path: Path):
    h = harness(tmp_path)
    h.definitions["sample"] = Slow()
    access = AccessService(h.store.access, AccessConfig())
    access.add_user("vic", Role.VIEWER, actor="test", password="vic-pw")
    access.add_user("eddie", Role.EDITOR, actor="test", password="eddie-pw")
    cfg = load_config_text('reports:\n  schedules:\n    - {report: sample, cron: "30 8 * * *", email: [ops@example.org]}\n'
                           '  smtp: {from: v@example.org, smarthost: "127.0.0.1:25"}\n')
    service = ReportService(h.runner(), lambda: cfg.reports)
    with TestClient(create_app(deps_with(access, reports=service))) as client:
        yield client, h
    h.store.close()


def _wait_done(client: TestClient, run_id: str) -> dict:
    for _ in range(600):
        run = client.get(f"{BASE}/runs/{run_id}", headers=VIC).json()["data"]
        if run["status"] != "running":
            return run
        time.sleep(0.05)
    raise AssertionError("the run did not finish")


def test_run_now_progress_archive_and_renderings(env) -> None:
    client, h = env
    cat = client.get(BASE, headers=VIC).json()["data"]
    assert cat == [{"name": "sample", "title": "Sample health report", "sections": 3, "schedules": [
        {"cron": "30 8 * * *", "timezone": "UTC", "email": ["ops@example.org"], "formats": ["pdf"]}]}]
    assert client.post(f"{BASE}/sample/runs", headers=VIC).status_code == 403  # viewers do not run reports
    r = client.post(f"{BASE}/sample/runs?at=2026-12-07T06:30:00Z&timezone=Europe/Helsinki", headers=EDDIE,
                    json={"via": "cli"})
    assert r.status_code == 202, r.text
    run = r.json()["data"]
    assert r.headers["location"] == f"{BASE}/runs/{run['id']}"
    assert (run["status"], run["at"], run["timezone"], run["trigger"], run["triggeredBy"]) == (
        "running", "2026-12-07T06:30:00Z", "Europe/Helsinki", "cli", "eddie")
    # While it runs: one section of three done, readable by a viewer.
    for _ in range(600):
        progress = client.get(f"{BASE}/runs/{run['id']}", headers=VIC).json()["data"]
        if progress["sectionsDone"] == 1:
            break
        time.sleep(0.02)
    assert (progress["status"], progress["sectionsDone"], progress["sectionsTotal"], progress["progress"]) == (
        "running", 1, 3, "Summary")
    page = client.get("/reports", headers=html_headers("vic")).text
    assert '<meta http-equiv="refresh" content="3">' in page and 'value="1"' in page and "1 of 3 sections" in page
    h.definitions["sample"].go.append(True)
    done = _wait_done(client, run["id"])
    assert done["status"] == "done" and done["formats"] == ["html", "json", "pdf"]
    assert done["periodStart"] == "2026-12-06T06:30:00Z" and done["sectionsDone"] == 3
    html = client.get(done["links"]["html"], headers=VIC)
    assert html.headers["content-security-policy"] == REPORT_CSP and "<h1>Sample health report</h1>" in html.text
    pdf = client.get(done["links"]["pdf"], headers=VIC)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert client.get(done["links"]["json"], headers=VIC).json()["name"] == "sample"
    listed = client.get(f"{BASE}/runs?name=sample", headers=VIC).json()["data"]
    assert [x["id"] for x in listed] == [run["id"]]
    # One audit entry for the run asked for.
    entries = [(e.actor, e.action, e.target) for e in h.store.access.audit_entries() if e.actor != "test"]
    assert entries == [("eddie", "report.run", "sample")]


def test_refusals_name_what(env) -> None:
    client, _ = env
    r = client.post(f"{BASE}/weekly/runs", headers=EDDIE)
    assert r.status_code == 404 and r.json()["error"] == "no report 'weekly'; the reports are sample"
    r = client.post(f"{BASE}/sample/runs?at=yesterday", headers=EDDIE)
    assert r.status_code == 400 and r.json()["error"].startswith("at: ")
    r = client.post(f"{BASE}/sample/runs?timezone=Mars/Olympus", headers=EDDIE)
    assert r.status_code == 400 and "unknown time zone 'Mars/Olympus'" in r.json()["error"]
    assert client.get(f"{BASE}/runs/nope", headers=VIC).status_code == 404
    assert client.get(f"{BASE}/runs?limit=0", headers=VIC).status_code == 400
    r = client.post(f"{BASE}/sample/runs", headers=EDDIE, json={"via": "fax"})
    assert r.status_code == 400 and "via must be one of" in r.json()["error"]


def test_the_page_runs_and_opens_reports(env) -> None:
    client, h = env
    h.definitions["sample"].go.append(True)
    page = client.get("/reports", headers=html_headers("vic"))
    assert page.status_code == 200 and "No report has run yet." in page.text
    assert 'action="/reports/sample/run"' not in page.text  # viewers see no run button
    assert 'href="/reports" class="active" aria-current="page">Reports</a>' in page.text
    # Basic-auth form posts need no CSRF token (no session); editors run.
    r = client.post("/reports/sample/run", headers=html_headers("eddie"), data={"at": "2026-12-07T06:30:00Z"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/reports#run-")
    run_id = r.headers["location"].removeprefix("/reports#run-")
    assert _wait_done(client, run_id)["status"] == "done"
    page = client.get("/reports", headers=html_headers("eddie")).text
    assert 'action="/reports/sample/run"' in page and f'href="/reports/runs/{run_id}/pdf">PDF</a>' in page
    assert "2026-12-06 08:30 – 2026-12-07 08:30 (Europe/Helsinki)" in page  # the runner's time zone and "eddie <span class=\"muted\">(ui)</span>" in page
    opened = client.get(f"/reports/runs/{run_id}/html", headers=html_headers("vic"))
    assert opened.headers["content-security-policy"] == REPORT_CSP and "Sample health report" in opened.text
    r = client.post("/reports/daily/run", headers=html_headers("eddie"), data={})
    assert r.status_code == 404 and "no report &#39;daily&#39;" in r.text
    r = client.post("/reports/sample/run", headers=html_headers("eddie"), data={"at": "soon"})
    assert r.status_code == 400 and "at: " in r.text
    assert asyncio.run(ReportService(h.runner(), lambda: None).wait(run_id)).status == "done"
