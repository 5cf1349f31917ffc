"""An escalation policy's declare_incident step, on SQLite and PostgreSQL: the incident is
declared once per episode run, by Vigil, with the group attached and the title from the
template, even when the step is retried after a failure between declaring and recording it,
and when two replicas take the step at once."""

from __future__ import annotations

import threading
from datetime import timedelta

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.state.conftest import two_stores  # noqa: F401
from vigil.config.model import Config
from vigil.incidents.service import IncidentService
from vigil.oncall.escalation import Escalation
from vigil.oncall.reach import ConfigDirectory
from vigil.state import Store
from vigil.state.access_store import AccessStore
from vigil.state.escalation_store import EscalationStore
from vigil.state.incident_store import IncidentStore
from vigil.state.lifecycle_store import LifecycleStore

CONFIG = Config.model_validate({
    "users": [{"name": "ann", "contacts": [{"kind": "webhook", "address": "http://hooks.test/ann"}]}],
    "alerting": {"route": {"receiver": "ops", "escalation_policy": "p"}, "receivers": [{"name": "ops"}]},
    "escalation_policies": [{"name": "p", "steps": [
        {"notify_users": ["ann"]}, {"wait": "5m"},
        {"declare_incident": {"severity": 1, "title": "{{ .GroupLabels.alertname }} not answered"}}]}],
})
KEY = '{}:{alertname="MilkApiDown"}'


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def _escalation(s: Store, clock, member: str, incidents) -> Escalation:
    return Escalation(LifecycleStore(s.engine), EscalationStore(s.engine), lambda: CONFIG, ConfigDirectory(CONFIG),
                      list, lambda: {}, member_id=member, clock=clock, incidents=incidents)


def _service(s: Store) -> IncidentService:
    return IncidentService(IncidentStore(s.engine), lambda: CONFIG, episodes=LifecycleStore(s.engine))


class CrashAfterDeclaring:
    """Declares, then fails as a process killed before recording the step would."""

    def __init__(self, real: IncidentService) -> None:
        self.real = real
        self.calls = 0

    def declare_for_escalation(self, **kw):
        self.calls += 1
        self.real.declare_for_escalation(**kw)
        raise OSError("killed after declaring")


def test_declare_incident_step_declares_once_when_retried_and_on_two_replicas(two_stores):  # noqa: F811
    first, second = two_stores
    ep = LifecycleStore(first.engine).open(KEY, receiver="ops", group_labels={"alertname": "MilkApiDown"},
                                           priority="P1", deadline_s=300)
    clock = Clock(ep.opened_at)
    crashing = CrashAfterDeclaring(_service(first))
    _escalation(first, clock, "m1", crashing).tick()  # level 1 pages ann; the declaration is not due
    assert IncidentStore(first.engine).incidents() == [] and crashing.calls == 0
    clock.now = ep.opened_at + timedelta(minutes=5)
    try:
        _escalation(first, clock, "m1", crashing).tick()
    except OSError:
        pass
    assert crashing.calls == 1 and len(IncidentStore(first.engine).incidents()) == 1
    assert "0:0:2" not in EscalationStore(first.engine).taken_steps(ep.id)  # not recorded: due again

    # The retry (and a second replica at the same moment) find the incident declared.
    engines = [_escalation(first, clock, "m1", _service(first)), _escalation(second, clock, "m2", _service(second))]
    threads = [threading.Thread(target=e.tick) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [inc] = IncidentStore(first.engine).incidents()
    assert (inc.title, inc.severity, inc.source, inc.declared_by) == ("MilkApiDown not answered", 1, "escalation",
                                                                     "vigil")
    assert inc.origin_key == f"escalation:{ep.id}:0:0:2"
    assert [g.group_key for g in IncidentStore(first.engine).attached(inc.id)] == [KEY]
    step = EscalationStore(first.engine).taken_steps(ep.id)["0:0:2"]
    assert (step["incident"], step["declared"], step["severity"]) == (inc.ref, False, 1)
    assert [(a.actor, a.target) for a in AccessStore(first.engine).audit_entries(action="incident.declare")] == [
        ("vigil", f"incident {inc.ref}")]
    declared = IncidentStore(first.engine).events(inc.id)[0]
    assert (declared.kind, declared.actor, declared.via) == ("declared", None, "vigil")

    # A new run (unacknowledged after an acknowledgement) declares its own incident.
    episodes = LifecycleStore(first.engine)
    episodes.acknowledge(ep.id, actor="ann", via="api")
    episodes.unacknowledge(ep.id, actor="ann", via="api")
    run_start = episodes.events(ep.id)[-1].at
    clock.now = run_start + timedelta(minutes=5)
    engines[0].tick()
    assert len(IncidentStore(first.engine).incidents()) == 2


def test_without_an_incident_service_the_step_records_why(two_stores):  # noqa: F811
    first, _ = two_stores
    ep = LifecycleStore(first.engine).open(KEY, receiver="ops", group_labels={"alertname": "MilkApiDown"},
                                           priority="P1", deadline_s=300)
    _escalation(first, Clock(ep.opened_at + timedelta(minutes=5)), "m1", None).tick()
    step = EscalationStore(first.engine).taken_steps(ep.id)["0:0:2"]
    assert step["problem"] == "incidents are not available in this process"
