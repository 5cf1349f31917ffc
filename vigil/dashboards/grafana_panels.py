"""One Grafana panel to one Perses panel, or to a Markdown placeholder saying why not.

==================================  =======================================================
Grafana panel type                  Perses plugin
==================================  =======================================================
timeseries, graph                   TimeSeriesChart (a graph in "series" x-axis mode:
                                    BarChart; in "histogram" mode: a placeholder)
stat, singlestat                    StatChart (a singlestat showing its gauge: GaugeChart)
gauge                               GaugeChart
bargauge                            BarChart
table, table-old                    Table
text                                Markdown
heatmap                             Heatmap (Vigil's, for classic histograms)
alertlist                           AlertList (Vigil's alerts)
anything else                       placeholder
==================================  =======================================================

A panel is a placeholder when its type has no equivalent, it is a library panel whose model
is not in the JSON, its data source is not Prometheus, or it has no visible PromQL query.
The placeholder is a Markdown panel with the original title, the reason, and the original
queries, so nothing silently disappears.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.dashboards.grafana_fields import (
    CALCULATIONS,
    format_spec,
    graph_thresholds,
    perses_calculation,
    singlestat_thresholds,
    thresholds_spec,
)
from vigil.dashboards.grafana_overrides import apply_overrides, graph_overrides
from vigil.dashboards.grafana_queries import (
    PROMETHEUS,
    DatasourceKinds,
    Targets,
    convert_targets,
    datasource_kind,
)

__all__ = ["ConvertedPanel", "convert_panel"]

_NEEDS_NO_QUERY = {"text", "alertlist"}
_GRAPH_LIKE = {"timeseries", "graph"}
_STATE_FILTERS = {"firing": "firing", "pending": "pending", "noData": None, "normal": "inactive",
                  "inactive": "inactive", "error": None, "recovering": None}


@dataclass
class ConvertedPanel:
    """A Perses panel (``{kind: Panel, spec}``) and, for a placeholder, the reason."""

    panel: dict[str, Any]
    placeholder_reason: str | None = None


def _defaults(panel: dict[str, Any]) -> dict[str, Any]:
    fc = panel.get("fieldConfig")
    defaults = fc.get("defaults") if isinstance(fc, dict) else None
    return defaults if isinstance(defaults, dict) else {}


def _number(value: Any) -> float | None:
    """A number from Grafana (old panels keep axis limits as strings)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else number


def _placeholder(panel: dict[str, Any], reason: str) -> ConvertedPanel:
    typ = panel.get("type") or "unknown"
    lines = [f"**Not imported from Grafana:** {reason}.", "",
             f"The original panel was of type `{typ}`."]
    exprs = [t.get("expr") or t.get("query") or t.get("rawSql") or t.get("target")
             for t in panel.get("targets") or [] if isinstance(t, dict)]
    exprs = [e for e in exprs if isinstance(e, str) and e.strip()]
    if exprs:
        lines += ["Its queries:", "", "```", *(e.strip() for e in exprs), "```"]
    spec: dict[str, Any] = {"display": _display(panel),
                            "plugin": {"kind": "Markdown", "spec": {"text": "\n".join(lines)}}}
    return ConvertedPanel({"kind": "Panel", "spec": spec}, reason)


def _display(panel: dict[str, Any]) -> dict[str, Any]:
    display: dict[str, Any] = {"name": str(panel.get("title") or "")}
    if isinstance(panel.get("description"), str) and panel["description"].strip():
        display["description"] = panel["description"]
    return display


def _links(panel: dict[str, Any]) -> list[dict[str, Any]]:
    links = []
    for link in panel.get("links") or []:
        if isinstance(link, dict) and isinstance(link.get("url"), str) and link["url"]:
            item: dict[str, Any] = {"url": link["url"]}
            if link.get("title"):
                item["name"] = str(link["title"])
            if link.get("targetBlank"):
                item["targetBlank"] = True
            links.append(item)
    return links


def _legend(panel: dict[str, Any]) -> dict[str, Any] | None:
    options = panel.get("options") if isinstance(panel.get("options"), dict) else {}
    legend = options.get("legend")
    if isinstance(legend, dict):  # timeseries (7.x+)
        if legend.get("showLegend") is False or legend.get("displayMode") == "hidden":
            return None
        calcs = [CALCULATIONS[c] for c in legend.get("calcs") or [] if c in CALCULATIONS]
        mode = "table" if legend.get("displayMode") == "table" else "list"
        out: dict[str, Any] = {"position": "right" if legend.get("placement") == "right" else "bottom",
                               "mode": mode}
        return out | ({"values": list(dict.fromkeys(calcs))} if calcs else {})
    old = panel.get("legend")
    if isinstance(old, dict):  # the old graph panel
        if old.get("show") is False:
            return None
        calcs = [perses for key, perses in (("current", "last-number"), ("avg", "mean"), ("min", "min"),
                                            ("max", "max"), ("total", "sum")) if old.get(key)]
        out = {"position": "right" if old.get("rightSide") else "bottom",
               "mode": "table" if old.get("alignAsTable") else "list"}
        return out | ({"values": calcs} if calcs and old.get("values") else {})
    return {"position": "bottom", "mode": "list"}


