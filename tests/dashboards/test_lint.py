"""Lint finds each kind of mistake and says where, as a dotted path (and the YAML line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.dashboards.lint import iter_messages, lint_text

FULL = Path(__file__).with_name("full_dashboard.yaml").read_text()


def _lint(text: str) -> list[tuple[str, str]]:
    return [(e.path, e.message) for e in lint_text(text, "d.yaml")[1]]


def test_the_full_example_is_clean():
    assert _lint(FULL) == []


@pytest.mark.parametrize(("old", "new", "path", "message"), [
    ("  duration: 6h", "  duration: 6h\n  durations: 1", "spec.durations", "unknown field"),
    ("kind: TimeSeriesChart", "kind: LineChart", "spec.panels.cpu.spec.plugin.kind",
     "unknown panel kind 'LineChart'"),
    ("[$__rate_interval]))\n", "[$__rate_interval])) +\n",
     "spec.panels.cpu.spec.queries[0].spec.plugin.spec.query", "query does not parse"),
    ('{query: \'up{job="${job}"}\'', '{query: \'up{job="${jab}"}\'',
     "spec.panels.up.spec.queries[0].spec.plugin.spec.query", "unknown variable $jab"),
    ('name: "CPU busy on $site"', 'name: "CPU busy on $place"', "spec.panels.cpu.spec.display.name",
     "unknown variable $place"),
    ("title: Hosts", "title: Hosts of $nowhere", "spec.layouts[0].spec.display.title",
     "unknown variable $nowhere"),
    ("panels/notes", "panels/nope", "spec.layouts[1].spec.items[2].content.$ref",
     "no panel 'nope' in spec.panels"),
    ("panels/notes", "panels/nope", "spec.panels.notes", "panel is in no layout"),
    ("{x: 12, y: 0, width: 12", "{x: 14, y: 0, width: 12", "spec.layouts[0].spec.items[1]",
     "x 14 + width 12 is wider than the grid's 24 columns"),
    ("{x: 12, y: 0, width: 12", "{x: 6, y: 4, width: 12", "spec.layouts[0].spec.items[1]",
     "overlaps item 0 of this grid"),
    ("labelName: job\n", "labelNam: job\n", "spec.variables[0].spec.plugin.spec.labelNam",
     "unknown field"),
    ("matchers: ['up']", "matchers: ['up{']", "spec.variables[0].spec.plugin.spec.matchers[0]",
     "series selector does not parse"),
    ("expr: 'up{job=\"$job\"}'", "expr: 'up{job=\"$jobb\"}'",
     "spec.variables[1].spec.plugin.spec.expr", "unknown variable $jobb"),
    ("kind: StaticListVariable", "kind: CsvVariable", "spec.variables[2].spec.plugin.kind",
     "unknown variable plugin 'CsvVariable'"),
    ("columns: 6", "columns: 60", "spec.panels.up.spec.plugin.spec.columns",
     "less than or equal to 24"),
    ("matchers: ['severity=\"critical\"']", "matchers: ['severity=']",
     "spec.panels.alerts.spec.plugin.spec.matchers[0]", "not a label matcher"),
    ("${job}", "${job:shout}", "spec.panels.up.spec.queries[0].spec.plugin.spec.query",
     "unknown format 'shout'"),
    ("    - kind: TextVariable\n      spec:\n        name: site",
     "    - kind: TextVariable\n      spec:\n        name: job", "spec.variables[3].spec.name",
     "variable 'job' is defined twice"),
])
def test_each_mistake_is_found_at_its_path(old, new, path, message):
    assert old in FULL
    found = _lint(FULL.replace(old, new, 1))
    assert any(p == path and message in m for p, m in found), found


def test_findings_carry_the_yaml_line():
    text = FULL.replace("kind: TimeSeriesChart", "kind: LineChart")
    [err] = lint_text(text, "d.yaml")[1]
    assert text.splitlines()[err.line - 1].strip() == "kind: LineChart"


def test_a_variable_inside_a_range_or_a_number_is_not_a_parse_error():
    text = FULL.replace("[$__rate_interval]))\n", "[$site])) * $site\n", 1)
    assert _lint(text) == []


def test_yaml_and_json_syntax_errors_have_line_numbers():
    [yaml_err] = lint_text("kind: Dashboard\nspec: [\n", "d.yaml")[1]
    assert yaml_err.path == "" and yaml_err.line == 3 and "invalid YAML" in yaml_err.message
    [json_err] = lint_text('{\n "kind": "Dashboard",\n}', "d.json", json_only=True)[1]
    assert json_err.line == 3 and "invalid JSON" in json_err.message
    assert list(iter_messages("d.json", [json_err])) == [f"d.json:3: {json_err.message}"]


def test_messages_read_file_path_message():
    errors = lint_text(FULL.replace("duration: 6h", "duration: soon"), "d.yaml")[1]
    assert [m.split(": ", 1)[0] for m in iter_messages("d.yaml", errors)] == ["d.yaml:spec.duration"]
