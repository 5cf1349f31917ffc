"""The shipped example rules on the exported objectives pass their unit tests (promtool's
format, tests/objectives/objectives_rules_test.yml) and check clean."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from vigil.cli import cli

HERE = Path(__file__).parent
RULES = Path(__file__).parents[2] / "vigil" / "objectives" / "rules" / "objectives.yml"


def test_shipped_objective_rules_check_and_pass_their_unit_tests():
    runner = CliRunner()
    checked = runner.invoke(cli, ["rules", "check", str(RULES)])
    assert checked.exit_code == 0, checked.output
    assert "SUCCESS: 5 rules found" in checked.output
    tested = runner.invoke(cli, ["rules", "test", str(HERE / "objectives_rules_test.yml")])
    assert tested.exit_code == 0, tested.output
    assert "SUCCESS" in tested.output