def _time_series(panel: dict[str, Any], targets: Targets, notes: list[str], where: str) -> dict[str, Any]:
    defaults = _defaults(panel)
    custom = defaults.get("custom") if isinstance(defaults.get("custom"), dict) else {}
    field_config = graph_overrides(panel) if panel.get("type") == "graph" else panel.get("fieldConfig")
    overrides = apply_overrides(field_config, targets, notes, where)
    spec: dict[str, Any] = {}
    if legend := _legend(panel):
        spec["legend"] = legend
    y_axis: dict[str, Any] = {}
    if panel.get("type") == "graph":
        yaxes = panel.get("yaxes") if isinstance(panel.get("yaxes"), list) else []
        left = yaxes[0] if yaxes and isinstance(yaxes[0], dict) else {}
        unit, low, high, label = left.get("format"), _number(left.get("min")), _number(left.get("max")), left.get("label")
        decimals = panel.get("decimals")
        thresholds = graph_thresholds(panel.get("thresholds"), notes, where)
        visual = _graph_visual(panel)
    else:
        unit, low, high, label = defaults.get("unit"), _number(defaults.get("min")), _number(defaults.get("max")), custom.get("axisLabel")
        decimals = defaults.get("decimals")
        style = custom.get("thresholdsStyle") if isinstance(custom.get("thresholdsStyle"), dict) else {}
        shown = style.get("mode") not in (None, "off")
        thresholds = thresholds_spec(defaults.get("thresholds"), notes, where) if shown else None
        visual = _timeseries_visual(custom)
    if fmt := format_spec(overrides.unit or unit, decimals, notes, where):
        y_axis["format"] = fmt
    if low is not None:
        y_axis["min"] = low
    if high is not None:
        y_axis["max"] = high
    if isinstance(label, str) and label:
        y_axis["label"] = label
    if y_axis:
        spec["yAxis"] = y_axis
    if thresholds:
        spec["thresholds"] = thresholds
    if visual:
        spec["visual"] = visual
    if overrides.query_settings:
        spec["querySettings"] = overrides.query_settings
    return {"kind": "TimeSeriesChart", "spec": spec}


def _timeseries_visual(custom: dict[str, Any]) -> dict[str, Any]:
    visual: dict[str, Any] = {}
    if custom.get("drawStyle") == "bars":
        visual["display"] = "bar"
    if isinstance(custom.get("lineWidth"), int | float):
        visual["lineWidth"] = custom["lineWidth"]
    if isinstance(custom.get("fillOpacity"), int | float) and custom["fillOpacity"] > 0:
        visual["areaOpacity"] = round(min(custom["fillOpacity"], 100) / 100, 2)
    stacking = custom.get("stacking") if isinstance(custom.get("stacking"), dict) else {}
    if stacking.get("mode") == "normal":
        visual["stack"] = "all"
    elif stacking.get("mode") == "percent":
        visual["stack"] = "percent"
    if custom.get("spanNulls") is True:
        visual["connectNulls"] = True
    return visual


def _graph_visual(panel: dict[str, Any]) -> dict[str, Any]:
    visual: dict[str, Any] = {}
    if panel.get("bars") and not panel.get("lines", True):
        visual["display"] = "bar"
    if isinstance(panel.get("linewidth"), int | float):
        visual["lineWidth"] = panel["linewidth"]
    if isinstance(panel.get("fill"), int | float) and panel["fill"] > 0:
        visual["areaOpacity"] = round(min(panel["fill"], 10) / 10, 2)
    if panel.get("stack"):
        visual["stack"] = "percent" if panel.get("percentage") else "all"
    if panel.get("nullPointMode") == "connected":
        visual["connectNulls"] = True
    return visual


