"""The response store's once-only writes on both dialects (SQLite, PostgreSQL), two replicas'
engines on one database racing: an overdue task recorded once, its page taken once, the
notification at declaration sent once (its claim key), a reminder once per due time; and a
task done meanwhile is neither recorded overdue nor paged."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.state.conftest import two_stores  # noqa: F401
from vigil.state import Store
from vigil.state.escalation_store import QueuedNotification
from vigil.state.incident_response_store import IncidentResponseStore
from vigil.state.incident_schema import incident_events
from vigil.state.incident_store import IncidentStore

PAGE = QueuedNotification("@oncall", "http", {"url": "http://hooks.test/carl", "body": {}})


def _race(stores: tuple[Store, Store], call) -> list:
    """``call(store)`` on both replicas at once, twice each; the results."""
    results: list = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def run(s: Store) -> None:
        barrier.wait()
        for _ in range(2):
            got = call(IncidentResponseStore(s.engine))
            with lock:
                results.append(got)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _kinds(s: Store, incident_id: str) -> list[str]:
    v = incident_events
    with s.engine.connect() as conn:
        return list(conn.execute(select(v.c.kind).where(v.c.incident_id == incident_id).order_by(v.c.id)).scalars())


def test_once_only_writes_on_both_dialects(two_stores):  # noqa: F811
    first, _ = two_stores
    inc, _ = IncidentStore(first.engine).declare(title="Milk API down", severity=1, actor="ann", via="api",
                                                 update_interval_s=1800)
    due = inc.declared_at
    assert _race(two_stores, lambda r: r.record_overdue(inc.id, "dns", due_at=due, detail={})).count(True) == 1
    assert _race(two_stores, lambda r: r.page_overdue(inc.id, "dns", notifications=[PAGE],
                                                      pages=[{"user": "carl"}])).count(True) == 1
    sent = _race(two_stores, lambda r: r.send(inc.id, kind="internal", subject="s", body="b", receivers=[],
                                              notifications=[PAGE], actor=None, via="vigil",
                                              next_update_at=None, claim_key=f"declared:{inc.id}"))
    assert len([c for c in sent if c is not None]) == 1
    next_at = inc.next_update_at
    assert next_at == inc.declared_at + timedelta(minutes=30)
    assert _race(two_stores, lambda r: r.remind(inc.id, due_at=next_at, notifications=[PAGE],
                                                detail={})).count(True) == 1
    assert _kinds(first, inc.id) == ["declared", "task_overdue", "page", "communication", "update_reminder"]
    assert len([e for e in first.outbox_list(100) if e.group_key == f"inc:{inc.id}"]) == 3

    response = IncidentResponseStore(first.engine)
    # A due time that is no longer the incident's (an update was sent meanwhile) is not reminded.
    assert not response.remind(inc.id, due_at=next_at - timedelta(minutes=1), notifications=[PAGE], detail={})
    response.set_task(inc.id, "aws-health", done=True, actor="carl", via="api")
    assert not response.record_overdue(inc.id, "aws-health", due_at=due, detail={})
    assert not response.page_overdue(inc.id, "aws-health", notifications=[PAGE], pages=[])
    assert response.overdue(inc.id).keys() == {"dns"}
