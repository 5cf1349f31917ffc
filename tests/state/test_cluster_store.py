"""ClusterStore on SQLite and PostgreSQL: members, heartbeats, and leases that only one
member holds at a time, with an epoch that grows when the holder changes."""

from __future__ import annotations

import threading
import time

import pytest

from vigil.state import Store
from vigil.state.cluster_store import ClusterStore


@pytest.fixture
def cluster(store: Store) -> ClusterStore:
    return ClusterStore(store.engine)


def test_register_heartbeat_leave(cluster: ClusterStore) -> None:
    started = cluster.register("m1", name="a:9090", url="http://a:9090", version="1.0", info={"role": "replica"})
    cluster.register("m2", name="b:9090", url="http://b:9090", version="1.0")
    assert cluster.heartbeat("m1", {"role": "primary"}) is True
    members, now = cluster.members()
    by_id = {m.id: m for m in members}
    assert set(by_id) == {"m1", "m2"}
    m1 = by_id["m1"]
    assert (m1.name, m1.url, m1.version, m1.info) == ("a:9090", "http://a:9090", "1.0", {"role": "primary"})
    assert m1.started_at == started and m1.heartbeat_at >= started
    assert m1.alive(now, timeout_s=5) and by_id["m2"].alive(now, timeout_s=5)
    cluster.leave("m2")
    members, now = cluster.members()
    assert [m.id for m in members if m.alive(now, 5)] == ["m1"]
    assert cluster.heartbeat("gone", None) is False  # an unknown member is told to register


def test_silent_member_is_not_alive_and_is_pruned(cluster: ClusterStore) -> None:
    cluster.register("m1", name="a", url="", version="")
    time.sleep(0.3)
    members, now = cluster.members()
    assert members[0].heartbeat_age_s(now) >= 0.3
    assert not members[0].alive(now, timeout_s=0.2)
    assert members[0].alive(now, timeout_s=10)
    assert cluster.prune(older_than_s=60) == 0
    assert cluster.prune(older_than_s=0.1) == 1
    assert cluster.members()[0] == []


def test_lease_is_held_by_one_member_until_it_expires(cluster: ClusterStore) -> None:
    assert cluster.lease("primary") is None
    first = cluster.acquire("primary", "m1", ttl_s=0.5)
    assert first.held_by("m1") and first.epoch == 1
    # Someone else cannot take it while it runs; they are told who holds it.
    other = cluster.acquire("primary", "m2", ttl_s=0.5)
    assert other.holder == "m1" and not other.held_by("m2") and other.epoch == 1
    # Renewing keeps the epoch and the acquisition time, and moves the expiry.
    renewed = cluster.acquire("primary", "m1", ttl_s=0.5)
    assert renewed.epoch == 1 and renewed.acquired_at == first.acquired_at
    assert renewed.expires_at > first.expires_at
    time.sleep(0.6)
    assert cluster.lease("primary").expired
    taken = cluster.acquire("primary", "m2", ttl_s=5)
    assert taken.held_by("m2") and taken.epoch == 2 and taken.acquired_at > first.acquired_at
    # The old holder, back late, does not get it back.
    assert cluster.acquire("primary", "m1", ttl_s=5).holder == "m2"


def test_release_lets_the_next_member_take_over_at_once(cluster: ClusterStore) -> None:
    cluster.acquire("primary", "m1", ttl_s=60)
    assert cluster.release("primary", "m2") is False  # not the holder: nothing happens
    assert cluster.acquire("primary", "m2", ttl_s=60).holder == "m1"
    assert cluster.release("primary", "m1") is True
    lease = cluster.acquire("primary", "m2", ttl_s=60)
    assert lease.held_by("m2") and lease.epoch == 2


def test_leases_are_independent_by_name(cluster: ClusterStore) -> None:
    assert cluster.acquire("primary", "m1", ttl_s=60).held_by("m1")
    assert cluster.acquire("reports", "m2", ttl_s=60).held_by("m2")
    assert cluster.lease("primary").holder == "m1"


def test_racing_members_never_both_hold_the_lease(cluster: ClusterStore) -> None:
    """Eight threads try to take an expired lease at once, repeatedly: each round exactly
    one of them is told it holds the lease, and the epoch grows by one per change of holder."""
    cluster.acquire("primary", "seed", ttl_s=30)
    cluster.release("primary", "seed")
    for round_ in range(5):
        winners = _contend(cluster, [f"r{round_}-{i}" for i in range(8)])
        assert len(winners) == 1, winners
        assert cluster.lease("primary").epoch == round_ + 2
        cluster.release("primary", winners[0])


def _contend(cluster: ClusterStore, members: list[str]) -> list[str]:
    """Every member asks for the lease at the same moment; returns those told they hold it."""
    barrier = threading.Barrier(len(members))
    winners: list[str] = []
    lock = threading.Lock()

    def contend(me: str) -> None:
        barrier.wait()
        if cluster.acquire("primary", me, ttl_s=30).holder == me:
            with lock:
                winners.append(me)

    threads = [threading.Thread(target=contend, args=(m,)) for m in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return winners
