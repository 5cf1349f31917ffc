"""Validation of SLO files (Sloth's own good/bad test files, plus Vigil's located checks),
``vigil slo validate``/``generate`` exit codes, and SLO files named in the config: loaded
into the rule groups at ``check`` time, a bad one refused at its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.app import check
from vigil.cli import cli
from vigil.errors import ConfigError
from vigil.slo.loader import check_slo_file, config_slos, load_slo_file

DATA = Path(__file__).parent.parent / "data" / "sloth" / "prometheus-testdata" / "validate"
GOOD = sorted(DATA.glob("good-*.yaml"))
BAD = sorted(DATA.glob("bad-*.yaml"))


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_sloth_good_files_are_valid(path: Path) -> None:
    result = check_slo_file(str(path))
    assert result.problems == [] and result.specs


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_sloth_bad_files_are_refused_at_the_line(path: Path) -> None:
    problems = check_slo_file(str(path)).problems
    assert len(problems) == 1
    lines = path.read_text().splitlines()
    assert "# BAD!" in lines[problems[0].line - 1]  # Sloth marks the bad line so


def _write(tmp_path: Path, text: str, name: str = "slo.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


SLO = """version: prometheus/v1
service: svc
slos:
  - name: avail
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(errors_total[{{.window}}]))
        total_query: {total}
    alerting:
      name: SvcErrors
"""


def test_problems_name_file_line_and_path(tmp_path: Path) -> None:
    path = _write(tmp_path, SLO.replace("{total}", "sum(rate(requests_total[{{.window}}])"))
    (problem,) = check_slo_file(str(path)).problems
    assert str(problem).startswith(f"{path}:9:")
    assert "slos[0].sli.events.total_query: invalid PromQL" in str(problem)
    path = _write(tmp_path, SLO.replace("{total}", "sum(rate(requests_total[5m]))"))
    (problem,) = check_slo_file(str(path)).problems
    assert f"{path}:9:" in str(problem) and "no {{.window}} placeholder" in str(problem)


def test_unknown_fields_are_warnings(tmp_path: Path) -> None:
    path = _write(tmp_path, SLO.replace("{total}", "sum(rate(requests_total[{{.window}}]))")
                  + "      pageAlert: {labels: {a: b}}\n")
    result = check_slo_file(str(path))
    assert result.problems == []
    assert [str(w) for w in result.warnings] == [
        f"{path}:12:7: slos[0].alerting.pageAlert: unknown field, ignored"]


def test_cli_validate_and_generate(tmp_path: Path) -> None:
    good = _write(tmp_path, SLO.replace("{total}", "sum(rate(requests_total[{{.window}}]))"))
    runner = CliRunner()
    res = runner.invoke(cli, ["slo", "validate", str(good)])
    assert res.exit_code == 0 and "1 SLO valid" in res.output
    res = runner.invoke(cli, ["slo", "validate", str(good), str(BAD[0])])
    assert res.exit_code == 1 and f"{BAD[0]}:28:5: slos[1].objective:" in res.output
    out = tmp_path / "rules.yml"
    res = runner.invoke(cli, ["slo", "generate", str(good), "-o", str(out)])
    assert res.exit_code == 0 and "sloth-slo-alerts-svc-avail" in out.read_text()
    res = runner.invoke(cli, ["slo", "generate", str(BAD[0])])
    assert res.exit_code == 1 and "objective 101" in res.output
    res = runner.invoke(cli, ["slo", "generate", str(good), "--default-slo-period", "7d"])
    assert res.exit_code == 2


def test_config_slo_files_become_rule_groups(tmp_path: Path) -> None:
    _write(tmp_path, SLO.replace("{total}", "sum(rate(requests_total[{{.window}}]))"), "svc.yml")
    config = _write(tmp_path, "slo:\n  shipped: true\n  files: [svc.yml]\n", "vigil.yml")
    checked = check(str(config))
    names = [g.name for g in checked.rule_groups if g.name.startswith("sloth-")]
    assert names == [f"sloth-slo-{kind}-{sid}" for sid in
                     ("api-requests-availability", "api-requests-latency-p95", "svc-avail")
                     for kind in ("sli-recordings", "meta-recordings", "alerts")]
    assert [s.service for s in config_slos(checked.config)] == ["api", "svc"]


def test_a_bad_slo_file_fails_the_config_check(tmp_path: Path) -> None:
    _write(tmp_path, SLO.replace("{total}", "sum(rate(requests_total[{{.window}}]))")
           .replace("99.5", "0"), "svc.yml")
    config = _write(tmp_path, "slo:\n  files: [svc.yml]\n", "vigil.yml")
    with pytest.raises(ConfigError) as err:
        check(str(config))
    assert str(err.value).startswith(f"{tmp_path / 'svc.yml'}:5:5: slos[0].objective:")


def test_shipped_slos_are_valid() -> None:
    from vigil.slo.loader import shipped_slo_files

    specs = [s for f in shipped_slo_files() for s in load_slo_file(f)]
    assert {(s.service, slo.name, slo.objective) for s in specs for slo in s.slos} == {
        ("api", "requests-availability", 99.9), ("api", "requests-latency-p95", 95.0)}
