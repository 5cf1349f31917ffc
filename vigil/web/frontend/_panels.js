// Panel renderers other than the time-series chart: stat, gauge, bar, table, Markdown, and
// Vigil's status grid, alert list and heatmap. Each takes the panel body element, the panel
// spec (the plugin's spec), the query results [{matrix, legend, stepS}] and a context, and
// builds DOM nodes (text through textContent only; colours through the CSSOM, as the CSP wants).
import { formatParts, formatValue } from "./_units.js";
import { cssColor, numbers, reduce, seriesName, stepFor, thresholdSteps } from "./_series.js";
import { sparkline } from "./_chart.js";
import { renderMarkdown } from "./_markdown.js";
import { getJson } from "./_api.js";
import { localAndUtc } from "./_timerange.js";
import { el } from "./_dom.js";

function allSeries(results) {
  return results.flatMap((r) => r.matrix.map((s) => ({ ...s, name: seriesName(s.metric, r.legend) })));
}

function empty(body) {
  body.append(el("p", "panel-empty muted", "No data"));
}

/** StatChart: one big value per series, coloured by the threshold step it reaches (whose
 *  name, if any, is shown under it), with a sparkline when the spec asks for one. */
export function statChart(body, spec, results) {
  const series = allSeries(results);
  if (series.length === 0) return empty(body);
  const steps = thresholdSteps(spec.thresholds);
  const wrap = el("div", series.length > 1 ? "stat-grid" : "stat-one");
  for (const s of series.slice(0, 24)) {
    const v = reduce(s, spec.calculation);
    const [num, unit] = formatParts(v, spec.format);
    const step = stepFor(v, steps);
    const box = el("div", "stat");
    const value = el("div", "stat-value");
    value.append(el("span", "stat-number", num));
    if (unit) value.append(el("span", "stat-unit", unit));
    if (step?.color) value.style.color = cssColor(step.color);
    if (series.length > 1) box.append(el("div", "stat-name", s.name));
    box.append(value);
    if (step?.name) box.append(el("div", "stat-threshold", step.name));
    if (spec.sparkline) box.append(sparkline(numbers(s), { color: cssColor(step?.color, "currentColor") }));
    wrap.append(box);
  }
  body.append(wrap);
}

/** GaugeChart: a half-circle dial per series from 0 (or spec.min) to spec.max (100 for
 *  percent units when not set), the arc coloured by the threshold step the value reaches. */
export function gaugeChart(body, spec, results) {
  const series = allSeries(results);
  if (series.length === 0) return empty(body);
  const unit = spec.format?.unit ?? "";
  const max = Number(spec.max ?? (unit === "percent" ? 100 : unit === "percent-decimal" ? 1 : NaN));
  const min = Number(spec.min ?? 0);
  const steps = thresholdSteps(spec.thresholds, max);
  const wrap = el("div", "gauge-grid");
  const ns = "http://www.w3.org/2000/svg";
  for (const s of series.slice(0, 12)) {
    const v = reduce(s, spec.calculation);
    const hi = Number.isFinite(max) ? max : Math.max(1, (v ?? 0) * 1.25);
    const frac = v === null ? 0 : Math.min(1, Math.max(0, (v - min) / (hi - min || 1)));
    const color = cssColor(stepFor(v, steps)?.color, "#1f5fa8");
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 120 70");
    svg.setAttribute("class", "gauge");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", `${s.name}: ${formatValue(v, spec.format)}`);
    const arc = (f) => {
      const a = Math.PI * (1 - f);
      return `M 10 60 A 50 50 0 0 1 ${60 + 50 * Math.cos(a)} ${60 - 50 * Math.sin(a)}`;
    };
    const track = document.createElementNS(ns, "path");
    track.setAttribute("d", arc(1));
    track.setAttribute("class", "gauge-track");
    const fill = document.createElementNS(ns, "path");
    fill.setAttribute("d", arc(Math.max(frac, 0.001)));
    fill.setAttribute("class", "gauge-fill");
    fill.setAttribute("stroke", color);
    svg.append(track, fill);
    const box = el("figure", "gauge-box");
    box.append(svg, el("figcaption", "gauge-value", formatValue(v, spec.format)));
    if (series.length > 1) box.append(el("div", "gauge-name", s.name));
    wrap.append(box);
  }
  body.append(wrap);
}

