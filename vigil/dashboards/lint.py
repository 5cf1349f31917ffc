"""Offline checks of a dashboard (``vigil dashboards lint``, the API's lint and save, the
shipped-dashboards test): the schema, every query parsing as PromQL once its variables are
replaced by placeholders, variables that are referenced but not defined, the variables'
plugin specs, and the layout (``$ref`` to an existing panel, every panel placed, grid items
within 24 columns and not overlapping).

A finding is a :class:`LintError` whose ``path`` reads like a JSON pointer written with dots
(``spec.panels.cpu.spec.queries[0].spec.plugin.spec.query``); ``line`` is set when the
document came from YAML (the config's loader remembers where each value was).
Schema errors stop the deeper checks (they need a well-formed dashboard).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from vigil.config.yamlmarks import Marks, format_path, load_yaml
from vigil.dashboards.interpolate import (
    InterpolationError,
    TimeContext,
    VariableValue,
    builtin_values,
    interpolate,
    referenced_variables,
)
from vigil.dashboards.model import (
    PANEL_KINDS,
    VARIABLE_PLUGIN_SPECS,
    VIGIL_PANEL_SPECS,
    Dashboard,
    LabelNamesVariableSpec,
    LabelValuesVariableSpec,
    ListVariable,
    PromQLVariableSpec,
    StaticListVariableSpec,
    TextVariable,
    parse_dashboard,
    ref_panel_name,
)
from vigil.errors import ConfigError, ParseError
from vigil.promql.parser import parse_expr

__all__ = ["GRID_COLUMNS", "LintError", "iter_messages", "lint_dashboard", "lint_data", "lint_text",
           "load_document", "placeholder_values"]

GRID_COLUMNS = 24
BUILTINS = frozenset(builtin_values(TimeContext(0, 3600), 15.0))
# Placeholders tried in turn: a variable may sit in a label value, a range ([$window]) or a
# number (topk($n, ...)); the query is wrong only if none of them parses.
_FALLBACKS: tuple[str, ...] = ("5m", "1")


@dataclass(frozen=True)
class LintError:
    path: str
    message: str
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "message": self.message, "line": self.line}


Path = tuple[str | int, ...]


def _pydantic_path(loc: Sequence[str | int]) -> Path:
    out: list[str | int] = []
    for i, part in enumerate(loc):
        # A variable's discriminated union adds its kind to the location; the file has none.
        if part in ("ListVariable", "TextVariable") and i >= 1 and isinstance(loc[i - 1], int):
            continue
        if part == "[key]":
            continue
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out.append(part)
    return tuple(out)


def _schema_message(err: Any) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"must be {err.get('ctx', {}).get('expected', 'a known value')}, not {err.get('input')!r}"
    if kind == "string_pattern_mismatch" and "[key]" in err.get("loc", ()):
        return f"name {err.get('input')!r} must be letters, digits, '_', '.' or '-' (at most 75)"
    return str(err.get("msg", "invalid value")).removeprefix("Value error, ")


def _schema_errors(exc: ValidationError, under: Path = ()) -> list[tuple[Path, str]]:
    seen: set[tuple[Path, str]] = set()
    out = []
    for err in exc.errors():
        found = ((*under, *_pydantic_path(err["loc"])), _schema_message(err))
        if found not in seen:
            seen.add(found)
            out.append(found)
    return out


def placeholder_values(dashboard: Dashboard, fallback: str | None = None) -> dict[str, VariableValue]:
    """A value for every variable, as a person could pick it: a text variable's value, a
    static list's first value, a default value, else ``fallback`` (or a label-like word);
    multi-valued lists get two values so the regex form is exercised; plus the built-ins."""
    values: dict[str, VariableValue] = dict(builtin_values(TimeContext(0, 3600), 15.0))
    for var in dashboard.spec.variables:
        spec = var.spec
        if isinstance(var, TextVariable):
            values[spec.name] = fallback or var.spec.value or "text"
            continue
        assert isinstance(var, ListVariable)
        choice: str = fallback or "placeholder"
        if fallback is None and isinstance(var.spec.defaultValue, str):
            choice = var.spec.defaultValue
        elif fallback is None and var.spec.plugin.kind == "StaticListVariable":
            statics = var.spec.plugin.spec.get("values") or []
            if statics:
                first = statics[0]
                choice = first if isinstance(first, str) else str(first.get("value", choice))
        values[spec.name] = [choice, choice + "-2"] if var.spec.allowMultiple and fallback is None else choice
    return values


class _Linter:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self.found: list[tuple[Path, str]] = []
        self.known = set(dashboard.variable_names()) | BUILTINS
        self.candidates = [placeholder_values(dashboard)] + [
            placeholder_values(dashboard, f) for f in _FALLBACKS]

    def error(self, path: Path, message: str) -> None:
        self.found.append((path, message))

    def run(self) -> list[tuple[Path, str]]:
        self.variables()
        self.panels()
        self.layouts()
        return self.found

    def references(self, text: str | None, path: Path) -> None:
        """Report variables ``text`` uses that the dashboard does not define."""
        for name, _ in referenced_variables(text or ""):
            if name not in self.known:
                self.error(path, f"unknown variable ${name}")

    def promql(self, text: str, path: Path, *, what: str = "query") -> None:
        self.references(text, path)
        first_error: str | None = None
        for values in self.candidates:
            try:
                parse_expr(interpolate(text, values))
                return
            except InterpolationError as exc:
                self.error(path, str(exc))
                return
            except ParseError as exc:
                first_error = first_error or str(exc)
        self.error(path, f"{what} does not parse: {first_error}")

    def selector(self, text: str, path: Path) -> None:
        self.promql(text, path, what="series selector")

    def variables(self) -> None:
        seen: set[str] = set()
        for i, var in enumerate(self.dashboard.spec.variables):
            where: Path = ("spec", "variables", i, "spec")
            name = var.spec.name
            if name in seen:
                self.error((*where, "name"), f"variable {name!r} is defined twice")
            seen.add(name)
            if name in BUILTINS:
                self.error((*where, "name"), f"{name!r} is a built-in variable")
            if var.spec.display is not None:
                self.references(var.spec.display.name, (*where, "display", "name"))
            if isinstance(var, ListVariable):
                self.list_variable(var, where)

    def list_variable(self, var: ListVariable, where: Path) -> None:
        spec = var.spec
        if isinstance(spec.defaultValue, list) and not spec.allowMultiple and len(spec.defaultValue) > 1:
            self.error((*where, "defaultValue"), "several default values need allowMultiple: true")
        if spec.customAllValue is not None and not spec.allowAllValue:
            self.error((*where, "customAllValue"), "customAllValue needs allowAllValue: true")
        if spec.capturingRegexp:
            try:
                re.compile(spec.capturingRegexp)
            except re.error as exc:
                self.error((*where, "capturingRegexp"), f"invalid regular expression: {exc}")
        at: Path = (*where, "plugin", "spec")
        try:
            plugin = VARIABLE_PLUGIN_SPECS[spec.plugin.kind].model_validate(spec.plugin.spec)
        except ValidationError as exc:
            self.found.extend(_schema_errors(exc, at))
            return
        if isinstance(plugin, (LabelValuesVariableSpec, LabelNamesVariableSpec)):
            for k, matcher in enumerate(plugin.matchers or ()):
                self.selector(matcher, (*at, "matchers", k))
        elif isinstance(plugin, PromQLVariableSpec):
            self.promql(plugin.expr, (*at, "expr"))
        elif isinstance(plugin, StaticListVariableSpec) and not plugin.values:
            self.error((*at, "values"), "a static list needs at least one value")

    def panels(self) -> None:
        for key, panel in self.dashboard.spec.panels.items():
            where: Path = ("spec", "panels", key, "spec")
            spec = panel.spec
            self.references(spec.display.name, (*where, "display", "name"))
            self.references(spec.display.description, (*where, "display", "description"))
            kind = spec.plugin.kind
            if kind not in PANEL_KINDS:
                self.error((*where, "plugin", "kind"),
                           f"unknown panel kind {kind!r} (known: {', '.join(sorted(PANEL_KINDS))})")
            typed = VIGIL_PANEL_SPECS.get(kind)
            if typed is not None:
                self.vigil_panel(typed, spec.plugin.spec, (*where, "plugin", "spec"))
            queries = spec.queries or []
            if kind in ("Markdown", "AlertList") and queries:
                self.error((*where, "queries"), f"a {kind} panel has no queries")
            elif kind in PANEL_KINDS - {"Markdown", "AlertList"} and not queries:
                self.error((*where, "queries"), f"a {kind} panel needs at least one query")
            for q, query in enumerate(queries):
                self.promql(query.spec.plugin.spec.query,
                            (*where, "queries", q, "spec", "plugin", "spec", "query"))

    def vigil_panel(self, model: type[BaseModel], spec: dict[str, Any], at: Path) -> None:
        try:
            typed = model.model_validate(spec)
        except ValidationError as exc:
            self.found.extend(_schema_errors(exc, at))
            return
        for k, matcher in enumerate(getattr(typed, "matchers", None) or ()):
            try:
                parse_expr("{" + matcher + "}")
            except ParseError as exc:
                self.error((*at, "matchers", k), f"not a label matcher: {exc}")

    def layouts(self) -> None:
        placed: set[str] = set()
        panels = self.dashboard.spec.panels
        for g, grid in enumerate(self.dashboard.spec.layouts):
            where: Path = ("spec", "layouts", g, "spec")
            if grid.spec.display is not None:
                self.references(grid.spec.display.title, (*where, "display", "title"))
            cells: dict[tuple[int, int], int] = {}
            for i, item in enumerate(grid.spec.items):
                at: Path = (*where, "items", i)
                name = ref_panel_name(item.content.ref)
                if name is None:
                    self.error((*at, "content", "$ref"),
                               f"$ref must be #/spec/panels/NAME, not {item.content.ref!r}")
                elif name not in panels:
                    self.error((*at, "content", "$ref"), f"no panel {name!r} in spec.panels")
                else:
                    placed.add(name)
                if item.x + item.width > GRID_COLUMNS:
                    self.error(at, f"x {item.x} + width {item.width} is wider than the grid's "
                                   f"{GRID_COLUMNS} columns")
                overlap = self.occupy(cells, item.x, item.y, item.width, item.height, i)
                if overlap is not None:
                    self.error(at, f"overlaps item {overlap} of this grid")
        for name in panels:
            if name not in placed:
                self.error(("spec", "panels", name), "panel is in no layout (no $ref points at it)")

    @staticmethod
    def occupy(cells: dict[tuple[int, int], int], x: int, y: int, width: int, height: int,
               index: int) -> int | None:
        """Mark the item's cells; the first earlier item already there, if any."""
        clash = None
        for cx in range(x, min(x + width, GRID_COLUMNS)):
            for cy in range(y, y + height):
                if clash is None and (cx, cy) in cells:
                    clash = cells[(cx, cy)]
                cells.setdefault((cx, cy), index)
        return clash


