"""``vigil incidents`` against a served Vigil app with a real incident service on SQLite and
access control: declare with --alert matchers, list, show, status (a refused move exits 1
with the reason), severity, role, note, timeline in each format, --json; exit 2 on bad usage."""

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
from vigil.config.access import AccessConfig
from vigil.config.loader import load_config_text
from vigil.incidents.service import IncidentService
from vigil.model import Alert, Labels
from vigil.oncall.lifecycle import FiringGroup
from vigil.state import Store
from vigil.state.incident_store import IncidentStore
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

runner = CliRunner()


@pytest.fixture
def served(tmp_path):
    store = Store.open_in(str(tmp_path))
    access = AccessService(store.access, AccessConfig())
    access.add_user("ann", Role.RESPONDER, actor="test", password="ann-pw")
    responder = access.create_token("ann-cli", Role.RESPONDER, actor="test", user="ann")
    viewer = access.create_token("vic-cli", Role.VIEWER, actor="test")
    start = datetime.now(timezone.utc) - timedelta(minutes=3)
    groups = [FiringGroup(f'{{}}:{{alertname="{n}"}}', "ops", Labels({"alertname": n}),
                          (Alert(Labels({"alertname": n, "service": s}), Labels(), start),), True)
              for n, s in (("MilkApiDown", "milk"), ("FeedLate", "feed"))]
    config = load_config_text("{}")
    service = IncidentService(IncidentStore(store.engine), lambda: config, groups=lambda: list(groups))
    deps = dataclasses.replace(make_deps(), access=AccessPolicy(access, False), incidents=service)
    with serve_app(lambda _url: create_app(deps)) as url:
        yield url, responder, viewer, service
    store.close()


def _run(*args: str):
    return runner.invoke(cli, ["incidents", *args])


def test_declare_walk_and_read(served):
    url, token, viewer, service = served
    auth = ["--url", url, "--token", token]
    r = _run("declare", "--sev", "2", "--title", "Milk API errors", "--alert", 'service="milk"',
             "--summary", "503s", "--commander", "ann", "--component", "Milk API", *auth)
    assert r.exit_code == 0, r.output
    first, attached = r.output.splitlines()
    ref = first.split()[1]
    assert first == f"declared {ref}  SEV-2  investigating Milk API errors commander ann"
    assert attached == '  attached {}:{alertname="MilkApiDown"}'
    inc = service.store.get(ref)
    assert (inc.summary, inc.components, inc.alert_matchers) == ("503s", ("Milk API",), ('service="milk"',))
    assert service.store.events(inc.id)[0].via == "cli"

    assert _run("status", ref, "monitoring", "--note", "rolled back", *auth).output.split()[2] == "monitoring"
    r = _run("status", ref, "investigating", *auth)  # a relapse is allowed from monitoring
    assert r.exit_code == 0
    assert _run("severity", ref, "1", "--note", "all farms", *auth).exit_code == 0
    assert _run("role", ref, "responders", "bob", *auth).exit_code == 0
    assert _run("role", ref, "scribe", "carl", *auth).exit_code == 0
    assert _run("role", ref, "scribe", "-", *auth).exit_code == 0
    assert _run("note", ref, "db failover started", *auth).output == f"noted on {ref}\n"
    assert _run("status", ref, "resolved", *auth).exit_code == 0
    r = _run("status", ref, "monitoring", *auth)
    assert r.exit_code == 1
    assert f"409: incident {ref} cannot move from resolved to monitoring; reopen it" in r.output
    assert _run("reopen", ref, *auth).exit_code == 0

    view = ["--url", url, "--token", viewer]
    r = _run("show", ref, *view)
    assert r.exit_code == 0 and "roles: commander=ann communications=- scribe=- responders=bob" in r.output
    assert "status can move to: identified, monitoring, resolved" in r.output
    assert "Severity: SEV-2 → SEV-1 — all farms" in r.output and "db failover started" in r.output
    shown = json.loads(_run("show", ref, "--json", *view).output)
    assert shown["ref"] == ref and shown["severity"] == 1
    assert _run("list", *view).output.startswith(f"{ref}  SEV-1  investigating")
    assert json.loads(_run("list", "--all", "--json", *view).output)[0]["ref"] == ref
    markdown = _run("timeline", ref, *view).output
    assert markdown.startswith(f"# {ref}: Milk API errors")
    assert "| token:ann-cli | Status: monitoring → investigating |" in markdown
    csv_text = _run("timeline", ref, "--format", "csv", *view).output
    assert csv_text.splitlines()[0] == "at,kind,actor,via,text,public"
    events = json.loads(_run("timeline", ref, "--format", "json", *view).output)["events"]
    assert [e["kind"] for e in events][:3] == ["declared", "role", "alert_attached"]
    assert all(e["actor"] == "token:ann-cli" for e in events if e["kind"] in ("status", "note"))

    r = _run("note", ref, "viewers cannot", *view)
    assert r.exit_code == 1 and "403" in r.output


def test_ack_edit_components_attach_detach(served):
    url, token, _, service = served
    auth = ["--url", url, "--token", token]
    ref = _run("declare", "--sev", "3", "--title", "Feed late", *auth).output.split()[1]
    assert _run("ack", ref, "--note", "mine", *auth).exit_code == 0
    r = _run("ack", ref, *auth)
    assert r.exit_code == 1 and "was acknowledged already" in r.output
    assert _run("edit", ref, "--impact", "feeding plans late", "--title", "Feed plans late", *auth).exit_code == 0
    assert _run("edit", ref, *auth).exit_code == 2
    r = _run("components", ref, "Feed API", "Dashboards", *auth)
    assert r.output == f"{ref} components: Feed API, Dashboards\n"
    key = '{}:{alertname="FeedLate"}'
    assert _run("attach", ref, key, *auth).output == f"attached to {ref}: {key}\n"
    assert _run("detach", ref, key, *auth).output == f"detached from {ref}: {key}\n"
    r = _run("detach", ref, key, *auth)
    assert r.exit_code == 1 and "is not attached" in r.output
    inc = service.store.get(ref)
    assert (inc.title, inc.impact, inc.components) == ("Feed plans late", "feeding plans late",
                                                       ("Feed API", "Dashboards"))
    assert inc.acknowledged_at is not None and service.store.attached(inc.id) == []


def test_bad_usage_exits_2_and_unknown_incidents_exit_1(served):
    url, token, _, _ = served
    auth = ["--url", url, "--token", token]
    assert _run("declare", "--sev", "5", "--title", "x", *auth).exit_code == 2
    assert _run("declare", "--sev", "1", "--title", " ", *auth).exit_code == 2
    r = _run("declare", "--sev", "1", "--title", "x", "--alert", "service~milk", *auth)
    assert r.exit_code == 2 and "bad matcher format" in r.output
    assert _run("status", "INC-1", "fixed", *auth).exit_code == 2
    assert _run("role", "INC-1", "chef", "ann", *auth).exit_code == 2
    assert _run("role", "INC-1", "scribe", "ann", "--remove", *auth).exit_code == 2
    assert _run("timeline", "INC-1", "--format", "pdf", *auth).exit_code == 2
    r = _run("show", "INC-20000101-001", *auth)
    assert r.exit_code == 1 and "404: no incident 'INC-20000101-001'" in r.output
    r = _run("list", "--url", "http://127.0.0.1:9")
    assert r.exit_code == 1 and "cannot reach Vigil" in r.output
