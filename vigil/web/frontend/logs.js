// The log search page (/logs): the page's query over its range (data-query, data-range-s,
// data-end, from the URL) asked of Loki's API twice: the matching lines, newest first, and a
// histogram of them (sum(count_over_time(...)) at about 60 buckets) drawn as uPlot bars. Each
// line shows its time, level (coloured) and labels; a click opens all its labels and fields.
// "Live tail" follows new lines over /loki/api/v1/tail (WebSocket) and puts them on top.
import uPlot from "uplot";
import { getJson } from "./_api.js";
import { el } from "./_dom.js";

const LINE_LIMIT = 500;
const KEPT_LINES = 1000; // lines kept on the page while tailing
const BUCKETS = 60;
const LEVEL_LABELS = ["detected_level", "level", "severity", "lvl"];
// Labels shown on every line; the rest (parsed and structured fields) when it is opened.
const HIDDEN_ON_LINE = new Set(["detected_level"]);

const NS_PER_MS = 1000000n;

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** The window [startMs, endMs] the page's range and end name. */
export function windowOf(rangeS, endText, nowMs) {
  const parsed = endText ? Date.parse(endText) : NaN;
  const endMs = Number.isFinite(parsed) ? parsed : nowMs;
  return [endMs - rangeS * 1000, endMs];
}

/** The histogram's bucket (whole seconds, at least 1) for a range of ``rangeS`` seconds. */
export function bucketFor(rangeS) {
  return Math.max(1, Math.ceil(rangeS / BUCKETS));
}

function nsOf(ms) {
  return (BigInt(Math.round(ms)) * NS_PER_MS).toString();
}

function levelOf(labels) {
  for (const name of LEVEL_LABELS) {
    const v = (labels[name] || "").toLowerCase();
    if (v) return v.startsWith("warn") ? "warn" : v.startsWith("err") ? "error" :
      v.startsWith("crit") || v === "fatal" || v === "emerg" || v === "alert" ? "critical" : v;
  }
  return "";
}

function timeText(ns) {
  const ms = Number(BigInt(ns) / NS_PER_MS);
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Stream results flattened to entries {ts, line, labels}, newest first. */
export function entriesOf(streams) {
  const out = [];
  for (const s of streams) for (const [ts, line] of s.values) out.push({ ts, line, labels: s.stream });
  out.sort((a, b) => (BigInt(b.ts) > BigInt(a.ts) ? 1 : BigInt(b.ts) < BigInt(a.ts) ? -1 : 0));
  return out;
}

let lineId = 0;

function lineItem(entry, fresh) {
  const level = levelOf(entry.labels);
  const li = el("li", `log-line${level ? ` level-${level}` : ""}${fresh ? " log-new" : ""}`);
  const id = `log-fields-${++lineId}`;
  const summary = el("button", "log-summary");
  summary.type = "button";
  summary.setAttribute("aria-expanded", "false");
  summary.setAttribute("aria-controls", id);
  const time = el("time", "log-time", timeText(entry.ts));
  time.dateTime = new Date(Number(BigInt(entry.ts) / NS_PER_MS)).toISOString();
  summary.append(time, el("span", "log-level", level || "—"), el("span", "log-text", entry.line));
  const labels = el("p", "log-labels");
  for (const [k, v] of Object.entries(entry.labels)) {
    if (!HIDDEN_ON_LINE.has(k)) labels.append(el("span", "log-label", `${k}=${v}`));
  }
  const fields = el("dl", "log-fields");
  fields.id = id;
  fields.hidden = true;
  for (const [k, v] of Object.entries(entry.labels)) fields.append(el("dt", "", k), el("dd", "", v));
  summary.addEventListener("click", () => {
    const open = summary.getAttribute("aria-expanded") !== "true";
    summary.setAttribute("aria-expanded", String(open));
    fields.hidden = !open;
  });
  li.append(summary, labels, fields);
  return li;
}

function drawHistogram(box, root, matrix, firstS, lastS, stepS) {
  // Every bucket of the window, empty ones 0, each bar over the step it counts.
  const counts = new Map();
  for (const series of matrix) for (const [t, v] of series.values) counts.set(Math.round(t), (counts.get(Math.round(t)) || 0) + Number(v));
  const xs = [];
  const ys = [];
  for (let t = firstS; t <= lastS; t += stepS) { xs.push(t - stepS / 2); ys.push(counts.get(t) || 0); }
  root.dataset.bars = String(ys.filter((y) => y > 0).length);
  root.dataset.total = String(ys.reduce((a, b) => a + b, 0));
  const text = cssVar("--text-2", "#37414b");
  const grid = cssVar("--grid-line", "#e6e9ed");
  const bar = cssVar("--accent", "#1f5fa8");
  box.replaceChildren();
  const opts = {
    width: Math.max(box.clientWidth, 200), height: 140,
    legend: { show: false }, cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, range: [firstS - stepS, lastS] } },
    axes: [{ stroke: text, grid: { stroke: grid }, ticks: { stroke: grid } },
      { stroke: text, grid: { stroke: grid }, ticks: { stroke: grid }, size: 48,
        incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6, 1e7] }],
    series: [{}, { label: "lines", fill: bar, stroke: bar, width: 0,
      paths: uPlot.paths.bars({ size: [0.9, 64] }), points: { show: false } }],
  };
  const chart = new uPlot(opts, [xs, ys], box);
  chart.root.setAttribute("role", "img");
  chart.root.setAttribute("aria-label", `${root.dataset.total} matching lines in ${xs.length} buckets of ${stepS} s`);
  new ResizeObserver(() => chart.setSize({ width: Math.max(box.clientWidth, 200), height: 140 })).observe(box);
}

