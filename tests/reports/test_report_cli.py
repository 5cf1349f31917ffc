"""``vigil report NAME`` against a served Vigil app (real reports service on SQLite, access
control): HTML to standard output, PDF and JSON to files, the progress bar on standard error,
--list; exit 1 on a failed report or a refusal, 2 on bad usage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.incidents.support import deps_with
from tests.reports.sample import SampleDefinition
from tests.reports.support import harness
from tests.support.browser import serve_app
from vigil.access import Role
from vigil.access.service import AccessService
from vigil.cli import cli
from vigil.config.access import AccessConfig
from vigil.config.loader import load_config_text
from vigil.reports.service import ReportService
from vigil.web import create_app

_runner = CliRunner()


class Broken(SampleDefinition):
    def build(self, ctx, at):
        ctx.progress("Summary")
        raise KeyError("node_load1")


@pytest.fixture
def served(tmp_path: Path):
    h = harness(tmp_path)
    h.definitions["broken"] = Broken(name="broken")
    access = AccessService(h.store.access, AccessConfig())
    access.add_user("eddie", Role.EDITOR, actor="test", password="eddie-pw")
    editor = access.create_token("eddie-cli", Role.EDITOR, actor="test", user="eddie")
    viewer = access.create_token("vic-cli", Role.VIEWER, actor="test")
    cfg = load_config_text('reports:\n  schedules:\n    - {report: sample, cron: "0 9 * * MON", timezone: UTC}\n')
    service = ReportService(h.runner(), lambda: cfg.reports)
    with serve_app(lambda _url: create_app(deps_with(access, reports=service))) as url:
        yield url, editor, viewer, h
    h.store.close()


def vigil(*args: str):
    return _runner.invoke(cli, ["report", *args])


def test_html_to_stdout_pdf_and_json_to_files(served, tmp_path: Path) -> None:
    url, editor, _, h = served
    auth = ["--url", url, "--token", editor, "--poll", "0.05"]
    r = vigil("sample", "--at", "2026-12-07T06:30:00Z", *auth)
    assert r.exit_code == 0, r.output
    assert "<h1>Sample health report</h1>" in r.stdout and "2026-12-06 08:30 – 2026-12-07 08:30" in r.stdout
    # The progress bar (sections done of total) and the report's problems on stderr.
    assert "sample" in r.stderr and "3/3" in r.stderr and "sections" in r.stderr
    assert 'warning: query up{job="db"} failed: no such job' in r.stderr
    pdf = tmp_path / "daily.pdf"
    r = vigil("sample", "--format", "pdf", "-o", str(pdf), "--timezone", "UTC", *auth)
    assert r.exit_code == 0, r.output
    assert pdf.read_bytes().startswith(b"%PDF-") and f"wrote {pdf}" in r.stderr
    out = tmp_path / "r.json"
    assert vigil("sample", "-f", "json", "-o", str(out), *auth).exit_code == 0
    assert json.loads(out.read_text())["name"] == "sample"
    runs = h.reports.runs()
    assert len(runs) == 3 and {r.trigger for r in runs} == {"cli"} and {r.triggered_by for r in runs} == {"token:eddie-cli"}
    assert [r.timezone for r in runs][1] == "UTC"  # --timezone
    r = vigil("--list", *auth)
    assert r.exit_code == 0
    assert r.stdout.splitlines() == [
        "broken               Sample health report  (3 sections; on demand)",
        "sample               Sample health report  (3 sections; 0 9 * * MON UTC)"]


def test_failures_exit_1_and_bad_usage_2(served) -> None:
    url, editor, viewer, _ = served
    auth = ["--url", url, "--token", editor, "--poll", "0.05"]
    r = vigil("broken", *auth)
    assert r.exit_code == 1 and "error: report broken failed: KeyError: 'node_load1'" in r.stderr
    r = vigil("weekly", *auth)
    assert r.exit_code == 1 and "error: 404: no report 'weekly'; the reports are broken, sample" in r.stderr
    r = vigil("sample", "--url", url, "--token", viewer)
    assert r.exit_code == 1 and "error: 403" in r.stderr
    assert vigil("sample", "--format", "docx", *auth).exit_code == 2
    assert vigil("sample", "--at", "yesterday", *auth).exit_code == 2
    assert vigil(*auth).exit_code == 2
