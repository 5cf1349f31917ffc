"""Grafana import, feature by feature, on small synthetic dashboards: the old graph and
singlestat panels (schema 16), repeat, overrides, interval/custom/constant/textbox/datasource
variables, placeholders and their reasons, layout, and refused input."""

from __future__ import annotations

from typing import Any

import pytest

from vigil.dashboards.grafana import GrafanaImportError, convert_grafana

PROM = {"type": "prometheus", "uid": "prom"}


def dashboard(*panels: dict[str, Any], variables: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"title": "Synthetic", "schemaVersion": 16, "panels": list(panels),
            "templating": {"list": variables or []}, **extra}


def panel(typ: str, title: str, *exprs: str, y: int = 0, **extra: Any) -> dict[str, Any]:
    targets = [{"expr": e, "refId": chr(ord("A") + i)} for i, e in enumerate(exprs)]
    return {"type": typ, "title": title, "datasource": PROM, "gridPos": {"x": 0, "y": y, "w": 12, "h": 8},
            "targets": targets, **extra}


def only_panel(result: Any) -> dict[str, Any]:
    (spec,) = [p["spec"] for p in result.dashboard["spec"]["panels"].values()]
    return spec


def query_specs(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [q["spec"]["plugin"]["spec"] for q in spec["queries"]]


def test_schema_16_graph_panel() -> None:
    graph = panel("graph", "Memory", 'node_memory_Active_bytes{instance="$node"}', "node_memory_MemFree_bytes",
                  yaxes=[{"format": "bytes", "min": "0", "max": None, "label": "used"}, {"format": "short"}],
                  decimals=2, legend={"show": True, "alignAsTable": True, "rightSide": True, "values": True,
                                      "current": True, "max": True},
                  thresholds=[{"value": 1e9, "op": "gt", "colorMode": "critical"},
                              {"value": 5e8, "op": "gt", "colorMode": "custom", "lineColor": "rgba(10, 20, 30, 0.5)"}],
                  stack=True, fill=3, linewidth=2, nullPointMode="connected")
    graph["targets"][0] |= {"legendFormat": "{{instance}} active", "interval": ">30s", "step": 240, "intervalFactor": 2}
    graph["targets"][1] |= {"legendFormat": "free", "step": 60}
    spec = only_panel(convert_grafana(dashboard(graph)))
    assert spec["plugin"] == {"kind": "TimeSeriesChart", "spec": {
        "legend": {"position": "right", "mode": "table", "values": ["last-number", "max"]},
        "yAxis": {"format": {"unit": "bytes", "decimalPlaces": 2}, "min": 0, "label": "used"},
        "thresholds": {"steps": [{"value": 5e8, "color": "#0A141E"}, {"value": 1e9, "color": "#F2495C"}]},
        "visual": {"lineWidth": 2, "areaOpacity": 0.3, "stack": "all", "connectNulls": True}}}
    assert query_specs(spec) == [
        {"query": 'node_memory_Active_bytes{instance="$node"}', "seriesNameFormat": "{{instance}} active",
         "minStep": "30s", "resolution": 2},
        {"query": "node_memory_MemFree_bytes", "seriesNameFormat": "free"},  # "step" (Grafana 4) ignored
    ]


def test_graph_alias_colours_and_series_overrides() -> None:
    graph = panel("graph", "Network", "rate(rx[5m])", "rate(tx[5m])", "rate(errs[5m])",
                  aliasColors={"received": "#7EB26D", "nobody": "red"},
                  seriesOverrides=[{"alias": "/transmit.*/", "transform": "negative-Y", "color": "dark-blue"},
                                   {"alias": "errors", "yaxis": 2, "linewidth": 3}])
    for target, legend in zip(graph["targets"], ("received", "transmit {{device}}", "errors"), strict=True):
        target["legendFormat"] = legend
    result = convert_grafana(dashboard(graph))
    spec = only_panel(result)
    assert spec["plugin"]["spec"]["querySettings"] == [
        {"queryIndex": 0, "colorMode": "fixed", "colorValue": "#7EB26D"},
        {"queryIndex": 1, "colorMode": "fixed", "colorValue": "#1F60C4"}]
    assert query_specs(spec)[1]["query"] == "-(rate(tx[5m]))"
    notes = result.summary.notes
    assert "panel 'Network': override byName 'nobody' matches no whole query; dropped" in notes
    assert "panel 'Network': override properties not carried over: custom.axisPlacement, custom.lineWidth" in notes


def test_graph_in_series_mode_is_a_bar_chart_and_histogram_mode_a_placeholder() -> None:
    bars = panel("graph", "By job", "sum by (job) (up)", xaxis={"mode": "series", "values": ["max"]},
                 yaxes=[{"format": "percent"}])
    histogram = panel("graph", "Spread", "up", y=8, xaxis={"mode": "histogram"})
    result = convert_grafana(dashboard(bars, histogram))
    panels = result.dashboard["spec"]["panels"]
    assert panels["by_job"]["spec"]["plugin"] == {"kind": "BarChart", "spec": {"calculation": "max",
                                                                                "format": {"unit": "percent"}}}
    assert panels["spread"]["spec"]["plugin"]["kind"] == "Markdown"
    assert result.summary.placeholders_by_reason == {"graph panel in histogram mode has no Vigil equivalent": 1}


def test_singlestat_as_stat_and_as_gauge() -> None:
    stat = panel("singlestat", "Up", "up", format="percentunit", decimals=1, valueName="current",
                 thresholds="0.5,0.9", colors=["#d44a3a", "rgba(237, 129, 40, 0.89)", "green"],
                 sparkline={"show": True}, valueMaps=[{"op": "=", "text": "DOWN", "value": "0"}])
    gauge = panel("singlestat", "Load", "node_load1", y=8, format="none", valueName="avg", thresholds="2",
                  colors=["green", "red"], gauge={"show": True, "maxValue": 8})
    result = convert_grafana(dashboard(stat, gauge))
    panels = result.dashboard["spec"]["panels"]
    assert panels["up"]["spec"]["plugin"] == {"kind": "StatChart", "spec": {
        "calculation": "last-number", "format": {"unit": "percent-decimal", "decimalPlaces": 1},
        "thresholds": {"steps": [{"value": 0.5, "color": "#ED8128"}, {"value": 0.9, "color": "#73BF69"}],
                       "defaultColor": "#d44a3a"},
        "sparkline": {}}}
    assert panels["load"]["spec"]["plugin"] == {"kind": "GaugeChart", "spec": {
        "calculation": "mean", "format": {"unit": "decimal"},
        "thresholds": {"steps": [{"value": 2, "color": "#F2495C"}], "defaultColor": "#73BF69"}, "max": 8}}
    assert "panel 'Up': value mappings are not carried over; the numbers are shown" in result.summary.notes


def test_repeat_by_variable_becomes_one_panel_over_every_value() -> None:
    repeated = panel("timeseries", "CPU $node", 'rate(cpu{instance="$node", mode!="idle"}[$__rate_interval])',
                     repeat="node", repeatDirection="h")
    copy = panel("timeseries", "CPU $node", 'rate(cpu{instance="$node"}[5m])', repeatPanelId=1, repeatIteration=1)
    row = {"type": "row", "title": "Disks of $node", "repeat": "node", "collapsed": False, "gridPos": {"y": 8},
           "panels": []}
    in_row = panel("timeseries", "IO", 'rate(io{instance="${node}"}[5m]) and on() up{job="$job"}', y=9)
    row_copy = {"type": "row", "title": "Disks of b", "repeatIteration": 1, "repeatRowId": 3, "collapsed": False,
                "gridPos": {"y": 17}, "panels": []}
    copy_in_row = panel("timeseries", "IO", 'rate(io{instance="b"}[5m])', y=18)
    result = convert_grafana(dashboard(repeated, copy, row, in_row, row_copy, copy_in_row))
    panels = result.dashboard["spec"]["panels"]
    assert list(panels) == ["cpu_node", "io"]
    assert query_specs(panels["cpu_node"]["spec"])[0]["query"] == \
        'rate(cpu{instance=~"$node", mode!="idle"}[$__rate_interval])'
    # only the repeat variable's matchers become regex matchers
    assert query_specs(panels["io"]["spec"])[0]["query"] == 'rate(io{instance=~"${node}"}[5m]) and on() up{job="$job"}'
    assert [g["spec"].get("display", {}).get("title") for g in result.dashboard["spec"]["layouts"]] == [
        None, "Disks of $node"]
    assert result.summary.panels == 2
    notes = result.summary.notes
    assert "panel 'CPU $node': repeated per $node in Grafana; imported once, showing every selected value" in notes
    assert "panels[1]: copy of a repeated panel skipped" in notes
    assert "panels[4]: copy of a repeated row skipped" in notes


def test_overrides_for_colour_unit_legend_and_the_rest() -> None:
    ts = panel("timeseries", "Traffic", "rate(rx[5m])", "rate(tx[5m])", "rate(drops[5m])",
               fieldConfig={"defaults": {"unit": "short"}, "overrides": [
                   {"matcher": {"id": "byFrameRefID", "options": "A"},
                    "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "dark-green"}}]},
                   {"matcher": {"id": "byName", "options": "transmit"},
                    "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "#112233"}},
                                   {"id": "displayName", "value": "sent"}, {"id": "custom.lineWidth", "value": 3}]},
                   {"matcher": {"id": "byRegexp", "options": "/.*/"},
                    "properties": [{"id": "unit", "value": "Bps"}]},
                   {"matcher": {"id": "byValue", "options": {"op": "gte"}},
                    "properties": [{"id": "custom.hideFrom", "value": {"viz": True}}]},
               ]})
    ts["targets"][0]["legendFormat"] = "{{device}} received"
    ts["targets"][1]["legendFormat"] = "transmit"
    ts["targets"][2]["legendFormat"] = "drops {{device}}"
    result = convert_grafana(dashboard(ts))
    spec = only_panel(result)
    assert spec["plugin"]["spec"]["querySettings"] == [
        {"queryIndex": 0, "colorMode": "fixed", "colorValue": "#37872D"},
        {"queryIndex": 1, "colorMode": "fixed", "colorValue": "#112233"}]
    assert spec["plugin"]["spec"]["yAxis"] == {"format": {"unit": "bytes/sec"}}  # the override covers every query
    assert [q.get("seriesNameFormat") for q in query_specs(spec)] == ["{{device}} received", "sent", "drops {{device}}"]
    assert "panel 'Traffic': override properties not carried over: custom.lineWidth" in result.summary.notes
    assert "panel 'Traffic': override byValue {'op': 'gte'} does not name series; dropped" in result.summary.notes


def test_timeseries_thresholds_only_when_drawn() -> None:
    steps = {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 80}]}
    drawn = panel("timeseries", "Drawn", "up", fieldConfig={"defaults": {
        "thresholds": steps, "custom": {"thresholdsStyle": {"mode": "line"}}}})
    hidden = panel("timeseries", "Hidden", "up", y=8, fieldConfig={"defaults": {
        "thresholds": steps, "custom": {"thresholdsStyle": {"mode": "off"}}}})
    panels = convert_grafana(dashboard(drawn, hidden)).dashboard["spec"]["panels"]
    assert panels["drawn"]["spec"]["plugin"]["spec"]["thresholds"] == {
        "defaultColor": "#73BF69", "steps": [{"value": 80, "color": "#F2495C"}]}
    assert "thresholds" not in panels["hidden"]["spec"]["plugin"]["spec"]
    assert panels["hidden"]["spec"]["plugin"]["spec"]["legend"] == {"position": "bottom", "mode": "list"}  # Grafana's default


