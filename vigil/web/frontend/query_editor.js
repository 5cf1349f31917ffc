// The graph page's expression editor: CodeMirror 6 with Prometheus's own PromQL mode
// (@prometheus-io/codemirror-promql). It completes functions, keywords, metric names, label
// names and label values, asking Vigil's Prometheus API (/api/v1: labels, label values,
// series, metadata) by GET, highlights the syntax and underlines parse errors.
// It replaces the page's <textarea> (kept, hidden, as the form's field): Enter runs the query,
// Shift+Enter adds a line, Tab or a click takes a suggestion.
// The editor lives in a shadow root: there CodeMirror adopts constructed style sheets instead
// of adding <style> elements, which the page's Content-Security-Policy (style-src 'self')
// refuses. Its look comes from the theme below, on vigil.css's custom properties (they
// inherit into the shadow root), so both colour themes apply.
import { EditorView, keymap, placeholder, drawSelection } from "@codemirror/view";
import { EditorState, Prec } from "@codemirror/state";
import { history, defaultKeymap, historyKeymap, insertNewlineAndIndent } from "@codemirror/commands";
import { HighlightStyle, syntaxHighlighting, bracketMatching } from "@codemirror/language";
import {
  autocompletion, acceptCompletion, closeBrackets, closeBracketsKeymap, closeCompletion,
  moveCompletionSelection, startCompletion,
} from "@codemirror/autocomplete";
import { tags } from "@lezer/highlight";
import { PromQLExtension } from "@prometheus-io/codemirror-promql";

// Colours from vigil.css's custom properties, so both themes stay readable.
const promqlHighlight = HighlightStyle.define([
  { tag: tags.keyword, color: "var(--purple-text)" },
  { tag: [tags.function(tags.variableName), tags.function(tags.name)], color: "var(--blue-text)" },
  { tag: tags.number, color: "var(--green-text)" },
  { tag: tags.string, color: "var(--amber-text)" },
  { tag: tags.labelName, color: "var(--red-text)" },
  { tag: tags.operator, color: "var(--purple-text)" },
  { tag: tags.comment, color: "var(--muted)", fontStyle: "italic" },
  { tag: tags.invalid, color: "var(--red)" },
]);

const editorTheme = EditorView.theme({
  "&": { color: "var(--text)", backgroundColor: "var(--input-bg)", border: "1px solid var(--input-border)",
    borderRadius: "4px", minHeight: "40px", fontSize: "13px" },
  "&.cm-focused": { outline: "3px solid var(--focus)", outlineOffset: "1px" },
  ".cm-content": { fontFamily: "var(--mono)", padding: "8px 4px", caretColor: "var(--text)" },
  ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "1.5" },
  ".cm-placeholder": { color: "var(--muted)" },
  ".cm-tooltip": { backgroundColor: "var(--panel)", color: "var(--text)", border: "1px solid var(--border)" },
  ".cm-tooltip-autocomplete > ul": { fontFamily: "var(--mono)", maxHeight: "16em" },
  ".cm-tooltip-autocomplete > ul > li[aria-selected]": { backgroundColor: "var(--accent)", color: "var(--on-accent)" },
  ".cm-completionDetail": { color: "var(--muted)", marginLeft: "1em" },
  ".cm-completionMatchedText": { textDecoration: "none", fontWeight: "700" },
  ".cm-diagnostic-error": { borderLeftColor: "var(--red)" },
  ".cm-lintRange-error": { textDecorationLine: "underline", textDecorationStyle: "wavy", textDecorationColor: "var(--red)" },
  ".cm-matchingBracket": { backgroundColor: "var(--blue-bg)", outline: "1px solid var(--border)" },
  ".cm-selectionBackground, &.cm-focused .cm-selectionBackground": { backgroundColor: "var(--blue-bg)" },
});

function runQuery(form) {
  return () => {
    form.requestSubmit();
    return true;
  };
}

export function mountQueryEditor(textarea) {
  const form = textarea.form;
  const promql = new PromQLExtension()
    .setComplete({
      remote: { url: window.location.origin, apiPrefix: "/api/v1", httpMethod: "GET",
        cache: { maxAge: 60_000 } },
    })
    .activateLinter(true);
  const keys = Prec.highest(keymap.of([
    { key: "Enter", run: runQuery(form), shift: insertNewlineAndIndent },
    { key: "Tab", run: acceptCompletion },
    { key: "Ctrl-Space", run: startCompletion },
    { key: "Escape", run: closeCompletion },
    { key: "ArrowDown", run: moveCompletionSelection(true) },
    { key: "ArrowUp", run: moveCompletionSelection(false) },
  ]));
  const host = document.createElement("div");
  host.className = "promql-editor";
  textarea.parentElement.insertBefore(host, textarea);
  const shadow = host.attachShadow({ mode: "open" });
  const view = new EditorView({
    parent: shadow,
    root: shadow,
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        keys,
        history(),
        drawSelection(),
        closeBrackets(),
        bracketMatching(),
        autocompletion({ defaultKeymap: false, activateOnTyping: true, maxRenderedOptions: 50 }),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap]),
        editorTheme,
        syntaxHighlighting(promqlHighlight),
        promql.asExtension(),
        placeholder(textarea.placeholder),
        EditorView.lineWrapping,
        // The editable element takes the textarea's id and name for labels, links and tests.
        EditorView.contentAttributes.of({
          id: textarea.id, "aria-label": textarea.getAttribute("aria-label") || "PromQL expression",
          "aria-multiline": "true", spellcheck: "false",
        }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) textarea.value = update.state.doc.toString();
        }),
      ],
    }),
  });
  textarea.removeAttribute("id");
  textarea.classList.add("enhanced");
  textarea.tabIndex = -1;
  form.addEventListener("submit", () => { textarea.value = view.state.doc.toString(); });
  if (textarea.autofocus || !textarea.value) view.focus();
  return view;
}

const textarea = document.querySelector("textarea[data-promql-editor]");
if (textarea) mountQueryEditor(textarea);
