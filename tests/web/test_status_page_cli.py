"""``vigil status-page show|override`` against a served Vigil with access configured: show
reads the public JSON without a token and exits 1 while a component is not Operational;
override needs a responder's token, takes a duration or a time for --until, and --clear
removes it; bad usage exits 2."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from tests.support.browser import serve_app
from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.cli import cli
from vigil.config import load_config_text
from vigil.incidents.status_page_service import StatusPageService
from vigil.state import Store
from vigil.state.incident_store import IncidentStore
from vigil.state.status_page_store import StatusPageStore
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

runner = CliRunner()
CONFIG = load_config_text("""
status_page:
  title: Smart Dairy status
  components:
    - {name: shop, query: 'probe_success{instance="https://shop"}'}
    - {name: milk-api, query: 'up{job="milk-api"}'}
""")


@pytest.fixture
def served(tmp_path):
    store = Store.open_in(str(tmp_path))
    people = AccessService(store.access)
    people.add_user("ann", Role.RESPONDER, actor="test", password="ann-pw")
    token = people.create_token("ann-cli", Role.RESPONDER, actor="test", user="ann")
    service = StatusPageService(StatusPageStore(store.engine), IncidentStore(store.engine), lambda: CONFIG)
    deps = dataclasses.replace(make_deps(), access=AccessPolicy(people), status_page=service)
    with serve_app(lambda _url: create_app(deps)) as url:
        yield url, token, service
    store.close()


def test_show_and_override(served):
    url, token, service = served
    r = runner.invoke(cli, ["status-page", "show", "--url", url])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == ["Smart Dairy status: All systems operational",
                                     "shop      Operational", "milk-api  Operational"]

    r = runner.invoke(cli, ["status-page", "override", "shop", "major_outage", "--message", "Closed for a fix",
                            "--until", "2h", "--url", url])
    assert r.exit_code == 1 and "401" in r.output  # no token: refused
    r = runner.invoke(cli, ["status-page", "override", "shop", "major_outage", "--message", "Closed for a fix",
                            "--until", "2h", "--url", url, "--token", token])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("shop: Major outage until ")
    [shop] = [c for c in service.statuses() if c.name == "shop"]
    assert shop.override_until is not None
    assert timedelta(hours=1, minutes=59) < shop.override_until - datetime.now(timezone.utc) <= timedelta(hours=2)

    r = runner.invoke(cli, ["status-page", "show", "--url", url])
    assert r.exit_code == 1
    assert "shop      Major outage  (set by hand; Closed for a fix)" in r.output.splitlines()
    r = runner.invoke(cli, ["status-page", "show", "--json", "--url", url])
    assert r.exit_code == 1 and json.loads(r.output)["page"]["status"] == "major_outage"

    until = (datetime.now(timezone.utc) + timedelta(days=1)).replace(microsecond=0)
    r = runner.invoke(cli, ["status-page", "override", "milk-api", "degraded_performance", "--until",
                            until.isoformat(), "--url", url, "--token", token])
    assert r.exit_code == 0 and [c.override_until for c in service.statuses() if c.name == "milk-api"] == [until]

    r = runner.invoke(cli, ["status-page", "override", "shop", "--clear", "--url", url, "--token", token])
    assert r.exit_code == 0 and r.output.strip() == "cleared the override of shop (Major outage)"
    r = runner.invoke(cli, ["status-page", "override", "shop", "--clear", "--url", url, "--token", token])
    assert r.exit_code == 1 and "no override in force" in r.output


def test_bad_usage_exits_2(served):
    url, token, _ = served
    for args, text in ((["shop"], "give a STATUS, or --clear"),
                       (["shop", "down"], "unknown status 'down'"),
                       (["shop", "major_outage", "--clear"], "give a STATUS, or --clear"),
                       (["shop", "major_outage", "--until", "soon"], "--until: 'soon'")):
        r = runner.invoke(cli, ["status-page", "override", *args, "--url", url, "--token", token])
        assert r.exit_code == 2 and text in r.output, (args, r.output)
    r = runner.invoke(cli, ["status-page", "override", "nope", "operational", "--url", url, "--token", token])
    assert r.exit_code == 1 and "no status page component 'nope'" in r.output
