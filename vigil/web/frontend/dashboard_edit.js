// The dashboard editor (/dashboards/NAME/edit) and the Grafana import page
// (/dashboards/import). The editor checks the YAML (or JSON) with the lint endpoint and
// saves it with PUT; errors are listed with their paths. The import page sends a Grafana
// JSON file to the converter, shows its summary and the converted dashboard in the same
// editor, and saves it under the name given.
import { ApiError, contentTypeOf, dashboardUrl, sendText } from "./_api.js";
import { el } from "./_dom.js";

const $ = (id) => document.getElementById(id);

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
    if (e.line) {
      // A button that selects the line in the editor, so the fix starts where the error is.
      const go = el("button", "lint-line", `line ${e.line}`);
      go.type = "button";
      go.addEventListener("click", () => selectLine(e.line));
      li.append(" ", go);
    }
    list.append(li);
  }
}

function selectLine(line) {
  const area = $("dashboard-source");
  const lines = area.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  area.focus();
  area.setSelectionRange(start, start + (lines[line - 1] || "").length);
}

// The import page's "Save as" name goes into the document's metadata.name (the API saves a
// dashboard only under its own name).
function renamed(text, name) {
  if (contentTypeOf(text) === "application/json") {
    try {
      const data = JSON.parse(text);
      data.metadata = { ...(data.metadata || {}), name };
      return JSON.stringify(data, null, 2);
    } catch {
      return text;  // the API's answer names the syntax error
    }
  }
  return text.replace(/^(metadata:\s*\n(?:[ \t]+.*\n)*?[ \t]+name:[ \t]*)(.*)$/m, (_, head) => `${head}${name}`);
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
  const nameInput = $("dashboard-name");
  const name = (nameInput ? nameInput.value : document.querySelector("[data-name]")?.dataset.name || "").trim();
  if (!name) { showErrors([], "Give the dashboard a name."); return; }
  if (nameInput) $("dashboard-source").value = renamed($("dashboard-source").value, name);
  const text = $("dashboard-source").value;
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

// The converter's summary (vigil.dashboards.grafana.ImportSummary.to_json): counts, the
// placeholders by reason with their panels, and the notes on what was dropped or changed.
function summaryRows(summary) {
  const list = $("import-summary-list");
  list.replaceChildren();
  const add = (term, ...values) => {
    const dd = el("dd");
    if (values.length === 1 && typeof values[0] !== "object") dd.textContent = String(values[0]);
    else {
      const ul = el("ul");
      for (const v of values) ul.append(el("li", "", typeof v === "object" ? JSON.stringify(v) : String(v)));
      dd.append(ul);
    }
    list.append(el("dt", "", term), dd);
  };
  const known = new Set(["title", "panels", "converted", "placeholders", "placeholdersByReason",
    "placeholderPanels", "variables", "notes"]);
  if (summary.title !== undefined) add("Title", summary.title);
  if (summary.panels !== undefined) add("Panels", summary.panels);
  if (summary.converted !== undefined) add("Converted", summary.converted);
  if (summary.placeholders !== undefined) add("Placeholders", summary.placeholders);
  const reasons = Object.entries(summary.placeholdersByReason || {});
  if (reasons.length) add("Placeholders by reason", ...reasons.map(([r, n]) => `${n} × ${r}`));
  const panels = summary.placeholderPanels || [];
  if (panels.length) add("Placeholder panels", ...panels.map((p) => `${p.title || p.panel}: ${p.reason}`));
  if (summary.variables !== undefined) add("Variables", summary.variables);
  if ((summary.notes || []).length) add("Notes", ...summary.notes);
  for (const [k, v] of Object.entries(summary)) if (!known.has(k)) add(k, v);
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
