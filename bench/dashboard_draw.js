// Browser side of bench/dashboard_draw.py: fetches data.json (a Prometheus query_range
// answer), then times reading it as the dashboard does (readMatrix), aligning the series
// (align) and drawing them with the dashboard's time-series chart (timeSeriesChart, uPlot)
// until its first draw. Results go to window.benchResult for the Python side to read.
import { align } from "../vigil/web/frontend/_series.js";
import { readMatrix } from "../vigil/web/frontend/_matrix.js";
import { legend, timeSeriesChart } from "../vigil/web/frontend/_chart.js";

async function run() {
  const response = await fetch("data.json");
  const text = await response.text();
  const t0 = performance.now();  // data received
  const { result } = readMatrix(text);
  const t1 = performance.now();
  const { start, end, step } = JSON.parse(text.slice(text.lastIndexOf('"bench":') + 8, -1));
  const aligned = align([{ matrix: result, legend: "{{instance}}", stepS: step }], start, end);
  const t2 = performance.now();
  const root = document.getElementById("chart");
  await new Promise((resolve) => {
    const chart = timeSeriesChart(root, aligned, { yAxis: { format: { unit: "percent" } } }, {
      width: 1200, height: 500, onDrawn: resolve,
    });
    legend(document.getElementById("legend"), chart, aligned);
  });
  const t3 = performance.now();
  // The canvas is painted by the next frame.
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const t4 = performance.now();
  window.benchResult = {
    series: aligned.series.length, points: aligned.xs.length,
    parseMs: t1 - t0, alignMs: t2 - t1, drawMs: t3 - t2, totalMs: t3 - t0, frameMs: t4 - t0,
  };
}

run().catch((e) => { window.benchResult = { error: String(e) }; });