/** BarChart: one horizontal bar per series, length by its calculated value, largest first
 *  unless spec.sort is "asc". */
export function barChart(body, spec, results) {
  const rows = allSeries(results).map((s) => ({ name: s.name, v: reduce(s, spec.calculation) }))
    .filter((r) => r.v !== null);
  if (rows.length === 0) return empty(body);
  rows.sort((a, b) => (spec.sort === "asc" ? a.v - b.v : b.v - a.v));
  const top = Math.max(...rows.map((r) => Math.abs(r.v))) || 1;
  const list = el("ul", "bar-list");
  for (const r of rows.slice(0, 50)) {
    const li = el("li", "bar-row");
    const bar = el("span", "bar");
    bar.style.width = `${(Math.abs(r.v) / top) * 100}%`;
    const track = el("span", "bar-track");
    track.append(bar);
    li.append(el("span", "bar-name", r.name), track, el("span", "bar-value", formatValue(r.v, spec.format)));
    list.append(li);
  }
  body.append(list);
}

/** Table: a row per series with its labels as columns and its last value; spec.columnSettings
 *  [{name, header, hide}] renames or hides columns. */
export function table(body, spec, results) {
  const series = allSeries(results);
  if (series.length === 0) return empty(body);
  const settings = new Map((spec.columnSettings || []).map((c) => [c.name, c]));
  const labels = [...new Set(series.flatMap((s) => Object.keys(s.metric)))]
    .filter((k) => k !== "__name__").sort();
  const columns = [...labels, "value"].filter((c) => !settings.get(c)?.hide);
  const t = el("table", "panel-table");
  const head = el("tr");
  for (const c of columns) {
    const th = el("th", c === "value" ? "num" : "", settings.get(c)?.header || (c === "value" ? "Value" : c));
    th.scope = "col";
    head.append(th);
  }
  const thead = el("thead");
  thead.append(head);
  t.append(thead);
  const tb = el("tbody");
  for (const s of series) {
    const tr = el("tr", "table-row");
    for (const c of columns) {
      tr.append(c === "value" ? el("td", "num", formatValue(reduce(s, spec.calculation), spec.format))
        : el("td", "", s.metric[c] ?? ""));
    }
    tb.append(tr);
  }
  t.append(tb);
  body.append(t);
}

/** Markdown: the spec's text through the safe Markdown subset. */
export function markdown(body, spec) {
  const div = el("div", "markdown");
  div.append(renderMarkdown(spec.text || ""));
  body.append(div);
}

/** StatusGrid (Vigil): a cell per target, up when its latest value is 1 (the ``up`` series
 *  by default), named by the legend format or its instance label. */
export function statusGrid(body, spec, results) {
  const series = allSeries(results);
  if (series.length === 0) return empty(body);
  const grid = el("ul", "status-grid");
  const steps = thresholdSteps(spec.thresholds);
  if (spec.columns) grid.style.gridTemplateColumns = `repeat(${spec.columns}, minmax(0, 1fr))`;
  const cells = series.map((s) => {
    const v = reduce(s, "last-number");
    const name = s.name && !s.name.includes("{") ? s.name : (s.metric.instance || s.metric.job || s.name);
    return { name, up: v !== null && v >= 1, v };
  }).sort((a, b) => Number(a.up) - Number(b.up) || a.name.localeCompare(b.name));
  for (const c of cells) {
    const li = el("li", `status-cell ${c.up ? "status-up" : "status-down"}`);
    const step = stepFor(c.v, steps);
    if (step?.color) li.style.borderLeftColor = cssColor(step.color);
    li.append(el("span", "status-name", c.name), el("span", "status-state", c.up ? "up" : "down"));
    li.title = `${c.name}: ${c.up ? "up" : "down"}`;
    grid.append(li);
  }
  const down = cells.filter((c) => !c.up).length;
  body.append(el("p", "status-summary", `${cells.length - down} up, ${down} down`), grid);
}

