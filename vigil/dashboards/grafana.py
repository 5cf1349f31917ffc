"""Grafana dashboards (the classic JSON model, schema 16 and later) to Perses dashboards.

:func:`convert_grafana` takes a parsed Grafana dashboard (or the ``{"dashboard": ...}``
wrapper Grafana's API answers with) and returns the Perses dashboard as plain data together
with an :class:`ImportSummary`: how many panels were converted, which became placeholders
and why, and what was dropped on the way (``notes``). The panel, query, variable and
field-option mappings live in the sibling ``grafana_*`` modules; this one does the dashboard:

* **Layout.** Grafana's 24-column grid (``gridPos {x, y, w, h}``) is Perses's grid, so
  positions carry over. Each row starts a new Perses ``Grid`` whose title is the row's and
  whose ``collapse.open`` is false for a collapsed row (whose panels Grafana keeps inside the
  row); panels before the first row form an untitled grid. ``y`` is made relative to the
  grid's first panel.
* **Repeat.** Perses has no repeated panels, and a query variable's values are only known
  when the dashboard is drawn, so a panel (or row) repeated by ``$var`` is imported once,
  showing every selected value: its ``label="$var"`` matchers become ``label=~"$var"`` so a
  multi-value selection matches. Copies Grafana saved of repeated panels and rows
  (``repeatPanelId``, ``repeatIteration``) are skipped. Each case is noted.
* **Time.** ``time.from: now-6h`` → ``duration: 6h``; ``refresh`` → ``refreshInterval``.
* **Library panels** take their model from the export's ``__elements`` when it is there;
  otherwise they are placeholders.

Panel names are the titles made safe (``cpu_busy``, ``cpu_busy_2`` ...). Nothing here reads
files or talks to a store: the CLI and the web API do that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from vigil.dashboards.grafana_panels import convert_panel
from vigil.dashboards.grafana_queries import DatasourceKinds
from vigil.dashboards.grafana_variables import convert_variables
from vigil.dashboards.interpolate import referenced_variables
from vigil.dashboards.model import dump_dashboard, parse_dashboard
from vigil.errors import VigilError
from vigil.gocompat.durations import parse_duration_ms

__all__ = ["MIN_SCHEMA_VERSION", "GrafanaImport", "GrafanaImportError", "ImportSummary", "convert_grafana"]

MIN_SCHEMA_VERSION = 16  # Grafana 5.0: panels[] with gridPos instead of rows[] with spans
_GRID_COLUMNS = 24
_BUILTINS = {"__interval", "__interval_ms", "__rate_interval", "__range", "__range_s", "__range_ms"}


class GrafanaImportError(VigilError):
    """The input is not a Grafana dashboard Vigil can import; ``path`` says where."""

    def __init__(self, message: str, path: str = "") -> None:
        self.message = message
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


@dataclass
class ImportSummary:
    """What an import did: panels converted, placeholders by reason, and notes on what was
    dropped or changed (each ``where: what``)."""

    title: str
    panels: int = 0
    converted: int = 0
    placeholders: list[dict[str, str]] = field(default_factory=list)  # [{panel, title, reason}]
    variables: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def placeholders_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.placeholders:
            counts[p["reason"]] = counts.get(p["reason"], 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "panels": self.panels, "converted": self.converted,
                "placeholders": len(self.placeholders), "placeholdersByReason": self.placeholders_by_reason,
                "placeholderPanels": self.placeholders, "variables": self.variables, "notes": self.notes}

    def text(self) -> str:
        """The summary as lines for a person (what the CLI prints)."""
        lines = [f"{self.title}: {self.panels} panels, {self.converted} converted, "
                 f"{len(self.placeholders)} placeholders, {self.variables} variables"]
        for reason, count in self.placeholders_by_reason.items():
            lines.append(f"  placeholder ({count}): {reason}")
        for p in self.placeholders:
            lines.append(f"    - {p['title'] or p['panel']}")
        if self.notes:
            lines.append(f"  notes ({len(self.notes)}):")
            lines += [f"    {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass
class GrafanaImport:
    """The Perses dashboard (plain data, ready for YAML or JSON) and the summary."""

    dashboard: dict[str, Any]
    summary: ImportSummary


def _slug(text: str, sep: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", sep, text.lower()).strip(sep)
    return slug[:60].rstrip(sep)


def _unwrap(data: Any) -> dict[str, Any]:
    if isinstance(data, dict) and isinstance(data.get("dashboard"), dict) and "panels" not in data:
        data = data["dashboard"]  # Grafana's API answer: {"dashboard": ..., "meta": ...}
    if not isinstance(data, dict):
        raise GrafanaImportError("a Grafana dashboard is a JSON object")
    if (isinstance(data.get("spec"), dict) and "elements" in data["spec"]) or "elements" in data:
        raise GrafanaImportError("this is Grafana's v2 dashboard schema (elements and layouts); export the "
                                 "dashboard as classic JSON (schemaVersion 16+) instead", "elements")
    if "panels" not in data:
        if isinstance(data.get("rows"), list):
            raise GrafanaImportError(
                f"schemaVersion {data.get('schemaVersion', '?')} keeps panels in rows[]; open and save it "
                f"in Grafana 5 or later (schemaVersion {MIN_SCHEMA_VERSION}+) first", "rows")
        raise GrafanaImportError("no panels: this is not a Grafana dashboard", "panels")
    if not isinstance(data["panels"], list):
        raise GrafanaImportError("must be a list", "panels")
    version = data.get("schemaVersion")
    if isinstance(version, int) and version < MIN_SCHEMA_VERSION:
        raise GrafanaImportError(f"schemaVersion {version} is older than {MIN_SCHEMA_VERSION} (Grafana 5); "
                                 "open and save it in a newer Grafana first", "schemaVersion")
    return data


def _sections(panels: list[Any], notes: list[str]) -> list[tuple[dict[str, Any] | None, list[tuple[str, dict[str, Any]]]]]:
    """Grid sections in order: (row or None, [(where, panel)]). A row Grafana saved as a copy
    of a repeated row is dropped with the panels under it (copies too)."""
    sections: list[tuple[dict[str, Any] | None, list[tuple[str, dict[str, Any]]], bool]] = [(None, [], False)]
    for i, panel in enumerate(panels):
        where = f"panels[{i}]"
        if not isinstance(panel, dict):
            raise GrafanaImportError("a panel must be a JSON object", where)
        if panel.get("type") != "row":
            sections[-1][1].append((where, panel))
            continue
        copy = bool(panel.get("repeatIteration") or panel.get("repeatRowId"))
        if copy:
            notes.append(f"{where}: copy of a repeated row skipped")
        nested = [(f"{where}.panels[{j}]", p) for j, p in enumerate(panel.get("panels") or [])
                  if isinstance(p, dict)]
        sections.append((panel, nested, copy))
    return [(row, items) for row, items, copy in sections if not copy and (row is not None or items)]


def _repeat_matchers(queries: list[dict[str, Any]], var: str) -> None:
    """``label="$var"`` → ``label=~"$var"`` so one panel matches a multi-value selection."""
    pattern = re.compile(r'(\b[A-Za-z_][A-Za-z0-9_]*\s*)=(\s*"\$(?:\{' + re.escape(var) + r'(?::[^}]*)?\}|'
                         + re.escape(var) + r'\b)")')
    for q in queries:
        spec = q["spec"]["plugin"]["spec"]
        spec["query"] = pattern.sub(r"\1=~\2", spec["query"])


def _grid_item(panel: dict[str, Any], name: str, base_y: int, bottom: int) -> dict[str, Any]:
    pos = panel.get("gridPos") if isinstance(panel.get("gridPos"), dict) else {}

    def num(key: str, default: int) -> int:
        value = pos.get(key, default)
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default

    x = min(max(num("x", 0), 0), _GRID_COLUMNS - 1)
    width = min(max(num("w", 12), 1), _GRID_COLUMNS - x)
    y = max(num("y", bottom) - base_y, 0) if "y" in pos else bottom
    return {"x": x, "y": y, "width": width, "height": max(num("h", 8), 1),
            "content": {"$ref": f"#/spec/panels/{name}"}}


def _settled(items: list[dict[str, Any]], notes: list[str], row: dict[str, Any] | None) -> list[dict[str, Any]]:
    """``items`` in reading order with overlaps removed the way Grafana draws them: an item
    that overlaps one above it moves down below it (hand-edited JSON can overlap; Perses
    grids must not)."""
    placed: list[dict[str, Any]] = []
    for item in sorted(items, key=lambda i: (i["y"], i["x"])):
        start = item["y"]
        while clash := [p for p in placed if p["x"] < item["x"] + item["width"] and item["x"] < p["x"] + p["width"]
                        and p["y"] < item["y"] + item["height"] and item["y"] < p["y"] + p["height"]]:
            item["y"] = max(p["y"] + p["height"] for p in clash)
        if item["y"] != start:
            where = f"row {row.get('title')!r}" if row is not None else "top of the dashboard"
            notes.append(f"{where}: {item['content']['$ref'].rsplit('/', 1)[1]} overlapped another panel; "
                         f"moved down from y {start} to {item['y']}")
        placed.append(item)
    return sorted(placed, key=lambda i: (i["y"], i["x"]))


def _duration(time: Any, notes: list[str]) -> str | None:
    start = time.get("from") if isinstance(time, dict) else None
    if not isinstance(start, str):
        return None
    if m := re.fullmatch(r"now-(\d+[smhdwy])", start.strip()):
        return m.group(1)
    notes.append(f"time: range from {start!r} is not 'now-<duration>'; the default duration is used")
    return None


def _refresh(refresh: Any) -> str | None:
    if not isinstance(refresh, str) or not refresh:
        return None
    try:
        parse_duration_ms(refresh)
    except ValueError:
        return None
    return refresh


def convert_grafana(data: Any, *, name: str | None = None, project: str | None = None) -> GrafanaImport:
    """The Perses dashboard for a Grafana dashboard. ``name`` (default: from the title) is its
    ``metadata.name``. Raises :class:`GrafanaImportError` when ``data`` is not a Grafana
    dashboard of schema 16 or later; anything inside it that cannot be converted becomes a
    placeholder or a note instead."""
    grafana = _unwrap(data)
    title = str(grafana.get("title") or "Imported from Grafana")
    summary = ImportSummary(title=title)
    notes = summary.notes
    variables, _datasource_vars = convert_variables(grafana.get("templating"), notes)
    summary.variables = len(variables)
    kinds = DatasourceKinds.of(grafana)
    known_vars = {v["spec"]["name"] for v in variables} | _BUILTINS

    panels: dict[str, Any] = {}
    layouts: list[dict[str, Any]] = []
    for row, items in _sections(grafana["panels"], notes):
        row_repeat = row.get("repeat") if row is not None and isinstance(row.get("repeat"), str) else None
        if row_repeat:
            notes.append(f"row {row.get('title')!r}: repeated per ${row_repeat} in Grafana; imported once, "
                         "showing every selected value")
        grid_items: list[dict[str, Any]] = []
        live = [(w, p) for w, p in items if not p.get("repeatPanelId")]
        for w, p in items:
            if p.get("repeatPanelId"):
                notes.append(f"{w}: copy of a repeated panel skipped")
        base_y = min((p["gridPos"]["y"] for _, p in live if isinstance(p.get("gridPos"), dict)
                      and isinstance(p["gridPos"].get("y"), int | float)), default=0)
        for where, panel in live:
            if panel.get("type") == "row":
                continue
            panel = _with_library_model(panel, grafana.get("__elements"))
            summary.panels += 1
            label = f"panel {panel.get('title')!r}" if panel.get("title") else where
            converted = convert_panel(panel, kinds, notes, label)
            panel_name = _unique(_slug(str(panel.get("title") or ""), "_") or f"panel_{panel.get('id', summary.panels)}",
                                 panels)
            repeat = panel.get("repeat") if isinstance(panel.get("repeat"), str) and panel.get("repeat") else None
            queries = converted.panel["spec"].get("queries") or []
            for var in filter(None, (repeat, row_repeat)):
                _repeat_matchers(queries, var)
            if repeat:
                notes.append(f"{label}: repeated per ${repeat} in Grafana; imported once, showing every selected value")
            _note_unknown_variables(queries, known_vars, notes, label)
            panels[panel_name] = converted.panel
            if converted.placeholder_reason:
                summary.placeholders.append({"panel": panel_name, "title": str(panel.get("title") or ""),
                                             "reason": converted.placeholder_reason})
            else:
                summary.converted += 1
            bottom = max((i["y"] + i["height"] for i in grid_items), default=0)
            grid_items.append(_grid_item(panel, panel_name, base_y, bottom))
        grid: dict[str, Any] = {"items": _settled(grid_items, notes, row)}
        if row is not None:
            grid = {"display": {"title": str(row.get("title") or ""),
                                "collapse": {"open": not row.get("collapsed", False)}}} | grid
        layouts.append({"kind": "Grid", "spec": grid})

    spec: dict[str, Any] = {"display": {"name": title}}
    if isinstance(grafana.get("description"), str) and grafana["description"]:
        spec["display"]["description"] = grafana["description"]
    if duration := _duration(grafana.get("time"), notes):
        spec["duration"] = duration
    if refresh := _refresh(grafana.get("refresh")):
        spec["refreshInterval"] = refresh
    spec |= {"variables": variables, "panels": panels, "layouts": layouts}
    metadata: dict[str, Any] = {"name": name or _slug(title, "-") or "grafana-import"}
    if project:
        metadata["project"] = project
    perses = {"kind": "Dashboard", "metadata": metadata, "spec": spec}
    try:
        dashboard = parse_dashboard(perses)
    except ValidationError as exc:  # a converter bug or a bad --name: say where
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise GrafanaImportError(f"the converted dashboard is invalid: {first['msg']}", path) from None
    return GrafanaImport(dump_dashboard(dashboard), summary)


def _with_library_model(panel: dict[str, Any], elements: Any) -> dict[str, Any]:
    """A library panel with its model filled in from an export's ``__elements`` (Grafana's
    "export for sharing externally" embeds them there); the dashboard's position and title win."""
    library = panel.get("libraryPanel")
    if not isinstance(library, dict) or panel.get("type") or not isinstance(elements, dict):
        return panel
    element = elements.get(library.get("uid"))
    model = element.get("model") if isinstance(element, dict) else None
    if not isinstance(model, dict):
        return panel
    return {**model, **{k: v for k, v in panel.items() if k in ("gridPos", "id", "title") and v}}


def _unique(name: str, taken: dict[str, Any]) -> str:
    if name[:1] in ("_", ""):
        name = "panel" + name
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name}_{n}"
        n += 1
    return candidate


def _note_unknown_variables(queries: list[dict[str, Any]], known: set[str], notes: list[str], where: str) -> None:
    unknown = sorted({ref for q in queries for ref, _ in referenced_variables(q["spec"]["plugin"]["spec"]["query"])
                      if ref not in known})
    if unknown:
        notes.append(f"{where}: queries use {', '.join('$' + u for u in unknown)}, which Vigil does not define")