def _single_value(panel: dict[str, Any], targets: Targets, notes: list[str], where: str, kind: str) -> dict[str, Any]:
    """StatChart, GaugeChart or BarChart from a stat, gauge, bargauge or singlestat panel."""
    options = panel.get("options") if isinstance(panel.get("options"), dict) else {}
    defaults = _defaults(panel)
    overrides = apply_overrides(panel.get("fieldConfig"), targets, notes, where)
    if panel.get("type") == "singlestat":
        unit, decimals = panel.get("format"), panel.get("decimals")
        calculation = perses_calculation(panel.get("valueName") or "avg", notes, where)
        thresholds = singlestat_thresholds(panel.get("thresholds"), panel.get("colors"), notes, where)
        gauge = panel.get("gauge") if isinstance(panel.get("gauge"), dict) else {}
        high = _number(gauge.get("maxValue"))
        sparkline = isinstance(panel.get("sparkline"), dict) and panel["sparkline"].get("show")
    else:
        unit, decimals = overrides.unit or defaults.get("unit"), defaults.get("decimals")
        reduce = options.get("reduceOptions") if isinstance(options.get("reduceOptions"), dict) else {}
        calculation = perses_calculation(reduce.get("calcs"), notes, where)
        thresholds = thresholds_spec(defaults.get("thresholds"), notes, where)
        high = _number(defaults.get("max"))
        sparkline = options.get("graphMode") == "area"
        if reduce.get("values") is True:
            notes.append(f"{where}: 'all values' display is shown as one value per series")
    spec: dict[str, Any] = {"calculation": calculation}
    if fmt := format_spec(unit, decimals, notes, where):
        spec["format"] = fmt
    if kind == "BarChart":
        if thresholds:
            notes.append(f"{where}: bar gauge threshold colours are not drawn by BarChart")
        return {"kind": kind, "spec": spec}
    if thresholds:
        spec["thresholds"] = thresholds
    if kind == "GaugeChart" and high is not None:
        spec["max"] = high
    if kind == "StatChart" and sparkline:
        spec["sparkline"] = {}
    mappings = [m for m in defaults.get("mappings") or [] if isinstance(m, dict)
                and not (m.get("type") == "special" and (m.get("options") or {}).get("match") in ("null", "nan", "null+nan"))]
    if mappings or panel.get("valueMaps") and panel.get("type") == "singlestat":
        notes.append(f"{where}: value mappings are not carried over; the numbers are shown")
    return {"kind": kind, "spec": spec}


def _table(panel: dict[str, Any], targets: Targets, notes: list[str], where: str) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    columns: dict[str, dict[str, Any]] = {}
    for t in panel.get("transformations") or []:
        if not isinstance(t, dict):
            continue
        options = t.get("options") if isinstance(t.get("options"), dict) else {}
        if t.get("id") == "organize":
            for name, header in (options.get("renameByName") or {}).items():
                if header:
                    columns.setdefault(name, {"name": name})["header"] = header
            for name, hidden in (options.get("excludeByName") or {}).items():
                if hidden:
                    columns.setdefault(name, {"name": name})["hide"] = True
        else:
            notes.append(f"{where}: transformation {t.get('id')!r} not carried over")
    fc = panel.get("fieldConfig") if isinstance(panel.get("fieldConfig"), dict) else {}
    for override in fc.get("overrides") or []:
        matcher = override.get("matcher") if isinstance(override, dict) else None
        if not isinstance(matcher, dict) or matcher.get("id") != "byName" or not isinstance(matcher.get("options"), str):
            continue
        column = columns.setdefault(matcher["options"], {"name": matcher["options"]})
        for prop in override.get("properties") or []:
            pid, value = prop.get("id"), prop.get("value")
            if pid == "displayName" and isinstance(value, str):
                column["header"] = value
            elif pid == "custom.hidden" and value is True:
                column["hide"] = True
            elif pid == "unit" and (fmt := format_spec(value, None, notes, where)):
                column["format"] = fmt
            elif pid == "custom.width" and isinstance(value, int):
                column["width"] = value
    if columns:
        spec["columnSettings"] = list(columns.values())
    defaults = _defaults(panel)
    if fmt := format_spec(defaults.get("unit"), defaults.get("decimals"), notes, where):
        spec["format"] = fmt
    return {"kind": "Table", "spec": spec}


def _text(panel: dict[str, Any], notes: list[str], where: str) -> dict[str, Any]:
    options = panel.get("options") if isinstance(panel.get("options"), dict) else {}
    content = options.get("content", panel.get("content", ""))
    mode = options.get("mode", panel.get("mode", "markdown"))
    text = content if isinstance(content, str) else ""
    if mode == "html":
        notes.append(f"{where}: HTML text is shown as Markdown (raw HTML is not rendered)")
    elif mode == "code":
        text = f"```\n{text}\n```"
    return {"kind": "Markdown", "spec": {"text": text}}


