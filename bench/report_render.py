"""Cost of drawing a report (issue 19), in process: HTML (Jinja2 and the server-drawn SVG
charts), JSON, and the PDF printed by headless Chromium in a subprocess (most of a run's
rendering time, and the figure a schedule's PDF timeout is set against).

The report is a representative one built here: ``--sections`` sections, each with six
figures, a table of ``--rows`` rows and a chart of four series of ``--points`` points.

Prints the median time of each rendering over ``--rounds`` rounds and the sizes.

Run: ``.venv/bin/python bench/report_render.py [--sections 6] [--rows 40] [--points 288] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from vigil.reports.model import Chart, ChartSeries, Figure, Report, Section, Table
from vigil.reports.render import render_html, render_json, render_pdf


def report(sections: int, rows: int, points: int) -> Report:
    end = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
    t0 = (end - timedelta(days=1)).timestamp()
    step = 86400 / points
    out = []
    for s in range(sections):
        series = tuple(ChartSeries(f"host-{k}", tuple((t0 + i * step, 30 + k * 10 + (i % 50) * 0.4)
                                                      for i in range(points))) for k in range(4))
        out.append(Section(f"Section {s + 1}", (
            *(Figure(f"Figure {f}", 99.0 + f / 10, "percent", target="≥ 99 %", status="ok", query="up") for f in range(6)),
            Table("Hosts", ("host", "cpu", "memory", "disk"),
                  tuple((f"host-{r}", 0.4 + r / 100, 1e9 * r, 3.5 * r) for r in range(rows)),
                  units=("", "ratio", "bytes", "days")),
            Chart("CPU, last 24 h", "percent", series, query="rate(node_cpu_seconds_total[5m])",
                  thresholds=(("70 %", 70.0),)),
        ), page_break_before=s > 0))
    return Report("bench", "Benchmark report", end - timedelta(days=1), end, end, tuple(out), timezone="Europe/Helsinki")


def median_s(work, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=6)
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--points", type=int, default=288)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    r = report(args.sections, args.rows, args.points)
    html = render_html(r)
    pdf = render_pdf(html)
    print(f"report: {args.sections} sections, {args.rows} table rows and 4x{args.points} chart points each")
    print(f"html  {median_s(lambda: render_html(r), args.rounds) * 1000:8.1f} ms  {len(html.encode()):>9,} bytes")
    print(f"json  {median_s(lambda: render_json(r), args.rounds) * 1000:8.1f} ms  {len(render_json(r)):>9,} bytes")
    print(f"pdf   {median_s(lambda: render_pdf(html), args.rounds) * 1000:8.1f} ms  {len(pdf):>9,} bytes (Chromium, A4)")


if __name__ == "__main__":
    main()
