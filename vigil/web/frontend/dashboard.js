// The dashboard page (/dashboards/NAME): loads the dashboard from Vigil's API, lays out its
// rows and panels, fills the variable selects, asks the API for each panel's interpolated
// queries (step chosen from the panel width), runs them through /api/v1/query_range and
// draws them. The time range, refresh and variables live in the URL. Auto refresh pauses
// while the tab is hidden. Timings (data received → drawn) are left as performance marks.
import { ApiError, dashboardUrl, getJson, queryRange } from "./_api.js";
import { align } from "./_series.js";
import { legend, timeSeriesChart } from "./_chart.js";
import { alertList, barChart, gaugeChart, heatmap, markdown, statChart, statusGrid, table } from "./_panels.js";
import { buildLayout } from "./_layout.js";
import {
  REFRESH_CHOICES, RELATIVE_RANGES, describeRange, localAndUtc, parseDuration, parseTime, readState,
  toLocalInput, writeState,
} from "./_timerange.js";
import { el } from "./_dom.js";

const root = document.getElementById("dashboard");
const name = root.dataset.name;
const $ = (id) => document.getElementById(id);
const charts = new Map();  // panel name -> chart handle (resize, destroy)
let dashboard = null;
let state = null;
let rows = [];
let generation = 0;
let aborter = null;
let refreshTimer = null;
let missedRefresh = false;
let queries = {};

function showError(message) {
  const box = $("dash-error");
  box.textContent = message;
  box.hidden = !message;
}

function range() {
  const now = Date.now();
  const from = parseTime(state.from, now);
  const to = parseTime(state.to, now);
  return { startS: Math.floor(from / 1000), endS: Math.floor(to / 1000) };
}

function varParams(extra) {
  const p = new URLSearchParams();
  for (const [n, values] of state.vars) for (const v of values) p.append(`var-${n}`, v);
  for (const [k, v] of Object.entries(extra || {})) p.set(k, String(v));
  return p;
}

// --- controls -----------------------------------------------------------------------------

function syncControls() {
  const select = $("range-select");
  const custom = !(state.to === "now" && RELATIVE_RANGES.some((r) => state.from === `now-${r}`));
  if (custom && state.to === "now" && /^now-/.test(state.from)
      && ![...select.options].some((o) => o.value === state.from)) {
    select.insertBefore(new Option(`Last ${state.from.slice(4)}`, state.from), select.lastElementChild);
  }
  const relative = [...select.options].some((o) => o.value === state.from) && state.to === "now";
  select.value = relative ? state.from : "custom";
  $("custom-range").hidden = relative;
  const now = Date.now();
  try {
    $("range-from").value = toLocalInput(parseTime(state.from, now));
    $("range-to").value = toLocalInput(parseTime(state.to, now));
    const label = $("range-label");
    label.textContent = describeRange(state, now);
    const { startS, endS } = range();
    label.title = `${localAndUtc(startS * 1000).utc} – ${localAndUtc(endS * 1000).utc}`;
  } catch (e) {
    showError(e.message);
  }
  const refresh = $("refresh-select");
  if (![...refresh.options].some((o) => o.value === state.refresh)) refresh.append(new Option(state.refresh, state.refresh));
  refresh.value = state.refresh;
}

function setupControls() {
  const select = $("range-select");
  for (const r of RELATIVE_RANGES) select.append(new Option(`Last ${r}`, `now-${r}`));
  select.append(new Option("Custom…", "custom"));
  for (const r of REFRESH_CHOICES) $("refresh-select").append(new Option(r === "off" ? "Off" : r, r));
  select.addEventListener("change", () => {
    if (select.value === "custom") { $("custom-range").hidden = false; $("range-from").focus(); return; }
    state.from = select.value;
    state.to = "now";
    changed();
  });
  $("dash-controls").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const from = Date.parse($("range-from").value);
    const to = Date.parse($("range-to").value);
    if (Number.isNaN(from) || Number.isNaN(to) || from >= to) {
      showError("Pick a start before the end (local time).");
      return;
    }
    state.from = String(from);
    state.to = String(to);
    changed();
  });
  $("refresh-select").addEventListener("change", () => {
    state.refresh = $("refresh-select").value;
    writeState(state);
    scheduleRefresh();
  });
  $("refresh-now").addEventListener("click", () => loadPanels());
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && missedRefresh) { missedRefresh = false; loadPanels(); }
  });
}

function changed() {
  showError("");
  writeState(state);
  syncControls();
  loadVariables().then(loadPanels);
}

function scheduleRefresh() {
  clearInterval(refreshTimer);
  refreshTimer = null;
  const every = state.refresh === "off" ? null : parseDuration(state.refresh);
  if (!every) return;
  refreshTimer = setInterval(() => {
    if (document.hidden) { missedRefresh = true; return; }  // a hidden tab does not query
    loadPanels();
  }, Math.max(every, 1000));
}

