"""Rule file validation: every bad input is reported at its file:line:col and config path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.shared import conformance_dir
from vigil.errors import ConfigError
from vigil.rules import load_rule_files, load_rule_text

GOOD = """\
groups:
  - name: node
    interval: 30s
    query_offset: 1m
    limit: 10
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels:
          team: infra
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        keep_firing_for: 2m
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.instance }} is down"
  - name: empty
"""


def test_good_file_loads_every_field() -> None:
    g1, g2 = load_rule_text(GOOD, "good.yml")
    assert (g1.name, g1.file, g1.key) == ("node", "good.yml", "good.yml;node")
    assert (g1.interval_s, g1.query_offset_s, g1.limit) == (30.0, 60.0, 10)
    rec, alert = g1.rules
    assert (rec.record, rec.type, rec.labels) == ("job:up:sum", "recording", (("team", "infra"),))
    assert str(rec.parsed) == "sum by (job) (up)"
    assert (alert.alert, alert.for_s, alert.keep_firing_for_s) == ("InstanceDown", 300.0, 120.0)
    assert alert.annotations == (("summary", "{{ $labels.instance }} is down"),)
    assert alert.line == 11
    assert g2.rules == () and g2.interval_s is None


@pytest.mark.parametrize("text", ["", "groups: []\n", "groups:\n"])
def test_file_without_groups_is_fine(text: str) -> None:
    assert load_rule_text(text, "empty.yml") == []


def _rule(body: str, *, group_extra: str = "") -> str:
    return "groups:\n  - name: g\n" + group_extra + "    rules:\n" + textwrap.indent(
        textwrap.dedent(body), "      ")


# (case id, file text, expected "line:col: path: message" prefix of the error)
BAD = [
    ("unknown rule field", _rule("- alert: A\n  expr: up\n  severity: x\n"),
     "6:9: groups[0].rules[0].severity: field severity not found in type rulefmt.Rule"),
    ("unknown group field", "groups:\n  - name: g\n    evaluation: 1m\n",
     "3:5: groups[0].evaluation: field evaluation not found in type rulefmt.RuleGroup"),
    ("unknown top-level field", "groups: []\nrules: []\n",
     "2:1: rules: field rules not found in type rulefmt.RuleGroups"),
    ("missing expr", _rule("- alert: A\n  for: 1m\n"),
     "4:9: groups[0].rules[0]: field 'expr' must be set in rule"),
    ("both record and alert", _rule("- alert: A\n  record: b\n  expr: up\n"),
     "4:9: groups[0].rules[0]: only one of 'record' and 'alert' must be set"),
    ("neither record nor alert", _rule("- expr: up\n"),
     "4:9: groups[0].rules[0]: one of 'record' or 'alert' must be set"),
    ("bad record name", _rule("- record: 1bad-name\n  expr: up\n"),
     "4:9: groups[0].rules[0].record: invalid recording rule name: 1bad-name"),
    ("bad label name", _rule("- alert: A\n  expr: up\n  labels:\n    bad-name: x\n"),
     "7:11: groups[0].rules[0].labels.bad-name: invalid label name: bad-name"),
    ("__name__ label", _rule("- alert: A\n  expr: up\n  labels:\n    __name__: x\n"),
     "7:11: groups[0].rules[0].labels.__name__: invalid label name: __name__"),
    ("bad annotation name", _rule("- alert: A\n  expr: up\n  annotations:\n    a.b: x\n"),
     "7:11: groups[0].rules[0].annotations.a.b: invalid annotation name: a.b"),
    ("duplicate group", "groups:\n  - name: g\n  - name: g\n",
     '3:5: groups[1].name: groupname: "g" is repeated in the same file'),
    ("empty group name", "groups:\n  - name: ''\n",
     "2:5: groups[0].name: Groupname must not be empty"),
    ("for on recording rule", _rule("- record: a:b\n  expr: up\n  for: 5m\n"),
     "6:9: groups[0].rules[0].for: invalid field 'for' in recording rule"),
    ("keep_firing_for on recording rule",
     _rule("- record: a:b\n  expr: up\n  keep_firing_for: 5m\n"),
     "6:9: groups[0].rules[0].keep_firing_for: invalid field 'keep_firing_for' in recording rule"),
    ("annotations on recording rule",
     _rule("- record: a:b\n  expr: up\n  annotations:\n    x: y\n"),
     "6:9: groups[0].rules[0].annotations: invalid field 'annotations' in recording rule"),
    ("bad for duration", _rule("- alert: A\n  expr: up\n  for: 5 minutes\n"),
     '6:9: groups[0].rules[0].for: unknown unit " minutes" in duration "5 minutes"'),
    ("bad group interval", "groups:\n  - name: g\n    interval: 1x\n",
     '3:5: groups[0].interval: unknown unit "x" in duration "1x"'),
    ("numeric duration", _rule("- alert: A\n  expr: up\n  for: 300\n"),
     '6:9: groups[0].rules[0].for: not a valid duration string: "300"'),
    ("negative limit", "groups:\n  - name: g\n    limit: -1\n",
     "3:5: groups[0].limit: limit must be a non-negative integer"),
    ("invalid PromQL", _rule("- alert: A\n  expr: sum(rate(x[5m])\n"),
     "5:9: groups[0].rules[0].expr: could not parse expression: 1:"),
    ("template syntax error",
     _rule("- alert: A\n  expr: up\n  annotations:\n    summary: '{{ $labels.x '\n"),
     '7:11: groups[0].rules[0].annotations.summary: annotation "summary": template: __alert_A:1:'),
    ("template unknown function",
     _rule("- alert: A\n  expr: up\n  labels:\n    sev: '{{ nosuch 1 }}'\n"),
     '7:11: groups[0].rules[0].labels.sev: label "sev": template: __alert_A:1: '
     'function "nosuch" not defined'),
    ("template undefined variable",
     _rule("- alert: A\n  expr: up\n  annotations:\n    s: '{{ $nope }}'\n"),
     '7:11: groups[0].rules[0].annotations.s: annotation "s": template: __alert_A:1: '
     'undefined variable "$nope"'),
    ("rules not a list", "groups:\n  - name: g\n    rules: {a: 1}\n",
     "3:5: groups[0].rules: expected a list of rules"),
    ("invalid YAML", "groups:\n  - name: g\n   bad: [\n", ""),
]


@pytest.mark.parametrize("text,expected", [(t, e) for _, t, e in BAD], ids=[c for c, _, _ in BAD])
def test_bad_input_is_located(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_rule_text(text, "bad.yml")
    err = info.value
    assert err.file == "bad.yml"
    assert err.line is not None
    assert str(err).startswith(f"bad.yml:{expected}"), str(err)


def test_promql_error_keeps_the_parser_message() -> None:
    with pytest.raises(ConfigError) as info:
        load_rule_text(_rule("- record: a:b\n  expr: up{\n"), "r.yml")
    assert "parse error" in info.value.message


def test_files_and_globs(tmp_path: Path) -> None:
    (tmp_path / "a.rules.yml").write_text("groups:\n  - name: a\n")
    (tmp_path / "b.rules.yml").write_text("groups:\n  - name: b\n")
    (tmp_path / "empty.rules.yml").write_text("")
    groups = load_rule_files([str(tmp_path / "*.rules.yml"), str(tmp_path / "a.rules.yml")])
    assert [g.name for g in groups] == ["a", "b"]  # sorted, each file once
    assert groups[0].file == str(tmp_path / "a.rules.yml")
    assert load_rule_files([str(tmp_path / "nothing-*.yml")]) == []


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_rule_files([str(tmp_path / "missing.yml")])
    assert info.value.file == str(tmp_path / "missing.yml")


def test_error_names_the_file_it_is_in(tmp_path: Path) -> None:
    (tmp_path / "ok.yml").write_text("groups:\n  - name: a\n")
    bad = tmp_path / "zz-bad.yml"
    bad.write_text(_rule("- alert: A\n  expr: up ==\n"))
    with pytest.raises(ConfigError) as info:
        load_rule_files([str(tmp_path / "*.yml")])
    assert str(info.value).startswith(f"{bad}:5:9: groups[0].rules[0].expr: could not parse")


def test_same_group_name_in_two_files_is_fine(tmp_path: Path) -> None:
    for name in ("x.yml", "y.yml"):
        (tmp_path / name).write_text("groups:\n  - name: same\n")
    keys = [g.key for g in load_rule_files([str(tmp_path / "*.yml")])]
    assert keys == [f"{tmp_path}/x.yml;same", f"{tmp_path}/y.yml;same"]


def test_unknown_fields_can_be_ignored() -> None:
    text = "groups:\n  - name: g\n    owner: team-a\n    rules:\n      - alert: A\n        expr: up\n        note: x\n"
    with pytest.raises(ConfigError):
        load_rule_text(text, "x.yml")
    (g,) = load_rule_text(text, "x.yml", ignore_unknown_fields=True)
    assert g.rules[0].alert == "A"


CONFORMANCE = conformance_dir("promtool")


@pytest.mark.parametrize("name,ok", [
    ("rules.yml", True), ("at-modifier.yml", True), ("negative-offset.yml", True),
    ("bad-rules-error.yml", True),  # fails only when evaluated (many-to-many match)
    ("docs_example/alerts.yml", True), ("bad-rules-syntax.yml", False),
    ("rules_extrafields.yml", False),
])
def test_upstream_promtool_rule_files(name: str, ok: bool) -> None:
    path = str(CONFORMANCE / name)
    if ok:
        assert load_rule_files([path])
    else:
        with pytest.raises(ConfigError) as info:
            load_rule_files([path])
        assert info.value.file == path and info.value.line is not None
