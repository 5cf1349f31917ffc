// The graph page (query explorer): the browser asks /api/v1/query_range for the page's
// expression over the range the server resolved (data-start-ms / data-end-ms), at the step
// the URL names (g0.step_input) or else one the chart's width needs, and draws it with the
// dashboards' uPlot chart: hover lists every shown series' value, the legend hides and shows
// series, dragging across the chart zooms by opening the page for that range (so the URL
// always holds expr, range, end and step and can be shared). The instant-query table and
// parse errors stay server-rendered.
import { queryRange } from "./_api.js";
import { align } from "./_series.js";
import { timeSeriesChart, legend } from "./_chart.js";

const HEIGHT = 360;
const MIN_POINTS = 100;

/** The step (seconds) for ``rangeS`` on a chart ``widthPx`` wide: about a point per 2 px. */
export function stepFor(rangeS, widthPx) {
  return Math.max(1, Math.ceil(rangeS / Math.max(MIN_POINTS, Math.floor(widthPx / 2))));
}

/** A duration in the Prometheus form the range field takes ("1h30m", "45s"). */
export function durationText(ms) {
  let s = Math.max(1, Math.round(ms / 1000));
  let out = "";
  for (const [size, unit] of [[86400, "d"], [3600, "h"], [60, "m"], [1, "s"]]) {
    if (s >= size) { out += `${Math.floor(s / size)}${unit}`; s %= size; }
  }
  return out;
}

function show(root, cls, text) {
  const p = document.createElement("p");
  p.className = cls;
  p.textContent = text;
  if (cls === "graph-error") p.setAttribute("role", "alert");
  root.replaceChildren(p);
}

// A drag over [fromMs, toMs]: the same page for that range (the step left to the width).
function zoomTo(fromMs, toMs) {
  const url = new URL(window.location.href);
  url.searchParams.set("g0.range_input", durationText(toMs - fromMs));
  url.searchParams.set("g0.end_input", new Date(Math.round(toMs / 1000) * 1000).toISOString().replace(".000Z", "Z"));
  url.searchParams.delete("g0.step_input");
  window.location.assign(url.toString());
}

async function draw(root) {
  const box = root.querySelector(".graph-chart");
  const legendBox = root.querySelector(".graph-legend");
  const status = root.querySelector(".graph-status");
  const startS = Number(root.dataset.startMs) / 1000;
  const endS = Number(root.dataset.endMs) / 1000;
  const width = Math.max(box.clientWidth, 200);
  const step = Number(root.dataset.stepS) || stepFor(endS - startS, width);
  root.dataset.state = "loading";
  let matrix;
  try {
    matrix = await queryRange(root.dataset.expr, startS, endS, step);
  } catch (e) {
    show(box, "graph-error", `Error: ${e.message}`);
    status.textContent = "";
    root.dataset.state = "error";
    return;
  }
  status.textContent = `resolution ${durationText(step * 1000)}`;
  root.dataset.series = String(matrix.length);
  if (matrix.length === 0) {
    show(box, "empty", "The query returned no data for this range.");
    root.dataset.state = "drawn";
    return;
  }
  const aligned = align([{ matrix, legend: "", stepS: step }], startS, endS);
  box.replaceChildren();
  const chart = timeSeriesChart(box, aligned, {}, {
    width, height: HEIGHT, onZoom: zoomTo,
    onDrawn: () => { root.dataset.state = "drawn"; },
  });
  legend(legendBox, chart, aligned);
  new ResizeObserver(() => {
    const w = Math.max(box.clientWidth, 200);
    if (Math.abs(w - chart.plot.width) > 1) chart.resize(w, HEIGHT);
  }).observe(box);
}

const root = document.getElementById("graph");
if (root) draw(root);
