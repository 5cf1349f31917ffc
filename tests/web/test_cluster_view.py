"""GET /api/vigil/v1/cluster and the /cluster page over a real Membership (two members on
one SQLite state store): roles, health, shards, the lease; viewers may read them."""

from __future__ import annotations

import base64
import dataclasses
import time

import pytest
from starlette.testclient import TestClient

from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.cluster import Membership
from vigil.state import Store
from vigil.state.cluster_store import ClusterStore
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy


@pytest.fixture
def state(tmp_path):
    store = Store.open_in(str(tmp_path))
    yield store
    store.close()


def _pair(state: Store, member_timeout_s: float) -> tuple[Membership, Membership]:
    """Replica "a" (primary) and "b", each having read the other."""
    cluster = ClusterStore(state.engine)
    a, b = (Membership(cluster, name=n, url=f"http://{n}.example:9090", version="1.2.3",
                       heartbeat_interval_s=0.1, member_timeout_s=member_timeout_s)
            for n in ("a", "b"))
    a.tick()
    b.tick()
    a.tick()
    return a, b


@pytest.fixture
def pair(state: Store) -> tuple[Membership, Membership]:
    # A timeout no pause of a loaded machine reaches: these tests read a steady cluster.
    return _pair(state, member_timeout_s=30.0)


@pytest.fixture
def short_lived_pair(state: Store) -> tuple[Membership, Membership]:
    # For the tests that watch a member go silent and its lease run out.
    return _pair(state, member_timeout_s=0.5)


def client_for(membership: Membership | None, access: AccessPolicy | None = None) -> TestClient:
    return TestClient(create_app(dataclasses.replace(make_deps(), cluster=membership, access=access)))


def test_api_lists_members_roles_and_the_lease(pair) -> None:
    a, b = pair
    with client_for(b) as client:
        body = client.get("/api/vigil/v1/cluster").json()
    assert body["status"] == "success"
    data = body["data"]
    assert data["self"] == b.member_id
    assert data["lease"]["holder"] == a.member_id and data["lease"]["epoch"] == 1
    assert data["database"]["reachable"] is True
    members = {m["name"]: m for m in data["members"]}
    assert {n: (m["role"], m["healthy"], m["shard"], m["self"], m["url"], m["version"])
            for n, m in members.items()} == {
        "a": ("primary", True, [0, 2], False, "http://a.example:9090", "1.2.3"),
        "b": ("replica", True, [1, 2], True, "http://b.example:9090", "1.2.3")}
    assert 0 <= members["a"]["heartbeat_age_seconds"] < 5 and members["a"]["started_at"].endswith("+00:00")


def test_api_shows_a_silent_member_as_unhealthy(short_lived_pair) -> None:
    a, b = short_lived_pair
    time.sleep(0.6)  # a stops heartbeating: b takes the lease over at one of its next rounds
    deadline = time.monotonic() + 10  # the lease runs out a little after a's heartbeat does
    b.tick()
    while not b.is_primary() and time.monotonic() < deadline:
        time.sleep(0.1)
        b.tick()
    with client_for(b) as client:
        data = client.get("/api/vigil/v1/cluster").json()["data"]
    members = {m["name"]: m for m in data["members"]}
    assert (members["a"]["healthy"], members["a"]["role"], members["a"]["shard"]) == (False, "replica", None)
    assert (members["b"]["role"], members["b"]["shard"]) == ("primary", [0, 1])
    assert data["lease"]["holder"] == b.member_id and data["lease"]["epoch"] == 2


def test_page_shows_each_replica(pair) -> None:
    a, b = pair
    with client_for(a) as client:
        page = client.get("/cluster")
    assert page.status_code == 200
    html = page.text
    assert "primary: a" in html
    assert 'class="member member-primary member-self"' in html
    assert 'class="member member-replica"' in html and '<a href="http://b.example:9090">b</a>' in html
    assert "2 of 2" in html and "1 of 2" in html and b.member_id in html
    assert '<a href="/cluster" class="active" aria-current="page">Cluster</a>' in html


def test_page_says_when_nobody_is_primary(state: Store) -> None:
    lone = Membership(ClusterStore(state.engine), name="solo", url="", version="1",
                      heartbeat_interval_s=0.1, member_timeout_s=0.5)
    lone.tick()
    time.sleep(0.6)  # its lease ran out and nobody renewed it
    with client_for(lone) as client:
        html = client.get("/cluster").text
    assert "no primary" in html and "unhealthy" in html


def test_without_a_cluster_view_both_answer_404() -> None:
    with client_for(None) as client:
        assert client.get("/api/vigil/v1/cluster").status_code == 404
        assert client.get("/cluster").status_code == 404


def test_viewers_may_read_the_cluster(pair, state: Store) -> None:
    a, _ = pair
    service = AccessService(state.access)
    service.add_user("vic", Role.VIEWER, actor="test", password="vic-pw")
    basic = {"Authorization": "Basic " + base64.b64encode(b"vic:vic-pw").decode()}
    with client_for(a, AccessPolicy(service, open_when_unconfigured=False)) as client:
        assert client.get("/api/vigil/v1/cluster").status_code == 401
        assert client.get("/api/vigil/v1/cluster", headers=basic).status_code == 200
        assert client.get("/cluster", headers=basic).status_code == 200
