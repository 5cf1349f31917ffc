// Building page elements (shared by the dashboard modules).

// A new `tag` element with the class `cls` (none when empty) holding `text` (as text, never HTML).
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