// --- variables ----------------------------------------------------------------------------

function optionsOf(v) {
  return (v.options || []).map((o) => (typeof o === "object" && o !== null
    ? { value: String(o.value ?? o.label), label: String(o.label ?? o.value) } : { value: String(o), label: String(o) }));
}

function asList(current) {
  if (current === null || current === undefined) return [];
  return Array.isArray(current) ? current.map(String) : [String(current)];
}

async function loadVariables() {
  const box = $("dash-variables");
  if (!(dashboard.spec.variables || []).length) { box.hidden = true; return; }
  const { startS, endS } = range();
  let vars;
  try {
    vars = await getJson(`${dashboardUrl(name, "variables")}?${varParams({ start: startS, end: endS })}`);
  } catch (e) {
    showError(e.message);
    return;
  }
  box.replaceChildren();
  box.hidden = false;
  emptyVariables = vars.filter((v) => v.kind === "ListVariable" && !(v.options || []).length)
    .map((v) => v.title || v.name);
  let fixed = false;
  for (const v of vars) {
    if (v.hidden) continue;
    if (!state.vars.has(v.name)) { state.vars.set(v.name, asList(v.current)); fixed = true; }
    const id = `var-${v.name}`;
    const label = el("label", "variable");
    label.htmlFor = id;
    label.append(el("span", "variable-name", v.title || v.name));
    if (v.kind === "TextVariable") {
      const input = el("input");
      input.id = id;
      input.value = state.vars.get(v.name)[0] ?? "";
      input.addEventListener("change", () => { state.vars.set(v.name, [input.value]); changed(); });
      box.append(label, input);
      continue;
    }
    const select = el("select");
    select.id = id;
    select.multiple = Boolean(v.multi);
    const chosen = new Set(state.vars.get(v.name));
    const opts = optionsOf(v);
    if (v.allowAll) opts.unshift({ value: "$__all", label: "All" });
    for (const o of opts) {
      const opt = new Option(o.label, o.value);
      opt.selected = chosen.has(o.value);
      select.append(opt);
    }
    if (select.multiple) select.size = Math.min(4, Math.max(2, opts.length));
    select.addEventListener("change", () => {
      state.vars.set(v.name, [...select.selectedOptions].map((o) => o.value));
      changed();
    });
    box.append(label, select);
  }
  if (fixed) writeState(state);
}

// --- panels -------------------------------------------------------------------------------

function bodySize(p) {
  return { width: Math.max(120, p.body.clientWidth), height: Math.max(60, p.body.clientHeight) };
}

async function runQueries(p, startS, endS, signal) {
  const list = queries[p.name] || [];
  return Promise.all(list.map(async (q) => {
    const stepS = typeof q.step === "number" ? q.step : (parseDuration(q.step) ?? 60000) / 1000;
    const matrix = await queryRange(q.query, startS, endS, stepS, { signal });
    return { matrix, legend: q.legend, stepS };
  }));
}

function drawn(p, gen) {
  if (gen !== generation) return;
  p.el.dataset.state = "drawn";
  performance.mark(`vigil:drawn:${p.name}`);
  maybeAllDrawn(gen);
}

function maybeAllDrawn(gen) {
  const open = rows.filter((r) => r.open).flatMap((r) => r.panels);
  if (open.every((p) => p.el.dataset.state === "drawn" || p.el.dataset.state === "error")) {
    root.dataset.state = "drawn";
    root.dataset.generation = String(gen);
    performance.mark("vigil:all-drawn");
  }
}

// Variables the API found no values for (a dashboard over metrics this Vigil does not have):
// named beside a failed panel's error, which is then usually an empty selector.
let emptyVariables = [];

function panelError(p, message, gen) {
  const box = el("div", "panel-error");
  if (emptyVariables.length) {
    box.append(el("p", "panel-error-hint", `No data: ${emptyVariables.join(", ")} ${emptyVariables.length === 1 ? "has" : "have"} no values.`));
  }
  box.append(el("p", "panel-error-detail", message));
  p.body.replaceChildren(box);
  p.el.dataset.state = "error";
  maybeAllDrawn(gen);
}

