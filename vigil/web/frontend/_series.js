// Turning Prometheus range results into what the charts draw: series names from a
// seriesNameFormat ("{{instance}} {{mode}}"), aligned columns on the query's step grid,
// the colour palette, and the reductions (last, mean, ...) the single-value panels use.

export const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#8cd17d", "#499894", "#d37295", "#86bcb6", "#f1ce63", "#a0cbe8", "#bab0ac"];

/** A series' display name: the format with {{label}} replaced, else name{labels}. */
export function seriesName(metric, format) {
  if (format && format.trim()) {
    return format.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, l) => metric[l] ?? "");
  }
  const name = metric.__name__ || "";
  const labels = Object.keys(metric).filter((k) => k !== "__name__").sort()
    .map((k) => `${k}="${metric[k]}"`).join(", ");
  return labels ? `${name}{${labels}}` : name || "{}";
}

/**
 * Aligns series on one x grid: {xs (seconds), columns: [[y|null ...] ...], series: [{name, metric}]}.
 * ``results`` is a list of {matrix: [{metric, times, values}], legend, stepS}; each query's samples sit on
 * startS + k*stepS, so a sample's column index is computed, not searched.
 */
export function align(results, startS, endS) {
  const stepS = Math.min(...results.map((r) => r.stepS).filter((s) => s > 0), Infinity);
  const step = Number.isFinite(stepS) ? stepS : 60;
  const n = Math.max(1, Math.floor((endS - startS) / step) + 1);
  const xs = new Array(n);
  for (let i = 0; i < n; i++) xs[i] = startS + i * step;
  const columns = [];
  const series = [];
  // The hot loop of big charts (200 series × 5,761 points): plain indexed loops; a column
  // holds only numbers while it can (V8 then stores them unboxed), and only a series with
  // missing points gets nulls (uPlot's gaps). "+Inf", "-Inf", "NaN" become gaps too.
  for (const r of results) {
    for (const s of r.matrix) {
      const col = new Array(n);
      const { times, values } = s;
      let filled = 0;
      for (let j = 0; j < values.length; j++) {
        const i = Math.round((times[j] - startS) / step);
        if (i >= 0 && i < n) {
          const y = values[j];
          col[i] = Number.isFinite(y) ? y : null;
          filled += 1;
        }
      }
      if (filled < n) for (let i = 0; i < n; i++) if (col[i] === undefined) col[i] = null;
      columns.push(col);
      series.push({ name: seriesName(s.metric, r.legend), metric: s.metric });
    }
  }
  return { xs, columns, series };
}

/** The values of one series ({times, values}), oldest first, without NaNs. */
export function numbers(series) {
  return Array.from(series.values).filter((v) => !Number.isNaN(v));
}

/** Perses calculations over a series' values: last-number, last, first, mean, sum, min, max. */
export function reduce(series, calculation = "last-number") {
  const xs = numbers(series);
  if (xs.length === 0) return null;
  switch (calculation) {
    case "first": case "first-number": return xs[0];
    case "mean": case "avg": return xs.reduce((a, b) => a + b, 0) / xs.length;
    case "sum": return xs.reduce((a, b) => a + b, 0);
    case "min": return Math.min(...xs);
    case "max": return Math.max(...xs);
    default: return xs[xs.length - 1];
  }
}

/** Threshold steps sorted by value; the base colour first ({value: -Infinity}). */
export function thresholdSteps(thresholds, max) {
  if (!thresholds) return [];
  const steps = (thresholds.steps || []).map((s) => ({
    value: thresholds.mode === "percent" && max ? (Number(s.value) / 100) * max : Number(s.value),
    color: s.color, name: s.name,
  })).filter((s) => Number.isFinite(s.value)).sort((a, b) => a.value - b.value);
  return [{ value: -Infinity, color: thresholds.defaultColor || null, name: null }, ...steps];
}

const NAMED = { green: "#2e7d32", red: "#c62828", yellow: "#b26a00", orange: "#e65100", blue: "#1565c0",
  purple: "#6a1b9a", "dark-red": "#8e0000", "dark-green": "#1b5e20", "semi-dark-red": "#b71c1c",
  "light-red": "#e57373", "dark-yellow": "#8d6e00", "semi-dark-yellow": "#9e7c00", "semi-dark-orange": "#bf360c" };

/** A CSS colour from a threshold colour (hex, or a Grafana colour name). */
export function cssColor(color, fallback) {
  if (!color) return fallback;
  return NAMED[color] || color;
}

/** The threshold step a value falls in (the last step whose value it reaches). */
export function stepFor(value, steps) {
  let found = null;
  for (const s of steps) if (value !== null && value >= s.value) found = s;
  return found;
}
