"""Drawing 200 series × 24 h at 15 s (5,761 points each, 1.15 M points) with the dashboard
pages' time-series chart in headless Debian Chromium (issue 18: goal under 1 s).

The Prometheus ``query_range`` answer for those series (JSON, as Vigil sends it) is served
to a page that runs bench/dashboard_draw.js, bundled by esbuild from the dashboard's own
modules (vigil/web/frontend/_matrix.js, _series.js, _chart.js, uPlot from node_modules). The
page times, from the moment the answer's body has been received: reading it as the dashboard
does (_matrix.readMatrix: the points straight from the text into typed arrays, the labels
with JSON.parse), aligning the series on the
step grid, and building the uPlot chart and its legend until uPlot's first draw; then until
the next animation frame (the canvas on screen). Each of ``--runs`` loads is a fresh page;
the medians are printed.

Run: ``.venv/bin/python bench/dashboard_draw.py [--series 200] [--hours 24] [--runs 5]``
(needs ``npm ci`` and Debian's chromium, as scripts/test installs them).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

STEP_S = 15
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>draw bench</title>
<link rel="stylesheet" href="uPlot.min.css"></head>
<body><div id="chart"></div><div id="legend"></div><script type="module" src="bench.js"></script></body></html>
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        pass


def answer(series: int, hours: float, end_s: int) -> tuple[str, int]:
    """A query_range answer of ``series`` series at 15 s over ``hours`` up to ``end_s``, as
    JSON text (with the bench's start/end/step beside ``data``), and its point count."""
    start_s = end_s - int(hours * 3600)
    times = list(range(start_s, end_s + 1, STEP_S))
    result = []
    for k in range(series):
        values = [[t, f"{50 + 40 * math.sin(i / 200 + k):.3f}"] for i, t in enumerate(times)]
        result.append({"metric": {"__name__": "cpu_busy_percent", "instance": f"node-{k:03d}:9100"},
                       "values": values})
    body = {"status": "success", "data": {"resultType": "matrix", "result": result},
            "bench": {"start": start_s, "end": end_s, "step": STEP_S}}
    return json.dumps(body, separators=(",", ":")), len(times)


def build(out: Path) -> None:
    esbuild = ROOT / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        sys.exit(f"{esbuild} missing: run npm ci (scripts/test does)")
    subprocess.run([str(esbuild), str(ROOT / "bench" / "dashboard_draw.js"), "--bundle", "--format=esm",
                    "--minify", f"--outfile={out / 'bench.js'}", "--log-level=warning"], check=True)
    shutil.copy(ROOT / "node_modules" / "uplot" / "dist" / "uPlot.min.css", out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        build(out)
        (out / "index.html").write_text(PAGE)
        text, points = answer(args.series, args.hours, 1_800_000_000)
        (out / "data.json").write_text(text)
        handler = functools.partial(_QuietHandler, directory=str(out))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        results = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(url)
                page.wait_for_function("window.benchResult !== undefined", timeout=60_000)
                result = page.evaluate("window.benchResult")
                if "error" in result:
                    sys.exit(f"the page failed: {result['error']}")
                results.append(result)
                page.close()
            browser.close()
        server.shutdown()

    first = results[0]
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{first['series']} series × {first['points']} points ({first['series'] * first['points']:,} points, "
          f"{len(text) / 1e6:.1f} MB of JSON), {args.runs} runs, median ms:")
    for key, label in (("parseMs", "read the answer (readMatrix)"), ("alignMs", "align on the step grid"),
                       ("drawMs", "uPlot chart + legend, first draw"),
                       ("totalMs", "data received → drawn"), ("frameMs", "data received → next frame")):
        print(f"  {label:34s} {statistics.median(r[key] for r in results):8.1f}")
    assert points == first["points"]


if __name__ == "__main__":
    main()
