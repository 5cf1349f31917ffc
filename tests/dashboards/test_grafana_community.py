"""Grafana import on three real community dashboards (tests/data/grafana, with their licences):
Node Exporter Full, the postgres_exporter mixin's overview, and redis_exporter's dashboard.

Every Grafana panel must be accounted for (converted or a placeholder with its reason),
every converted query must parse as PromQL once its variables hold sample values, P's lint
(``vigil dashboards lint``) must pass, and a few panels are checked field by field against the Grafana JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vigil.dashboards.grafana import convert_grafana
from vigil.dashboards.interpolate import TimeContext, builtin_values, interpolate
from vigil.dashboards.lint import lint_data
from vigil.promql.parser import parse_expr

DATA = Path(__file__).parents[1] / "data" / "grafana"
DASHBOARDS = ["node-exporter-full", "postgres-overview", "redis-exporter"]


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())


def grafana_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every non-row panel, collapsed rows' panels included."""
    out = []
    for p in panels:
        if p["type"] == "row":
            out += grafana_panels(p.get("panels") or [])
        else:
            out.append(p)
    return out


def by_title(perses: dict[str, Any], title: str) -> dict[str, Any]:
    found = [p for p in perses["spec"]["panels"].values() if p["spec"]["display"]["name"] == title]
    assert len(found) == 1, title
    return found[0]["spec"]


def query_texts(spec: dict[str, Any]) -> list[str]:
    return [q["spec"]["plugin"]["spec"]["query"] for q in spec.get("queries") or []]


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_panel_is_accounted_for_and_placed_once(name: str) -> None:
    grafana = load(name)
    result = convert_grafana(grafana)
    expected = grafana_panels(grafana["panels"])
    summary = result.summary
    assert summary.panels == len(expected) == summary.converted + len(summary.placeholders)
    panels = result.dashboard["spec"]["panels"]
    assert len(panels) == len(expected)
    assert sorted(p["spec"]["display"]["name"] for p in panels.values()) == sorted(p["title"] for p in expected)
    refs = [item["content"]["$ref"] for grid in result.dashboard["spec"]["layouts"] for item in grid["spec"]["items"]]
    assert sorted(refs) == sorted(f"#/spec/panels/{n}" for n in panels)
    rows = [p for p in grafana["panels"] if p["type"] == "row"]
    titled = [g["spec"]["display"]["title"] for g in result.dashboard["spec"]["layouts"] if "display" in g["spec"]]
    assert titled == [r["title"] for r in rows]


@pytest.mark.parametrize("name", DASHBOARDS)
def test_converted_queries_parse_as_promql_with_sample_values(name: str) -> None:
    grafana = load(name)
    result = convert_grafana(grafana)
    values: dict[str, Any] = {}
    for var in result.dashboard["spec"]["variables"]:
        spec = var["spec"]
        values[spec["name"]] = ["10.0.0.1:9100", "web.example:9100"] if spec.get("allowMultiple") else "10.0.0.1:9100"
    values |= builtin_values(TimeContext(start=0, end=6 * 3600), step=30)
    texts = [t for spec in (p["spec"] for p in result.dashboard["spec"]["panels"].values()) for t in query_texts(spec)]
    visible = [t for p in grafana_panels(grafana["panels"]) for t in p.get("targets") or []
               if t.get("expr") and not t.get("hide")]
    assert len(texts) == len(visible)
    for text in texts:
        interpolated = interpolate(text, values)
        assert "$" not in interpolated, interpolated
        parse_expr(interpolated)


@pytest.mark.parametrize("name", DASHBOARDS)
def test_the_result_passes_lint(name: str) -> None:
    dashboard, errors = lint_data(convert_grafana(load(name)).dashboard)
    assert dashboard is not None
    assert [e.as_dict() for e in errors] == []


def test_summary_figures() -> None:
    figures = {n: convert_grafana(load(n)).summary.to_json() for n in DASHBOARDS}
    assert {n: (f["panels"], f["converted"], f["placeholders"], f["variables"]) for n, f in figures.items()} == {
        "node-exporter-full": (125, 125, 0, 3),
        "postgres-overview": (6, 6, 0, 3),
        "redis-exporter": (13, 13, 0, 2),
    }