def test_unit_override_on_some_queries_only_is_noted() -> None:
    ts = panel("timeseries", "Mixed", "a", "b", fieldConfig={"defaults": {"unit": "s"}, "overrides": [
        {"matcher": {"id": "byFrameRefID", "options": "B"}, "properties": [{"id": "unit", "value": "bytes"}]}]})
    result = convert_grafana(dashboard(ts))
    assert only_panel(result)["plugin"]["spec"]["yAxis"] == {"format": {"unit": "seconds"}}
    assert "panel 'Mixed': override properties not carried over: unit" in result.summary.notes


def test_variables_of_every_kind() -> None:
    variables = [
        {"type": "datasource", "name": "ds", "query": "prometheus"},
        {"type": "interval", "name": "window", "query": "1m,10m,1h", "auto": True,
         "current": {"text": "auto", "value": "$__auto_interval_window"}},
        {"type": "custom", "name": "env", "query": "prod,stage\\,eu, Dev box : dev", "multi": True,
         "includeAll": True, "current": {"value": ["prod", "dev"]}},
        {"type": "constant", "name": "cluster", "query": "farm-1", "hide": 2},
        {"type": "textbox", "name": "filter", "query": ".*", "label": "Filter"},
        {"type": "query", "name": "job", "query": "label_values(job)", "datasource": "$ds", "sort": 2},
        {"type": "query", "name": "metric", "query": {"query": "metrics(node_disk_)", "refId": "X"}},
        {"type": "query", "name": "host", "query": "query_result(topk(5, up))",
         "regex": '/.*instance="([^"]+)".*/'},
        {"type": "query", "name": "label", "query": "label_names(up)"},
        {"type": "query", "name": "sorted", "query": "label_values(up{job=\"$job\"}, instance)",
         "regex": "/^10\\./", "hide": 0},
        {"type": "adhoc", "name": "filters"},
    ]
    result = convert_grafana(dashboard(variables=variables))
    specs = {v["spec"]["name"]: v for v in result.dashboard["spec"]["variables"]}
    assert list(specs) == ["window", "env", "cluster", "filter", "job", "metric", "host", "label", "sorted"]
    assert specs["window"]["spec"] == {"name": "window", "allowAllValue": False, "allowMultiple": False,
                                       "plugin": {"kind": "StaticListVariable",
                                                  "spec": {"values": ["1m", "10m", "1h"]}}}
    assert specs["env"]["spec"]["plugin"]["spec"]["values"] == ["prod", "stage,eu", {"label": "Dev box", "value": "dev"}]
    assert specs["env"]["spec"]["defaultValue"] == ["prod", "dev"]
    assert specs["cluster"] == {"kind": "TextVariable", "spec": {"name": "cluster", "display": {"hidden": True},
                                                                 "value": "farm-1", "constant": True}}
    assert specs["filter"] == {"kind": "TextVariable", "spec": {"name": "filter", "display": {"name": "Filter"},
                                                                "value": ".*"}}
    assert specs["job"]["spec"]["plugin"] == {"kind": "PrometheusLabelValuesVariable", "spec": {"labelName": "job"}}
    assert specs["job"]["spec"]["sort"] == "alphabetical-desc"
    assert specs["metric"]["spec"]["plugin"]["spec"] == {"labelName": "__name__",
                                                         "matchers": ['{__name__=~".*node_disk_.*"}']}
    assert specs["host"]["spec"]["plugin"] == {"kind": "PrometheusPromQLVariable",
                                               "spec": {"expr": "topk(5, up)", "labelName": "instance"}}
    assert "capturingRegexp" not in specs["host"]["spec"]  # the regex only named the label
    assert specs["label"]["spec"]["plugin"] == {"kind": "PrometheusLabelNamesVariable", "spec": {"matchers": ["up"]}}
    assert specs["sorted"]["spec"]["capturingRegexp"] == "^10\\."
    notes = result.summary.notes
    assert "variable ds: datasource variable dropped (Vigil is the only data source)" in notes
    assert "variable window: the 'auto' interval is dropped (use $__interval in queries)" in notes
    assert "variable filters: ad hoc filters are not supported; dropped" in notes


