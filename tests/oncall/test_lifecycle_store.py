"""Episodes in the state database on SQLite and PostgreSQL: open, acknowledge, unacknowledge,
resolve with the event log, re-firing after resolution, SLA breaches recorded once across
two replicas' stores."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.state.conftest import store, two_stores  # noqa: F401
from vigil.state.lifecycle_store import EpisodeError, LifecycleStore

KEY = '{}:{alertname="DiskFull"}'
LABELS = {"alertname": "DiskFull"}


def _open(ls: LifecycleStore, key: str = KEY, **kw):
    kw.setdefault("priority", "P2")
    kw.setdefault("deadline_s", 900.0)
    return ls.open(key, receiver="ops", group_labels=LABELS, **kw)


def test_lifecycle_with_event_log(store):  # noqa: F811
    ls = LifecycleStore(store.engine)
    ep = _open(ls, runbooks=("/runbooks/DiskFull",))
    assert ep is not None and ep.state == "open" and ep.priority == "P2"
    assert ep.ack_deadline_at - ep.opened_at == timedelta(seconds=900)
    assert ep.runbooks == ("/runbooks/DiskFull",) and ep.previous_id is None
    assert _open(ls) is None  # one unresolved episode per group

    acked = ls.acknowledge(ep.id, actor="alice", via="api", note="looking")
    assert (acked.state, acked.acknowledged_by) == ("acknowledged", "alice")
    assert acked.first_acknowledged_at == acked.acknowledged_at
    assert acked.seconds_left(acked.opened_at) is None
    with pytest.raises(EpisodeError, match="is acknowledged, not open"):
        ls.acknowledge(ep.id, actor="bob", via="api")

    unacked = ls.unacknowledge(ep.id, actor="alice", via="cli")
    assert unacked.state == "open" and unacked.acknowledged_by is None
    assert unacked.first_acknowledged_at == acked.first_acknowledged_at  # the SLA was met

    with pytest.raises(EpisodeError, match="classification must be one of"):
        ls.resolve(ep.id, actor="alice", via="api", classification="fixed")
    done = ls.resolve(ep.id, actor="alice", via="api", classification="actionable",
                      procedure="/runbooks/DiskFull", note="cleaned /var/log")
    assert (done.state, done.classification, done.procedure, done.note, done.resolved_by) == (
        "resolved", "actionable", "/runbooks/DiskFull", "cleaned /var/log", "alice")
    assert ls.episodes() == []
    with pytest.raises(EpisodeError, match="resolved already"):
        ls.resolve(ep.id, actor="alice", via="api", classification="duplicate")

    events = ls.events(ep.id)
    assert [(e.kind, e.actor, e.via) for e in events] == [
        ("opened", None, "vigil"), ("acknowledged", "alice", "api"),
        ("unacknowledged", "alice", "cli"), ("resolved", "alice", "api")]
    assert events[1].detail["note"] == "looking"
    assert events[3].detail == {"classification": "actionable", "procedure": "/runbooks/DiskFull",
                                "note": "cleaned /var/log"}
    assert all(a.at <= b.at for a, b in zip(events, events[1:], strict=False))


def test_refiring_opens_a_new_linked_episode(store):  # noqa: F811
    ls = LifecycleStore(store.engine)
    first = _open(ls)
    done = ls.resolve(first.id, actor="alice", via="api", classification="no_action_needed")
    # Still firing from before the resolution: the resolution by hand holds.
    assert _open(ls, refired_since=done.resolved_at - timedelta(seconds=1)) is None
    second = _open(ls, refired_since=done.resolved_at + timedelta(seconds=1))
    assert second is not None and second.previous_id == first.id and second.state == "open"
    assert ls.events(second.id)[0].detail["previous_id"] == first.id
    with pytest.raises(EpisodeError, match="no alert episode 'nope'"):
        ls.get("nope")


def test_priority_raised_moves_the_deadline_earlier(store):  # noqa: F811
    ls = LifecycleStore(store.engine)
    ep = _open(ls, priority="P3", deadline_s=3600.0)
    raised = ls.raise_priority(ep.id, "P1", 300.0)
    assert raised.priority == "P1" and raised.ack_deadline_at == ep.opened_at + timedelta(seconds=300)
    assert ls.raise_priority(ep.id, "P2", 900.0) is None  # never lowered
    assert ls.events(ep.id)[-1].detail == {"from": "P3", "to": "P1"}


def test_breach_recorded_once_and_not_after_acknowledgement(store):  # noqa: F811
    ls = LifecycleStore(store.engine)
    late = _open(ls, deadline_s=0.0)
    acked = _open(ls, key="other", deadline_s=0.0)
    ls.acknowledge(acked.id, actor="bob", via="api")
    waiting = _open(ls, key="third", deadline_s=3600.0)
    recorded = ls.record_breaches()
    assert [e.id for e in recorded] == [late.id] and recorded[0].breached_at is not None
    assert ls.record_breaches() == []
    assert [e.id for e in ls.breached_unacknowledged()] == [late.id]
    assert [e.kind for e in ls.events(late.id)] == ["opened", "sla_breach"]
    assert ls.get(waiting.id).breached_at is None
    # Acknowledging after the breach takes it off the escalation hook's list.
    ls.acknowledge(late.id, actor="carol", via="link")
    assert ls.breached_unacknowledged() == []


def test_two_replicas_record_a_breach_once(two_stores):  # noqa: F811
    a, b = (LifecycleStore(s.engine) for s in two_stores)
    ep = _open(a, deadline_s=0.0)
    assert _open(b) is None  # the other replica sees the open episode
    got = a.record_breaches() + b.record_breaches()
    assert [e.id for e in got] == [ep.id]
    assert [e.kind for e in b.events(ep.id)].count("sla_breach") == 1


def test_two_replicas_racing_record_each_breach_once(two_stores):  # noqa: F811
    import threading

    a, b = (LifecycleStore(s.engine) for s in two_stores)
    ids = {_open(a, key=f"g{i}", deadline_s=0.0).id for i in range(20)}
    start = threading.Barrier(2)
    results: dict[str, list] = {}

    def record(name: str, ls: LifecycleStore) -> None:
        start.wait()
        results[name] = ls.record_breaches()

    threads = [threading.Thread(target=record, args=(n, s)) for n, s in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recorded = [e.id for got in results.values() for e in got]
    assert sorted(recorded) == sorted(ids)  # every breach, none twice
    assert sum(1 for i in ids for e in a.events(i) if e.kind == "sla_breach") == len(ids)