def _located(found: list[tuple[Path, str]], marks: Marks | None) -> list[LintError]:
    out = []
    for path, message in found:
        line = marks.locate(path)[0] if marks is not None else None
        out.append(LintError(format_path(path), message, line))
    return out


def lint_dashboard(dashboard: Dashboard, marks: Marks | None = None) -> list[LintError]:
    """The findings on a well-formed dashboard (everything but the schema)."""
    return _located(_Linter(dashboard).run(), marks)


def lint_data(data: Any, marks: Marks | None = None) -> tuple[Dashboard | None, list[LintError]]:
    """The dashboard in ``data`` (None when its schema is wrong) and every finding."""
    if not isinstance(data, dict):
        return None, [LintError("", "a dashboard must be a mapping with kind: Dashboard")]
    try:
        dashboard = parse_dashboard(data)
    except ValidationError as exc:
        return None, _located(_schema_errors(exc), marks)
    return dashboard, lint_dashboard(dashboard, marks)


def load_document(text: str, file: str, *, json_only: bool = False) -> tuple[Any, Marks | None]:
    """Parsed YAML (with marks) or JSON. Raises :class:`ConfigError` with the line."""
    if json_only:
        try:
            return json.loads(text), None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON: {exc.msg}", file=file, line=exc.lineno,
                              column=exc.colno) from None
    return load_yaml(text, file)


def lint_text(text: str, file: str = "<input>", *, json_only: bool = False
              ) -> tuple[Dashboard | None, list[LintError]]:
    """Lint a document; an unreadable one is one finding (path empty) with its line."""
    try:
        data, marks = load_document(text, file, json_only=json_only)
    except ConfigError as exc:
        return None, [LintError("", exc.message, exc.line)]
    return lint_data(data, marks)


def iter_messages(file: str, errors: Sequence[LintError]) -> Iterator[str]:
    """``file:path: message`` lines (``file:line: message`` when the path is empty)."""
    for err in errors:
        where = err.path or (str(err.line) if err.line else "")
        yield f"{file}:{where}: {err.message}" if where else f"{file}: {err.message}"