def test_placeholders_say_why_and_are_counted_by_reason() -> None:
    variables = [{"type": "datasource", "name": "logs", "query": "loki"}]
    pie = panel("piechart", "Share", "sum by (job) (up)")
    loki = panel("timeseries", "Logs rate", 'rate({app="x"}[5m])', y=8, datasource={"uid": "$logs"})
    influx = {"type": "graph", "title": "Influx", "datasource": "InfluxDB", "gridPos": {"x": 0, "y": 16, "w": 12, "h": 8},
              "targets": [{"measurement": "cpu", "refId": "A"}]}
    dash = panel("stat", "Reuse", "up", y=24, datasource={"type": "datasource", "uid": "-- Dashboard --"})
    library = {"gridPos": {"x": 0, "y": 32, "w": 12, "h": 8}, "libraryPanel": {"uid": "abc", "name": "Shared"},
               "title": "Shared", "id": 7}
    empty_loki = panel("timeseries", "Loki, no queries", y=64, datasource={"type": "loki", "uid": "l"})
    hidden = panel("timeseries", "Hidden only", "up", y=40)
    hidden["targets"][0]["hide"] = True
    pie2 = panel("piechart", "Share 2", "up", y=48)
    good = panel("timeseries", "Fine", "up", y=56)
    result = convert_grafana(dashboard(pie, loki, influx, dash, library, hidden, pie2, good, empty_loki,
                                       variables=variables))
    summary = result.summary
    assert (summary.panels, summary.converted) == (9, 1)
    assert summary.placeholders_by_reason == {
        "panel type 'piechart' has no Vigil equivalent": 2,
        "data source 'dashboard' is not Prometheus": 1,
        "data source 'loki' is not Prometheus": 2,
        "data source 'unknown (not PromQL)' is not Prometheus": 1,
        "library panel whose model is not in the JSON": 1,
        "no visible PromQL query": 1,
    }
    share = result.dashboard["spec"]["panels"]["share"]["spec"]
    assert share["display"] == {"name": "Share"}
    assert share["plugin"]["kind"] == "Markdown"
    text = share["plugin"]["spec"]["text"]
    assert text.startswith("**Not imported from Grafana:** panel type 'piechart' has no Vigil equivalent.")
    assert "sum by (job) (up)" in text
    assert "queries" not in share
    as_json = summary.to_json()
    assert as_json["placeholders"] == 8
    assert {"panel": "shared", "title": "Shared", "reason": "library panel whose model is not in the JSON"} in \
        as_json["placeholderPanels"]
    assert "placeholder (2): panel type 'piechart' has no Vigil equivalent" in summary.text()


