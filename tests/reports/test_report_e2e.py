"""Reports in a real Vigil process, as a user runs them: ``vigil report daily`` through its API
(progress bar, PDF to a file, opened with pdftoppm: PNGs in test-artifacts/reports/ to look
at), the run in the archive; ``vigil check`` refuses a schedule naming no report, at its line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from tests.support.vigil_proc import VigilProcess

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"
CONFIG = """default_rules: false
collectors: {host: {enabled: true, scrape_interval: 1s}}
global: {scrape_interval: 1s}
reports:
  timezone: Europe/Helsinki
  schedules:
    - report: daily
      cron: "30 8 * * *"
"""


def vigil(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vigil", *args], capture_output=True, text=True, timeout=120)


def test_vigil_report_daily_as_pdf(tmp_path: Path) -> None:
    config = tmp_path / "vigil.yml"
    config.write_text(CONFIG)
    proc = VigilProcess(config, tmp_path / "data").start()
    try:
        listed = vigil("report", "--list", "--url", proc.url)
        assert listed.returncode == 0, listed.stderr
        assert any(line.startswith("daily ") and "30 8 * * * Europe/Helsinki" in line for line in listed.stdout.splitlines())
        pdf = ARTIFACTS / "daily-e2e.pdf"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        r = vigil("report", "daily", "--format", "pdf", "-o", str(pdf), "--url", proc.url, "--poll", "0.1")
        assert r.returncode == 0, r.stderr
        assert "daily" in r.stderr and "sections" in r.stderr and f"wrote {pdf}" in r.stderr
        text = "".join(p.extract_text() for p in PdfReader(pdf).pages)
        assert "Daily health report" in text or "Daily" in text
        for old in ARTIFACTS.glob("daily-e2e-*.png"):
            old.unlink()
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(ARTIFACTS / "daily-e2e")], check=True, timeout=60)
        assert len(list(ARTIFACTS.glob("daily-e2e-*.png"))) == len(PdfReader(pdf).pages)
        runs = httpx.get(f"{proc.url}/api/vigil/v1/reports/runs", timeout=10).json()["data"]
        assert [(x["name"], x["status"], x["trigger"]) for x in runs] == [("daily", "done", "cli")]
        j = httpx.get(f"{proc.url}{runs[0]['links']['json']}", timeout=10).json()
        assert j["name"] == "daily" and j["timezone"] == "Europe/Helsinki"
        page = httpx.get(f"{proc.url}/reports", timeout=10, headers={"Accept": "text/html"})
        assert page.status_code == 200 and f"/reports/runs/{runs[0]['id']}/pdf" in page.text
    finally:
        proc.stop()


def test_vigil_check_refuses_a_schedule_of_no_report(tmp_path: Path) -> None:
    config = tmp_path / "vigil.yml"
    config.write_text(CONFIG.replace("report: daily", "report: nightly"))
    r = vigil("check", "config", str(config))
    assert r.returncode == 1
    assert f"{config}:7:7: reports.schedules[0].report: no report 'nightly'; the reports are " in r.stderr, r.stderr
    assert "daily" in r.stderr.rpartition("the reports are ")[2]
