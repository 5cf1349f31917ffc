"""Prometheus's feature switch end to end: ``vigil up --enable-feature`` and the config's
``enable_features`` reach the engine that serves the API and the rules."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from vigil.app import App, check
from vigil.cli import cli
from vigil.config import load_config_text
from vigil.errors import ConfigError
from vigil.model.features import (
    BINOP_FILL_MODIFIERS,
    DELAYED_NAME_REMOVAL,
    EXPERIMENTAL_FUNCTIONS,
    KNOWN_FEATURES,
)


def test_config_lists_features() -> None:
    config = load_config_text("enable_features:\n  - promql-experimental-functions\n")
    assert config.enable_features == [EXPERIMENTAL_FUNCTIONS]
    assert load_config_text("").enable_features == []


def test_config_names_the_line_of_an_unknown_feature() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text("enable_features:\n  - promql-duration-expr\n  - exemplar-storage\n",
                         "vigil.yml")
    assert str(info.value).startswith(
        "vigil.yml:3:5: enable_features[1]: unknown feature 'exemplar-storage'; known features: ")
    assert all(name in str(info.value) for name in KNOWN_FEATURES)


def test_cli_rejects_an_unknown_feature_with_exit_2() -> None:
    result = CliRunner().invoke(cli, ["up", "--enable-feature",
                                      "promql-experimental-functions,nope"])
    assert result.exit_code == 2
    assert "unknown feature 'nope'" in result.output
    assert "promql-extended-range-selectors" in result.output


def test_app_engine_gets_config_and_command_line_features(tmp_path) -> None:
    (tmp_path / "vigil.yml").write_text(
        "default_rules: false\ncollectors: {host: {enabled: false}}\n"
        "enable_features: [promql-binop-fill-modifiers]\n")
    checked = check(str(tmp_path / "vigil.yml"),
                    [EXPERIMENTAL_FUNCTIONS, DELAYED_NAME_REMOVAL])
    app = App(checked, data_dir=str(tmp_path / "data"), listen="127.0.0.1:0")
    try:
        assert app.engine.features == {BINOP_FILL_MODIFIERS, EXPERIMENTAL_FUNCTIONS,
                                       DELAYED_NAME_REMOVAL}
    finally:
        app.close()
    app = App(check(str(tmp_path / "vigil.yml")), data_dir=str(tmp_path / "data"),
              listen="127.0.0.1:0")
    try:
        assert app.engine.features == {BINOP_FILL_MODIFIERS}
    finally:
        app.close()


def test_rule_files_may_use_the_enabled_features(tmp_path) -> None:
    (tmp_path / "rules.yml").write_text(
        "groups:\n- name: g\n  rules:\n  - record: sorted\n"
        "    expr: sort_by_label(up, \"job\")\n")
    (tmp_path / "vigil.yml").write_text(
        "default_rules: false\nrule_files: [rules.yml]\n")
    with pytest.raises(ConfigError, match='function "sort_by_label" is not enabled'):
        check(str(tmp_path / "vigil.yml"))
    checked = check(str(tmp_path / "vigil.yml"), [EXPERIMENTAL_FUNCTIONS])
    assert [r.expr for g in checked.rule_groups for r in g.rules] == ['sort_by_label(up, "job")']


def _rules_with_limitk(tmp_path):
    rules = tmp_path / "rules.yml"
    rules.write_text("groups:\n  - name: g\n    rules:\n"
                     "      - record: top\n        expr: limitk(2, up)\n")
    return rules


def test_rules_check_parses_with_the_features_given(tmp_path) -> None:
    rules = _rules_with_limitk(tmp_path)
    without = CliRunner().invoke(cli, ["rules", "check", str(rules)])
    assert without.exit_code == 1
    assert "limitk" in without.output
    with_flag = CliRunner().invoke(cli, ["rules", "check", "--enable-feature",
                                         EXPERIMENTAL_FUNCTIONS, str(rules)])
    assert with_flag.exit_code == 0, with_flag.output
    assert "SUCCESS: 1 rules found" in with_flag.output
    bad = CliRunner().invoke(cli, ["rules", "check", "--enable-feature", "nope", str(rules)])
    assert bad.exit_code == 2


def test_rules_test_evaluates_with_the_features_given(tmp_path) -> None:
    _rules_with_limitk(tmp_path)
    (tmp_path / "test.yml").write_text(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n"
        "  - interval: 1m\n    input_series:\n"
        "      - {series: 'up{job=\"a\"}', values: '1 1'}\n"
        "    promql_expr_test:\n"
        "      - expr: count(limitk(5, up))\n        eval_time: 1m\n"
        "        exp_samples: [{labels: '{}', value: 1}]\n")
    test_file = str(tmp_path / "test.yml")
    without = CliRunner().invoke(cli, ["rules", "test", test_file])
    assert without.exit_code == 1
    with_flag = CliRunner().invoke(cli, ["rules", "test", "--enable-feature",
                                         EXPERIMENTAL_FUNCTIONS, test_file])
    assert with_flag.exit_code == 0, with_flag.output
    assert "SUCCESS" in with_flag.output
