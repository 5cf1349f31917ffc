// The dashboard's time range, refresh and variables as the page URL holds them
// (?from=now-6h&to=now&refresh=30s&var-instance=a&var-instance=b), so a link shares the view.

const UNIT_MS = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3, y: 365 * 86400e3 };
const DURATION = /^(\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+$/;

export const RELATIVE_RANGES = ["5m", "15m", "30m", "1h", "3h", "6h", "12h", "24h", "2d", "7d"];
export const REFRESH_CHOICES = ["off", "5s", "10s", "30s", "1m", "5m", "15m", "30m", "1h"];

/** Milliseconds of a Prometheus duration ("1h30m", "15s"); null when it is not one. */
export function parseDuration(text) {
  const t = String(text ?? "").trim();
  if (!DURATION.test(t)) return null;
  let total = 0;
  for (const [, n, unit] of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g)) total += Number(n) * UNIT_MS[unit];
  return total;
}

/** Epoch milliseconds of a range end: "now", "now-6h", epoch ms or seconds, or an ISO date.
 *  Throws an Error naming the text when it is none of these. */
export function parseTime(text, nowMs) {
  const t = String(text ?? "").trim();
  if (t === "now" || t === "") return nowMs;
  const rel = /^now-(.+)$/.exec(t);
  if (rel) {
    const d = parseDuration(rel[1]);
    if (d !== null) return nowMs - d;
  }
  if (/^\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    return n < 1e11 ? n * 1000 : n;  // seconds (as Prometheus) or milliseconds (as Grafana)
  }
  const iso = Date.parse(t);
  if (!Number.isNaN(iso)) return iso;
  throw new Error(`time ${JSON.stringify(t)} is not now, now-DURATION, epoch or an ISO date`);
}

/** The page state from a URL: {from, to, refresh, vars: Map(name -> [values])}. */
export function readState(url, defaults) {
  const p = new URL(url).searchParams;
  const vars = new Map();
  for (const [k, v] of p) {
    if (!k.startsWith("var-")) continue;
    const name = k.slice(4);
    if (!vars.has(name)) vars.set(name, []);
    vars.get(name).push(v);
  }
  return {
    from: p.get("from") || `now-${defaults.duration || "1h"}`,
    to: p.get("to") || "now",
    refresh: p.get("refresh") || defaults.refresh || "off",
    vars,
  };
}

/** The query string of a state (range, refresh, then each variable's values in order). */
export function stateQuery(state) {
  const p = new URLSearchParams();
  p.set("from", state.from);
  p.set("to", state.to);
  p.set("refresh", state.refresh);
  for (const [name, values] of state.vars) for (const v of values) p.append(`var-${name}`, v);
  return p.toString();
}

/** Writes the state into the address bar (replacing, so Back leaves the dashboard). */
export function writeState(state) {
  const next = `${location.pathname}?${stateQuery(state)}`;
  if (next !== `${location.pathname}${location.search}`) history.replaceState(null, "", next);
}

/** "now-6h" → "Last 6h"; absolute ends as local dates. */
export function describeRange(state, nowMs) {
  const rel = /^now-(.+)$/.exec(state.from);
  if (rel && state.to === "now") return `Last ${rel[1]}`;
  const fmt = (ms) => new Date(ms).toLocaleString();
  return `${fmt(parseTime(state.from, nowMs))} – ${fmt(parseTime(state.to, nowMs))}`;
}

/** A local wall time for an <input type="datetime-local"> from epoch ms. */
export function toLocalInput(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Local and UTC renderings of a time, for labels and their hover titles. */
export function localAndUtc(ms) {
  const d = new Date(ms);
  return { local: d.toLocaleString(), utc: `${d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "")} UTC` };
}
