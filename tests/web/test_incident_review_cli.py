"""``vigil incidents postmortem | action-items | candidates`` against a served Vigil: text and
--json answers, the post-mortem written to a file, refusals exit 1, bad usage exits 2."""

from __future__ import annotations

import json

import pytest

from tests.incidents.support import cli_token, deps_with, people, run_incidents
from tests.incidents.test_correlation import checkout_burst
from tests.support.browser import serve_app
from vigil.config import load_config_text
from vigil.config.correlation import CorrelationConfig
from vigil.incidents.correlation import Correlator
from vigil.incidents.review import IncidentReview
from vigil.incidents.service import IncidentService
from vigil.state import Store
from vigil.state.action_item_store import ActionItemStore
from vigil.state.incident_candidate_store import CandidateStore
from vigil.state.incident_store import IncidentStore
from vigil.web import create_app


@pytest.fixture
def served(tmp_path):
    store = Store.open_in(str(tmp_path / "state"))
    access = people(store, responders=["ann"])
    token = cli_token(access, "ann")
    config = load_config_text("")
    groups = checkout_burst()[:3]
    incidents = IncidentStore(store.engine)
    service = IncidentService(incidents, lambda: config, groups=lambda: list(groups))
    correlator = Correlator(CandidateStore(store.engine), CorrelationConfig, lambda: list(groups), service=service)
    review = IncidentReview(incidents, ActionItemStore(store.engine), correlator=correlator)
    deps = deps_with(access, incident_review=review)
    with serve_app(lambda _url: create_app(deps)) as url:
        yield ["--url", url, "--token", token], correlator
    store.close()


def test_candidates_action_items_and_postmortem(served, tmp_path):
    conn, correlator = served
    [cand] = correlator.observe()
    listed = run_incidents("candidates", "list", *conn)
    assert listed.exit_code == 0, listed.output
    assert listed.output.startswith(f"{cand.id} proposed SEV-3 3 groups since 2026-12-07T03:00:00Z: ")
    accepted = run_incidents("candidates", "accept", cand.id, "--sev", "2", "--title", "Checkout is slow", *conn)
    assert accepted.exit_code == 0, accepted.output
    ref = accepted.output.split()[0]
    assert accepted.output == f"{ref} SEV-2 investigating: Checkout is slow\n"
    refused = run_incidents("candidates", "dismiss", cand.id, "--reason", "noise", *conn)
    assert refused.exit_code == 1 and "is accepted, not proposed" in refused.output
    assert run_incidents("candidates", "dismiss", cand.id, *conn).exit_code == 2
    assert run_incidents("candidates", "accept", cand.id, "--sev", "7", *conn).exit_code == 2

    added = run_incidents("action-items", "add", ref, "Canary checkout deploys",
                          "--owner", "carol", "--due", "2026-12-21", *conn)
    assert added.exit_code == 0, added.output
    assert added.output == f"added #1 open   {ref} Canary checkout deploys (owner carol; due 2026-12-21)\n"
    assert run_incidents("action-items", "add", ref, "x", "--due", "soon", *conn).exit_code == 2
    run_incidents("action-items", "add", ref, "Alert on p99", *conn)
    closed = run_incidents("action-items", "close", "2", *conn)
    assert closed.exit_code == 0 and closed.output.startswith("#2 closed")
    again = run_incidents("action-items", "close", "2", *conn)
    assert again.exit_code == 1 and "closed already" in again.output
    open_items = run_incidents("action-items", "list", "--json", *conn)
    assert [i["id"] for i in json.loads(open_items.output)] == [1]
    every = run_incidents("action-items", "list", "--incident", ref, "--state", "all", *conn)
    assert [line.split()[0] for line in every.output.splitlines()] == ["#1", "#2"]

    out = tmp_path / "pm.md"
    written = run_incidents("postmortem", ref, "-o", str(out), *conn)
    assert written.exit_code == 0 and written.output == f"wrote {out}\n"
    text = out.read_text()
    assert text.startswith(f"# {ref}: Checkout is slow\n") and "## Action items" in text
    printed = run_incidents("postmortem", ref, *conn)
    assert printed.output == text
    missing = run_incidents("postmortem", "INC-20000101-001", *conn)
    assert missing.exit_code == 1 and "404" in missing.output
