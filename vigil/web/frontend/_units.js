// Formats numbers in a panel's unit: Perses format objects ({unit, decimalPlaces}) and the
// Grafana unit names an imported dashboard may still carry. Unknown units print the number
// followed by the unit's name, so nothing is silently dropped.

const SI = ["", "k", "M", "G", "T", "P", "E"];
const IEC = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
const SMALL = [[1e-9, "n"], [1e-6, "µ"], [1e-3, "m"]];

function trim(n, decimals) {
  if (!Number.isFinite(n)) return String(n);
  const places = decimals ?? (Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2);
  return n.toFixed(places).replace(/\.0+$|(\.\d*?)0+$/, "$1");
}

function scaled(v, base, names, decimals) {
  let i = 0;
  let x = v;
  while (Math.abs(x) >= base && i < names.length - 1) { x /= base; i += 1; }
  return [trim(x, decimals), names[i]];
}

function seconds(v, decimals) {
  const a = Math.abs(v);
  if (a === 0) return [trim(0, decimals), "s"];
  if (a < 1e-3) return [trim(v * 1e6, decimals), "µs"];
  if (a < 1) return [trim(v * 1e3, decimals), "ms"];
  if (a < 60) return [trim(v, decimals), "s"];
  if (a < 3600) return [trim(v / 60, decimals), "min"];
  if (a < 86400) return [trim(v / 3600, decimals), "h"];
  return [trim(v / 86400, decimals), "d"];
}

function decimal(v, decimals) {
  const a = Math.abs(v);
  if (a !== 0 && a < 1e-3) {
    for (const [f, p] of SMALL) if (a < f * 1000) return [trim(v / f, decimals), p];
  }
  if (a < 1) return [trim(v, decimals ?? 3), ""];
  return scaled(v, 1000, SI, decimals);
}

// unit name -> (value, decimals) -> [number text, unit text]
const UNITS = {
  decimal, short: decimal, none: decimal, "": decimal,
  bytes: (v, d) => scaled(v, 1024, IEC, d),
  decbytes: (v, d) => { const [n, p] = scaled(v, 1000, SI, d); return [n, `${p}B`]; },
  bits: (v, d) => { const [n, p] = scaled(v, 1000, SI, d); return [n, `${p}b`]; },
  "bytes/sec": (v, d) => { const [n, u] = scaled(v, 1024, IEC, d); return [n, `${u}/s`]; },
  Bps: (v, d) => { const [n, u] = scaled(v, 1024, IEC, d); return [n, `${u}/s`]; },
  binBps: (v, d) => { const [n, u] = scaled(v, 1024, IEC, d); return [n, `${u}/s`]; },
  "bits/sec": (v, d) => { const [n, p] = scaled(v, 1000, SI, d); return [n, `${p}b/s`]; },
  bps: (v, d) => { const [n, p] = scaled(v, 1000, SI, d); return [n, `${p}b/s`]; },
  percent: (v, d) => [trim(v, d ?? 1), "%"],
  "percent-decimal": (v, d) => [trim(v * 100, d ?? 1), "%"],
  percentunit: (v, d) => [trim(v * 100, d ?? 1), "%"],
  seconds, s: seconds,
  milliseconds: (v, d) => seconds(v / 1e3, d), ms: (v, d) => seconds(v / 1e3, d),
  microseconds: (v, d) => seconds(v / 1e6, d), µs: (v, d) => seconds(v / 1e6, d),
  nanoseconds: (v, d) => seconds(v / 1e9, d), ns: (v, d) => seconds(v / 1e9, d),
  minutes: (v, d) => seconds(v * 60, d), m: (v, d) => seconds(v * 60, d),
  hours: (v, d) => seconds(v * 3600, d), h: (v, d) => seconds(v * 3600, d),
  days: (v, d) => seconds(v * 86400, d), d: (v, d) => seconds(v * 86400, d),
  "ops/sec": (v, d) => { const [n, p] = decimal(v, d); return [n, `${p} ops/s`]; },
  ops: (v, d) => { const [n, p] = decimal(v, d); return [n, `${p} ops/s`]; },
  reqps: (v, d) => { const [n, p] = decimal(v, d); return [n, `${p} req/s`]; },
  "requests/sec": (v, d) => { const [n, p] = decimal(v, d); return [n, `${p} req/s`]; },
  "counts/sec": (v, d) => { const [n, p] = decimal(v, d); return [n, `${p}/s`]; },
  "events/sec": (v, d) => { const [n, p] = decimal(v, d); return [n, `${p} events/s`]; },
  "messages/sec": (v, d) => { const [n, p] = decimal(v, d); return [n, `${p} msg/s`]; },
  celsius: (v, d) => [trim(v, d ?? 1), "°C"],
};

/** The unit name of a Perses format object (or a bare string), "" when none is set. */
export function unitOf(format) {
  if (!format) return "";
  if (typeof format === "string") return format;
  return format.unit ?? "";
}

/** [number text, unit text] of ``value`` in ``format`` ({unit, decimalPlaces} or a unit name). */
export function formatParts(value, format) {
  if (value === null || value === undefined || Number.isNaN(value)) return ["–", ""];
  if (value === Infinity) return ["+Inf", ""];
  if (value === -Infinity) return ["-Inf", ""];
  const unit = unitOf(format);
  const decimals = typeof format === "object" && format ? format.decimalPlaces : undefined;
  const fn = UNITS[unit];
  if (fn) {
    const [n, u] = fn(value, decimals);
    return [n, u.trim()];
  }
  const [n, p] = decimal(value, decimals);
  return [n, `${p} ${unit}`.trim()];
}

/** ``value`` formatted in ``format`` as one string: "1.5 GiB", "42 %", "350 ms". */
export function formatValue(value, format) {
  const [n, u] = formatParts(value, format);
  if (!u) return n;
  return u === "%" ? `${n}%` : `${n} ${u}`;
}