def test_node_exporter_cpu_busy_gauge() -> None:
    spec = by_title(convert_grafana(load("node-exporter-full")).dashboard, "CPU Busy")
    assert spec["display"]["description"] == "Overall CPU busy percentage (averaged across all cores)"
    assert spec["plugin"] == {"kind": "GaugeChart", "spec": {
        "calculation": "last-number",
        "format": {"unit": "percent", "decimalPlaces": 1},
        # rgba(50, 172, 45, 0.97), rgba(237, 129, 40, 0.89) at 85, rgba(245, 54, 54, 0.9) at 95
        "thresholds": {"defaultColor": "#32AC2D", "steps": [{"value": 85, "color": "#ED8128"},
                                                            {"value": 95, "color": "#F53636"}]},
        "max": 100}}
    assert query_texts(spec) == [
        '100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle",instance="$node",job="$job"}[$__rate_interval])))']
    assert "minStep" not in spec["queries"][0]["spec"]["plugin"]["spec"]  # the legacy "step": 240 is ignored


def test_node_exporter_root_fs_total_stat() -> None:
    spec = by_title(convert_grafana(load("node-exporter-full")).dashboard, "RootFS Total")
    assert spec["plugin"]["kind"] == "StatChart"
    assert spec["plugin"]["spec"]["format"] == {"unit": "bytes", "decimalPlaces": 0}
    assert spec["plugin"]["spec"]["calculation"] == "last-number"
    assert "sparkline" not in spec["plugin"]["spec"]  # graphMode none


def test_node_exporter_collapsed_row_is_a_closed_grid() -> None:
    grafana = load("node-exporter-full")
    row = next(p for p in grafana["panels"] if p["type"] == "row" and p["title"] == "Memory Meminfo")
    assert row["collapsed"] is True
    result = convert_grafana(grafana)
    grid = next(g["spec"] for g in result.dashboard["spec"]["layouts"]
                if g["spec"].get("display", {}).get("title") == "Memory Meminfo")
    assert grid["display"]["collapse"] == {"open": False}
    panels = result.dashboard["spec"]["panels"]
    placed = [panels[i["content"]["$ref"].rsplit("/", 1)[1]]["spec"]["display"]["name"] for i in grid["items"]]
    assert sorted(placed) == sorted(p["title"] for p in row["panels"])
    first = min(p["gridPos"]["y"] for p in row["panels"])
    committed = next(i for i in grid["items"] if i["content"]["$ref"] == "#/spec/panels/memory_committed")
    grafana_committed = next(p for p in row["panels"] if p["title"] == "Memory Committed")["gridPos"]
    assert committed == {"x": grafana_committed["x"], "y": grafana_committed["y"] - first,
                         "width": grafana_committed["w"], "height": grafana_committed["h"],
                         "content": {"$ref": "#/spec/panels/memory_committed"}}
    open_rows = [g["spec"]["display"]["title"] for g in result.dashboard["spec"]["layouts"]
                 if g["spec"].get("display", {}).get("collapse") == {"open": True}]
    assert open_rows == ["Quick CPU / Mem / Disk", "Basic CPU / Mem / Net / Disk"]


def test_node_exporter_variables_are_label_values() -> None:
    result = convert_grafana(load("node-exporter-full"))
    variables = {v["spec"]["name"]: v for v in result.dashboard["spec"]["variables"]}
    assert list(variables) == ["job", "nodename", "node"]  # ds_prometheus dropped
    assert variables["job"] == {"kind": "ListVariable", "spec": {
        "name": "job", "display": {"name": "Job"}, "allowAllValue": False, "allowMultiple": False,
        "sort": "alphabetical-asc",
        "plugin": {"kind": "PrometheusLabelValuesVariable",
                   "spec": {"labelName": "job", "matchers": ["node_uname_info"]}}}}
    assert variables["node"]["spec"]["plugin"]["spec"] == {
        "labelName": "instance", "matchers": ['node_uname_info{job="$job", nodename="$nodename"}']}
    assert any("ds_prometheus" in n and "dropped" in n for n in result.summary.notes)