def test_mixed_panel_keeps_its_prometheus_targets() -> None:
    mixed = panel("timeseries", "Mixed", "up", datasource={"type": "datasource", "uid": "-- Mixed --"})
    mixed["targets"][0]["datasource"] = PROM
    mixed["targets"].append({"expr": '{app="x"}', "refId": "B", "datasource": {"type": "loki", "uid": "l"}})
    result = convert_grafana(dashboard(mixed))
    assert [q["query"] for q in query_specs(only_panel(result))] == ["up"]
    assert "panel 'Mixed': queries of data source 'loki' dropped" in result.summary.notes


def test_other_panel_kinds() -> None:
    text = {"type": "text", "title": "Read me", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 3},
            "options": {"mode": "markdown", "content": "# Farm\nSee the runbook."}}
    table = panel("table", "Targets", "up", y=3, transformations=[
        {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"job": "Job"}}},
        {"id": "merge", "options": {}}],
        fieldConfig={"defaults": {}, "overrides": [
            {"matcher": {"id": "byName", "options": "Value"},
             "properties": [{"id": "unit", "value": "s"}, {"id": "displayName", "value": "Uptime"}]}]})
    heatmap = panel("heatmap", "Latency", "sum by (le) (rate(http_request_duration_seconds_bucket[$__rate_interval]))",
                    y=11, options={"yAxis": {"unit": "s"}, "color": {"scheme": "Oranges"}})
    bars = panel("bargauge", "Disks", "disk_used", y=19,
                 fieldConfig={"defaults": {"unit": "percent", "thresholds": {"steps": [{"color": "green", "value": None},
                                                                                       {"color": "red", "value": 90}]}}},
                 options={"reduceOptions": {"calcs": ["max"]}})
    alerts = {"type": "alertlist", "title": "Firing", "gridPos": {"x": 0, "y": 27, "w": 12, "h": 8},
              "options": {"stateFilter": {"firing": True, "pending": True, "normal": False}, "maxItems": 20,
                          "alertInstanceLabelFilter": '{severity="critical", team=~"farm"}'}}
    result = convert_grafana(dashboard(text, table, heatmap, bars, alerts))
    panels = result.dashboard["spec"]["panels"]
    assert panels["read_me"]["spec"]["plugin"] == {"kind": "Markdown", "spec": {"text": "# Farm\nSee the runbook."}}
    assert panels["targets"]["spec"]["plugin"] == {"kind": "Table", "spec": {"columnSettings": [
        {"name": "job", "header": "Job"}, {"name": "Time", "hide": True},
        {"name": "Value", "format": {"unit": "seconds"}, "header": "Uptime"}]}}
    assert panels["latency"]["spec"]["plugin"] == {"kind": "Heatmap", "spec": {"yAxisFormat": {"unit": "seconds"},
                                                                              "colorScheme": "oranges"}}
    assert panels["disks"]["spec"]["plugin"] == {"kind": "BarChart", "spec": {"calculation": "max",
                                                                             "format": {"unit": "percent"}}}
    assert panels["firing"]["spec"]["plugin"] == {"kind": "AlertList", "spec": {
        "states": ["firing", "pending"], "matchers": ['severity="critical"', 'team=~"farm"'], "limit": 20}}
    assert "queries" not in panels["firing"]["spec"]
    assert result.summary.converted == 5
    assert "panel 'Targets': transformation 'merge' not carried over" in result.summary.notes
    assert "panel 'Disks': bar gauge threshold colours are not drawn by BarChart" in result.summary.notes


