"""The response checklist: SEV-1's is the runbook's SEV-1 response with due times relative to
the declaration; tasks done and reopened with their timeline events and one audit entry each;
overdue tasks recorded once and paged once by two replicas on one database; the "Next update"
reminder once per due time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.incidents.support import Clock, replica_stores, response_services, tick_together
from vigil.config.loader import load_config_text
from vigil.incidents.communications import CommunicationService
from vigil.state import Store, schema
from vigil.state.incident_store import IncidentError, IncidentStore

# The runbook's section 8.2, SEV-1 Response (Complete Outage), as written there.
RUNBOOK_SEV1 = [
    ("T+0:00", "Incident Declared", ["Page on-call engineer", "Create incident channel (#incident-YYYYMMDD-XXX)",
                                     "Notify stakeholders (VP Eng, IT Director)", "Start incident log"]),
    ("T+0:05", "Initial Assessment", ["Check status page for external issues", "Verify AWS service health",
                                      "Check DNS resolution", "Test basic connectivity"]),
    ("T+0:15", "Recovery Attempts Begin", ["Attempt automatic recovery (pod restart)",
                                           "Check for recent deployments", "Review error logs",
                                           "Engage additional engineers if needed"]),
    ("T+0:30", "Communication Update", ["Post status to status page", "Send customer notification if applicable",
                                        "Update incident channel", "Notify management of ETA"]),
    ("T+1:00", "Escalation if Not Resolved", ["Engage all available engineers", "Contact AWS support if needed",
                                              "Consider failover to DR site", "Prepare for manual recovery"]),
]

CONFIG = """
users:
  - name: ann
    contacts: [{kind: webhook, address: "https://hooks.example/ann"}]
  - name: carl
    contacts: [{kind: webhook, address: "https://hooks.example/carl"}]
incidents:
  page_overdue: {after: 5m, to: commander}
"""


@pytest.fixture
def world(tmp_path):
    store = Store.open_in(str(tmp_path))
    config = load_config_text(CONFIG)
    rs = response_services(store, config)
    yield store, config, rs.incidents, rs.checklists, rs.response
    store.close()


def _events(store: Store, incident_id: str, kind: str) -> list[dict]:
    from vigil.state.incident_schema import incident_events as v
    with store.engine.connect() as conn:
        rows = conn.execute(select(v.c.actor, v.c.detail).where(v.c.incident_id == incident_id, v.c.kind == kind)
                            .order_by(v.c.id)).all()
    return [{"actor": actor, **detail} for actor, detail in rows]


def _audit(store: Store, action: str) -> list:
    a = schema.audit_log
    with store.engine.connect() as conn:
        return conn.execute(select(a.c.actor, a.c.target, a.c.after).where(a.c.action == action)).all()


def test_sev1_checklist_is_the_runbooks_response_due_from_the_declaration(world):
    store, _config, service, checklists, _ = world
    inc = service.declare(title="Milk API down", severity=1, actor="ann", via="api")
    checklist = checklists.checklist(inc.ref)
    got = [(p.label, p.title, [t.title for t in p.tasks]) for p in checklist.phases]
    assert got == RUNBOOK_SEV1
    assert [p.due_at - inc.declared_at for p in checklist.phases] == [
        timedelta(minutes=m) for m in (0, 5, 15, 30, 60)]
    assert all(t.due_at == p.due_at for p in checklist.phases for t in p.tasks)
    keys = [t.key for t in checklist.tasks]
    assert len(set(keys)) == 20 and keys[:4] == ["page-oncall", "create-channel", "notify-stakeholders", "start-log"]
    assert not any(t.done or t.overdue for t in checklist.tasks)  # within the first minute's grace


def test_other_severities_have_shorter_checklists_and_custom_ones_replace_them(tmp_path):
    store = Store.open_in(str(tmp_path))
    config = load_config_text("""
incidents:
  checklists:
    SEV-3:
      - {at: 0m, title: Triage, tasks: [Open a ticket, {key: owner, title: Find the owning team}]}
      - {at: 2h, title: Fix, tasks: [Schedule the fix]}
