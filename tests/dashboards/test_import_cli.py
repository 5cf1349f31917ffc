"""``vigil dashboards import-grafana``: writes the Perses dashboard (YAML, JSON, or stdout),
prints the summary (text or JSON), and exits 0 with placeholders, 1 when nothing converted,
the input is refused, or (``--strict``) any placeholder, 2 on bad usage."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from vigil.cli import cli
from vigil.dashboards.lint import lint_text

GRAFANA = Path(__file__).parents[1] / "data" / "grafana"
runner = CliRunner()


def _import(*args: str, stdin: str | None = None):
    return runner.invoke(cli, ["dashboards", "import-grafana", *args], input=stdin)


def _with_a_pie(tmp_path: Path) -> Path:
    grafana = json.loads((GRAFANA / "redis-exporter.json").read_text())
    grafana["panels"].append({"type": "piechart", "title": "Share", "gridPos": {"x": 0, "y": 99, "w": 8, "h": 6},
                              "targets": [{"expr": "sum by (db) (redis_db_keys)", "refId": "A"}]})
    path = tmp_path / "redis-pie.json"
    path.write_text(json.dumps(grafana))
    return path


def test_output_file_and_text_summary(tmp_path):
    out = tmp_path / "pg.yaml"
    result = _import(str(GRAFANA / "postgres-overview.json"), "-o", str(out), "--project", "db")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "Postgres Overview: 6 panels, 6 converted, 0 placeholders, 3 variables"
    assert result.stdout.splitlines()[-1] == f"wrote {out}"
    dashboard = yaml.safe_load(out.read_text())
    assert dashboard["metadata"] == {"name": "postgres-overview", "project": "db"}
    assert lint_text(out.read_text(), str(out))[1] == []


def test_yaml_on_stdout_summary_on_stderr(tmp_path):
    result = _import(str(_with_a_pie(tmp_path)), "--name", "redis")
    assert result.exit_code == 0, result.output  # placeholders alone do not fail
    dashboard = yaml.safe_load(result.stdout)
    assert dashboard["metadata"]["name"] == "redis"
    assert dashboard["spec"]["panels"]["share"]["spec"]["plugin"]["kind"] == "Markdown"
    assert "14 panels, 13 converted, 1 placeholders" in result.stderr
    assert "  placeholder (1): panel type 'piechart' has no Vigil equivalent" in result.stderr
    assert "    - Share" in result.stderr


def test_json_summary_and_json_output(tmp_path):
    out = tmp_path / "redis.json"
    result = _import(str(_with_a_pie(tmp_path)), "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["panels"], summary["converted"], summary["placeholders"], summary["file"]) == (14, 13, 1, str(out))
    assert summary["placeholdersByReason"] == {"panel type 'piechart' has no Vigil equivalent": 1}
    assert json.loads(out.read_text())["kind"] == "Dashboard"
    inline = json.loads(_import(str(GRAFANA / "postgres-overview.json"), "--json").stdout)
    assert inline["dashboard"]["metadata"]["name"] == "postgres-overview"


def test_strict_fails_on_placeholders(tmp_path):
    result = _import(str(_with_a_pie(tmp_path)), "-o", str(tmp_path / "x.yaml"), "--strict")
    assert result.exit_code == 1
    assert "error: " in result.stderr and "1 panel(s) became placeholders (--strict)" in result.stderr


def test_nothing_converted_exits_1(tmp_path):
    only_pie = tmp_path / "pie.json"
    only_pie.write_text(json.dumps({"title": "Pies", "schemaVersion": 30, "panels": [
        {"type": "piechart", "title": "Share", "gridPos": {"x": 0, "y": 0, "w": 8, "h": 6}}]}))
    result = _import(str(only_pie), "-o", str(tmp_path / "pie.yaml"))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {only_pie}: none of its 1 panels could be converted"
    assert (tmp_path / "pie.yaml").exists()  # written anyway: the placeholders show what was there


def test_stdin_and_refused_input(tmp_path):
    text = (GRAFANA / "postgres-overview.json").read_text()
    assert _import("-", stdin=text).exit_code == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = _import(str(bad))
    assert result.exit_code == 1 and result.stderr.startswith(f"error: {bad}: not JSON:")
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"schemaVersion": 12, "rows": []}))
    result = _import(str(old))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {old}: rows: schemaVersion 12 keeps panels in rows[]")
    missing = _import(str(tmp_path / "missing.json"))
    assert missing.exit_code == 1 and "missing.json" in missing.stderr


def test_bad_usage_exits_2(tmp_path):
    result = _import(str(GRAFANA / "postgres-overview.json"), "-o", str(tmp_path / "out.txt"))
    assert result.exit_code == 2
    assert "name a .yaml, .yml or .json file" in result.stderr
    assert _import().exit_code == 2