def test_layout_rows_and_grid_positions() -> None:
    top = panel("stat", "Top", "up", gridPos={"x": 20, "y": 0, "w": 10, "h": 4})
    row = {"type": "row", "title": "Details", "collapsed": True, "gridPos": {"x": 0, "y": 4, "w": 24, "h": 1},
           "panels": [panel("timeseries", "A", "up", gridPos={"x": 0, "y": 40, "w": 12, "h": 6}),
                      panel("timeseries", "B", "up", gridPos={"x": 12, "y": 46, "w": 12, "h": 6})]}
    result = convert_grafana(dashboard(top, row, time={"from": "now-24h", "to": "now"}, refresh="30s",
                                       description="About the farm"))
    spec = result.dashboard["spec"]
    assert spec["display"] == {"name": "Synthetic", "description": "About the farm"}
    assert (spec["duration"], spec["refreshInterval"]) == ("24h", "30s")
    assert result.dashboard["metadata"] == {"name": "synthetic"}
    first, details = spec["layouts"]
    assert first["spec"] == {"items": [{"x": 20, "y": 0, "width": 4, "height": 4,
                                        "content": {"$ref": "#/spec/panels/top"}}]}
    assert details["spec"]["display"] == {"title": "Details", "collapse": {"open": False}}
    assert [(i["x"], i["y"], i["width"], i["height"]) for i in details["spec"]["items"]] == [(0, 0, 12, 6), (12, 6, 12, 6)]


