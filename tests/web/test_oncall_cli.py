"""``vigil alerts ack|unack|resolve`` against a served Vigil app with a real lifecycle on
SQLite and access control: lines per episode, --json, the token, exit 1 when nothing
matched or the answer is an error, exit 2 on bad usage."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import pytest
from typer.testing import CliRunner

from tests.support.browser import serve_app
from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.cli import cli
from vigil.config.access import AccessConfig
from vigil.config.oncall import OncallConfig
from vigil.model import Alert, Labels
from vigil.oncall.lifecycle import FiringGroup, Lifecycle
from vigil.state import Store
from vigil.state.lifecycle_store import LifecycleStore
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

runner = CliRunner()
T0 = datetime(2026, 12, 7, tzinfo=timezone.utc)


def _group(name: str, priority: str) -> FiringGroup:
    alert = Alert(Labels({"alertname": name, "priority": priority}), Labels(), T0)
    return FiringGroup(f'{{}}:{{alertname="{name}"}}', "ops", Labels({"alertname": name}), (alert,), True)


@pytest.fixture
def served(tmp_path):
    store = Store.open_in(str(tmp_path))
    service = AccessService(store.access, AccessConfig())
    service.add_user("ann", Role.RESPONDER, actor="test", password="ann-pw")
    responder = service.create_token("ann-cli", Role.RESPONDER, actor="test", user="ann")
    life = Lifecycle(LifecycleStore(store.engine), OncallConfig(),
                     lambda: [_group("DiskFull", "P1"), _group("CPUHigh", "P3")])
    life.reconcile()
    deps = dataclasses.replace(make_deps(), access=AccessPolicy(service, False), oncall=life)
    with serve_app(lambda _url: create_app(deps)) as url:
        yield url, responder, life
    store.close()


def test_ack_unack_resolve(served):
    url, token, life = served
    r = runner.invoke(cli, ["alerts", "ack", "alertname=DiskFull", "--note", "on it",
                            "--url", url, "--token", token])
    assert r.exit_code == 0, r.output
    [line] = r.output.splitlines()
    assert line.startswith("acknowledged ") and line.endswith(' P1 {alertname="DiskFull"}')
    episode_id = line.split()[1]
    events = life.store.events(episode_id)
    assert (events[-1].kind, events[-1].actor, events[-1].via, events[-1].detail["note"]) == (
        "acknowledged", "token:ann-cli", "cli", "on it")  # named as the audit log names it

    r = runner.invoke(cli, ["alerts", "ack", "alertname=~.+", "--url", url, "--token", token])
    assert r.exit_code == 0
    assert r.output.splitlines()[0].startswith("acknowledged ") and "CPUHigh" in r.output
    assert f"skipped {episode_id}: alert episode {episode_id} is acknowledged, not open" in r.output

    r = runner.invoke(cli, ["alerts", "unack", "alertname=DiskFull", "--json", "--url", url, "--token", token])
    data = json.loads(r.output)
    assert r.exit_code == 0 and data["matched"] == 1 and data["episodes"][0]["state"] == "open"

    r = runner.invoke(cli, ["alerts", "resolve", 'alertname="CPUHigh"', "--classification", "actionable",
                            "--procedure", "/runbooks/CPUHigh", "--url", url, "--token", token])
    assert r.exit_code == 0 and r.output.startswith("resolved ")
    assert [ep.group_labels["alertname"] for ep in life.store.episodes()] == ["DiskFull"]
    resolved = life.store.episodes(unresolved_only=False)
    assert {ep.procedure for ep in resolved if ep.state == "resolved"} == {"/runbooks/CPUHigh"}


def test_nothing_matched_errors_and_bad_usage(served):
    url, token, _ = served
    r = runner.invoke(cli, ["alerts", "ack", "alertname=Nope", "--url", url, "--token", token])
    assert r.exit_code == 1 and "no unresolved alert episode matched" in r.output
    r = runner.invoke(cli, ["alerts", "ack", "alertname=DiskFull", "--url", url])  # no token
    assert r.exit_code == 1 and "answered 401" in r.output
    assert runner.invoke(cli, ["alerts", "ack", "--url", url]).exit_code == 2
    assert runner.invoke(cli, ["alerts", "ack", "not a matcher", "--url", url]).exit_code == 2
    r = runner.invoke(cli, ["alerts", "resolve", "alertname=DiskFull", "--classification", "fixed", "--url", url])
    assert r.exit_code == 2 and "is not one of actionable" in r.output
    r = runner.invoke(cli, ["alerts", "ack", "alertname=DiskFull", "--url", "http://127.0.0.1:9"])
    assert r.exit_code == 1 and "cannot reach Vigil" in r.output
