"""Checklist tasks Vigil can verify are ticked by Vigil: ``done_when`` names a fact of the
timeline (declared, paged, internal_sent, external_sent, commander_set, status:NAME ...);
the response loop ticks such a task once (two replicas on one database included), by
Vigil, with the event as evidence, so it is not recorded overdue; people still tick and
reopen it; tasks without ``done_when`` are left alone; unknown facts are config errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tests.incidents.support import Clock, replica_stores, response_services, tick_together
from vigil.config.loader import load_config, load_config_text
from vigil.errors import ConfigError
from vigil.incidents.communications import iso
from vigil.incidents.task_facts import evidence
from vigil.state import Store, schema
from vigil.state.incident_response_store import IncidentResponseStore
from vigil.state.incident_schema import incident_events
from vigil.state.incident_store import IncidentError, IncidentEvent

CONFIG = """
alerting:
  route: {receiver: execs}
  receivers:
    - name: execs
      webhook_configs: [{url: "http://hooks.example/execs"}]
users:
  - name: ann
    contacts: [{kind: webhook, address: "http://hooks.example/ann"}]
  - name: carl
    contacts: [{kind: webhook, address: "http://hooks.example/carl"}]
incidents:
  severities:
    - severity: 1
      response: {users: [ann]}
  communications:
    internal:
      receivers: {SEV-1: [execs]}
    external:
      receivers: {SEV-1: [execs]}
"""

# Vigil's facts on a custom SEV-3 checklist, next to a task only people tick.
CUSTOM = """
incidents:
  checklists:
    SEV-3:
      - at: 0m
        title: Triage
        tasks:
          - {key: commander, title: Name a commander, done_when: commander_set}
          - {key: cause, title: Find the cause, done_when: "status:identified"}
          - Open a ticket