async function search(root) {
  const query = root.dataset.query.trim();
  if (!query) return;
  const status = document.getElementById("logs-status");
  const list = document.getElementById("logs-lines");
  const box = document.getElementById("logs-histogram");
  const rangeS = Number(root.dataset.rangeS);
  const [startMs, endMs] = windowOf(rangeS, root.dataset.end, Date.now());
  const start = nsOf(startMs);
  const end = nsOf(endMs + 1);
  root.dataset.state = "loading";
  status.textContent = "Searching…";
  const q = encodeURIComponent(query);
  let lines;
  try {
    lines = await getJson(`/loki/api/v1/query_range?query=${q}&start=${start}&end=${end}&limit=${LINE_LIMIT}&direction=backward`);
  } catch (e) {
    status.textContent = e.message;
    status.classList.add("logs-error");
    root.dataset.state = "error";
    return;
  }
  if (lines.data.resultType !== "streams") {
    status.textContent = "This is a metric query: the Graph page draws those; here, ask for log lines.";
    root.dataset.state = "error";
    return;
  }
  const entries = entriesOf(lines.data.result);
  list.replaceChildren(...entries.map((e) => lineItem(e, false)));
  root.dataset.lines = String(entries.length);
  status.textContent = entries.length === LINE_LIMIT ? `The newest ${LINE_LIMIT} lines.` :
    `${entries.length} line${entries.length === 1 ? "" : "s"}.`;
  const stepS = bucketFor(rangeS);
  try {
    // Buckets on whole multiples of the step: the sample at t counts the lines in (t-step, t].
    const firstS = Math.floor(startMs / 1000 / stepS) * stepS + stepS;
    const lastS = Math.ceil(endMs / 1000 / stepS) * stepS;
    const counts = await getJson(`/loki/api/v1/query_range?query=${encodeURIComponent(`sum(count_over_time(${query} [${stepS}s]))`)}` +
      `&start=${firstS}&end=${lastS}&step=${stepS}`);
    drawHistogram(box, root, counts.data.result, firstS, lastS, stepS);
  } catch (e) {
    box.replaceChildren(el("p", "logs-error", `Histogram: ${e.message}`));
  }
  root.dataset.state = "done";
}

function setupLive(root) {
  const button = document.getElementById("logs-live");
  const status = document.getElementById("logs-status");
  const list = document.getElementById("logs-lines");
  const query = root.dataset.query.trim();
  if (!button || !query) return;
  button.disabled = false;
  let socket = null;
  const stop = (why) => {
    if (socket) { const s = socket; socket = null; s.close(); }
    button.setAttribute("aria-pressed", "false");
    button.textContent = "Live tail";
    root.dataset.live = "off";
    if (why) status.textContent = why;
  };
  button.addEventListener("click", () => {
    if (socket) { stop("Live tail stopped."); return; }
    const proto = window.location.protocol === "https:" ? "wss" : "ws";
    const url = `${proto}://${window.location.host}/loki/api/v1/tail?query=${encodeURIComponent(query)}` +
      `&limit=1&start=${nsOf(Date.now())}`;
    socket = new WebSocket(url);
    button.setAttribute("aria-pressed", "true");
    button.textContent = "Stop live tail";
    status.textContent = "Live tail: connecting…";
    socket.addEventListener("open", () => {
      root.dataset.live = "on";
      status.textContent = "Live tail: new lines appear at the top.";
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      const entries = entriesOf(message.streams || []);
      list.prepend(...entries.map((e) => lineItem(e, true)));
      while (list.children.length > KEPT_LINES) list.lastElementChild.remove();
      const dropped = (message.dropped_entries || []).length;
      if (dropped) status.textContent = `Live tail: ${dropped} lines skipped (the page could not keep up).`;
    });
    socket.addEventListener("close", () => { if (socket) stop("Live tail closed by the server."); });
  });
}

function start() {
  const root = document.getElementById("logs");
  if (!root) return;
  setupLive(root);
  search(root);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