def _heatmap(panel: dict[str, Any], targets: Targets, notes: list[str], where: str) -> dict[str, Any]:
    options = panel.get("options") if isinstance(panel.get("options"), dict) else {}
    y_axis = options.get("yAxis") if isinstance(options.get("yAxis"), dict) else {}
    old_y = panel.get("yAxis") if isinstance(panel.get("yAxis"), dict) else {}
    spec: dict[str, Any] = {}
    if fmt := format_spec(y_axis.get("unit") or old_y.get("format"), y_axis.get("decimals"), notes, where):
        spec["yAxisFormat"] = fmt
    color = options.get("color") if isinstance(options.get("color"), dict) else {}
    scheme = color.get("scheme") or (panel.get("color") or {}).get("colorScheme")
    if isinstance(scheme, str) and scheme:
        spec["colorScheme"] = scheme.removeprefix("interpolate").lower()
    if not any("_bucket" in q["spec"]["plugin"]["spec"]["query"] for q in targets.queries):
        notes.append(f"{where}: heatmap query has no *_bucket series; Vigil's Heatmap draws classic histograms")
    return {"kind": "Heatmap", "spec": spec}


def _alert_list(panel: dict[str, Any]) -> dict[str, Any]:
    options = panel.get("options") if isinstance(panel.get("options"), dict) else {}
    spec: dict[str, Any] = {}
    filters = options.get("stateFilter") if isinstance(options.get("stateFilter"), dict) else {}
    states = sorted({s for key, on in filters.items() if on and (s := _STATE_FILTERS.get(key))})
    if states:
        spec["states"] = states
    label_filter = options.get("alertInstanceLabelFilter")
    if isinstance(label_filter, str) and label_filter.strip().strip("{}").strip():
        spec["matchers"] = [m.strip() for m in label_filter.strip().strip("{}").split(",") if m.strip()]
    if isinstance(options.get("maxItems"), int) and 1 <= options["maxItems"] <= 1000:
        spec["limit"] = options["maxItems"]
    return {"kind": "AlertList", "spec": spec}


def convert_panel(panel: dict[str, Any], kinds: DatasourceKinds, notes: list[str], where: str) -> ConvertedPanel:
    """The Perses panel for one Grafana panel (not a row)."""
    typ = panel.get("type")
    if panel.get("libraryPanel") and not typ:
        return _placeholder(panel, "library panel whose model is not in the JSON")
    if typ == "text":
        return _finish(panel, _text(panel, notes, where), None)
    if typ == "alertlist":
        return _finish(panel, _alert_list(panel), None)
    kind_of: dict[str, str] = {"timeseries": "", "graph": "", "stat": "StatChart", "singlestat": "StatChart",
                               "gauge": "GaugeChart", "bargauge": "BarChart", "table": "", "table-old": "",
                               "heatmap": ""}
    if typ not in kind_of:
        return _placeholder(panel, f"panel type '{typ}' has no Vigil equivalent")
    if typ == "graph" and (panel.get("xaxis") or {}).get("mode") == "histogram":
        return _placeholder(panel, "graph panel in histogram mode has no Vigil equivalent")
    panel_kind = datasource_kind(panel.get("datasource"), kinds)
    if panel_kind not in (None, PROMETHEUS, "mixed"):
        return _placeholder(panel, f"data source '{panel_kind}' is not Prometheus")
    targets = convert_targets(panel, panel_kind, kinds, notes, where)
    if targets.foreign_kind and not targets.queries:
        return _placeholder(panel, f"data source '{targets.foreign_kind}' is not Prometheus")
    if not targets.queries:
        return _placeholder(panel, "no visible PromQL query")
    if targets.foreign_kind:
        notes.append(f"{where}: queries of data source '{targets.foreign_kind}' dropped")
    if panel.get("timeFrom") or panel.get("timeShift"):
        notes.append(f"{where}: the panel's own time range (timeFrom/timeShift) is not carried over")
    if typ in _GRAPH_LIKE:
        if typ == "graph" and (panel.get("xaxis") or {}).get("mode") == "series":
            values = (panel.get("xaxis") or {}).get("values") or ["avg"]
            plugin = {"kind": "BarChart", "spec": {"calculation": perses_calculation(values, notes, where)}}
            if fmt := format_spec((panel.get("yaxes") or [{}])[0].get("format"), panel.get("decimals"), notes, where):
                plugin["spec"]["format"] = fmt
        else:
            plugin = _time_series(panel, targets, notes, where)
    elif typ in ("table", "table-old"):
        plugin = _table(panel, targets, notes, where)
    elif typ == "heatmap":
        plugin = _heatmap(panel, targets, notes, where)
    else:
        kind = kind_of[typ]
        if typ == "singlestat" and isinstance(panel.get("gauge"), dict) and panel["gauge"].get("show"):
            kind = "GaugeChart"
        plugin = _single_value(panel, targets, notes, where, kind)
    return _finish(panel, plugin, targets.queries)


def _finish(panel: dict[str, Any], plugin: dict[str, Any], queries: list[dict[str, Any]] | None) -> ConvertedPanel:
    spec: dict[str, Any] = {"display": _display(panel), "plugin": plugin}
    if queries:
        spec["queries"] = queries
    if links := _links(panel):
        spec["links"] = links
    return ConvertedPanel({"kind": "Panel", "spec": spec})