"""


def _events(store: Store, incident_id: str, kind: str) -> list[dict]:
    v = incident_events
    with store.engine.connect() as conn:
        rows = conn.execute(select(v.c.id, v.c.at, v.c.actor, v.c.via, v.c.detail)
                            .where(v.c.incident_id == incident_id, v.c.kind == kind).order_by(v.c.id)).all()
    return [{"id": i, "at": at, "actor": actor, "via": via, **detail} for i, at, actor, via, detail in rows]


def _audit(store: Store) -> list[tuple[str, str]]:
    a = schema.audit_log
    with store.engine.connect() as conn:
        return sorted(conn.execute(select(a.c.actor, a.c.target).where(a.c.action == "incident.task.done")).all())


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


VIGIL_TASKS = ["notify-stakeholders", "page-oncall", "start-log"]


def test_two_replicas_on_one_database_tick_each_task_once(tmp_path):
    first, second = replica_stores(tmp_path)
    config = load_config_text(CONFIG)
    service = response_services(first, config, page_on_declare=True).incidents
    inc = service.declare(title="Milk API down", severity=1, actor="ann", via="api")
    loops = [response_services(s, config).loop for s in (first, second)]
    results = tick_together(loops)

    assert sorted(k for r in results for _, k in r.ticked) == VIGIL_TASKS
    done = _events(first, inc.id, "task_done")
    assert sorted(e["task"] for e in done) == VIGIL_TASKS
    assert {(e["actor"], e["via"]) for e in done} == {(None, "vigil")}
    assert _audit(first) == [("vigil", f"incident {inc.ref} task {k}") for k in VIGIL_TASKS]

    # The claim is the task's row: a replica that read the checklist before the other's
    # tick, or a task a person reopened, is not ticked again.
    stores = [IncidentResponseStore(s.engine) for s in (first, second)]
    assert [r.tick_by_vigil(inc.id, "dns", note="n", detail={}) for r in stores] == [True, False]
    response_services(second, config).checklists.set_task(inc.id, "dns", done=False, actor="ann", via="api")
    assert not stores[0].tick_by_vigil(inc.id, "dns", note="n", detail={})
    assert len(_events(first, inc.id, "task_done")) == len(VIGIL_TASKS) + 1
    first.close()
    second.close()


def test_default_sev1_tasks_done_by_vigil_with_their_evidence_and_never_overdue(tmp_path):
    store = Store.open_in(str(tmp_path))
    config = load_config_text(CONFIG)
    rs = response_services(store, config, page_on_declare=True)
    service, checklists, comms = rs.incidents, rs.checklists, rs.comms
    inc = service.declare(title="Milk API down", severity=1, actor="ann", via="api")
    # The first pass comes late (a new primary, say): the T+0:00 tasks are past their grace.
    # Vigil ticks what it can see done before it looks for overdue tasks.
    clock = Clock(inc.declared_at + timedelta(minutes=7))
    loop = response_services(store, config, clock).loop
    first = loop.tick()
    assert first.notified == [inc.ref]  # the internal notification at declaration, then its task
    assert sorted(k for _, k in first.ticked) == VIGIL_TASKS
    overdue = {k for _, k in first.overdue}
    assert "create-channel" in overdue and not overdue & set(VIGIL_TASKS)

    [page] = _events(store, inc.id, "page")
    [internal] = _events(store, inc.id, "communication")
    [declared] = _events(store, inc.id, "declared")
    proofs = {"page-oncall": (page, "page", f"paged ann via {page['via']}"),
              "notify-stakeholders": (internal, "communication", "internal notification sent"),
              "start-log": (declared, "declared", "incident declared: its timeline is the log")}
    view = checklists.checklist(inc.ref)
    done_events = {e["task"]: e for e in _events(store, inc.id, "task_done")}
    for key, (event, kind, what) in proofs.items():
        task = view.task(key)
        assert task is not None and task.done and task.done_by_vigil and task.done_by == "Vigil"
        at = iso(_utc(event["at"]))
        assert task.note == f"{what} (timeline: {kind} at {at})"
        assert done_events[key]["evidence"] == {"event_id": event["id"], "kind": kind, "at": at}
        assert done_events[key]["done_when"] == task.done_when
    untouched = [t for t in view.tasks if t.key not in proofs]
    assert not any(t.done for t in untouched)  # create-channel, dns, post-status ...

    loop.tick()
    assert not {e["task"] for e in _events(store, inc.id, "task_overdue")} & set(proofs)

    # An external update ticks "Post status to status page" on the next pass.
    sent = comms.send(inc.id, "external", actor="carl", via="api")
    assert sent is not None
    assert [k for _, k in loop.tick().ticked] == ["post-status"]
    post = checklists.checklist(inc.id).task("post-status")
    [public] = _events(store, inc.id, "public_update")
    assert post is not None and post.note == (
        f"external update posted to the status page (timeline: public_update at {iso(_utc(public['at']))})")

    # People still reopen and tick: Vigil does not tick a task a person reopened.
    with pytest.raises(IncidentError, match=r"done already \(by Vigil\)"):
        checklists.set_task(inc.id, "page-oncall", done=True, actor="carl", via="api")
    checklists.set_task(inc.id, "page-oncall", done=False, actor="carl", via="api", note="nobody answered")
    assert not loop.tick().ticked
    reopened = checklists.checklist(inc.id).task("page-oncall")
    assert reopened is not None and not reopened.done and reopened.note == "nobody answered"
    again = checklists.set_task(inc.id, "page-oncall", done=True, actor="carl", via="api", note="bob answered")
    assert again.done_by == "carl" and not again.done_by_vigil
    store.close()


def test_custom_facts_tick_and_a_task_without_done_when_is_untouched(tmp_path):
    store = Store.open_in(str(tmp_path))
    config = load_config_text(CUSTOM)
    rs = response_services(store, config, page_on_declare=True)
    service, checklists, loop = rs.incidents, rs.checklists, rs.loop
    inc = service.declare(title="Feed mixer slow", severity=3, actor="ann", via="api")
    assert not loop.tick().ticked  # no commander, still investigating
    service.set_role(inc.id, "commander", "carl", actor="ann", via="api")
    assert [k for _, k in loop.tick().ticked] == ["commander"]
    service.set_status(inc.id, "identified", actor="carl", via="api")
    assert [k for _, k in loop.tick().ticked] == ["cause"]
    view = checklists.checklist(inc.id)
    assert view.task("commander").note.startswith("commander carl (timeline: role at ")  # type: ignore[union-attr]
    assert view.task("cause").note.startswith("status identified (timeline: status at ")  # type: ignore[union-attr]
    ticket = view.task("open-a-ticket")
    assert ticket is not None and ticket.done_when is None and not ticket.done
    assert IncidentResponseStore(store.engine).task_states(inc.id).keys() == {"commander", "cause"}
    store.close()


def _event(kind: str, detail: dict, i: int = 1) -> IncidentEvent:
    return IncidentEvent(i, "inc", datetime(2026, 12, 7, 5, i, tzinfo=timezone.utc), kind, None, "vigil",
                         detail, False)


def test_pages_that_reached_nobody_or_were_about_an_overdue_task_are_no_evidence():
    nobody = _event("page", {"user": "ann", "problem": "ann has no contact methods"}, 1)
    overdue = _event("page", {"user": "carl", "reason": "task_overdue", "task": "page-oncall"}, 2)
    escalation_nobody = _event("page", {"source": "escalation", "paged": []}, 3)
    assert evidence("paged", [nobody, overdue, escalation_nobody]) is None
    escalation = _event("page", {"source": "escalation", "policy": "runbook", "paged": [{"user": "bob"}]}, 4)
    assert evidence("paged", [nobody, overdue, escalation]) is escalation
    assert evidence("status:investigating", [_event("declared", {}, 5)]) is not None
    assert evidence("internal_sent", [_event("communication", {"kind": "external"})]) is None
    assert evidence("commander_set", [_event("role", {"role": "commander", "user": None})]) is None


def test_unknown_fact_is_a_config_error_at_its_place(tmp_path):
    path = tmp_path / "vigil.yml"
    path.write_text(CUSTOM.replace('"status:identified"', "cause_found"))
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert str(err.value).startswith(f"{path}:9:49: incidents.checklists.SEV-3[0].tasks[1].done_when: "
                                     "unknown done_when 'cause_found'; known: declared, paged, ")
    path.write_text(CUSTOM.replace('"status:identified"', '"status:resolved"'))
    with pytest.raises(ConfigError, match=r"vigil.yml:9:\d+: .*tasks\[1\].done_when: unknown done_when "
                                          r"'status:resolved' \(a resolved incident's checklist is closed"):
        load_config(str(path))
