"""The runbook rule pack (R3): every rule is well-labelled and has a promtool-format unit
test in ``vigil/rules/pack/tests/`` that shows it firing after its ``for`` and resolving;
the unit tests pass through Vigil's runner and fail when a rule is broken."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.rules.harness import run_unit_tests
from vigil.cli import cli
from vigil.rules import default_rule_files, load_rule_files
from vigil.rules.pack import pack_test_files

PACK_DIR = Path(default_rule_files()[0]).parent
TEST_FILES = pack_test_files()
PRIORITY = {"warning": {"P3"}, "critical": {"P1", "P2"}, "info": {"P4"}}


def _alert_rules():
    for group in load_rule_files(default_rule_files()):
        for rule in group.rules:
            if rule.alert:
                yield group, rule


def _tests() -> list[dict]:
    return [yaml.safe_load(Path(f).read_text(encoding="utf-8")) for f in TEST_FILES]


def test_every_pack_file_is_loaded_by_default() -> None:
    on_disk = {p.name for p in PACK_DIR.glob("*.yml")}
    assert {Path(f).name for f in default_rule_files()} == on_disk
    assert len(on_disk) >= 7


def test_every_alert_is_labelled_and_links_its_runbook() -> None:
    seen = 0
    for _, rule in _alert_rules():
        labels, annotations = dict(rule.labels), dict(rule.annotations)
        assert labels["severity"] in PRIORITY, rule.alert
        assert labels["priority"] in PRIORITY[labels["severity"]], rule.alert
        assert annotations["summary"] and annotations["description"], rule.alert
        assert annotations["runbook_url"] == f"/runbooks/{rule.alert}", rule.alert
        seen += 1
    assert seen >= 50


@pytest.mark.parametrize("path", TEST_FILES, ids=[Path(f).name for f in TEST_FILES])
def test_pack_unit_tests_pass(path: str) -> None:
    res = run_unit_tests(path)
    assert res.ok, "\n".join(res.errors)
    assert not res.skipped


def test_every_alerting_rule_has_a_firing_and_a_silent_test() -> None:
    firing: set[tuple[str, str, str]] = set()
    silent: set[str] = set()
    for doc in _tests():
        for group in doc["tests"]:
            for case in group.get("alert_rule_test", []):
                if not case.get("exp_alerts"):
                    silent.add(case["alertname"])
                for exp in case.get("exp_alerts") or []:
                    lb = exp.get("exp_labels", {})
                    firing.add((case["alertname"], lb.get("severity", ""), lb.get("trigger", "")))
    for _, rule in _alert_rules():
        labels = dict(rule.labels)
        key = (rule.alert, labels["severity"], labels.get("trigger", ""))
        assert key in firing, f"no test shows {key} firing"
        assert rule.alert in silent, f"no test shows {rule.alert} silent"


def test_a_broken_rule_fails_its_unit_test(tmp_path: Path) -> None:
    """Copy the pack, move one threshold, and the pack's own test must catch it."""
    copy = tmp_path / "pack"
    shutil.copytree(PACK_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    rules = copy / "database.yml"
    text = rules.read_text(encoding="utf-8")
    assert "pg_replication_lag_seconds > 30" in text
    rules.write_text(text.replace("pg_replication_lag_seconds > 30", "pg_replication_lag_seconds > 60"),
                     encoding="utf-8")
    res = run_unit_tests(str(copy / "tests" / "database.yml"))
    assert not res.ok
    assert any("alertname: PostgresReplicationLag, time: 2m" in e for e in res.errors)


def test_cli_runs_the_pack_tests_and_checks_the_pack() -> None:
    runner = CliRunner()
    small = [f for f in TEST_FILES if Path(f).name in ("kubernetes.yml", "capacity.yml")]
    result = runner.invoke(cli, ["rules", "test", *small])
    assert result.exit_code == 0, result.output
    assert result.output.count("SUCCESS") == 2
    result = runner.invoke(cli, ["rules", "check", *default_rule_files()])
    assert result.exit_code == 0, result.output
    assert "SUCCESS" in result.output and "FAILED" not in result.output


def test_cli_check_reports_file_line_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n",
                   encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:5:" in result.output
    assert "groups[0].rules[0].expr" in result.output
    assert "FAILED" in result.output