""")
    rs = response_services(store, config)
    service, checklists = rs.incidents, rs.checklists
    sev2 = checklists.checklist(service.declare(title="Feeds slow", severity=2, actor="ann", via="api").id)
    assert [p.title for p in sev2.phases] == ["Incident Declared", "Initial Assessment", "Recovery Attempts Begin"]
    inc = service.declare(title="Report typo", severity=3, actor="ann", via="api")
    sev3 = checklists.checklist(inc.id)
    assert [(p.label, p.title) for p in sev3.phases] == [("T+0:00", "Triage"), ("T+2:00", "Fix")]
    assert [t.key for t in sev3.tasks] == ["open-a-ticket", "owner", "schedule-the-fix"]
    assert sev3.phases[1].due_at == inc.declared_at + timedelta(hours=2)
    store.close()


def test_done_and_reopen_write_the_timeline_and_one_audit_entry_each(world):
    store, _config, service, checklists, _ = world
    inc = service.declare(title="Milk API down", severity=1, actor="ann", via="api")
    task = checklists.set_task(inc.ref, "dns", done=True, actor="carl", via="cli", note="resolvers answer")
    assert task.done and task.done_by == "carl" and task.note == "resolvers answer"
    with pytest.raises(IncidentError, match="done already") as err:
        checklists.set_task(inc.ref, "dns", done=True, actor="ann", via="api")
    assert err.value.kind == "conflict"
    reopened = checklists.set_task(inc.id, "dns", done=False, actor="ann", via="api", note="NXDOMAIN again")
    assert not reopened.done and reopened.note == "NXDOMAIN again"
    with pytest.raises(IncidentError, match="nothing to reopen"):
        checklists.set_task(inc.id, "dns", done=False, actor="ann", via="api")
    with pytest.raises(IncidentError, match="has no task 'nope'") as err:
        checklists.set_task(inc.id, "nope", done=True, actor="ann", via="api")
    assert err.value.kind == "not_found"
    assert [(e["actor"], e["task"], e["title"], e["phase"], e["note"]) for e in _events(store, inc.id, "task_done")] == [
        ("carl", "dns", "Check DNS resolution", "Initial Assessment", "resolvers answer")]
    assert [(e["actor"], e["note"]) for e in _events(store, inc.id, "task_reopened")] == [("ann", "NXDOMAIN again")]
    assert [(a, t, after["done"]) for a, t, after in _audit(store, "incident.task.done")] == [
        ("carl", f"incident {inc.ref} task dns", True)]
    assert [(a, after["done"]) for a, _, after in _audit(store, "incident.task.reopen")] == [("ann", False)]


def _page_urls(store: Store, incident_id: str) -> list[tuple[str, str]]:
    """(who, task) of every page queued for the incident."""
    return sorted((e.payload["url"].rsplit("/", 1)[1], e.payload["body"]["task"]["key"])
                  for e in store.outbox_list(1000)
                  if e.group_key == f"inc:{incident_id}" and e.payload["body"].get("kind") == "vigil.incident.task_overdue")


def test_overdue_recorded_once_and_paged_once_by_two_replicas(tmp_path):
    first, second = replica_stores(tmp_path)
    config = load_config_text(CONFIG)
    rs = response_services(first, config)
    service, checklists = rs.incidents, rs.checklists
    inc = service.declare(title="Milk API down", severity=1, actor="ann", via="api", commander="carl")
    checklists.set_task(inc.id, "start-log", done=True, actor="carl", via="api")
    clock = Clock(inc.declared_at + timedelta(minutes=7))
    loops = [response_services(s, config, clock).loop for s in (first, second)]
    results = tick_together(loops)

    due_by_7m = ["page-oncall", "create-channel", "notify-stakeholders",  # T+0:00, start-log is done
                 "check-status-page", "aws-health", "dns", "connectivity"]  # T+0:05 (grace 1m passed)
    overdue = _events(first, inc.id, "task_overdue")
    assert sorted(e["task"] for e in overdue) == sorted(due_by_7m)
    assert sorted(k for r in results for _, k in r.overdue) == sorted(due_by_7m)
    assert {e["actor"] for e in overdue} == {None}
    # Paged 5 minutes after the due time: the T+0:00 tasks only, to the commander, once each.
    assert _page_urls(first, inc.id) == [("carl", k) for k in sorted(due_by_7m[:3])]
    pages = _events(first, inc.id, "page")
    assert sorted((p["user"], p["task"], p["reason"]) for p in pages) == [
        ("carl", k, "task_overdue") for k in sorted(due_by_7m[:3])]

    view = checklists.checklist(inc.id)
    dns = view.task("dns")
    assert dns is not None and dns.overdue_at is not None and dns.paged_at is None
    assert view.task("start-log").overdue is False  # type: ignore[union-attr]

    # Three minutes later the T+0:05 tasks are paged too; done ones are not.
    checklists.set_task(inc.id, "dns", done=True, actor="carl", via="api")
    clock.at += timedelta(minutes=3)
    for lp in loops:
        lp.tick()
    assert [k for who, k in _page_urls(first, inc.id)] == sorted(
        ["page-oncall", "create-channel", "notify-stakeholders", "check-status-page", "aws-health", "connectivity"])
    assert len(_events(first, inc.id, "task_overdue")) == len(due_by_7m)
    first.close()
    second.close()


def test_no_commander_is_recorded_as_the_reason_nobody_was_paged(world):
    store, config, service, _, _ = world
    inc = service.declare(title="Milk API down", severity=1, actor="ann", via="api")
    loop = response_services(store, config, Clock(inc.declared_at + timedelta(minutes=6))).loop
    assert (inc.ref, "create-channel") in loop.tick().paged
    pages = [p for p in _events(store, inc.id, "page") if p["task"] == "create-channel"]
    assert pages == [{"actor": None, "to": "commander", "problem": f"{inc.ref} has no commander",
                      "reason": "task_overdue", "task": "create-channel"}]
    assert _page_urls(store, inc.id) == []


def test_resolved_incidents_have_nothing_overdue(world):
    store, config, service, checklists, _ = world
    inc = service.declare(title="Milk API down", severity=1, actor="ann", via="api", commander="carl")
    service.set_status(inc.id, "resolved", actor="ann", via="api")
    loop = response_services(store, config, Clock(inc.declared_at + timedelta(hours=2))).loop
    assert not loop.tick()
    assert not any(t.overdue for t in checklists.checklist(inc.id).tasks)


def test_next_update_reminder_once_per_due_time(tmp_path):
    first, second = replica_stores(tmp_path)
    config = load_config_text(CONFIG)
    rs = response_services(first, config)
    service, response = rs.incidents, rs.response
    inc = service.declare(title="Milk API down", severity=1, actor="ann", via="api", commander="carl")
    service.set_role(inc.id, "communications", "ann", actor="carl", via="api")
    assert inc.next_update_at == inc.declared_at + timedelta(minutes=30)  # SEV-1: every 30 minutes
    clock = Clock(inc.declared_at + timedelta(minutes=29))
    loops = [response_services(s, config, clock).loop for s in (first, second)]
    assert not any(lp.tick().reminded for lp in loops)
    clock.at = inc.declared_at + timedelta(minutes=31)
    assert [lp.tick().reminded for lp in loops] == [[inc.ref], []]
    assert [lp.tick().reminded for lp in loops] == [[], []]
    [reminder] = _events(first, inc.id, "update_reminder")
    assert reminder["due_at"] == inc.next_update_at.isoformat(timespec="seconds").replace("+00:00", "Z")  # type: ignore[union-attr]
    assert [p["user"] for p in reminder["pages"]] == ["ann"]  # the communications lead
    bodies = [e.payload for e in first.outbox_list(1000) if e.group_key == f"inc:{inc.id}"
              and e.payload["body"].get("kind") == "vigil.incident.update_reminder"]
    assert [(b["url"], b["body"]["next_update_at"]) for b in bodies] == [
        ("https://hooks.example/ann", reminder["due_at"])]
    assert len(response.reminders(inc.id)) == 1

    # Sending an update moves the next one on; its due time is reminded once again.
    comms = CommunicationService(IncidentStore(first.engine), response, lambda: config)
    sent = comms.send(inc.id, "internal", actor="ann", via="api")
    assert sent is not None
    moved = IncidentStore(first.engine).get(inc.id).next_update_at
    assert moved is not None and abs(moved - (sent.sent_at + timedelta(minutes=30))) < timedelta(seconds=1)
    assert f"Next Update: {moved.isoformat().replace('+00:00', 'Z')}" in sent.body
    clock.at = moved - timedelta(seconds=1)
    assert [lp.tick().reminded for lp in loops] == [[], []]
    clock.at = moved + timedelta(seconds=1)
    assert [lp.tick().reminded for lp in loops] == [[inc.ref], []]
    first.close()
    second.close()
