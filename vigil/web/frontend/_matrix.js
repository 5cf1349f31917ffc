// Reading a Prometheus query_range answer into typed arrays: [{metric, times, values}] with
// times (unix seconds) and values (NaN, ±Infinity kept) as Float64Arrays.
//
// Big charts (200 series × 5,761 points) spent most of their time in JSON.parse, which builds
// an array and a string for every point. The answer's shape is fixed, so the points are read
// straight from the text; everything else (the status, each series' labels) still goes
// through JSON.parse. Text in any other shape (other keys, spacing, an error) is read with
// JSON.parse alone, so the fast path never changes what is read.

const PREFIX = '{"status":"success","data":{"resultType":"matrix","result":[';

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

// The decimal number in text[from, to) read without making a string: digits, one ".", an
// optional sign and exponent; NaN for anything else (the caller then reads it with Number).
// Up to 15 significant digits it is exactly Number's answer; beyond, within the last bits.
function decimalAt(text, from, to) {
  let i = from;
  let negative = false;
  let c = text.charCodeAt(i);
  if (c === 45 || c === 43) { negative = c === 45; i += 1; }
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let dot = false;
  let sawDigit = false;
  for (; i < to; i++) {
    c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      sawDigit = true;
      if (digits < 17) { mantissa = mantissa * 10 + (c - 48); digits += mantissa > 0 ? 1 : 0; if (dot) scale -= 1; }
      else if (!dot) scale += 1;
    } else if (c === 46 && !dot) {
      dot = true;
    } else if (c === 101 || c === 69) {
      const exp = decimalAt(text, i + 1, to);
      if (!Number.isInteger(exp)) return NaN;
      scale += exp;
      break;
    } else {
      return NaN;
    }
  }
  if (!sawDigit || digits > 15 || scale < -22 || scale > 22) return NaN;
  const value = scale < 0 ? mantissa / POW10[-scale] : mantissa * POW10[scale];
  return negative ? -value : value;
}

function sampleNumber(text) {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

// End (exclusive) of the JSON object starting at text[start] === "{"; -1 when unbalanced.
function objectEnd(text, start) {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {  // a string: skip to its closing quote, over escapes
      for (i += 1; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i += 1;
        else if (d === 34) break;
      }
    } else if (c === 123) {
      depth += 1;
    } else if (c === 125) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

// The points of '"values":[[t,"v"],...]' from text[i] (just after '"values":'); returns
// [times, values, next index] or null when the text is not in that shape.
function readPoints(text, i) {
  if (text[i] !== "[") return null;
  i += 1;
  let times = new Float64Array(1024);
  let values = new Float64Array(1024);
  let n = 0;
  if (text[i] === "]") return [times.subarray(0, 0), values.subarray(0, 0), i + 1];
  for (;;) {
    if (text[i] !== "[") return null;
    const comma = text.indexOf(",", i + 1);
    if (comma < 0 || text[comma + 1] !== '"') return null;
    const quote = text.indexOf('"', comma + 2);
    if (quote < 0 || text[quote + 1] !== "]") return null;
    let t = decimalAt(text, i + 1, comma);
    if (Number.isNaN(t)) t = Number(text.slice(i + 1, comma));
    if (Number.isNaN(t)) return null;
    if (n === times.length) {
      const grownT = new Float64Array(n * 2);
      grownT.set(times);
      times = grownT;
      const grownV = new Float64Array(n * 2);
      grownV.set(values);
      values = grownV;
    }
    times[n] = t;
    const v = decimalAt(text, comma + 2, quote);
    values[n] = Number.isNaN(v) ? sampleNumber(text.slice(comma + 2, quote)) : v;
    n += 1;
    i = quote + 2;
    if (text[i] === "]") return [times.subarray(0, n), values.subarray(0, n), i + 1];
    if (text[i] !== ",") return null;
    i += 1;
  }
}

function fastPath(text) {
  if (!text.startsWith(PREFIX)) return null;
  const out = [];
  let i = PREFIX.length;
  if (text[i] === "]") return out;
  for (;;) {
    if (!text.startsWith('{"metric":', i)) return null;
    const end = objectEnd(text, i + 10);
    if (end < 0) return null;
    const metric = JSON.parse(text.slice(i + 10, end));
    if (!text.startsWith(',"values":', end)) return null;
    const points = readPoints(text, end + 10);
    if (points === null || text[points[2]] !== "}") return null;
    out.push({ metric, times: points[0], values: points[1] });
    i = points[2] + 1;
    if (text[i] === "]") return out;
    if (text[i] !== ",") return null;
    i += 1;
  }
}

/** The series of a query_range answer's text, or an Error's message in ``error`` when the
 *  answer is not a successful matrix. */
export function readMatrix(text) {
  const fast = fastPath(text);
  if (fast !== null) return { result: fast };
  const body = JSON.parse(text);
  if (body.status !== "success") return { error: body.error || "query failed" };
  const result = (body.data?.result || []).map((s) => {
    const points = s.values || [];
    const times = new Float64Array(points.length);
    const values = new Float64Array(points.length);
    points.forEach(([t, v], j) => { times[j] = Number(t); values[j] = sampleNumber(v); });
    return { metric: s.metric || {}, times, values };
  });
  return { result };
}
