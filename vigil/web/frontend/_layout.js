// The dashboard's layout: each Grid layout a row (a heading button folds it when the grid
// has a title and may collapse), its items placed on a 24-column grid by x, y, width and
// height (one height unit is --dash-unit pixels high, as in Perses and Grafana).
import { el } from "./_dom.js";

/** The panel name a layout item refers to ("#/spec/panels/cpu" → "cpu"). */
export function panelRef(item) {
  const ref = item?.content?.$ref || "";
  const m = /^#\/spec\/panels\/(.+)$/.exec(ref);
  return m ? decodeURIComponent(m[1].replace(/~1/g, "/").replace(/~0/g, "~")) : null;
}

/**
 * Builds the rows into ``container``; returns [{row, open(), panels: [{name, el, body, item}]}].
 * ``onOpen(row)`` is called when a folded row is unfolded, so its panels load then.
 */
export function buildLayout(container, dashboard, onOpen) {
  const panels = dashboard.spec.panels || {};
  const rows = [];
  (dashboard.spec.layouts || []).forEach((layout, li) => {
    const spec = layout.spec || {};
    const title = spec.display?.title;
    const collapsible = Boolean(title) && spec.display?.collapse !== undefined;
    const section = el("section", "dash-row");
    const grid = el("div", "dash-grid");
    grid.id = `dash-row-${li}`;
    const row = { section, grid, panels: [], open: !collapsible || spec.display.collapse.open !== false };
    if (title) {
      const h = el("h2", "row-title");
      if (collapsible) {
        const b = el("button", "row-toggle");
        b.type = "button";
        b.setAttribute("aria-expanded", String(row.open));
        b.setAttribute("aria-controls", grid.id);
        b.append(el("span", "row-chevron", ""), el("span", "row-name", title));
        b.addEventListener("click", () => {
          row.open = !row.open;
          b.setAttribute("aria-expanded", String(row.open));
          grid.hidden = !row.open;
          section.classList.toggle("collapsed", !row.open);
          if (row.open) onOpen(row);
        });
        h.append(b);
      } else {
        h.textContent = title;
      }
      section.append(h);
    }
    grid.hidden = !row.open;
    section.classList.toggle("collapsed", !row.open);
    for (const item of spec.items || []) {
      const name = panelRef(item);
      const panel = name !== null ? panels[name] : undefined;
      const box = el("section", "dash-panel");
      box.dataset.panel = name ?? "";
      box.dataset.kind = panel?.spec?.plugin?.kind ?? "missing";
      box.dataset.state = "waiting";
      box.style.gridColumn = `${(item.x ?? 0) + 1} / span ${Math.max(1, Math.min(24, item.width ?? 12))}`;
      box.style.gridRow = `${(item.y ?? 0) + 1} / span ${Math.max(1, item.height ?? 6)}`;
      const head = el("header", "panel-head");
      const heading = el("h3", "panel-title", panel?.spec?.display?.name || name || "(unnamed)");
      head.append(heading);
      const description = panel?.spec?.display?.description;
      if (description) {
        const info = el("span", "panel-info", "i");
        info.title = description;
        info.setAttribute("aria-label", description);
        info.setAttribute("role", "img");
        head.append(info);
      }
      const body = el("div", "panel-body");
      box.append(head, body);
      grid.append(box);
      row.panels.push({ name, panel, el: box, body, item });
    }
    section.append(grid);
    container.append(section);
    rows.push(row);
  });
  return rows;
}
