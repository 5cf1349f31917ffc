"""Membership over a real state database (SQLite and PostgreSQL): one primary at a time,
take-over when the primary falls silent or resigns, shards over the live members, and a
replica that cannot reach the database stops calling itself primary by itself."""

from __future__ import annotations

import asyncio
import time

import pytest

from vigil.cluster import Membership
from vigil.state import Store
from vigil.state.cluster_store import ClusterStore

# A timeout well past the pauses of a loaded 2-core machine between two ticks of a test.
HEARTBEAT, TIMEOUT = 0.1, 2.0


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def member(cluster: ClusterStore, name: str, **kw) -> Membership:
    return Membership(cluster, name=name, url=f"http://{name}", version="test",
                      heartbeat_interval_s=HEARTBEAT, member_timeout_s=TIMEOUT, **kw)


@pytest.fixture
def cluster(store: Store) -> ClusterStore:
    return ClusterStore(store.engine)


def test_one_primary_and_shards_in_name_order(cluster: ClusterStore) -> None:
    b, a = member(cluster, "b"), member(cluster, "a")
    b.tick()
    a.tick()
    b.tick()  # sees a too
    assert b.is_primary() and not a.is_primary()
    assert a.shard() == (0, 2) and b.shard() == (1, 2)
    assert [m.name for m in b.live_members()] == ["a", "b"]
    view = a.view()
    assert view["self"] == a.member_id
    assert view["lease"]["holder"] == b.member_id and view["lease"]["epoch"] == 1
    roles = {m["name"]: (m["role"], m["healthy"], m["shard"], m["self"]) for m in view["members"]}
    assert roles == {"a": ("replica", True, [0, 2], True), "b": ("primary", True, [1, 2], False)}


def test_take_over_when_the_primary_falls_silent(cluster: ClusterStore) -> None:
    a, b = member(cluster, "a"), member(cluster, "b")
    a.tick()
    b.tick()
    assert a.is_primary() and not b.is_primary()
    time.sleep(TIMEOUT + 0.1)  # a is killed: no more heartbeats, its lease runs out
    b.tick()
    assert b.is_primary() and b.shard() == (0, 1)
    assert cluster.lease("primary").epoch == 2
    a_row = next(m for m in b.view()["members"] if m["name"] == "a")
    assert a_row["healthy"] is False and a_row["shard"] is None and a_row["role"] == "replica"
    a.tick()  # back from a pause: it does not get the lease back
    assert not a.is_primary()


def test_resign_hands_over_at_the_next_heartbeat(cluster: ClusterStore) -> None:
    a, b = member(cluster, "a"), member(cluster, "b")
    a.tick()
    b.tick()
    asyncio.run(a.resign())
    assert not a.is_primary()
    b.tick()
    assert b.is_primary()
    a.tick()  # still heartbeating while it finishes its deliveries, never primary again
    assert not a.is_primary() and {m.name for m in b.live_members()} == {"a", "b"}
    asyncio.run(a.leave())
    b.tick()
    assert [m.name for m in b.live_members()] == ["b"]
    assert [m["name"] for m in b.view()["members"]] == ["b"]  # a left cleanly: not shown


def test_primary_role_ends_by_itself_when_the_lease_may_have_expired(cluster: ClusterStore) -> None:
    clock = Clock()
    a = member(cluster, "a", clock=clock)
    a.tick()
    assert a.is_primary()
    clock.t += TIMEOUT - a.margin_s - 0.01  # no renewal since (the database is unreachable)
    assert a.is_primary()
    clock.t += 0.02
    assert not a.is_primary()  # before the database could give the lease to anyone else
    a.tick()  # the database answers again
    assert a.is_primary()


class Outage:
    """A ClusterStore whose calls fail while ``down`` (PostgreSQL restarting)."""

    def __init__(self, inner: ClusterStore) -> None:
        self.inner, self.down = inner, False

    def __getattr__(self, name: str):
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args, **kw):
            if self.down:
                raise ConnectionError("connection refused\nsecond line")
            return attr(*args, **kw)
        return call


def test_run_survives_an_outage_and_reports_role_changes(cluster: ClusterStore) -> None:
    outage = Outage(cluster)
    a = member(outage, "a")  # type: ignore[arg-type]
    roles: list[bool] = []
    a.on_role_change(roles.append)

    async def scenario() -> dict:
        await a.join()
        task = asyncio.create_task(a.run())
        await asyncio.sleep(3 * HEARTBEAT)
        outage.down = True
        await asyncio.sleep(TIMEOUT + 3 * HEARTBEAT)
        during = a.view()
        outage.down = False
        await asyncio.sleep(3 * HEARTBEAT)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return during

    during = asyncio.run(scenario())
    assert roles == [True, False, True]
    assert during["database"]["reachable"] is False
    assert during["database"]["error"] == "ConnectionError: connection refused"
    assert a.is_primary() and a.view()["database"]["reachable"] is True
    # Taken again by the same member after it expired: the holder did not change.
    assert cluster.lease("primary").epoch == 1


def test_shard_before_the_first_read_is_everything(cluster: ClusterStore) -> None:
    a = member(cluster, "a")
    assert a.shard() == (0, 1) and not a.is_primary()
    assert a.view()["members"] == [] and a.view()["lease"] is None
