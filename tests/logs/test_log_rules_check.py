"""Checking log rule files from the command line: ``vigil rules check --logql FILE...``
(file:line:col errors, LogQL parse errors with their position in the expression)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from vigil.cli import cli

GOOD = """groups:
  - name: app-errors
    interval: 1m
    rules:
      - record: app:error_lines:rate5m
        expr: sum by (app) (rate({env="prod"} |= "error" [5m]))
      - alert: ErrorBurst
        expr: sum by (app) (count_over_time({env="prod"} | json | level="error" [5m])) > 100
        for: 5m
        labels: {severity: warning}
        annotations:
          summary: '{{ $labels.app }} logged {{ $value }} errors in 5 minutes'
"""

BAD = """groups:
  - name: app-errors
    rules:
      - alert: ErrorBurst
        expr: sum(count_over_time({env="prod"} |= error [5m])) > 100
"""


def test_rules_check_logql_accepts_a_loki_ruler_file(tmp_path: Path) -> None:
    good = tmp_path / "logs.yml"
    good.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "check", "--logql", str(good)])
    assert result.exit_code == 0, result.output
    assert "SUCCESS: 2 rules found" in result.output
    # The same file read as PromQL is refused: the language decides how it is parsed.
    as_promql = CliRunner().invoke(cli, ["rules", "check", str(good)])
    assert as_promql.exit_code == 1
    assert f"{good}:6:9: groups[0].rules[0].expr: could not parse expression" in as_promql.output


def test_rules_check_logql_locates_the_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD, encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "check", "--logql", str(bad)])
    assert result.exit_code == 1
    assert "FAILED" in result.output
    assert (f"{bad}:5:9: groups[0].rules[0].expr: could not parse expression: parse error at "
            "line 1, col 37: syntax error: unexpected IDENTIFIER, expecting STRING or ip"
            ) in result.output.replace("\n", " ")


def _config(tmp_path: Path, logs: str, rules: str) -> Path:
    (tmp_path / "log-rules.yml").write_text(rules, encoding="utf-8")
    config = tmp_path / "vigil.yml"
    config.write_text("default_rules: false\nlogs:\n" + logs, encoding="utf-8")
    return config


def test_check_config_loads_the_log_rule_files(tmp_path: Path) -> None:
    config = _config(tmp_path, "  rule_files: [log-rules.yml]\n  shipped_rules: false\n", GOOD)
    result = CliRunner().invoke(cli, ["check", "config", str(config)])
    assert result.exit_code == 0, result.output
    assert "1 rule groups, 2 rules" in result.output


def test_the_shipped_security_log_rules_load_with_the_rule_pack(tmp_path: Path) -> None:
    """They come with the shipped rule pack (``default_rules``) unless turned off."""
    from vigil.app import check

    def security_groups(text: str) -> set[str]:
        (tmp_path / "vigil.yml").write_text(text, encoding="utf-8")
        groups = check(str(tmp_path / "vigil.yml")).rule_groups
        return {g.name for g in groups if g.name.startswith("security-")}

    assert security_groups("logs: {enabled: true}\n") == {"security-recording", "security-alerts"}
    assert security_groups("logs: {shipped_rules: false}\n") == set()
    assert security_groups("logs: {enabled: false}\n") == set()
    assert security_groups("default_rules: false\n") == set()


def test_check_config_locates_a_bad_log_rule(tmp_path: Path) -> None:
    config = _config(tmp_path, "  rule_files: [log-rules.yml]\n", BAD)
    result = CliRunner().invoke(cli, ["check", "config", str(config)])
    assert result.exit_code == 1
    assert (f"{tmp_path / 'log-rules.yml'}:5:9: groups[0].rules[0].expr: could not parse "
            "expression: parse error at line 1, col 37") in result.output.replace("\n", " ")


def test_log_rules_need_the_log_store(tmp_path: Path) -> None:
    config = _config(tmp_path, "  enabled: false\n  rule_files: [log-rules.yml]\n", GOOD)
    result = CliRunner().invoke(cli, ["check", "config", str(config)])
    assert result.exit_code == 1
    assert (f"{config}:4:3: logs.rule_files: log rules need the log store (logs.enabled: true)"
            in result.output.replace("\n", " "))
