"""Resolving a dashboard's variables and its panels' queries for one view.

Variables resolve in order, each with the values of the ones before it interpolated into its
matchers or expression (``instance`` may filter on ``$job``). The options come from a
:class:`VariableSource` (the web layer reads Vigil's TSDB and PromQL engine through it). The
current value is the one asked for (``var-NAME=VALUE``, repeated for several; ``$__all`` for
All) when it is among the options, else ``defaultValue``, else the first option (All when
allowed and nothing else is given for a multi-valued variable). "All" interpolates as
``customAllValue`` when set, else as every option.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from vigil.dashboards.interpolate import (
    TimeContext,
    VariableValue,
    builtin_values,
    interpolate,
    panel_step,
)
from vigil.dashboards.lint import GRID_COLUMNS
from vigil.dashboards.model import (
    Dashboard,
    LabelNamesVariableSpec,
    LabelValuesVariableSpec,
    ListVariable,
    PromQLVariableSpec,
    StaticListVariableSpec,
    ref_panel_name,
)
from vigil.gocompat.durations import parse_duration_ms

__all__ = ["ALL", "Option", "ResolvedVariable", "VariableSource", "panel_queries",
           "resolve_variables", "variable_values"]

ALL = "$__all"


class VariableSource(Protocol):
    """Where list variables get their options; times are unix seconds."""

    def label_values(self, label: str, selectors: Sequence[str], start: float, end: float
                     ) -> list[str]: ...

    def label_names(self, selectors: Sequence[str], start: float, end: float) -> list[str]: ...

    def series(self, expr: str, at: float) -> list[tuple[dict[str, str], str]]:
        """Each series (or the scalar) ``expr`` returns at ``at``: its labels and value."""
        ...


@dataclass(frozen=True)
class Option:
    label: str
    value: str


@dataclass(frozen=True)
class ResolvedVariable:
    name: str
    kind: str  # ListVariable | TextVariable
    options: list[Option]
    current: str | list[str]  # a list for a multi-valued variable; ALL for All
    multi: bool
    allow_all: bool
    value: VariableValue  # what queries see
    title: str
    hidden: bool

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "title": self.title, "hidden": self.hidden,
                "options": [{"label": o.label, "value": o.value} for o in self.options],
                "current": self.current, "multi": self.multi, "allowAll": self.allow_all}


def _sort(values: list[str], how: str | None) -> list[str]:
    if how in (None, "none"):
        return values
    reverse = how.endswith("-desc")
    if how.startswith("numerical"):
        def number(v: str) -> float:
            try:
                return float(v)
            except ValueError:
                return float("inf")
        return sorted(values, key=number, reverse=reverse)
    if how.startswith("alphabetical-ci"):
        return sorted(values, key=str.lower, reverse=reverse)
    return sorted(values, reverse=reverse)


def _options(var: ListVariable, source: VariableSource, values: Mapping[str, VariableValue],
             ctx: TimeContext) -> list[Option]:
    plugin = var.spec.plugin.typed_spec()
    if isinstance(plugin, StaticListVariableSpec):
        return [Option(v, v) if isinstance(v, str) else Option(v.label, v.value)
                for v in plugin.values]
    raw: list[str]
    if isinstance(plugin, LabelValuesVariableSpec):
        selectors = [interpolate(m, values) for m in plugin.matchers or ()]
        raw = source.label_values(plugin.labelName, selectors, ctx.start, ctx.end)
    elif isinstance(plugin, LabelNamesVariableSpec):
        selectors = [interpolate(m, values) for m in plugin.matchers or ()]
        raw = source.label_names(selectors, ctx.start, ctx.end)
    else:
        assert isinstance(plugin, PromQLVariableSpec)
        found = source.series(interpolate(plugin.expr, values), ctx.end)
        label = plugin.labelName
        raw = [labels.get(label, "") if label else value for labels, value in found]
    if var.spec.capturingRegexp:
        pattern = re.compile(var.spec.capturingRegexp)
        captured = []
        for v in raw:
            m = pattern.search(v)
            if m:
                captured.append(m.group(1) if m.groups() else m.group())
        raw = captured
    unique = list(dict.fromkeys(v for v in raw if v != ""))
    return [Option(v, v) for v in _sort(unique, var.spec.sort)]


def _current(var: ListVariable, options: list[Option], asked: Sequence[str]) -> str | list[str]:
    spec = var.spec
    known = {o.value for o in options}
    if spec.allowAllValue and ALL in asked:
        return ALL
    picked = [v for v in asked if v in known or not options]
    if not picked and spec.defaultValue is not None:
        default = [spec.defaultValue] if isinstance(spec.defaultValue, str) else list(spec.defaultValue)
        picked = [v for v in default if v in known] or ([ALL] if ALL in default and spec.allowAllValue else [])
        if picked == [ALL]:
            return ALL
    if not picked:
        if spec.allowAllValue and spec.allowMultiple:
            return ALL
        picked = [options[0].value] if options else []
    if spec.allowMultiple:
        return picked
    return picked[0] if picked else ""


def resolve_variables(dashboard: Dashboard, asked: Mapping[str, Sequence[str]],
                      source: VariableSource, ctx: TimeContext) -> list[ResolvedVariable]:
    """Every variable with its options, current selection and interpolated value."""
    values: dict[str, VariableValue] = dict(builtin_values(ctx, panel_step(ctx)))
    out = []
    for var in dashboard.spec.variables:
        spec = var.spec
        title = spec.display.name if spec.display and spec.display.name else spec.name
        hidden = bool(spec.display and spec.display.hidden)
        if not isinstance(var, ListVariable):
            given = list(asked.get(spec.name, ()))
            text = given[0] if given and not spec.constant else spec.value
            values[spec.name] = text
            out.append(ResolvedVariable(spec.name, "TextVariable", [], text, False, False, text,
                                        title, hidden))
            continue
        options = _options(var, source, values, ctx)
        current = _current(var, options, list(asked.get(spec.name, ())))
        if current == ALL:
            value: VariableValue = (var.spec.customAllValue if var.spec.customAllValue is not None
                                    else [o.value for o in options])
        else:
            value = current
        values[spec.name] = value
        out.append(ResolvedVariable(spec.name, "ListVariable", options, current,
                                    var.spec.allowMultiple, var.spec.allowAllValue, value,
                                    title, hidden))
    return out


def variable_values(resolved: Sequence[ResolvedVariable]) -> dict[str, VariableValue]:
    return {v.name: v.value for v in resolved}


def _panel_widths(dashboard: Dashboard) -> dict[str, int]:
    """Columns (of 24) each placed panel spans; its first placement counts."""
    widths: dict[str, int] = {}
    for grid in dashboard.spec.layouts:
        for item in grid.spec.items:
            name = ref_panel_name(item.content.ref)
            if name is not None:
                widths.setdefault(name, item.width)
    return widths


def panel_queries(dashboard: Dashboard, values: Mapping[str, VariableValue], ctx: TimeContext
                  ) -> dict[str, Any]:
    """``{"panels": {PANEL: [{query, legend, step}]}, "titles": {PANEL: title}}`` with every
    variable interpolated; the step follows the panel's own width (its share of
    ``ctx.width_px``), its queries' ``minStep`` and ``resolution``."""
    widths = _panel_widths(dashboard)
    panels: dict[str, list[dict[str, Any]]] = {}
    titles: dict[str, str] = {}
    for key, panel in dashboard.spec.panels.items():
        columns = widths.get(key, GRID_COLUMNS)
        panel_ctx = TimeContext(ctx.start, ctx.end, max(1, ctx.width_px * columns // GRID_COLUMNS),
                                ctx.scrape_interval)
        titles[key] = interpolate(panel.spec.display.name or key, values)
        queries = []
        for query in panel.spec.queries or ():
            spec = query.spec.plugin.spec
            min_step = parse_duration_ms(spec.minStep) / 1000 if spec.minStep else None
            step = panel_step(panel_ctx, min_step, spec.resolution or 1)
            scoped = {**values, **builtin_values(panel_ctx, step, min_step)}
            queries.append({"query": interpolate(spec.query, scoped),
                            "legend": spec.seriesNameFormat or "", "step": step})
        panels[key] = queries
    return {"panels": panels, "titles": titles}
