"""``vigil dashboards lint`` offline (``file:path: message``, exit 0/1/2) and ``list``
against a served Vigil."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from typer.testing import CliRunner

from tests.support.browser import serve_app
from tests.web.fakes import make_deps
from vigil.cli import cli
from vigil.dashboards.store import DashboardSettings, DashboardStore
from vigil.web import create_app

FULL_TEXT = Path(__file__).with_name("full_dashboard.yaml").read_text()
runner = CliRunner()


def _lint(*args: str):
    return runner.invoke(cli, ["dashboards", "lint", *args])


def test_clean_files_exit_0(tmp_path):
    (tmp_path / "a.yaml").write_text(FULL_TEXT)
    (tmp_path / "b.json").write_text(json.dumps({"kind": "Dashboard", "metadata": {"name": "b"},
                                                 "spec": {}}))
    result = _lint(str(tmp_path / "a.yaml"), str(tmp_path / "b.json"))
    assert (result.exit_code, result.output) == (0, "")


def test_findings_print_file_path_message_and_exit_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(FULL_TEXT.replace("kind: TimeSeriesChart", "kind: LineChart")
                   .replace('${job}', '${jab}'))
    good = tmp_path / "good.yaml"
    good.write_text(FULL_TEXT)
    result = _lint(str(good), str(bad))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{bad}:spec.panels.cpu.spec.plugin.kind: unknown panel kind 'LineChart' (known: "
        "AlertList, BarChart, GaugeChart, Heatmap, Markdown, StatChart, StatusGrid, Table, "
        "TimeSeriesChart)",
        f"{bad}:spec.panels.up.spec.queries[0].spec.plugin.spec.query: unknown variable $jab",
    ]
    as_json = json.loads(_lint("--json", str(bad)).output)
    assert [e["path"] for e in as_json[str(bad)]] == [
        "spec.panels.cpu.spec.plugin.kind", "spec.panels.up.spec.queries[0].spec.plugin.spec.query"]


def test_syntax_errors_give_the_line(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "Dashboard",\n "spec": }\n')
    result = _lint(str(broken))
    assert result.exit_code == 1
    assert result.output.startswith(f"{broken}:2: invalid JSON")


def test_bad_usage_exits_2(tmp_path):
    assert _lint().exit_code == 2
    missing = _lint(str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "cannot read" in missing.output


def test_list_asks_a_running_vigil(tmp_path):
    (tmp_path / "farm.yaml").write_text(FULL_TEXT)
    store = DashboardStore(lambda: DashboardSettings((tmp_path,), None, 15.0))
    deps = dataclasses.replace(make_deps(), dashboards=store)
    with serve_app(lambda _url: create_app(deps)) as url:
        listed = runner.invoke(cli, ["dashboards", "list", "--url", url])
        as_json = runner.invoke(cli, ["dashboards", "list", "--url", url, "--json"])
    assert listed.exit_code == 0, listed.output
    assert listed.output == f"farm-hosts  folder   Farm hosts  ({tmp_path / 'farm.yaml'})\n"
    assert [d["name"] for d in json.loads(as_json.output)] == ["farm-hosts"]
