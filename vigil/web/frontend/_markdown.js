// A small, safe Markdown subset for Markdown panels, built with DOM nodes only (text is
// never parsed as HTML, so a panel cannot inject markup or scripts): headings (#..######),
// paragraphs, bullet and numbered lists, fenced code blocks, and inline **bold**, *italic*,
// `code` and [links](http...) — links only to http(s), mailto or same-site paths.

function el(tag, text) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
}

function safeHref(href) {
  return /^(https?:\/\/|mailto:|\/(?!\/)|#)/i.test(href) ? href : null;
}

const INLINE = /(\*\*([^*]+)\*\*|\*([^*]+)\*|_([^_]+)_|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\))/;

/** Appends ``text`` with its inline marks to ``parent``. */
function inline(parent, text) {
  let rest = text;
  while (rest) {
    const m = INLINE.exec(rest);
    if (!m) { parent.append(rest); break; }
    if (m.index > 0) parent.append(rest.slice(0, m.index));
    if (m[2] !== undefined) inline(parent.appendChild(el("strong")), m[2]);
    else if (m[3] !== undefined) inline(parent.appendChild(el("em")), m[3]);
    else if (m[4] !== undefined) inline(parent.appendChild(el("em")), m[4]);
    else if (m[5] !== undefined) parent.append(el("code", m[5]));
    else {
      const href = safeHref(m[7]);
      if (href) {
        const a = el("a", m[6]);
        a.href = href;
        if (/^https?:/i.test(href)) a.rel = "noopener noreferrer";
        parent.append(a);
      } else {
        parent.append(m[6]);
      }
    }
    rest = rest.slice(m.index + m[0].length);
  }
}

/** A DocumentFragment of ``source`` rendered as the Markdown subset. */
export function renderMarkdown(source) {
  const out = document.createDocumentFragment();
  const lines = String(source ?? "").replace(/\r\n?/g, "\n").split("\n");
  let para = [];
  let list = null;
  const flush = () => {
    if (para.length) { const p = el("p"); inline(p, para.join(" ")); out.append(p); para = []; }
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^```/.test(line)) {
      flush(); list = null;
      const code = [];
      for (i += 1; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
      const pre = el("pre");
      pre.append(el("code", code.join("\n")));
      out.append(pre);
      continue;
    }
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (h) {
      flush(); list = null;
      // Panel headings sit under the panel's own title: start at h3.
      const hx = el(`h${Math.min(6, h[1].length + 2)}`);
      inline(hx, h[2]);
      out.append(hx);
    } else if (bullet || numbered) {
      flush();
      const tag = bullet ? "UL" : "OL";
      if (!list || list.tagName !== tag) { list = el(tag.toLowerCase()); out.append(list); }
      const li = el("li");
      inline(li, (bullet || numbered)[1]);
      list.append(li);
    } else if (!line.trim()) {
      flush(); list = null;
    } else {
      list = null;
      para.push(line.trim());
    }
  }
  flush();
  return out;
}
