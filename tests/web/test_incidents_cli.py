"""``vigil incidents`` against a served Vigil app with a real incident service on SQLite and
access control: declare with --alert matchers, list, show, status (a refused move exits 1
with the reason), severity, role, note, timeline in each format, --json; exit 2 on bad usage."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.incidents.support import cli_token, deps_with, people, run_incidents
from tests.support.browser import serve_app
from vigil.access import Role
from vigil.config.loader import load_config_text
from vigil.incidents.service import IncidentService
from vigil.model import Alert, Labels
from vigil.oncall.lifecycle import FiringGroup
from vigil.state import Store
from vigil.state.incident_store import IncidentStore
from vigil.web import create_app


@pytest.fixture
def served(tmp_path):
    store = Store.open_in(str(tmp_path))
    access = people(store, responders=["ann"])
    responder = cli_token(access, "ann")
    viewer = access.create_token("vic-cli", Role.VIEWER, actor="test")
    start = datetime.now(timezone.utc) - timedelta(minutes=3)
    groups = [FiringGroup(f'{{}}:{{alertname="{n}"}}', "ops", Labels({"alertname": n}),
                          (Alert(Labels({"alertname": n, "service": s}), Labels(), start),), True)
              for n, s in (("MilkApiDown", "milk"), ("FeedLate", "feed"))]
    config = load_config_text("{}")
    service = IncidentService(IncidentStore(store.engine), lambda: config, groups=lambda: list(groups))
    deps = deps_with(access, incidents=service)
    with serve_app(lambda _url: create_app(deps)) as url:
        yield url, responder, viewer, service
    store.close()


def test_declare_walk_and_read(served):
    url, token, viewer, service = served
    auth = ["--url", url, "--token", token]
    r = run_incidents("declare", "--sev", "2", "--title", "Milk API errors", "--alert", 'service="milk"',
                      "--summary", "503s", "--commander", "ann", "--component", "Milk API", *auth)
    assert r.exit_code == 0, r.output
    first, attached = r.output.splitlines()
    ref = first.split()[1]
    assert first == f"declared {ref}  SEV-2  investigating Milk API errors commander ann"
    assert attached == '  attached {}:{alertname="MilkApiDown"}'
    inc = service.store.get(ref)
    assert (inc.summary, inc.components, inc.alert_matchers) == ("503s", ("Milk API",), ('service="milk"',))
    assert service.store.events(inc.id)[0].via == "cli"

    assert run_incidents("status", ref, "monitoring", "--note", "rolled back", *auth).output.split()[2] == "monitoring"
    r = run_incidents("status", ref, "investigating", *auth)  # a relapse is allowed from monitoring
    assert r.exit_code == 0
    assert run_incidents("severity", ref, "1", "--note", "all farms", *auth).exit_code == 0
    assert run_incidents("role", ref, "responders", "bob", *auth).exit_code == 0
    assert run_incidents("role", ref, "scribe", "carl", *auth).exit_code == 0
    assert run_incidents("role", ref, "scribe", "-", *auth).exit_code == 0
    assert run_incidents("note", ref, "db failover started", *auth).output == f"noted on {ref}\n"
    assert run_incidents("status", ref, "resolved", *auth).exit_code == 0
    r = run_incidents("status", ref, "monitoring", *auth)
    assert r.exit_code == 1
    assert f"409: incident {ref} cannot move from resolved to monitoring; reopen it" in r.output
    assert run_incidents("reopen", ref, *auth).exit_code == 0

    view = ["--url", url, "--token", viewer]
    r = run_incidents("show", ref, *view)
    assert r.exit_code == 0 and "roles: commander=ann communications=- scribe=- responders=bob" in r.output
    assert "status can move to: identified, monitoring, resolved" in r.output
    assert "Severity: SEV-2 → SEV-1 — all farms" in r.output and "db failover started" in r.output
    shown = json.loads(run_incidents("show", ref, "--json", *view).output)
    assert shown["ref"] == ref and shown["severity"] == 1
    assert run_incidents("list", *view).output.startswith(f"{ref}  SEV-1  investigating")
    assert json.loads(run_incidents("list", "--all", "--json", *view).output)[0]["ref"] == ref
    markdown = run_incidents("timeline", ref, *view).output
    assert markdown.startswith(f"# {ref}: Milk API errors")
    assert "| token:ann-cli | Status: monitoring → investigating |" in markdown
    csv_text = run_incidents("timeline", ref, "--format", "csv", *view).output
    assert csv_text.splitlines()[0] == "at,kind,actor,via,text,public"
    events = json.loads(run_incidents("timeline", ref, "--format", "json", *view).output)["events"]
    assert [e["kind"] for e in events][:3] == ["declared", "role", "alert_attached"]
    assert all(e["actor"] == "token:ann-cli" for e in events if e["kind"] in ("status", "note"))

    r = run_incidents("note", ref, "viewers cannot", *view)
    assert r.exit_code == 1 and "403" in r.output


def test_ack_edit_components_attach_detach(served):
    url, token, _, service = served
    auth = ["--url", url, "--token", token]
    ref = run_incidents("declare", "--sev", "3", "--title", "Feed late", *auth).output.split()[1]
    assert run_incidents("ack", ref, "--note", "mine", *auth).exit_code == 0
    r = run_incidents("ack", ref, *auth)
    assert r.exit_code == 1 and "was acknowledged already" in r.output
    assert run_incidents("edit", ref, "--impact", "feeding plans late", "--title", "Feed plans late", *auth).exit_code == 0
    assert run_incidents("edit", ref, *auth).exit_code == 2
    r = run_incidents("components", ref, "Feed API", "Dashboards", *auth)
    assert r.output == f"{ref} components: Feed API, Dashboards\n"
    key = '{}:{alertname="FeedLate"}'
    assert run_incidents("attach", ref, key, *auth).output == f"attached to {ref}: {key}\n"
    assert run_incidents("detach", ref, key, *auth).output == f"detached from {ref}: {key}\n"
    r = run_incidents("detach", ref, key, *auth)
    assert r.exit_code == 1 and "is not attached" in r.output
    inc = service.store.get(ref)
    assert (inc.title, inc.impact, inc.components) == ("Feed plans late", "feeding plans late",
                                                       ("Feed API", "Dashboards"))
    assert inc.acknowledged_at is not None and service.store.attached(inc.id) == []


def test_bad_usage_exits_2_and_unknown_incidents_exit_1(served):
    url, token, _, _ = served
    auth = ["--url", url, "--token", token]
    assert run_incidents("declare", "--sev", "5", "--title", "x", *auth).exit_code == 2
    assert run_incidents("declare", "--sev", "1", "--title", " ", *auth).exit_code == 2
    r = run_incidents("declare", "--sev", "1", "--title", "x", "--alert", "service~milk", *auth)
    assert r.exit_code == 2 and "bad matcher format" in r.output
    assert run_incidents("status", "INC-1", "fixed", *auth).exit_code == 2
    assert run_incidents("role", "INC-1", "chef", "ann", *auth).exit_code == 2
    assert run_incidents("role", "INC-1", "scribe", "ann", "--remove", *auth).exit_code == 2
    assert run_incidents("timeline", "INC-1", "--format", "pdf", *auth).exit_code == 2
    r = run_incidents("show", "INC-20000101-001", *auth)
    assert r.exit_code == 1 and "404: no incident 'INC-20000101-001'" in r.output
    r = run_incidents("list", "--url", "http://127.0.0.1:9")
    assert r.exit_code == 1 and "cannot reach Vigil" in r.output
