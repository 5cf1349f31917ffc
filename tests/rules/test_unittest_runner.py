"""The promtool-format rule unit-test runner: file format errors, time stepping, group
order, templates with external labels, and promtool's messages."""

from __future__ import annotations

from pathlib import Path

from tests.rules.harness import run_unit_tests
from vigil.rules.unittest import UnitTestOptions

RULES = """\
groups:
  - name: second
    rules:
      - record: y
        expr: x * 2
  - name: first
    rules:
      - record: x
        expr: vector(1)
  - name: alerts
    rules:
      - alert: Down
        expr: up == 0
        for: 2m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} down in {{ $externalLabels.site }}"
"""


def write(tmp_path: Path, test: str) -> str:
    (tmp_path / "rules.yml").write_text(RULES, encoding="utf-8")
    path = tmp_path / "test.yml"
    path.write_text(test, encoding="utf-8")
    return str(path)


def test_unknown_field_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "rule_files: [rules.yml]\ntests:\n  - interval: 1m\n    inputs: []\n")
    res = run_unit_tests(path)
    assert res.errors == [f"{path}:4:5: tests[0].inputs: field inputs not found in type main.testGroup"]


def test_group_eval_order_decides_what_a_later_group_sees(tmp_path: Path) -> None:
    body = """
tests:
  - promql_expr_test:
      - expr: y
        eval_time: 0m
        exp_samples:
          - labels: y
            value: 2
"""
    unordered = run_unit_tests(write(tmp_path, "rule_files: [rules.yml]\n" + body))
    assert unordered.errors and 'got: nil' in unordered.errors[0]
    ordered = run_unit_tests(write(tmp_path, "rule_files: [rules.yml]\n"
                                            "group_eval_order: [first, second]\n" + body))
    assert ordered.ok, ordered.errors


def test_alerts_are_checked_at_the_evaluation_before_eval_time(tmp_path: Path) -> None:
    # Down goes pending at 0 and fires at 2m; eval_time 1m59s is checked against 1m.
    test = """
rule_files: [rules.yml]
tests:
  - interval: 1m
    external_labels: {site: barn}
    input_series:
      - series: 'up{instance="cam-1"}'
        values: 0x5
    alert_rule_test:
      - eval_time: 1m59s
        alertname: Down
        exp_alerts: []
      - eval_time: 2m
        alertname: Down
        exp_alerts:
          - exp_labels: {severity: page, instance: cam-1}
            exp_annotations: {summary: "cam-1 down in barn"}
"""
    res = run_unit_tests(write(tmp_path, test))
    assert res.ok, res.errors


def test_missing_alertname_and_repeated_group_order(tmp_path: Path) -> None:
    res = run_unit_tests(write(tmp_path, "tests:\n  - name: g\n    alert_rule_test:\n"
                                        "      - eval_time: 1m\n"))
    assert res.errors == ["an item under alert_rule_test misses required attribute alertname "
                          "at eval_time 1m (in TestGroup g)"]
    path = write(tmp_path, "group_eval_order: [a, a]\ntests: []\n")
    assert "group name repeated in evaluation order: a" in run_unit_tests(path).errors[0]


def test_values_keep_their_text_and_run_filters(tmp_path: Path) -> None:
    # YAML would read 0x10 as sixteen; the series notation means "0 ten more times".
    test = """
tests:
  - name: hex-looking
    input_series:
      - series: m
        values: 0x10
    promql_expr_test:
      - expr: count_over_time(m[1h])
        eval_time: 10m
        exp_samples:
          - value: 11
  - name: other
    promql_expr_test:
      - expr: vector(1)
        exp_samples:
          - value: 2
"""
    path = write(tmp_path, test)
    assert run_unit_tests(path, UnitTestOptions(run=("hex",))).ok
    res = run_unit_tests(path)
    assert res.errors == ['    expr: "vector(1)", time: 0s,\n        exp: {} 2E+00\n        got: {} 1E+00']


def test_gaps_and_staleness_markers_in_input_series(tmp_path: Path) -> None:
    # 1 at 0m, nothing at 1m, 3 at 2m, a staleness marker at 3m, 5 at 4m: the store keeps
    # the marker, which ends the series at once rather than after the 5m lookback.
    test = """
tests:
  - interval: 1m
    input_series:
      - series: 'm{a="x"}'
        values: 1 _ 3 stale 5
    promql_expr_test:
      - expr: m
        eval_time: 1m
        exp_samples:
          - labels: 'm{a="x"}'
            value: 1
      - expr: m
        eval_time: 3m
        exp_samples: []
      - expr: count_over_time(m[10m])
        eval_time: 4m
        exp_samples:
          - labels: '{a="x"}'
            value: 3
      - expr: timestamp(m)
        eval_time: 4m30s
        exp_samples:
          - labels: '{a="x"}'
            value: 240
"""
    res = run_unit_tests(write(tmp_path, test))
    assert res.ok, res.errors
    # The same run with a wrong expectation at the marker fails: the check can fail.
    res = run_unit_tests(write(tmp_path, test.replace("exp_samples: []", "exp_samples:\n"
                                                      "          - labels: 'm{a=\"x\"}'\n"
                                                      "            value: 3")))
    assert res.errors == ['    expr: "m", time: 3m,\n        exp: {__name__="m", a="x"} 3E+00\n'
                          '        got: nil']


def test_a_series_given_twice_keeps_its_last_definition(tmp_path: Path) -> None:
    # As promtool's load command: the second definition replaces the first (the store would
    # otherwise refuse the same timestamps with other values).
    test = """
tests:
  - interval: 1m
    input_series:
      - series: 'x{a="1"}'
        values: 1 2 3
      - series: 'x{a="1"}'
        values: 5 6 7
    promql_expr_test:
      - expr: sum_over_time(x[5m])
        eval_time: 2m
        exp_samples:
          - labels: '{a="1"}'
            value: 18
"""
    res = run_unit_tests(write(tmp_path, test))
    assert res.ok, res.errors
