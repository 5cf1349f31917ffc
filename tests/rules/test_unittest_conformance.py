"""promtool's own unit-test files (``shared/conformance/promtool``) pass or fail exactly as
upstream expects (SOURCE.txt), run from their directory through ``vigil rules test``."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from tests.rules.harness import run_unit_tests
from tests.support.shared import conformance_dir
from vigil.cli import cli
from vigil.rules.unittest import UnitTestOptions

# file -> (extra arguments, expected exit code), from SOURCE.txt.
EXPECTED: list[tuple[str, tuple[str, ...], int]] = [
    ("unittest.yml", (), 0),
    ("long-period.yml", (), 0),
    ("at-modifier-test.yml", (), 0),
    ("negative-offset-test.yml", (), 0),
    ("no-test-group-interval.yml", (), 0),
    ("start-time-test.yml", (), 0),
    ("docs_example/test.yml", (), 0),
    ("bad-input-series.yml", (), 1),
    ("bad-promql.yml", (), 1),
    ("bad-rules-syntax-test.yml", (), 1),
    ("bad-rules-error-test.yml", (), 1),
    ("failing.yml", (), 1),
    ("rules_run_no_fuzzy.yml", (), 1),
    ("rules_run.yml", (), 1),
    ("rules_run.yml", ("--run", "correct"), 0),
    ("rules_run.yml", ("--run", "wrong"), 1),
    ("rules_run_fuzzy.yml", (), 1),
    ("rules_run_fuzzy.yml", ("--run", "correct"), 0),
    ("rules_run_fuzzy.yml", ("--run", "wrong"), 1),
    ("rules_run_extrafields.yml", ("--ignore-unknown-fields",), 0),
    ("rules_run_extrafields.yml", (), 1),
]


@pytest.fixture()
def in_promtool_dir():
    old = os.getcwd()
    os.chdir(conformance_dir("promtool"))
    try:
        yield
    finally:
        os.chdir(old)


@pytest.mark.parametrize(("name", "args", "code"), EXPECTED,
                         ids=[f"{n}{''.join(a)}" for n, a, _ in EXPECTED])
def test_upstream_outcome(in_promtool_dir, name: str, args: tuple[str, ...], code: int) -> None:
    result = CliRunner().invoke(cli, ["rules", "test", name, *args])
    assert result.exit_code == code, result.output
    assert f"Unit Testing:  {name}" in result.output
    assert ("SUCCESS" in result.output) == (code == 0)


def test_failures_read_like_promtool(in_promtool_dir) -> None:
    res = run_unit_tests("failing.yml")
    text = "\n".join(res.errors)
    assert "    name: Failing alert test,\n    alertname: InstanceDown, time: 5m, \n" in text
    assert 'Labels:{alertname="InstanceDown", job="test", severity="page"}' in text
    assert '    expr: "test", time: 0s,\n        exp: {__name__="test"} 1E+00\n' \
           '        got: {__name__="test"} 0E+00' in text
    assert "alertname: Test, time: 0s" in text
    assert len(res.errors) == 4


def test_rule_error_stops_the_group_with_time(in_promtool_dir) -> None:
    res = run_unit_tests("bad-rules-error-test.yml")
    assert len(res.errors) == 1
    assert res.errors[0].startswith("    rule: joined, time: 0s, err: ")
    assert "many-to-many matching not allowed" in res.errors[0]


def test_syntax_error_names_file_and_line(in_promtool_dir) -> None:
    res = run_unit_tests("bad-rules-syntax-test.yml")
    assert res.errors and res.errors[0].startswith("bad-rules-syntax.yml:7:")


def test_native_histogram_checks_are_skipped_not_passed(in_promtool_dir) -> None:
    res = run_unit_tests("unittest.yml")
    assert res.ok
    assert len(res.skipped) == 3
    assert all("native histogram" in s for s in res.skipped)


def test_run_filter_counts_groups(in_promtool_dir) -> None:
    assert run_unit_tests("rules_run.yml", UnitTestOptions(run=("correct",))).groups_run == 1
    assert run_unit_tests("rules_run.yml").groups_run == 2