/** AlertList (Vigil): the alerts of /api/v2/alerts matching spec.matchers (strings such
 *  as 'severity="critical"'), at most spec.limit of them. */
export async function alertList(body, spec) {
  const p = new URLSearchParams();
  for (const m of spec.matchers || []) p.append("filter", typeof m === "string" ? m : `${m.name}${m.type || "="}"${m.value}"`);
  // Alertmanager's alerts are all firing; "inactive" (silenced or inhibited) ones are
  // listed only when the spec's states ask for them.
  const states = spec.states || ["firing"];
  if (!states.includes("inactive")) { p.set("silenced", "false"); p.set("inhibited", "false"); }
  const alerts = states.includes("firing") || states.includes("inactive")
    ? await getJson(`/api/v2/alerts?${p}`) : [];
  if (!alerts.length) { body.append(el("p", "panel-empty muted", "No alerts")); return; }
  const list = el("ul", "alert-list");
  for (const a of alerts.slice(0, spec.limit || 50)) {
    const state = a.status?.state || "active";
    const li = el("li", `alert-item alert-${state}`);
    const when = a.startsAt ? localAndUtc(Date.parse(a.startsAt)) : null;
    li.append(el("span", "alert-state", state === "active" ? "firing" : state),
      el("span", "alert-name", a.labels.alertname || "(no alertname)"));
    if (a.labels.severity) li.append(el("span", "alert-severity", a.labels.severity));
    const summary = a.annotations?.summary || a.annotations?.description;
    if (summary) li.append(el("span", "alert-summary", summary));
    if (when) { const t = el("time", "alert-since", when.local); t.title = when.utc; t.dateTime = a.startsAt; li.append(t); }
    list.append(li);
  }
  body.append(list);
}

/** Heatmap (Vigil): classic histogram buckets over time. Series carry an ``le`` label; the
 *  cumulative bucket rates are turned into per-bucket counts and drawn as cells on a canvas,
 *  darker where more observations fell. */
export function heatmap(body, spec, results, ctx) {
  const buckets = allSeries(results).filter((s) => s.metric.le !== undefined)
    .map((s) => ({ le: Number(s.metric.le === "+Inf" ? Infinity : s.metric.le), label: s.metric.le, series: s }))
    .sort((a, b) => a.le - b.le);
  if (buckets.length === 0) return empty(body);
  const times = [...new Set(buckets.flatMap((b) => Array.from(b.series.times)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const cum = buckets.map((b) => {
    const row = new Array(times.length).fill(0);
    const { times: ts, values } = b.series;
    for (let j = 0; j < ts.length; j++) row[index.get(ts[j])] = values[j] || 0;
    return row;
  });
  const counts = cum.map((row, j) => row.map((v, i) => Math.max(0, v - (j > 0 ? cum[j - 1][i] : 0))));
  const top = Math.max(...counts.flat()) || 1;
  const canvas = el("canvas", "heatmap");
  const width = Math.max(100, ctx.width - 60);
  const height = Math.max(60, ctx.height);
  canvas.width = width * devicePixelRatio;
  canvas.height = height * devicePixelRatio;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `heatmap of ${buckets.length} buckets over ${times.length} steps`);
  const g = canvas.getContext("2d");
  const cw = canvas.width / times.length;
  const ch = canvas.height / buckets.length;
  const color = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim() || "#1f5fa8";
  g.fillStyle = color;
  counts.forEach((row, j) => row.forEach((c, i) => {
    if (c <= 0) return;
    g.globalAlpha = 0.12 + 0.88 * (c / top);
    const x0 = Math.floor(i * cw);
    const y0 = Math.floor(canvas.height - (j + 1) * ch);
    g.fillRect(x0, y0, Math.floor((i + 1) * cw) - x0, Math.floor(canvas.height - j * ch) - y0);
  }));
  const wrap = el("div", "heatmap-wrap");
  const axis = el("ol", "heatmap-axis");
  for (const b of [...buckets].reverse()) axis.append(el("li", "", b.label === "+Inf" ? "+Inf" : formatValue(b.le, spec.yAxisFormat || spec.format)));
  wrap.append(axis, canvas);
  body.append(wrap);
}
