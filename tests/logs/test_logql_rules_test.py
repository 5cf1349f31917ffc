"""``vigil rules test --logql``: unit tests for Loki ruler files (docs/logs.md). The example
files in tests/data/logql_rules_test run through the real command: the passing one exits 0,
the failing one exits 1 with promtool's report located at file:line, bad files and bad usage
are refused with where and why."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from vigil.cli import cli

DATA = Path(__file__).parent.parent / "data" / "logql_rules_test"


def _run(*args: str):
    return CliRunner().invoke(cli, ["rules", "test", "--logql", *args])


def test_the_passing_file_passes() -> None:
    result = _run(str(DATA / "passing.yml"))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Unit Testing:  {DATA / 'passing.yml'}\n  SUCCESS\n\n"


def test_the_failing_file_reports_each_case_where_it_is() -> None:
    path = DATA / "failing.yml"
    result = _run(str(path))
    assert result.exit_code == 1
    err = result.stderr
    assert err.startswith("  FAILED:\n")
    # the alert: expected 10.0.0.2, got 10.0.0.1 with its annotation
    assert (f"    name: wrong expectations,\n    {path}:14: alertname: SSHBruteForce, "
            "time: 2m, \n        exp:[\n            0:\n              Labels:{alertname="
            '"SSHBruteForce", host="a", severity="warning", src="10.0.0.2"}') in err
    assert 'Annotations:{summary="10.0.0.1 failed 3 logins on a"}' in err
    # the expression: three failures, not two
    assert (f'{path}:19: expr: "sum(count_over_time({{job=\\"sshd\\"}} |= \\"Failed password\\" '
            '[5m]))", time: 2m,\n        exp: {} 2E+00\n        got: {} 3E+00') in err
    # an expression that does not parse is that case's error, with Loki's position
    assert (f"{path}:23: expr: " in err
            and "err: parse error at line 1, col 60: syntax error: unexpected $end" in err)


def test_passing_and_failing_files_together_exit_1() -> None:
    result = _run(str(DATA / "passing.yml"), str(DATA / "failing.yml"))
    assert result.exit_code == 1
    assert result.stdout.count("Unit Testing:") == 2 and "SUCCESS" in result.stdout


def test_a_bad_file_is_located(tmp_path: Path) -> None:
    shutil.copy(DATA / "ssh.yml", tmp_path / "ssh.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("rule_files: [ssh.yml]\ntests:\n  - input_streams:\n"
                   "      - stream: '{job=~\"ssh.*\"}'\n        lines: [x]\n")
    result = _run(str(bad))
    assert result.exit_code == 1
    assert (f"{bad}:4:9: tests[0].input_streams[0].stream: stream '{{job=~\"ssh.*\"}}': "
            'labels must be given as name="value"') in result.stderr
    bad.write_text("rule_files: [ssh.yml]\ntests:\n  - input_series: []\n")
    result = _run(str(bad))
    assert result.exit_code == 1
    assert (f"{bad}:3:5: tests[0].input_series: field input_series not found in type "
            "logqlTestGroup") in result.stderr


def test_a_broken_rule_fails_the_group_at_its_step(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - record: r\n"
        "        expr: sum(sum_over_time({job=\"a\"} | logfmt | unwrap user [5m]))\n")
    (tmp_path / "t.yml").write_text(
        "rule_files: [rules.yml]\ntests:\n  - input_streams:\n"
        "      - stream: '{job=\"a\"}'\n        lines: [user=bob]\n"
        "    logql_expr_test:\n      - expr: vector(1)\n        eval_time: 1m\n"
        "        exp_samples: [{labels: '{}', value: 1}]\n")
    result = _run(str(tmp_path / "t.yml"))
    assert result.exit_code == 1
    assert "    rule: r, time: 0s, err: pipeline error: 'SampleExtractionErr'" in result.stderr


def test_bad_usage_exits_2() -> None:
    assert _run().exit_code == 2
    assert _run("--pack", str(DATA / "passing.yml")).exit_code == 2