def test_overlapping_panels_are_moved_down() -> None:
    a = panel("stat", "A", "up", gridPos={"x": 0, "y": 0, "w": 12, "h": 4})
    b = panel("stat", "B", "up", gridPos={"x": 6, "y": 2, "w": 12, "h": 4})
    c = panel("stat", "C", "up", gridPos={"x": 18, "y": 0, "w": 6, "h": 4})
    result = convert_grafana(dashboard(a, b, c))
    items = {i["content"]["$ref"].rsplit("/", 1)[1]: (i["x"], i["y"]) for i in
             result.dashboard["spec"]["layouts"][0]["spec"]["items"]}
    assert items == {"a": (0, 0), "c": (18, 0), "b": (6, 4)}
    assert "top of the dashboard: b overlapped another panel; moved down from y 2 to 4" in result.summary.notes


def test_same_titles_get_distinct_names_and_name_and_project_can_be_given() -> None:
    result = convert_grafana(dashboard(panel("stat", "Up", "up"), panel("stat", "Up", "up", y=8),
                                       panel("stat", "", "up", y=16, id=42)),
                             name="farm-hosts", project="smart-dairy")
    assert list(result.dashboard["spec"]["panels"]) == ["up", "up_2", "panel_42"]
    assert result.dashboard["metadata"] == {"name": "farm-hosts", "project": "smart-dairy"}


