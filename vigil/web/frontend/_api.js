// The JSON calls the dashboard pages make: Vigil's dashboards API and Prometheus's query API.
import { readMatrix } from "./_matrix.js";

/** The session's CSRF token the page carries (an element's data-csrf), sent with every change. */
export function csrfToken() {
  return document.querySelector("[data-csrf]")?.dataset.csrf || "";
}

/** An Error carrying the answer's status and, for a Vigil 400, its located errors. */
export class ApiError extends Error {
  constructor(message, status, errors) {
    super(message);
    this.status = status;
    this.errors = errors || [];
  }
}

// Vigil's own APIs answer {status: "success", data: ...}; their callers want the data.
function unwrap(url, body) {
  if (url.startsWith("/api/vigil/") && body && body.status === "success" && "data" in body) return body.data;
  return body;
}

async function answer(response, what) {
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!response.ok) {
    const message = (body && (body.error || body.message || body.detail)) || text || response.statusText;
    throw new ApiError(`${what}: ${response.status} ${typeof message === "string" ? message : JSON.stringify(message)}`,
      response.status, body && body.errors);
  }
  return body;
}

/** GET a JSON document; throws ApiError when the answer is not 2xx. */
export async function getJson(url, { signal } = {}) {
  const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal });
  return unwrap(url, await answer(r, `GET ${url.split("?")[0]}`));
}

/** Send a body (string) with a method and content type; throws ApiError when not 2xx. */
export async function sendText(method, url, body, contentType) {
  const r = await fetch(url, {
    method, body, credentials: "same-origin",
    headers: { "Content-Type": contentType, Accept: "application/json", "X-CSRF-Token": csrfToken() },
  });
  return unwrap(url, await answer(r, `${method} ${url.split("?")[0]}`));
}

/** The content type of editor text: JSON when it starts with "{", YAML otherwise. */
export function contentTypeOf(text) {
  return text.trimStart().startsWith("{") ? "application/json" : "application/yaml";
}

/** One /api/v1/query_range call; resolves to the series [{metric, times, values}] (times in
 *  unix seconds and values as Float64Arrays, see _matrix.js). */
export async function queryRange(query, startS, endS, step, { signal } = {}) {
  const p = new URLSearchParams({ query, start: String(startS), end: String(endS), step: String(step) });
  const url = `/api/v1/query_range?${p}`;
  const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal });
  if (!r.ok) await answer(r, "GET /api/v1/query_range");  // throws the API's error
  const read = readMatrix(await r.text());
  if (read.error) throw new ApiError(read.error, 422);
  return read.result;
}

/** The Vigil dashboards API path of ``name`` (and an optional sub-resource). */
export function dashboardUrl(name, sub = "") {
  return `/api/vigil/v1/dashboards/${encodeURIComponent(name)}${sub ? `/${sub}` : ""}`;
}
