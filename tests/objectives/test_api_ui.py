"""The objectives API and page, served with access control over the recorded history
(tests/objectives/history.py) in a real state database and a real TSDB: the figures equal the
service's hand-checked ones, bad parameters are named, viewers may read."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from tests.incidents.support import basic
from tests.objectives.support import serve_objectives
from vigil.cli import cli
from vigil.web.objectives_ui import format_seconds

API = "/api/vigil/v1/objectives"
WINDOW = {"start": "2026-10-20T00:00:00Z", "end": "2026-11-20T00:00:00Z"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serve_objectives(tmp_path_factory.mktemp("objectives-web")) as (url, token):
        yield url, token


def test_api_figures_targets_and_availability(served):
    served, _ = served
    r = httpx.get(served + API, params={**WINDOW, "by": "team"}, headers=basic("vic"))
    assert r.status_code == 200
    data = r.json()["data"]
    teams = {g["key"]: g for g in data["figures"]["alerts"]}
    assert teams["db"]["acknowledge"]["meanSeconds"] == 130
    assert teams["web"]["falsePositiveRatio"] == 1.0
    assert data["figures"]["alertsTotal"]["falsePositiveRatio"] == 0.25
    targets = {t["name"]: t for t in data["targets"]}
    assert (targets["mtta"]["actual"], targets["mtta"]["met"]) == (294, True)
    assert (targets["mttr"]["actual"], targets["mttr"]["met"]) == (6000, False)
    # 31 days at a 10-minute step: 4464 points, one of them down -> 10 minutes down against
    # a budget of 0.1 % of 31 days (44 min 38.4 s).
    [api] = data["availability"]
    assert api["availabilityRatio"] == pytest.approx(1 - 1 / 4464)
    assert api["downtimeSeconds"] == pytest.approx(600)
    assert api["errorBudgetRemainingRatio"] == pytest.approx(1 - 600 / 2678.4)
    assert (targets["availability:api"]["actual"], targets["availability:api"]["met"]) == (
        pytest.approx(100 - 100 / 4464), True)


def test_api_refuses_bad_parameters_and_anonymous_callers(served):
    served, _ = served
    def ask(**params):
        return httpx.get(served + API, params=params, headers=basic("vic"))
    r = ask(by="region")
    assert (r.status_code, r.json()["errorType"]) == (400, "bad_data")
    assert r.json()["error"] == "by: must be one of priority, severity, team, month, not 'region'"
    r = ask(start="last week")
    assert r.status_code == 400 and r.json()["error"].startswith("start: ")
    r = ask(start=WINDOW["end"], end=WINDOW["start"])
    assert (r.status_code, r.json()["error"]) == (400, "start must be before end")
    assert httpx.get(served + API, params=WINDOW).status_code == 401


def test_api_default_window_ends_now(served):
    served, _ = served
    data = httpx.get(served + API, headers=basic("vic")).json()["data"]
    assert data["figures"]["by"] == "priority"
    # The recorded history is in 2026-10/11; the default window is the 30 days to now.
    start, end = data["figures"]["start"], data["figures"]["end"]
    from datetime import datetime
    assert (datetime.fromisoformat(end) - datetime.fromisoformat(start)).days == 30


def test_page_shows_targets_availability_and_groups(served):
    served, _ = served
    r = httpx.get(served + "/objectives", params={"start": "2026-10-20", "end": "2026-11-19", "by": "priority"},
                  headers=basic("vic"))
    assert r.status_code == 200
    html = r.text
    assert "2026-10-20 00:00 – 2026-11-20 00:00 UTC" in html
    mtta = html.split('id="target-mtta"')[1].split("</tr>")[0]
    assert "4m 54s" in mtta and "Met" in mtta
    mttr = html.split('id="target-mttr"')[1].split("</tr>")[0]
    assert "1h 40m" in mttr and "Missed" in mttr
    fp = html.split('id="target-false_positive_rate"')[1].split("</tr>")[0]
    assert "25.00 %" in fp and "Missed" in fp
    api = html.split('id="service-api"')[1].split("</tr>")[0]
    assert "99.978 %" in api and "avg_over_time((avg(probe_success{job=&#34;api&#34;}))[2678400s:600s])" in api
    assert "<th scope=\"row\">P1</th><td class=\"num\">2</td><td class=\"num\">4m 45s</td>" in html
    assert 'href="/objectives" class="active"' in html


def test_page_names_a_bad_parameter(served):
    served, _ = served
    r = httpx.get(served + "/objectives", params={"start": "20/10/2026"}, headers=basic("vic"))
    assert r.status_code == 400
    assert "start: &#39;20/10/2026&#39; is not a date (YYYY-MM-DD)" in r.text


def test_durations_as_people_read_them():
    assert [format_seconds(v) for v in (None, 45, 294, 6000, 90061)] == ["—", "45s", "4m 54s", "1h 40m", "1d 1h"]


def test_cli_prints_the_targets_and_exits_1_when_one_is_missed(served):
    url, token = served
    runner = CliRunner()
    common = ["--url", url, "--token", token, "--start", WINDOW["start"], "--end", WINDOW["end"]]
    r = runner.invoke(cli, ["objectives", *common, "--by", "team"])
    assert r.exit_code == 1, r.output  # MTTR and the false-positive rate are missed
    lines = r.output.splitlines()
    assert lines[0] == "Objectives 2026-10-20T00:00:00Z .. 2026-11-20T00:00:00Z"
    assert lines[2].split()[:3] == ["met", "mtta", "4m54s"]
    assert lines[3].split()[:3] == ["MISSED", "mttr", "1h40m"]
    assert lines[4].split()[:3] == ["MISSED", "false_positive_rate", "25.00%"]
    assert any(line.split()[:4] == ["db", "3", "2m10s", "18m20s"] for line in lines)
    r = runner.invoke(cli, ["objectives", *common, "--json"])
    assert r.exit_code == 1 and json.loads(r.output)["figures"]["alertsTotal"]["episodes"] == 6
    r = runner.invoke(cli, ["objectives", *common, "--by", "region"])
    assert r.exit_code == 1 and "by: must be one of priority, severity, team, month" in r.output
    r = runner.invoke(cli, ["objectives", "--url", url, "--token", token, "--start", "yesterday"])
    assert r.exit_code == 2 and "--start: " in r.output
