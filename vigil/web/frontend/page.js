// Loaded by every page (base.html): the theme and its toggle, tables that scroll sideways on a
// phone reachable by keyboard. Pages with live regions load live.js as well.
import { applyTheme, setupToggle, storedTheme } from "./_theme.js";

applyTheme(storedTheme()); // module scripts run before first paint of the parsed document

function markScrollableTables() {
  // A table wider than the screen scrolls inside itself (vigil.css); a keyboard user must be
  // able to focus it to scroll it.
  for (const table of document.querySelectorAll("main table")) {
    if (table.scrollWidth > table.clientWidth + 1) table.tabIndex = 0;
    else table.removeAttribute("tabindex");
  }
}

function start() {
  const toggle = document.getElementById("theme-toggle");
  if (toggle) setupToggle(toggle);
  markScrollableTables();
  window.addEventListener("resize", markScrollableTables);
  document.addEventListener("vigil:refreshed", markScrollableTables);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
