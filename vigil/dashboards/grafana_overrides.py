"""Grafana field overrides (``fieldConfig.overrides``) onto Perses queries.

Grafana applies an override to the *series* whose display name matches (``byName``,
``byNames``, ``byRegexp``) or to the series of one query (``byFrameRefID``). Perses sets
colours per *query* (``querySettings``), so an override is carried over when it can be tied
to whole queries: by refId, or by a name or regex that matches a query's legend (its
``legendFormat``, with each ``{{label}}`` standing for any value). What it sets:

* ``color`` (fixed) → ``querySettings`` ``{queryIndex, colorMode: fixed, colorValue}`` (the
  colour of every series of that query);
* ``unit`` → the panel's unit when it covers every query;
* ``displayName`` → the query's ``seriesNameFormat``;
* ``custom.transform: negative-Y`` → the query negated, ``-(expr)``, so transmit-below-receive
  charts keep their shape;

anything else (line styles, fill, per-series stacking, hiding) is listed in the notes.

The old graph panel keeps the same ideas in ``aliasColors`` (``{series name: colour}``) and
``seriesOverrides`` (``[{alias: name or /regex/, color, transform, yaxis, ...}]``);
:func:`graph_overrides` rewrites them as field overrides so they take the same path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from vigil.dashboards.grafana_fields import color_hex
from vigil.dashboards.grafana_queries import Targets

__all__ = ["OverrideResult", "apply_overrides", "graph_overrides"]

_TEMPLATE = re.compile(r"\{\{\s*[^}]*\}\}")


@dataclass
class OverrideResult:
    """What the overrides of one panel came to."""

    query_settings: list[dict[str, Any]] = field(default_factory=list)
    unit: str | None = None  # a Grafana unit id covering every query
    ignored: set[str] = field(default_factory=set)  # property ids not carried over


# The old graph panel's seriesOverrides keys -> the field override property they become.
_GRAPH_PROPERTIES = {"yaxis": "custom.axisPlacement", "linewidth": "custom.lineWidth",
                     "fill": "custom.fillOpacity", "stack": "custom.stacking", "dashes": "custom.lineStyle",
                     "lines": "custom.drawStyle", "bars": "custom.drawStyle", "points": "custom.showPoints",
                     "legend": "custom.hideFrom", "hiddenSeries": "custom.hideFrom", "zindex": "zindex"}


def graph_overrides(panel: dict[str, Any]) -> dict[str, Any]:
    """The old graph panel's ``aliasColors`` and ``seriesOverrides`` as ``fieldConfig``
    overrides (by name, or by regex for a ``/.../`` alias)."""
    overrides: list[dict[str, Any]] = []
    colors = panel.get("aliasColors")
    for alias, color in (colors.items() if isinstance(colors, dict) else ()):
        overrides.append({"matcher": {"id": "byName", "options": alias},
                          "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}]})
    for series in panel.get("seriesOverrides") or []:
        if not isinstance(series, dict) or not isinstance(series.get("alias"), str):
            continue
        alias = series["alias"]
        matcher = ({"id": "byRegexp", "options": alias} if len(alias) > 1 and alias.startswith("/")
                   and alias.rstrip("gimsuy").endswith("/") else {"id": "byName", "options": alias})
        props: list[dict[str, Any]] = []
        for key, value in series.items():
            if key == "color":
                props.append({"id": "color", "value": {"mode": "fixed", "fixedColor": value}})
            elif key == "transform":
                props.append({"id": "custom.transform", "value": value})
            elif key in _GRAPH_PROPERTIES:
                props.append({"id": _GRAPH_PROPERTIES[key], "value": value})
        if props:
            overrides.append({"matcher": matcher, "properties": props})
    return {"overrides": overrides}


def _legend_sample(legend: str | None) -> str | None:
    """The legend as a name a series could have: each ``{{label}}`` as ``x``."""
    return None if legend is None else _TEMPLATE.sub("x", legend)


def _grafana_regex(text: str) -> re.Pattern[str] | None:
    if m := re.fullmatch(r"/(.*)/([a-z]*)", text, re.S):
        text = m.group(1)
        flags = re.I if "i" in m.group(2) else 0
    else:
        flags = 0
    try:
        return re.compile(text, flags)
    except re.error:
        return None


def _matched(matcher: Any, targets: Targets) -> list[int] | None:
    """Indexes of the queries an override's matcher covers; None for a matcher kind that
    does not name series (byType, byValue)."""
    if not isinstance(matcher, dict):
        return None
    kind, options = matcher.get("id"), matcher.get("options")
    legends = targets.legends
    if kind == "byFrameRefID":
        return [i for i, ref in enumerate(targets.ref_ids) if ref == options]
    if kind == "byName" and isinstance(options, str):
        return [i for i, legend in enumerate(legends) if legend == options]
    if kind == "byNames" and isinstance(options, dict):
        names = options.get("names") or []
        return [i for i, legend in enumerate(legends) if legend in names]
    if kind == "byRegexp" and isinstance(options, str):
        pattern = _grafana_regex(options)
        if pattern is None:
            return []
        return [i for i, legend in enumerate(legends)
                if (sample := _legend_sample(legend)) is not None and pattern.search(sample)]
    return None


def apply_overrides(field_config: Any, targets: Targets, notes: list[str], where: str) -> OverrideResult:
    """Carry ``field_config``'s overrides onto ``targets`` (whose query specs may be changed in
    place: legend, negation) and return the settings for the panel plugin."""
    result = OverrideResult()
    overrides = field_config.get("overrides") if isinstance(field_config, dict) else None
    colors: dict[int, str] = {}
    for override in overrides or []:
        if not isinstance(override, dict):
            continue
        matcher = override.get("matcher") or {}
        indexes = _matched(matcher, targets)
        props = [p for p in override.get("properties") or [] if isinstance(p, dict)]
        label = f"{matcher.get('id')} {matcher.get('options')!r}"
        if indexes is None or not indexes:
            if props:
                why = "does not name series" if indexes is None else "matches no whole query"
                notes.append(f"{where}: override {label} {why}; dropped")
            continue
        for prop in props:
            pid, value = prop.get("id"), prop.get("value")
            if pid == "color" and isinstance(value, dict) and value.get("mode") == "fixed":
                hex_color = color_hex(value.get("fixedColor"))
                if hex_color:
                    for i in indexes:
                        colors[i] = hex_color
                    continue
            elif pid == "unit" and isinstance(value, str):
                if len(indexes) == len(targets.queries):
                    result.unit = value
                    continue
            elif pid == "displayName" and isinstance(value, str) and value:
                for i in indexes:
                    _query_spec(targets, i)["seriesNameFormat"] = value
                continue
            elif pid == "custom.transform" and value == "negative-Y":
                for i in indexes:
                    spec = _query_spec(targets, i)
                    spec["query"] = f"-({spec['query']})"
                notes.append(f"{where}: {label} drawn below the axis by negating its query")
                continue
            result.ignored.add(str(pid))
    for i in sorted(colors):
        result.query_settings.append({"queryIndex": i, "colorMode": "fixed", "colorValue": colors[i]})
    if result.ignored:
        notes.append(f"{where}: override properties not carried over: {', '.join(sorted(result.ignored))}")
    return result


def _query_spec(targets: Targets, index: int) -> dict[str, Any]:
    spec: dict[str, Any] = targets.queries[index]["spec"]["plugin"]["spec"]
    return spec
