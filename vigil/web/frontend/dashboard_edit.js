// The dashboard editor (/dashboards/NAME/edit) and the Grafana import page
// (/dashboards/import). The editor checks the YAML (or JSON) with the lint endpoint and
// saves it with PUT; errors are listed with their paths. The import page sends a Grafana
// JSON file to the converter, shows its summary and the converted dashboard in the same
// editor, and saves it under the name given.
import { ApiError, contentTypeOf, dashboardUrl, sendText } from "./_api.js";

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function showErrors(errors, message) {
  const box = $("edit-errors");
  const list = $("edit-error-list");
  list.replaceChildren();
  $("edit-status").textContent = "";
  if (!errors.length && !message) { box.hidden = true; return; }
  box.hidden = false;
  $("edit-error-title").textContent = message || `${errors.length} problem${errors.length === 1 ? "" : "s"}`;
  for (const e of errors) {
    const li = el("li", "lint-error");
    li.append(el("code", "lint-path", e.path || "(dashboard)"), el("span", "lint-message", e.message));
    list.append(li);
  }
}

function done(message) {
  showErrors([]);
  $("edit-status").textContent = message;
}

function failed(e) {
  if (e instanceof ApiError && e.errors.length) showErrors(e.errors, "Not saved:");
  else showErrors([], e.message);
}

async function lint() {
  const text = $("dashboard-source").value;
  try {
    const answer = await sendText("POST", "/api/vigil/v1/dashboards/lint", text, contentTypeOf(text));
    const errors = answer?.errors || [];
    if (errors.length) showErrors(errors);
    else done("No problems found.");
  } catch (e) {
    failed(e);
  }
}

async function save() {
  const text = $("dashboard-source").value;
  const name = ($("dashboard-name")?.value || document.body.querySelector("[data-name]")?.dataset.name || "").trim();
  if (!name) { showErrors([], "Give the dashboard a name."); return; }
  try {
    const answer = await sendText("PUT", dashboardUrl(name), text, contentTypeOf(text));
    done(`Saved${answer?.file ? ` to ${answer.file}` : ""}.`);
    const link = $("edit-view-link");
    link.href = `/dashboards/${encodeURIComponent(name)}`;
    link.hidden = false;
  } catch (e) {
    failed(e);
  }
}

function summaryRows(summary) {
  const list = $("import-summary-list");
  list.replaceChildren();
  const add = (k, v) => {
    list.append(el("dt", "", k), el("dd", "", typeof v === "object" ? JSON.stringify(v) : String(v)));
  };
  for (const [k, v] of Object.entries(summary || {})) {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) add(`${k}: ${k2}`, v2);
    } else {
      add(k, Array.isArray(v) ? v.map((x) => (typeof x === "object" ? JSON.stringify(x) : x)).join("; ") : v);
    }
  }
  $("import-summary").hidden = false;
}

async function convert(ev) {
  ev.preventDefault();
  const file = $("grafana-file").files[0];
  if (!file) { showErrors([], "Choose a Grafana dashboard JSON file."); return; }
  const text = await file.text();
  try {
    const answer = await sendText("POST", "/api/vigil/v1/dashboards/import/grafana", text, "application/json");
    const dashboard = answer.dashboard || answer;
    summaryRows(answer.summary || {});
    $("dashboard-source").value = answer.yaml || JSON.stringify(dashboard, null, 2);
    $("dashboard-name").value = dashboard?.metadata?.name || "";
    $("import-result").hidden = false;
    done(`Converted ${file.name}.`);
  } catch (e) {
    failed(e);
  }
}

$("lint-button")?.addEventListener("click", lint);
$("save-button")?.addEventListener("click", save);
$("import-form")?.addEventListener("submit", convert);