def test_node_exporter_network_traffic_transmit_drawn_below_the_axis() -> None:
    spec = by_title(convert_grafana(load("node-exporter-full")).dashboard, "Network Traffic Basic")
    assert spec["plugin"]["spec"]["yAxis"]["format"] == {"unit": "bits/sec"}
    queries = [q["spec"]["plugin"]["spec"] for q in spec["queries"]]
    assert queries[0] == {"query": 'rate(node_network_receive_bytes_total{instance="$node",job="$job"}[$__rate_interval])*8',
                          "seriesNameFormat": "Rx {{device}}"}
    assert queries[1]["query"] == '-(rate(node_network_transmit_bytes_total{instance="$node",job="$job"}[$__rate_interval])*8)'


def test_node_exporter_memory_basic_colours_and_stacking() -> None:
    spec = by_title(convert_grafana(load("node-exporter-full")).dashboard, "Memory Basic")
    plugin = spec["plugin"]["spec"]
    assert plugin["visual"]["stack"] == "all"
    assert plugin["visual"]["areaOpacity"] == 0.4
    legends = [q["spec"]["plugin"]["spec"].get("seriesNameFormat") for q in spec["queries"]]
    colours = {legends[s["queryIndex"]]: s["colorValue"] for s in plugin["querySettings"]}
    assert colours == {"Total": "#E0F9D7", "Cache + Buffer": "#052B51", "Free": "#7EB26D", "Swap used": "#BF1B00"}


def test_postgres_overview() -> None:
    result = convert_grafana(load("postgres-overview"))
    variables = {v["spec"]["name"]: v["spec"] for v in result.dashboard["spec"]["variables"]}
    assert variables["job"] | {} == {
        "name": "job", "display": {"name": "Job"}, "defaultValue": "$__all", "allowAllValue": True,
        "allowMultiple": True, "customAllValue": ".+",
        "plugin": {"kind": "PrometheusLabelValuesVariable", "spec": {"labelName": "job", "matchers": ["pg_up"]}}}
    assert variables["db"]["plugin"]["spec"]["matchers"] == [
        'pg_stat_database_tup_fetched{job=~"$job",instance=~"$instance",datname!~"template.*|postgres"}']
    qps = by_title(result.dashboard, "QPS")
    assert qps["plugin"] == {"kind": "StatChart", "spec": {"calculation": "mean",
                                                            "format": {"unit": "decimal", "decimalPlaces": 0},
                                                            "sparkline": {}}}
    assert qps["queries"][0]["spec"]["plugin"]["spec"]["resolution"] == 2  # intervalFactor 2
    hit = by_title(result.dashboard, "Cache hit ratio")["plugin"]["spec"]
    assert hit["yAxis"] == {"format": {"unit": "percent"}, "min": 0, "max": 100}
    assert hit["legend"] == {"position": "bottom", "mode": "list"}
    grids = result.dashboard["spec"]["layouts"]
    assert [g["spec"].get("display") for g in grids] == [{"title": "PostgreSQL overview", "collapse": {"open": True}}]


def test_redis_exporter_inputs_datasource_and_time_override_note() -> None:
    result = convert_grafana(load("redis-exporter"))
    assert result.summary.placeholders == []  # ${DS_PROM} is a Prometheus input
    variables = {v["spec"]["name"]: v["spec"] for v in result.dashboard["spec"]["variables"]}
    assert variables["instance"]["plugin"]["spec"] == {"labelName": "instance",
                                                      "matchers": ['redis_up{namespace=~"$namespace"}']}
    assert variables["instance"]["allowMultiple"] is True
    memory = by_title(result.dashboard, "Memory Usage")
    assert memory["plugin"]["kind"] == "GaugeChart"
    assert any(n.startswith("panel 'Memory Usage': the panel's own time range") for n in result.summary.notes)
