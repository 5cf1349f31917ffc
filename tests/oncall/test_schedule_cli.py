"""``vigil oncall who`` offline from a config file (text, --json, exit 1 in a gap, 2 on bad
usage, the DST dates) and ``vigil oncall override|swap`` against a served Vigil."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from typer.testing import CliRunner

from tests.support.browser import serve_app
from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.cli import cli
from vigil.oncall.schedule import Layer, Schedule
from vigil.oncall.schedules import ScheduleService
from vigil.state import Store
from vigil.state.schedule_store import ScheduleStore
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

runner = CliRunner()

CONFIG = """\
users: [{name: ann}, {name: bob}]
schedules:
  - name: primary
    time_zone: Europe/Berlin
    layers:
      - name: daily
        users: [ann, bob]
        turn: 1d
        start: 2026-03-01
        handoff: "09:00"
  - name: business
    time_zone: America/New_York
    layers:
      - name: days
        users: [bob]
        turn: 1d
        start: 2026-03-01
        restrictions: [{kind: daily, start: "09:00", end: "17:00"}]
"""


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "vigil.yml"
    path.write_text(CONFIG)
    return str(path)


def test_who_hands_over_at_0900_berlin_on_the_spring_change(config_file):
    # 2026-03-29: Berlin moves to CEST; 09:00 local is 07:00Z, not 08:00Z.
    before = runner.invoke(cli, ["oncall", "who", "primary", "--at", "2026-03-29T06:59:00Z", "-c", config_file])
    after = runner.invoke(cli, ["oncall", "who", "primary", "--at", "2026-03-29T07:00:00Z", "-c", config_file])
    assert before.exit_code == after.exit_code == 0
    assert before.output == "bob is on call for primary until 2026-03-29T07:00:00Z (layer daily)\n"
    assert after.output.startswith("ann is on call for primary until 2026-03-30T07:00:00Z")


def test_who_json_and_the_fall_back_in_new_york(config_file):
    result = runner.invoke(cli, ["oncall", "who", "business", "--at", "2026-11-02T14:30:00Z", "-c", config_file, "--json"])
    assert result.exit_code == 0, result.output
    # 2026-11-02 after the change: EST, 09:00-17:00 local is 14:00Z-22:00Z.
    assert json.loads(result.output) == {"schedule": "business", "at": "2026-11-02T14:30:00Z", "user": "bob",
                                         "until": "2026-11-02T22:00:00Z", "source": "layer", "name": "days",
                                         "time_zone": "America/New_York"}


def test_who_exits_1_in_a_gap(config_file):
    result = runner.invoke(cli, ["oncall", "who", "business", "--at", "2026-11-02T23:00:00Z", "-c", config_file])
    assert result.exit_code == 1
    assert result.output == "nobody is on call for business until 2026-11-03T14:00:00Z\n"


@pytest.mark.parametrize("args, message", [
    (["nope"], "error: no schedule named 'nope'"),
    (["primary", "--at", "tomorrow"], "error: --at: parsing time"),
])
def test_who_bad_usage_exits_2(config_file, args, message):
    result = runner.invoke(cli, ["oncall", "who", *args, "-c", config_file])
    assert result.exit_code == 2
    assert result.output.startswith(message)


def test_who_reports_a_located_config_error(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text(CONFIG.replace("turn: 1d", "turn: 1 day", 1))
    result = runner.invoke(cli, ["oncall", "who", "primary", "-c", str(path)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {path}:8:9: schedules[0].layers[0].turn:")


NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)


@pytest.fixture
def served(tmp_path):
    store = Store.open_in(str(tmp_path))
    access = AccessService(store.access)
    access.add_user("ann", Role.RESPONDER, actor="test", password="ann-password")
    access.add_user("bob", Role.RESPONDER, actor="test", password="bob-password")
    admin = access.create_token("ops-cli", Role.ADMIN, actor="test")
    responder = access.create_token("ann-cli", Role.RESPONDER, actor="test", user="ann")
    schedule = Schedule("primary", "UTC", (Layer("daily", ("ann", "bob"), timedelta(days=1), date(2026, 5, 1), time(9)),))
    service = ScheduleService(ScheduleStore(store.engine), lambda: {"primary": schedule}, clock=lambda: NOW)
    deps = dataclasses.replace(make_deps(), access=AccessPolicy(access, False), schedules=service)
    with serve_app(lambda _url: create_app(deps)) as url:
        yield url, admin, responder, service
    store.close()


def test_override_and_swap_against_a_running_vigil(served):
    url, admin, responder, service = served
    result = runner.invoke(cli, ["oncall", "override", "primary", "--user", "ann", "--from", "2026-05-04T10:00:00Z",
                                 "--to", "2026-05-04T14:00:00Z", "--note", "cover", "--url", url, "--token", admin])
    assert result.exit_code == 0, result.output
    assert result.output.endswith("ann on call for primary from 2026-05-04T10:00:00Z to 2026-05-04T14:00:00Z\n")
    assert service.on_call("primary", NOW).user == "ann"
    # A responder's token is not the person: refused, exit 1 with the server's message.
    refused = runner.invoke(cli, ["oncall", "override", "primary", "--user", "ann", "--from", "2026-05-05T10:00:00Z",
                                  "--to", "2026-05-05T14:00:00Z", "--url", url, "--token", responder])
    assert refused.exit_code == 1
    assert refused.output.startswith("error: 403: a responder may only put themselves on call")
    bad = runner.invoke(cli, ["oncall", "override", "primary", "--user", "ann", "--from", "soon",
                              "--to", "2026-05-05T14:00:00Z", "--url", url, "--token", admin])
    assert bad.exit_code == 2
    # bob (05-04 09:00 to 05-05 09:00) and ann (05-05 09:00 to 05-06 09:00) exchange an evening.
    swapped = runner.invoke(cli, ["oncall", "swap", "primary", "--user", "bob", "--from", "2026-05-04T18:00:00Z",
                                  "--to", "2026-05-04T22:00:00Z", "--with", "ann", "--with-from", "2026-05-05T18:00:00Z",
                                  "--with-to", "2026-05-05T22:00:00Z", "--url", url, "--token", admin])
    assert swapped.exit_code == 0, swapped.output
    assert len(swapped.output.splitlines()) == 2
    assert service.on_call("primary", datetime(2026, 5, 4, 19, tzinfo=UTC)).user == "ann"
    assert service.on_call("primary", datetime(2026, 5, 5, 19, tzinfo=UTC)).user == "bob"
    unreachable = runner.invoke(cli, ["oncall", "override", "primary", "--user", "ann", "--from", "2026-05-05T10:00:00Z",
                                      "--to", "2026-05-05T14:00:00Z", "--url", "http://127.0.0.1:9", "--token", admin])
    assert unreachable.exit_code == 1 and "cannot reach Vigil at http://127.0.0.1:9" in unreachable.output