async function loadPanel(p, startS, endS, gen, signal) {
  const kind = p.panel?.spec?.plugin?.kind;
  const spec = p.panel?.spec?.plugin?.spec || {};
  p.el.dataset.state = "loading";
  try {
    if (!p.panel) throw new Error(`the layout refers to a panel "${p.name}" the dashboard does not define`);
    if (kind === "Markdown") { p.body.replaceChildren(); markdown(p.body, spec); drawn(p, gen); return; }
    if (kind === "AlertList") {
      const body = el("div", "panel-fill");
      await alertList(body, spec);
      if (gen !== generation) return;
      p.body.replaceChildren(body);
      drawn(p, gen);
      return;
    }
    const results = await runQueries(p, startS, endS, signal);
    if (gen !== generation) return;
    performance.mark(`vigil:data:${p.name}`);
    charts.get(p.name)?.destroy();
    charts.delete(p.name);
    p.body.replaceChildren();
    const size = bodySize(p);
    switch (kind) {
      case "TimeSeriesChart": case "TimeSeriesPanel": {
        const aligned = align(results, startS, endS);
        if (aligned.series.length === 0) { p.body.append(el("p", "panel-empty muted", "No data")); break; }
        const plotBox = el("div", "chart-box");
        p.body.append(plotBox);
        const handle = { chart: null };
        const legendBox = el("div", "legend-box");
        p.body.append(legendBox);
        const height = Math.max(60, size.height - Math.min(legendBox.offsetHeight || 0, size.height / 3) - 48);
        handle.chart = timeSeriesChart(plotBox, aligned, spec, {
          width: size.width, height, sync: "dashboard",
          onZoom: (from, to) => { state.from = String(from); state.to = String(to); changed(); },
          onDrawn: () => drawn(p, gen),
        });
        legend(legendBox, handle.chart, aligned);
        const legendHeight = legendBox.offsetHeight;
        handle.chart.resize(size.width, Math.max(60, size.height - legendHeight));
        charts.set(p.name, {
          destroy: () => handle.chart.destroy(),
          resize: () => {
            const s = bodySize(p);
            handle.chart.resize(s.width, Math.max(60, s.height - legendBox.offsetHeight));
          },
        });
        return;
      }
      case "StatChart": statChart(p.body, spec, results); break;
      case "GaugeChart": gaugeChart(p.body, spec, results); break;
      case "BarChart": barChart(p.body, spec, results); break;
      case "Table": table(p.body, spec, results); break;
      case "StatusGrid": statusGrid(p.body, spec, results); break;
      case "Heatmap": heatmap(p.body, spec, results, size); break;
      default:
        p.body.append(el("p", "panel-placeholder", spec.text || spec.reason || `Vigil cannot draw a ${kind} panel.`));
    }
    drawn(p, gen);
  } catch (e) {
    if (e.name === "AbortError" || gen !== generation) return;
    panelError(p, e instanceof ApiError ? e.message : String(e.message || e), gen);
  }
}

async function loadPanels(onlyRow) {
  const gen = onlyRow ? generation : ++generation;
  if (!onlyRow) {
    aborter?.abort();
    aborter = new AbortController();
    root.dataset.state = "loading";
  }
  const signal = aborter.signal;
  let startS;
  let endS;
  try {
    ({ startS, endS } = range());
  } catch (e) {
    showError(e.message);
    return;
  }
  if (!onlyRow) {
    const widthPx = Math.round($("dash-rows").clientWidth) || 1200;
    try {
      const answer = await getJson(`${dashboardUrl(name, "queries")}?${varParams({ start: startS, end: endS, width_px: widthPx })}`, { signal });
      if (gen !== generation) return;
      queries = answer.panels || {};
    } catch (e) {
      if (e.name !== "AbortError") showError(e.message);
      return;
    }
  }
  const targets = (onlyRow ? [onlyRow] : rows).filter((r) => r.open).flatMap((r) => r.panels);
  if (targets.length === 0) maybeAllDrawn(gen);
  await Promise.all(targets.map((p) => loadPanel(p, startS, endS, gen, signal)));
}

async function main() {
  setupControls();
  let answer;
  try {
    answer = await getJson(dashboardUrl(name));
  } catch (e) {
    showError(e.message);
    root.dataset.state = "error";
    return;
  }
  dashboard = answer.dashboard;
  const display = dashboard.spec.display || {};
  $("dash-title").textContent = display.name || dashboard.metadata.name;
  document.title = `${display.name || dashboard.metadata.name} · Vigil`;
  if (display.description) $("dash-description").textContent = display.description;
  state = readState(location.href, { duration: dashboard.spec.duration, refresh: dashboard.spec.refreshInterval });
  writeState(state);
  syncControls();
  rows = buildLayout($("dash-rows"), dashboard, (row) => loadPanels(row));
  let resizeTimer = null;
  new ResizeObserver(() => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { for (const c of charts.values()) c.resize(); }, 150);
  }).observe($("dash-rows"));
  // Charts read their colours from the theme's custom properties when drawn: redraw when
  // the theme toggle switches it.
  new MutationObserver(() => loadPanels()).observe(document.documentElement,
    { attributes: true, attributeFilter: ["data-theme"] });
  await loadVariables();
  await loadPanels();
  scheduleRefresh();
}

main();
