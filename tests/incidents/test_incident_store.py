"""Incidents in the state database on SQLite and PostgreSQL: refs numbered per day and
unique when two threads (two replicas' engines) declare at once, declarations idempotent on
their origin key, the timeline in order with copied events added once, one audit entry per
change."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.state.conftest import store, two_stores  # noqa: F401
from vigil.state.access_store import AccessStore
from vigil.state.incident_store import (
    Change,
    GroupToAttach,
    IncidentError,
    IncidentStore,
    NewEvent,
    record_event,
)


def test_declare_numbers_refs_per_day_and_reads_back(store):  # noqa: F811
    incs = IncidentStore(store.engine)
    first, created = incs.declare(title="Milk API down", severity=1, actor="alice", via="api",
                                  components=["milk-api", "milk-api"], commander="alice",
                                  channel_pattern="#incident-{date}-{seq}", update_interval_s=1800)
    second, _ = incs.declare(title="Slow dashboards", severity=3, actor=None, via="vigil")
    day = first.declared_at.strftime("%Y%m%d")
    assert created and (first.ref, second.ref) == (f"INC-{day}-001", f"INC-{day}-002")
    assert first.channel == f"#incident-{day}-001" and second.channel == ""
    assert first.status == "investigating" and first.components == ("milk-api",)
    assert first.acknowledged_at == first.declared_at  # a commander took it at once
    assert first.next_update_at == first.declared_at + timedelta(minutes=30)
    assert second.acknowledged_at is None and second.declared_by == "vigil"
    assert incs.get(first.ref.lower()) == first == incs.get(first.id)
    assert [i.ref for i in incs.incidents()] == [second.ref, first.ref]
    with pytest.raises(IncidentError, match="no incident") as err:
        incs.get(f"INC-{day}-999")
    assert err.value.kind == "not_found"
    events = incs.events(first.id)
    assert [(e.kind, e.actor, e.via) for e in events] == [("declared", "alice", "api"), ("role", "alice", "api")]
    audit = AccessStore(store.engine).audit_entries(action="incident.declare")
    assert [(a.actor, a.target) for a in audit] == [("alice", f"incident {first.ref}"),
                                                    ("vigil", f"incident {second.ref}")]


def test_attached_groups_move_detection_back(store):  # noqa: F811
    incs = IncidentStore(store.engine)
    now = incs.now()
    early = now - timedelta(minutes=7)
    inc, _ = incs.declare(title="t", severity=2, actor="bob", via="cli", groups=[
        GroupToAttach("{}:{alertname=\"A\"}", {"alertname": "A"}, "ops", now - timedelta(minutes=2)),
        GroupToAttach("{}:{alertname=\"B\"}", {"alertname": "B"}, "ops", early)])
    assert inc.detected_at == inc.started_at == early
    assert [g.group_key for g in incs.attached(inc.id)] == ['{}:{alertname="A"}', '{}:{alertname="B"}']
    assert [e.detail["group_key"] for e in incs.events(inc.id) if e.kind == "alert_attached"] == [
        '{}:{alertname="A"}', '{}:{alertname="B"}']


def test_origin_key_finds_the_first_declaration(two_stores):  # noqa: F811
    a, b = (IncidentStore(s.engine) for s in two_stores)
    results = []

    def declare(incs: IncidentStore) -> None:
        results.append(incs.declare(title="from escalation", severity=1, actor=None, via="vigil",
                                    source="escalation", origin_key="escalation:ep:0:0:3"))

    threads = [threading.Thread(target=declare, args=(s,)) for s in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({inc.id for inc, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert len(a.incidents()) == 1
    assert len(AccessStore(a.engine).audit_entries(action="incident.declare")) == 1


def test_two_replicas_declaring_at_once_get_distinct_refs(two_stores):  # noqa: F811
    stores = [IncidentStore(s.engine) for s in two_stores]
    refs: list[str] = []
    errors: list[BaseException] = []

    def declare(incs: IncidentStore, n: int) -> None:
        try:
            for i in range(4):
                refs.append(incs.declare(title=f"{n}-{i}", severity=3, actor="x", via="api")[0].ref)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=declare, args=(stores[n % 2], n)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    day = stores[0].now().strftime("%Y%m%d")
    assert sorted(refs) == [f"INC-{day}-{n:03d}" for n in range(1, 17)]


def test_change_writes_columns_events_and_one_audit_entry(store):  # noqa: F811
    incs = IncidentStore(store.engine)
    inc, _ = incs.declare(title="t", severity=2, actor="bob", via="api")

    def apply(_conn, current, now):
        assert current.status == "investigating"
        return Change({"status": "identified"}, [NewEvent("status", {"from": "investigating", "to": "identified"}),
                                                 NewEvent("page", {"user": "ann"}, by_vigil=True)],
                      before={"status": "investigating"}, after={"status": "identified"})

    changed = incs.change(inc.ref, actor="carol", via="ui", action="incident.status", apply=apply)
    assert changed.status == "identified" and changed.updated_at >= inc.updated_at
    assert [(e.kind, e.actor, e.via) for e in incs.events(inc.id)][1:] == [
        ("status", "carol", "ui"), ("page", None, "vigil")]
    entries = AccessStore(store.engine).audit_entries(action="incident.status")
    assert [(e.actor, e.before, e.after) for e in entries] == [
        ("carol", {"status": "investigating"}, {"status": "identified"})]
    assert incs.change(inc.id, actor="x", via="api", action="incident.status",
                       apply=lambda *_: None) == changed  # nothing to do: nothing written
    assert len(AccessStore(store.engine).audit_entries(action="incident.status")) == 1


def test_copied_events_are_added_once_and_ordered(store):  # noqa: F811
    incs = IncidentStore(store.engine)
    inc, _ = incs.declare(title="t", severity=4, actor="bob", via="api")
    base = inc.declared_at
    with store.engine.begin() as conn:
        first = record_event(conn, incident_id=inc.id, at=base + timedelta(seconds=5), kind="alert_firing",
                             actor=None, via="vigil", detail={"fingerprint": "f1"}, source_key="k1")
        again = record_event(conn, incident_id=inc.id, at=base + timedelta(seconds=5), kind="alert_firing",
                             actor=None, via="vigil", detail={"fingerprint": "f1"}, source_key="k1")
        earlier = record_event(conn, incident_id=inc.id, at=base - timedelta(seconds=60), kind="alert_firing",
                               actor=None, via="vigil", detail={"fingerprint": "f0"}, source_key="k0")
    assert first is not None and again is None and earlier is not None
    assert [e.detail.get("fingerprint") for e in incs.events(inc.id)] == ["f0", None, "f1"]
    assert incs.events(inc.id, public_only=True) == []
