"""The Perses model reads a full dashboard and writes it back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from vigil.dashboards.model import (
    AlertListSpec,
    ListVariable,
    StaticListVariableSpec,
    TextVariable,
    dump_dashboard,
    panel_ref,
    parse_dashboard,
    ref_panel_name,
)

FULL = Path(__file__).with_name("full_dashboard.yaml")


def _full() -> dict:
    return yaml.safe_load(FULL.read_text())


def test_full_dashboard_round_trips_key_for_key():
    data = _full()
    dashboard = parse_dashboard(data)
    assert dump_dashboard(dashboard) == data
    # and through JSON, as the API sends it
    assert dump_dashboard(parse_dashboard(json.loads(json.dumps(data)))) == data


def test_full_dashboard_reads_into_typed_parts():
    dashboard = parse_dashboard(_full())
    assert dashboard.name == "farm-hosts"
    assert dashboard.title == "Farm hosts"
    assert dashboard.description.startswith("CPU, memory")
    assert dashboard.variable_names() == ["job", "instance", "quantile", "site"]
    job, instance, quantile, site = dashboard.spec.variables
    assert isinstance(instance, ListVariable) and instance.spec.allowMultiple
    assert instance.spec.customAllValue == ".*"
    assert isinstance(site, TextVariable) and site.spec.value == "parlour-1"
    static = quantile.spec.plugin.typed_spec()
    assert isinstance(static, StaticListVariableSpec)
    assert static.values[1].value == "0.9"
    cpu = dashboard.spec.panels["cpu"].spec
    assert cpu.plugin.kind == "TimeSeriesChart"
    assert cpu.queries[0].spec.plugin.spec.minStep == "30s"
    assert cpu.queries[0].spec.plugin.spec.seriesNameFormat == "{{instance}}"
    refs = [item.content.ref for grid in dashboard.spec.layouts for item in grid.spec.items]
    assert [ref_panel_name(r) for r in refs] == ["cpu", "up", "alerts", "latency", "notes"]
    alerts = dashboard.spec.panels["alerts"].spec.plugin
    assert AlertListSpec.model_validate(alerts.spec).states == ["firing", "pending"]


def test_minimal_dashboard_gets_defaults_but_dumps_only_what_was_written():
    data = {"kind": "Dashboard", "metadata": {"name": "x"}, "spec": {}}
    dashboard = parse_dashboard(data)
    assert dashboard.spec.duration == "1h"
    assert dashboard.spec.panels == {} and dashboard.spec.layouts == []
    assert dump_dashboard(dashboard) == data


@pytest.mark.parametrize(("mutate", "where"), [
    (lambda d: d["spec"].update(panelz={}), ("spec", "panelz")),
    (lambda d: d.update(kind="Dashbord"), ("kind",)),
    (lambda d: d["metadata"].update(name="has space"), ("metadata", "name")),
    (lambda d: d["spec"].update(duration="soon"), ("spec", "duration")),
    (lambda d: d["spec"]["variables"][0]["spec"]["plugin"].update(kind="Nope"),
     ("spec", "variables", 0, "ListVariable", "spec", "plugin", "kind")),
    (lambda d: d["spec"]["panels"]["cpu"]["spec"]["queries"][0]["spec"]["plugin"]["spec"]
     .update(expr="x"), ("spec", "panels", "cpu", "spec", "queries", 0, "spec", "plugin", "spec",
                         "expr")),
    (lambda d: d["spec"]["layouts"][0]["spec"]["items"][0].update(width=0),
     ("spec", "layouts", 0, "spec", "items", 0, "width")),
])
def test_model_refuses_mistakes_at_their_place(mutate, where):
    data = _full()
    mutate(data)
    with pytest.raises(ValidationError) as info:
        parse_dashboard(data)
    assert tuple(info.value.errors()[0]["loc"]) == where


def test_panel_refs():
    assert panel_ref("cpu") == "#/spec/panels/cpu"
    assert ref_panel_name("#/spec/panels/cpu") == "cpu"
    assert ref_panel_name("#/spec/layouts/0") is None
    assert ref_panel_name("#/spec/panels/") is None
