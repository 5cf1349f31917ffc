"""Variables resolve in order (cascading), pick their current value, and panels get their
queries interpolated with a step from their own width."""

from __future__ import annotations

from pathlib import Path

import yaml

from vigil.dashboards.interpolate import TimeContext
from vigil.dashboards.model import parse_dashboard
from vigil.dashboards.variables import ALL, panel_queries, resolve_variables, variable_values

FULL = parse_dashboard(yaml.safe_load(Path(__file__).with_name("full_dashboard.yaml").read_text()))
DAY = TimeContext(start=0, end=86400, width_px=960, scrape_interval=15)


class RecordingSource:
    """Answers from fixed data and records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple] = []

    def label_values(self, label, selectors, start, end):
        self.asked.append(("label_values", label, tuple(selectors), start, end))
        return {"job": ["node", "vigil"]}[label]

    def label_names(self, selectors, start, end):
        return ["instance", "job"]

    def series(self, expr, at):
        self.asked.append(("series", expr, at))
        return [({"instance": "b:9100"}, "1"), ({"instance": "a:9100"}, "1"), ({}, "1")]


def test_defaults_cascade_into_later_variables():
    source = RecordingSource()
    found = {v.name: v for v in resolve_variables(FULL, {}, source, DAY)}
    assert found["job"].current == "node"  # defaultValue
    assert [o.value for o in found["job"].options] == ["node", "vigil"]
    assert source.asked[0] == ("label_values", "job", ("up",), 0, 86400)
    assert ("series", 'up{job="node"}', 86400) in source.asked  # $job interpolated
    # sorted alphabetically, empty values dropped; multi + All with nothing asked: All
    assert [o.value for o in found["instance"].options] == ["a:9100", "b:9100"]
    assert found["instance"].current == ALL and found["instance"].value == ".*"
    assert found["quantile"].current == ["0.9"]
    assert [(o.label, o.value) for o in found["quantile"].options] == [
        ("0.5", "0.5"), ("p90", "0.9"), ("0.99", "0.99")]
    assert found["site"].current == "parlour-1"
    assert found["instance"].as_dict() == {
        "name": "instance", "kind": "ListVariable", "title": "instance", "hidden": False,
        "options": [{"label": "a:9100", "value": "a:9100"}, {"label": "b:9100", "value": "b:9100"}],
        "current": ALL, "multi": True, "allowAll": True}


def test_asked_values_win_when_they_are_options():
    source = RecordingSource()
    asked = {"job": ["vigil"], "instance": ["b:9100", "gone:1"], "quantile": ["0.99"],
             "site": ["ignored: constant"]}
    found = {v.name: v for v in resolve_variables(FULL, asked, source, DAY)}
    assert found["job"].current == "vigil"
    assert ("series", 'up{job="vigil"}', 86400) in source.asked
    assert found["instance"].current == ["b:9100"]
    assert found["quantile"].current == ["0.99"]
    assert found["site"].current == "parlour-1"
    bad = {v.name: v for v in resolve_variables(FULL, {"job": ["nope"]}, source, DAY)}
    assert bad["job"].current == "node"  # not an option: the default


def test_panel_queries_interpolate_and_step_by_panel_width():
    source = RecordingSource()
    values = variable_values(resolve_variables(FULL, {"instance": ["a:9100", "b:9100"]}, source, DAY))
    out = panel_queries(FULL, values, DAY)
    [cpu] = out["panels"]["cpu"]
    # half of 960 px: 86400 s / 480 px = 180 s; $__rate_interval = 180 s + minStep 30 s
    assert cpu["step"] == 180.0
    assert cpu["query"] == ('1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle",'
                            'instance=~"(a:9100|b:9100)"}[3m30s]))')
    assert cpu["legend"] == "{{instance}}"
    assert out["panels"]["up"] == [{"query": 'up{job="node"}', "legend": "{{instance}}", "step": 180.0}]
    assert out["panels"]["alerts"] == [] and out["panels"]["notes"] == []
    assert out["titles"]["cpu"] == "CPU busy on parlour-1"
    # a third of the width: 320 px
    assert out["panels"]["latency"][0]["step"] == 270.0
