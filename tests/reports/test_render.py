"""Rendering a report: the HTML (figures, tables, inline SVG charts, page breaks, nothing
inline that the served page's CSP forbids but the one hashed style sheet), the JSON and the
PDF printed by headless Chromium, opened with pdftoppm (PNGs in test-artifacts/reports/ to
look at) and read back with pypdf."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.reports.sample import sample_report
from vigil.reports.charts import nice_ticks
from vigil.reports.format import format_value
from vigil.reports.render import REPORT_CSP, RenderError, render, render_html, render_pdf

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"


def test_format_value_by_unit() -> None:
    assert format_value(99.934, "percent") == "99.93 %"
    assert format_value(0.05, "ratio") == "5 %"
    assert format_value(412, "seconds") == "6 min 52 s"
    assert format_value(5400, "seconds") == "1 h 30 min"
    assert format_value(12.5e9, "bytes") == "11.6 GiB"
    assert format_value(1, "days") == "1 day"
    assert format_value(23.5, "days") == "23.5 days"
    assert format_value(None, "percent") == "—"
    assert format_value(1234, "count") == "1,234"
    assert format_value(3.25, "req/s") == "3.25 req/s"


def test_nice_ticks_cover_the_range_with_round_steps() -> None:
    assert nice_ticks(41.0, 75.2) == [40.0, 50.0, 60.0, 70.0, 80.0]
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(5.0, 5.0)[0] <= 5.0 <= nice_ticks(5.0, 5.0)[-1]


def test_html_has_every_item_and_the_print_rules() -> None:
    html = render_html(sample_report())
    assert "<h1>Sample health report</h1>" in html
    # Period in the report's time zone (Helsinki is UTC+2 in December).
    assert "2026-12-06 11:00 – 2026-12-07 11:00 (Europe/Helsinki)" in html
    assert "99.93 %" in html and "6 min 52 s" in html and "range 17 days – 31 days" in html
    assert 'class="badge bad">missed' in html
    assert "query up{job=&#34;db&#34;} failed" in html  # problems shown at the top, escaped
    assert html.count("<svg class=\"chart\"") == 1 and "<polyline" in html
    assert 'stroke-dasharray="6 4"' in html and "70 % target" in html  # the threshold
    assert 'class="report-section page-break"' in html and "break-before: page" in html
    assert '<td class="num">11.6 GiB</td><td class="num">23.5 days</td>' in html  # the columns' units
    assert "✘</span>Backups done — vigil" in html and "☐</span>Review dashboards" in html
    # Nothing inline but the one style sheet whose hash the CSP names.
    assert " style=" not in html and "<script" not in html
    css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in REPORT_CSP


def test_json_is_the_model_dict() -> None:
    data = json.loads(render(sample_report(), "json"))
    assert data["name"] == "sample" and data["timezone"] == "Europe/Helsinki"
    assert [s["title"] for s in data["sections"]] == ["Summary", "Trends", "Details"]
    assert data["sections"][0]["items"][0] == {
        "kind": "figure", "label": "Availability", "value": 99.93, "unit": "percent", "target": "≥ 99.9 %",
        "status": "ok", "query": 'avg_over_time(up{job="api"}[1d]) * 100', "note": "", "low": None, "high": None}


def test_pdf_printed_by_chromium_has_the_figures_charts_and_page_break(tmp_path: Path) -> None:
    pdf = render(sample_report(), "pdf")
    assert pdf.startswith(b"%PDF-")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "sample.pdf").write_bytes(pdf)
    reader = PdfReader(ARTIFACTS / "sample.pdf")
    # The "Details" section starts on a new page.
    assert len(reader.pages) >= 2
    first, last = reader.pages[0].extract_text(), reader.pages[-1].extract_text()
    assert "Sample health report" in first and "99.93 %" in first and "6 min 52 s" in first
    assert "Details" not in first and "Details" in last and "Filesystems" in last
    for old in ARTIFACTS.glob("sample-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(ARTIFACTS / "sample.pdf"), str(ARTIFACTS / "sample")],
                   check=True, timeout=60)
    pngs = sorted(ARTIFACTS.glob("sample-*.png"))
    assert len(pngs) == len(reader.pages)
    assert all(p.stat().st_size > 5000 for p in pngs)  # drawn pages, not blank ones


def test_missing_chromium_is_a_clear_error() -> None:
    with pytest.raises(RenderError, match="Chromium not found at /nonexistent/chromium"):
        render_pdf("<html></html>", chromium="/nonexistent/chromium")
