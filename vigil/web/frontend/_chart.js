// The time-series chart: uPlot with Vigil's legend (click a name to hide or show its series),
// a hover box listing every shown series' value at the cursor (local time, UTC beside it),
// drag to zoom (the dashboard narrows its range), threshold lines and bands, unit-formatted
// axes. Colours come from the page's CSS custom properties, so dark mode follows.
import uPlot from "uplot";
import { formatValue, unitOf } from "./_units.js";
import { PALETTE, cssColor, thresholdSteps } from "./_series.js";
import { localAndUtc } from "./_timerange.js";
import { el } from "./_dom.js";

// Byte axes tick at 1, 2, 4 … KiB/MiB/GiB rather than at decimal steps (9.31 GiB).
const BINARY = new Set(["bytes", "bytes/sec", "Bps", "binBps"]);
const POWERS_OF_TWO = Array.from({ length: 64 }, (_, k) => 2 ** k);

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function withAlpha(hex, alpha) {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) return hex;
  const n = parseInt(m[1], 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

// Threshold steps drawn under the series: a faint band from each step to the next, and a
// dashed line at each step's value.
function thresholdsPlugin(thresholds) {
  const steps = thresholdSteps(thresholds).filter((s) => Number.isFinite(s.value));
  return {
    hooks: {
      drawAxes: (u) => {
        if (steps.length === 0) return;
        const { ctx } = u;
        const { left, top, width, height } = u.bbox;
        const [min, max] = [u.scales.y.min, u.scales.y.max];
        ctx.save();
        ctx.beginPath();
        ctx.rect(left, top, width, height);
        ctx.clip();
        steps.forEach((s, i) => {
          const color = cssColor(s.color, "#c62828");
          const from = Math.max(s.value, min);
          const to = i + 1 < steps.length ? Math.min(steps[i + 1].value, max) : max;
          if (to > from) {
            const y0 = u.valToPos(from, "y", true);
            const y1 = u.valToPos(to, "y", true);
            ctx.fillStyle = withAlpha(color, 0.07);
            ctx.fillRect(left, y1, width, y0 - y1);
          }
          if (s.value >= min && s.value <= max) {
            const y = Math.round(u.valToPos(s.value, "y", true));
            ctx.strokeStyle = color;
            ctx.lineWidth = 1.5 * devicePixelRatio;
            ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(left, y);
            ctx.lineTo(left + width, y);
            ctx.stroke();
          }
        });
        ctx.restore();
      },
    },
  };
}

// The hover box: time (local, UTC underneath) and the value of every shown series at the
// cursor, highest first; placed beside the cursor inside the chart.
function tooltipPlugin(box, format, names) {
  return {
    hooks: {
      setCursor: (u) => {
        const i = u.cursor.idx;
        if (i === null || i === undefined || u.cursor.left < 0) { box.hidden = true; return; }
        const t = u.data[0][i] * 1000;
        const { local, utc } = localAndUtc(t);
        const rows = [];
        for (let s = 1; s < u.series.length; s++) {
          if (!u.series[s].show) continue;
          const v = u.data[s][i];
          if (v === null || v === undefined) continue;
          rows.push([v, s]);
        }
        rows.sort((a, b) => b[0] - a[0]);
        box.replaceChildren(el("div", "tt-time", local), el("div", "tt-utc", utc));
        const list = el("ul", "tt-rows");
        for (const [v, s] of rows.slice(0, 30)) {
          const li = el("li", "tt-row");
          const sw = el("span", "swatch");
          sw.style.background = PALETTE[(s - 1) % PALETTE.length];
          li.append(sw, el("span", "tt-name", names[s - 1]), el("span", "tt-value", formatValue(v, format)));
          list.append(li);
        }
        if (rows.length > 30) list.append(el("li", "tt-more", `… ${rows.length - 30} more`));
        box.append(list);
        box.hidden = false;
        const x = u.cursor.left + u.bbox.left / devicePixelRatio;
        const plotWidth = u.over.clientWidth;
        box.style.left = `${x + 16 + box.offsetWidth > plotWidth ? Math.max(0, x - box.offsetWidth - 16) : x + 16}px`;
        box.style.top = "8px";
      },
    },
  };
}

/**
 * Draws a time-series chart into ``root``: ``aligned`` from align(), ``spec`` the panel's
 * TimeSeriesChart spec, ``onZoom(fromMs, toMs)`` called after a drag, ``onDrawn()`` after
 * the first complete draw. Returns {destroy, resize(width, height)}.
 */
export function timeSeriesChart(root, aligned, spec, { width, height, onZoom, onDrawn, sync }) {
  const format = spec?.yAxis?.format || spec?.format;
  const visual = spec?.visual || {};
  const stacked = visual.stack === "all";
  const text = cssVar("--text", "#1d2329");
  const grid = cssVar("--border", "#dde1e6");
  const names = aligned.series.map((s) => s.name);
  const area = Number(visual.areaOpacity ?? 0);
  const lineWidth = Number(visual.lineWidth ?? 1.25);
  const bars = visual.display === "bar";
  const columns = stacked ? stack(aligned.columns) : aligned.columns;
  const series = [{}].concat(aligned.series.map((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    return {
      label: s.name, stroke: color, width: lineWidth, spanGaps: Boolean(visual.connectNulls),
      fill: area > 0 || stacked ? withAlpha(color, stacked ? Math.max(area, 0.35) : area) : undefined,
      paths: bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined,
      points: { show: false },
    };
  }));
  const yRange = (u, min, max) => {
    const lo = spec?.yAxis?.min ?? (min >= 0 ? 0 : min);
    const hi = spec?.yAxis?.max ?? (max === lo ? lo + 1 : max + (max - lo) * 0.05);
    return [lo, hi];
  };
  const box = el("div", "chart-tooltip");
  box.hidden = true;
  box.setAttribute("role", "status");
  let drawnOnce = false;
  const opts = {
    width, height,
    legend: { show: false },
    cursor: { drag: { x: true, y: false, setScale: false }, sync: sync ? { key: sync } : undefined,
      points: { size: 5 } },
    scales: { x: { time: true }, y: { range: yRange } },
    axes: [
      { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
      { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid },
        values: (u, vals) => vals.map((v) => formatValue(v, format)), incrs: BINARY.has(unitOf(format)) ? POWERS_OF_TWO : undefined,
        // Wide enough for the longest tick label ("781 KiB/s"), at about 8 px a character and the tick.
        size: (u, values) => Math.max(40, 24 + 8 * Math.max(0, ...(values || []).map((v) => String(v).length))) },
    ],
    series,
    plugins: [thresholdsPlugin(spec?.thresholds), tooltipPlugin(box, format, names)],
    hooks: {
      setSelect: [(u) => {
        if (u.select.width < 4) return;
        const from = u.posToVal(u.select.left, "x") * 1000;
        const to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        if (onZoom) onZoom(Math.round(from), Math.round(to));
      }],
      draw: [() => {
        if (!drawnOnce) { drawnOnce = true; if (onDrawn) onDrawn(); }
      }],
    },
  };
  const plot = new uPlot(opts, [aligned.xs, ...columns], root);
  plot.over.append(box);
  return {
    plot,
    destroy: () => plot.destroy(),
    resize: (w, h) => plot.setSize({ width: w, height: h }),
    toggle: (i, show) => plot.setSeries(i + 1, { show }),
  };
}

function stack(columns) {
  const out = [];
  let below = null;
  for (const col of columns) {
    const next = col.map((v, i) => (v === null ? (below ? below[i] : null) : v + (below?.[i] ?? 0)));
    out.push(next);
    below = next;
  }
  return out;
}

/**
 * The chart's legend under it: one button per series (name and colour swatch); a click
 * hides or shows that series, a Ctrl/Meta-click shows it alone.
 */
export function legend(container, chart, aligned) {
  const list = el("ul", "chart-legend");
  const items = aligned.series.map((s, i) => {
    const li = el("li", "legend-item");
    const b = el("button", "legend-button");
    b.type = "button";
    b.setAttribute("aria-pressed", "true");
    const sw = el("span", "swatch");
    sw.style.background = PALETTE[i % PALETTE.length];
    b.append(sw, el("span", "legend-name", s.name));
    li.append(b);
    list.append(li);
    return b;
  });
  const set = (i, show) => {
    items[i].setAttribute("aria-pressed", String(show));
    items[i].parentElement.classList.toggle("hidden-series", !show);
    chart.toggle(i, show);
  };
  items.forEach((b, i) => b.addEventListener("click", (ev) => {
    if (ev.ctrlKey || ev.metaKey) {
      items.forEach((_, j) => set(j, j === i));
    } else {
      set(i, b.getAttribute("aria-pressed") !== "true");
    }
  }));
  container.append(list);
  return list;
}

/** A small SVG line of values (the stat panel's sparkline), scaled to the box. */
export function sparkline(values, { width = 200, height = 40, color = "currentColor" } = {}) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("aria-hidden", "true");
  const ys = values.filter((v) => Number.isFinite(v));
  if (ys.length < 2) return svg;
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const span = hi - lo || 1;
  const pts = values.map((v, i) => (Number.isFinite(v)
    ? `${(i / (values.length - 1)) * width},${height - ((v - lo) / span) * (height - 2) - 1}` : null))
    .filter(Boolean).join(" ");
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts);
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", color);
  line.setAttribute("stroke-width", "1.5");
  line.setAttribute("vector-effect", "non-scaling-stroke");
  svg.append(line);
  return svg;
}