def test_builtin_intervals_are_kept_and_unknown_variables_noted() -> None:
    ts = panel("timeseries", "Rates", "increase(x[$__range]) / $__range_s + rate(y[$__interval])",
               "rate(z[$__rate_interval]) > $__from")
    result = convert_grafana(dashboard(ts))
    assert [q["query"] for q in query_specs(only_panel(result))][0] == \
        "increase(x[$__range]) / $__range_s + rate(y[$__interval])"
    assert "panel 'Rates': queries use $__from, which Vigil does not define" in result.summary.notes


def test_library_panel_model_from_elements() -> None:
    library = {"gridPos": {"x": 0, "y": 0, "w": 6, "h": 4}, "id": 3, "title": "Uptime here",
               "libraryPanel": {"uid": "lib-1", "name": "Uptime"}}
    elements = {"lib-1": {"name": "Uptime", "uid": "lib-1", "kind": 1, "model": panel(
        "stat", "Uptime", "time() - process_start_time_seconds", gridPos={"x": 9, "y": 9, "w": 9, "h": 9},
        fieldConfig={"defaults": {"unit": "s"}})}}
    result = convert_grafana(dashboard(library, __elements=elements))
    spec = only_panel(result)
    assert spec["display"] == {"name": "Uptime here"}
    assert spec["plugin"]["spec"]["format"] == {"unit": "seconds"}
    assert result.dashboard["spec"]["layouts"][0]["spec"]["items"][0] | {"content": None} == {
        "x": 0, "y": 0, "width": 6, "height": 4, "content": None}
    assert result.summary.converted == 1


def test_api_wrapper_is_unwrapped() -> None:
    result = convert_grafana({"dashboard": dashboard(panel("stat", "Up", "up")), "meta": {"slug": "x"}})
    assert result.summary.converted == 1


@pytest.mark.parametrize(("data", "message"), [
    ([], "a Grafana dashboard is a JSON object"),
    ({"title": "x"}, "panels: no panels: this is not a Grafana dashboard"),
    ({"schemaVersion": 14, "rows": [{"panels": []}]}, "rows: schemaVersion 14 keeps panels in rows[]"),
    ({"schemaVersion": 15, "panels": []}, "schemaVersion: schemaVersion 15 is older than 16"),
    ({"panels": {"a": 1}}, "panels: must be a list"),
    ({"panels": ["x"]}, "panels[0]: a panel must be a JSON object"),
    ({"apiVersion": "dashboard.grafana.app/v2beta1", "spec": {"elements": {}, "layout": {}}},
     "elements: this is Grafana's v2 dashboard schema"),
])
def test_refused_input_says_where(data: Any, message: str) -> None:
    with pytest.raises(GrafanaImportError) as err:
        convert_grafana(data)
    assert str(err.value).startswith(message)


def test_a_bad_name_is_refused_with_its_path() -> None:
    with pytest.raises(GrafanaImportError, match=r"^metadata\.name: the converted dashboard is invalid"):
        convert_grafana(dashboard(), name="no spaces allowed")
