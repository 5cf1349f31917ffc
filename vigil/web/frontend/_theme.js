// The colour theme: "light" or "dark" as the person chose it with the top bar's toggle (kept in
// localStorage), else the system's preference. The choice is the <html data-theme> attribute,
// which vigil.css turns into its custom properties.
const KEY = "vigil.theme";
const systemDark = () => window.matchMedia("(prefers-color-scheme: dark)").matches;

export function storedTheme() {
  try {
    const t = localStorage.getItem(KEY);
    return t === "dark" || t === "light" ? t : null;
  } catch {
    return null; // storage disabled: follow the system
  }
}

export function currentTheme() {
  return document.documentElement.dataset.theme || (systemDark() ? "dark" : "light");
}

export function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

export function setupToggle(button) {
  const label = () => {
    const dark = currentTheme() === "dark";
    button.textContent = dark ? "Light mode" : "Dark mode";
    button.setAttribute("aria-pressed", String(dark));
  };
  button.addEventListener("click", () => {
    const next = currentTheme() === "dark" ? "light" : "dark";
    try { localStorage.setItem(KEY, next); } catch { /* not kept: this page only */ }
    applyTheme(next);
    label();
    document.dispatchEvent(new CustomEvent("vigil:theme", { detail: next }));
  });
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", label);
  label();
  button.hidden = false;
}
