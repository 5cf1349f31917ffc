"""Accepting an incident candidate declares one incident with its groups attached (twice:
the same incident); the walked-through incident's post-mortem is read from the database, and
its action items stay tracked after the resolution."""

from __future__ import annotations

from datetime import date

import pytest

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.incidents.test_correlation import T0, checkout_burst
from tests.state.conftest import store  # noqa: F401
from vigil.config import load_config_text
from vigil.config.correlation import CorrelationConfig
from vigil.errors import VigilError
from vigil.incidents.checklist import ChecklistService
from vigil.incidents.correlation import Correlator
from vigil.incidents.postmortem import postmortem_of
from vigil.incidents.service import IncidentService
from vigil.state.action_item_store import ActionItemStore
from vigil.state.incident_candidate_store import CandidateStore
from vigil.state.incident_response_store import IncidentResponseStore
from vigil.state.incident_store import IncidentStore, record_event


@pytest.fixture
def setup(store):  # noqa: F811 (SQLite, then PostgreSQL)
    config = load_config_text("")
    groups = checkout_burst()[:3]
    incidents = IncidentService(IncidentStore(store.engine), lambda: config, groups=lambda: list(groups))
    correlator = Correlator(CandidateStore(store.engine), CorrelationConfig, lambda: list(groups),
                            service=incidents)
    return store, correlator, groups


def test_accept_declares_one_incident_with_the_groups_attached(setup):
    state, correlator, groups = setup
    [cand] = correlator.observe()
    accepted, inc = correlator.accept(cand.id, actor="alice", via="api")
    again, same = correlator.accept(cand.id, actor="bob", via="api")
    assert same.id == inc.id and again.incident_id == inc.id and again.decided_by == "alice"
    assert (inc.source, inc.origin_key, inc.severity, inc.title) == (
        "candidate", f"candidate:{cand.id}", 3, cand.title)
    assert inc.started_at == T0  # the window start: the first alert of the burst
    incidents = correlator.service.store
    assert sorted(g.group_key for g in incidents.attached(inc.id)) == sorted(g.key for g in groups)
    assert len(incidents.incidents()) == 1
    kinds = [e.kind for e in incidents.events(inc.id)]
    assert kinds.count("candidate_accepted") == 1 and kinds[0] == "declared"
    # One audit entry for the click: the declaration's.
    assert [e.action for e in state.access.audit_entries()] == ["incident.declare"]
    # Attached to an open incident: not proposed again; a dismissal of it is refused.
    assert correlator.observe() == []
    with pytest.raises(VigilError, match="accepted, not proposed"):
        correlator.dismiss(cand.id, actor="bob", via="api", reason="noise")


def test_a_dismissed_candidate_cannot_be_accepted(setup):
    _store, correlator, _groups = setup
    [cand] = correlator.observe()
    correlator.dismiss(cand.id, actor="bob", via="api", reason="load test")
    with pytest.raises(VigilError, match="dismissed by bob: load test"):
        correlator.accept(cand.id, actor="alice", via="api")


def test_an_acceptance_cut_short_is_completed_by_the_next_pass(setup):
    _store, correlator, _groups = setup
    [cand] = correlator.observe()
    # The process stopped after declaring, before marking the candidate.
    inc = correlator.service.declare(title="x", severity=3, actor="alice", via="api", source="candidate",
                                     origin_key=cand.origin_key)
    correlator.observe()
    done = correlator.store.get(cand.id)
    assert (done.state, done.incident_id, done.decided_by) == ("accepted", inc.id, "alice")


def test_walked_through_incident_postmortem_and_action_items(setup):
    _store, correlator, groups = setup
    [cand] = correlator.observe()
    _, inc = correlator.accept(cand.id, actor="alice", via="api", severity=2)
    service, incidents = correlator.service, correlator.service.store
    # What the timeline loop copies from the alerting stage (its contract: vigil.incidents).
    with incidents.engine.begin() as conn:
        for n, g in enumerate(groups):
            alert = g.alerts[0]
            record_event(conn, incident_id=inc.id, at=alert.starts_at, kind="alert_firing", actor=None,
                         via="vigil", source_key=f"test:{n}", detail={
                             "group_key": g.key, "labels": alert.labels.to_dict(), "fingerprint": alert.fingerprint(),
                             "starts_at": alert.starts_at.isoformat(), "ends_at": None,
                             "generator_url": f"http://prom/graph?g0.expr=up%7Bjob%3D%22{n}%22%7D+%3D%3D+0&g0.tab=1"})
    service.set_role(inc.id, "commander", "alice", actor="alice", via="api")
    service.set_status(inc.id, "identified", actor="alice", via="api", note="a bad deploy")
    service.set_status(inc.id, "monitoring", actor="alice", via="api")
    items = ActionItemStore(incidents.engine)
    first = items.add(inc.ref, title="Canary checkout deploys", owner="carol", due_date=date(2026, 12, 21),
                      link="https://tickets.example/OPS-1", actor="alice", via="api")
    second = items.add(inc.id, title="Alert on p99 earlier", actor="alice", via="cli")
    service.set_status(inc.id, "resolved", actor="alice", via="api")
    items.set_state(second.id, "closed", actor="bob", via="api")
    with pytest.raises(VigilError, match="closed already"):
        items.set_state(second.id, "closed", actor="bob", via="api")

    assert [i.id for i in items.items(state="open")] == [first.id]  # tracked after the resolution
    assert [i.state for i in items.items(incident=inc.ref)] == ["open", "closed"]
    text = postmortem_of(incidents, items, inc.ref, external_url="https://vigil.example")
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [f"# {inc.ref}: {cand.title}", "## Summary", "## Impact", "## Timeline", "## Figures",
                        "## Contributing alerts", "### HighLatency", "### ErrorRate", "### PodRestarts",
                        "## Action items"]
    assert "```promql\nup{job=\"1\"} == 0\n```" in text
    timeline = text.split("## Timeline")[1].split("## Figures")[0]
    order = [timeline.index(s) for s in ("Alert firing", "Declared SEV-2", "Declared from an incident candidate",
                                         "Status: investigating → identified — a bad deploy",
                                         "Status: identified → monitoring", "Action item #1 added",
                                         "Status: monitoring → resolved", f"Action item #{second.id} closed")]
    assert order == sorted(order)
    assert "| First alert → declaration |" in text and "Alerts: 3 in 3 alert groups." in text
    assert f"| {first.id} | Canary checkout deploys | carol | 2026-12-21 | open |" in text


def test_the_postmortem_shows_the_response_checklist_when_given(setup):
    _store, correlator, _groups = setup
    incidents = correlator.service.store
    inc = correlator.service.declare(title="Everything is down", severity=1, actor="alice", via="api")
    checklists = ChecklistService(incidents, IncidentResponseStore(incidents.engine), lambda: load_config_text(""))
    first = checklists.of(inc).tasks[0]
    checklists.set_task(inc.ref, first.key, done=True, actor="bob", via="api")
    items = ActionItemStore(incidents.engine)
    text = postmortem_of(incidents, items, inc.ref, checklist=lambda i: checklists.of(i).tasks)
    section = text.split("## Response checklist\n")[1].split("## Action items")[0]
    lines = [line for line in section.splitlines() if line.startswith("- [")]
    assert len(lines) == len(checklists.of(inc).tasks) > 1
    assert lines[0].startswith(f"- [x] {first.title} (due ") and lines[0].endswith(" by bob")
    assert all(line.startswith("- [ ] ") for line in lines[1:])
    assert "## Response checklist" not in postmortem_of(incidents, items, inc.ref)
