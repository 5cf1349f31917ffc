"""``vigil incidents checklist | task | update`` against a served Vigil app with a real state
database and access control: the checklist with marks and keys (exit 1 when a task is
overdue), tasks done and reopened, communications previewed and sent, errors and bad usage."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.incidents.support import cli_token, deps_with, people, run_incidents
from tests.support.browser import serve_app
from vigil.config.loader import load_config_text
from vigil.incidents.response import incident_response
from vigil.incidents.service import IncidentService
from vigil.oncall.reach import ConfigDirectory
from vigil.state import Store
from vigil.state.incident_schema import incidents
from vigil.state.incident_store import IncidentStore
from vigil.web import create_app


@pytest.fixture
def served(tmp_path):
    store = Store.open_in(str(tmp_path))
    access = people(store, responders=["ann"])
    token = cli_token(access, "ann")
    config = load_config_text("")
    response = incident_response(store.engine, lambda: config, ConfigDirectory(config))
    inc = IncidentService(IncidentStore(store.engine), lambda: config).declare(
        title="Milk API down", severity=1, actor="ann", via="api", impact="no milkings recorded",
        components=["Milk API"])
    deps = deps_with(access, incident_response=response)
    with serve_app(lambda _url: create_app(deps)) as url:
        yield url, token, inc, store
    store.close()


def test_checklist_task_and_overdue_exit_code(served):
    url, token, inc, store = served
    r = run_incidents("task", inc.ref, "dns", "--done", "--note", "resolvers answer", "--url", url, "--token", token)
    assert r.exit_code == 0, r.output
    assert r.output == "[x] dns  Check DNS resolution — token:ann-cli\n"
    r = run_incidents("checklist", inc.ref, "--url", url, "--token", token)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == f"{inc.ref} SEV-1 investigating, declared {inc.declared_at.isoformat().replace('+00:00', 'Z')}"
    assert lines[1].startswith("T+0:00 Incident Declared (due ")
    assert lines[2] == "  [ ] page-oncall  Page on-call engineer"
    assert "  [x] dns  Check DNS resolution — token:ann-cli: resolvers answer" in lines
    assert [line for line in lines if not line.startswith("  ")][1:] == [
        f"{label} (due {(inc.declared_at + timedelta(minutes=m)).isoformat().replace('+00:00', 'Z')})"
        for label, m in (("T+0:00 Incident Declared", 0), ("T+0:05 Initial Assessment", 5),
                         ("T+0:15 Recovery Attempts Begin", 15), ("T+0:30 Communication Update", 30),
                         ("T+1:00 Escalation if Not Resolved", 60))]

    # Declared 10 minutes ago: the T+0:00 and T+0:05 tasks not done are overdue, exit 1.
    with store.engine.begin() as conn:
        conn.execute(update(incidents).where(incidents.c.id == inc.id).values(
            declared_at=inc.declared_at - timedelta(minutes=10)))
    r = run_incidents("checklist", inc.ref, "--url", url, "--token", token)
    assert r.exit_code == 1
    assert "  [!] page-oncall  Page on-call engineer" in r.output and "  [ ] auto-recovery" in r.output
    assert "  [x] dns  Check DNS resolution — token:ann-cli: resolvers answer" in r.output
    data = json.loads(run_incidents("checklist", inc.ref, "--json", "--url", url, "--token", token).output)
    assert data["phases"][1]["tasks"][2]["key"] == "dns"

    r = run_incidents("task", inc.ref, "dns", "--reopen", "--url", url, "--token", token)
    assert (r.exit_code, r.output) == (0, "[!] dns  Check DNS resolution\n")
    r = run_incidents("task", inc.ref, "dns", "--reopen", "--url", url, "--token", token)
    assert r.exit_code == 1 and "answered 409: task 'dns' is not done: nothing to reopen" in r.output
    assert run_incidents("task", inc.ref, "dns", "--url", url).exit_code == 2  # neither --done nor --reopen
    r = run_incidents("task", inc.ref, "dns", "--done", "--url", url)  # no token
    assert r.exit_code == 1 and "answered 401" in r.output


def test_update_preview_and_send(served):
    url, token, inc, _ = served
    r = run_incidents("update", inc.ref, "--kind", "external", "--preview", "--symptoms", "failed uploads",
                      "--url", url, "--token", token)
    assert r.exit_code == 0, r.output
    assert r.output == ("Would send to no receivers (none configured for this severity)\n"
                        "Subject: Smart Dairy status: Milk API down\n\n"
                        "We are currently investigating issues affecting Milk API.\n"
                        "Users may experience failed uploads.\n"
                        "We will provide updates as more information becomes available.\n")
    r = run_incidents("update", inc.ref, "--kind", "internal", "--current-status", "Rolling back.", "--url", url,
                      "--token", token)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("Sent to no receivers (none configured for this severity)\n"
                               "Subject: [INCIDENT] Smart Dairy - Milk API down\n\nSeverity: SEV-1\n")
    assert "Current Status:\nRolling back.\n" in r.output
    assert run_incidents("update", inc.ref, "--kind", "public", "--url", url).exit_code == 2
    r = run_incidents("update", "INC-20000101-009", "--preview", "--url", url, "--token", token)
    assert r.exit_code == 1 and "answered 404: no incident 'INC-20000101-009'" in r.output
