"""A report drawn three ways: HTML (one self-contained page: its style sheet embedded, charts
as inline SVG, print CSS with page breaks), PDF (that HTML printed by headless Chromium) and
JSON (:meth:`Report.as_dict`).

The PDF is printed by a real browser engine in a subprocess (``chromium --headless
--print-to-pdf``) with a timeout; a missing Chromium, a crash or a timeout is a
:class:`RenderError` that says which and what to do, never an empty file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from vigil.errors import VigilError
from vigil.reports.charts import PALETTE, chart_svg
from vigil.reports.format import format_value
from vigil.reports.model import Chart, Checklist, Figure, Item, Note, Report, Table

__all__ = ["CHROMIUM", "FORMATS", "MEDIA_TYPES", "REPORT_CSP", "RenderError", "render",
           "render_html", "render_json", "render_pdf"]

FORMATS = ("html", "pdf", "json")
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
               "json": "application/json"}
CHROMIUM = os.environ.get("VIGIL_CHROMIUM", "/usr/bin/chromium")

_STATUS_TEXT = {"ok": "met", "warn": "close", "bad": "missed", "unknown": "no data"}
_CSS = (resources.files("vigil.reports") / "templates" / "report.css").read_text(encoding="utf-8")
# The archived HTML is served as it is: its one embedded style sheet is allowed by hash and
# nothing else runs or loads (the charts are inline SVG).
REPORT_CSP = ("default-src 'none'; style-src 'sha256-"
              + base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
              + "'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
_ENV = jinja2.Environment(loader=jinja2.PackageLoader("vigil.reports", "templates"),
                          autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True,
                          lstrip_blocks=True, undefined=jinja2.StrictUndefined)


class RenderError(VigilError):
    """The PDF could not be printed (no Chromium, it failed, or it took too long)."""


def _local(dt: datetime, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _figure(f: Figure) -> dict[str, Any]:
    has_range = f.low is not None and f.high is not None
    return {"label": f.label, "value": format_value(f.value, f.unit), "status": f.status,
            "status_text": _STATUS_TEXT[f.status], "target": f.target, "note": f.note, "query": f.query,
            "range": f"{format_value(f.low, f.unit)} – {format_value(f.high, f.unit)}" if has_range else ""}


def _cell(value: Any, unit: str) -> dict[str, Any]:
    if isinstance(value, bool) or value is None:
        return {"text": {True: "yes", False: "no", None: "—"}[value], "numeric": False}
    if isinstance(value, int | float):
        if unit:
            return {"text": format_value(float(value), unit), "numeric": True}
        return {"text": f"{value:,}" if isinstance(value, int) else format_value(value), "numeric": True}
    if isinstance(value, datetime):
        return {"text": value.strftime("%Y-%m-%d %H:%M"), "numeric": False}
    return {"text": str(value), "numeric": False}


def _blocks(items: tuple[Item, ...], timezone: str) -> list[dict[str, Any]]:
    """The section's items in order, consecutive figures gathered into one grid."""
    blocks: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Figure):
            if not blocks or blocks[-1]["kind"] != "figures":
                blocks.append({"kind": "figures", "figures": []})
            blocks[-1]["figures"].append(_figure(item))
        elif isinstance(item, Table):
            statuses = item.statuses or ("",) * len(item.rows)
            units = item.units or ("",) * len(item.columns)
            blocks.append({"kind": "table", "item": item, "rows": [
                {"cells": [_cell(v, u) for v, u in zip(row, units, strict=False)], "status": status}
                for row, status in zip(item.rows, statuses, strict=False)]})
        elif isinstance(item, Chart):
            legend = [(s.name, PALETTE[i % len(PALETTE)]) for i, s in enumerate(item.series)]
            blocks.append({"kind": "chart", "item": item, "svg": chart_svg(item, timezone),
                           "legend": legend if len(legend) > 1 or (legend and legend[0][0]) else []})
        elif isinstance(item, Note):
            blocks.append({"kind": "note", "item": item})
        elif isinstance(item, Checklist):
            blocks.append({"kind": "checklist", "item": item})
        else:
            raise TypeError(f"a report section cannot hold a {type(item).__name__}")
    return blocks


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (print-ready)."""
    tz = ZoneInfo(report.timezone)
    sections = [{"title": s.title, "page_break": s.page_break_before, "blocks": _blocks(s.items, report.timezone)}
                for s in report.sections]
    return _ENV.get_template("report.html").render(
        report=report, sections=sections, css=_CSS,
        period=f"{_local(report.period_start, tz)} – {_local(report.period_end, tz)}",
        generated=_local(report.generated_at, tz))


def render_json(report: Report) -> bytes:
    return json.dumps(report.as_dict(), indent=2, sort_keys=True, default=str).encode()


def render_pdf(html: str, *, timeout_s: float = 60.0, chromium: str | None = None) -> bytes:
    """``html`` printed to PDF (A4, the page's print CSS) by headless Chromium."""
    binary = chromium or CHROMIUM
    if shutil.which(binary) is None:
        raise RenderError(f"cannot print the PDF: Chromium not found at {binary} "
                          "(install chromium, or set VIGIL_CHROMIUM to its path); HTML and JSON still work")
    with tempfile.TemporaryDirectory(prefix="vigil-report-") as work:
        page, out = os.path.join(work, "report.html"), os.path.join(work, "report.pdf")
        with open(page, "w", encoding="utf-8") as f:
            f.write(html)
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
                "--no-first-run", "--no-default-browser-check", "--disable-dev-shm-usage",
                f"--user-data-dir={os.path.join(work, 'profile')}", "--no-pdf-header-footer",
                "--run-all-compositor-stages-before-draw", f"--print-to-pdf={out}", f"file://{page}"]
        try:
            done = subprocess.run(args, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise RenderError(f"cannot print the PDF: Chromium took longer than {timeout_s:g} s") from None
        if done.returncode != 0 or not os.path.exists(out) or os.path.getsize(out) == 0:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise RenderError(f"cannot print the PDF: Chromium exited {done.returncode}: {' | '.join(tail)}")
        with open(out, "rb") as f:
            return f.read()


def render(report: Report, fmt: str, *, pdf_timeout_s: float = 60.0) -> bytes:
    """The report in ``fmt`` (html, pdf or json) as bytes."""
    if fmt == "json":
        return render_json(report)
    html = render_html(report)
    if fmt == "html":
        return html.encode()
    if fmt == "pdf":
        return render_pdf(html, timeout_s=pdf_timeout_s)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
