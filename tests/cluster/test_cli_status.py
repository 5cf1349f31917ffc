"""``vigil cluster status`` against a served Vigil app whose cluster view is a real
Membership on SQLite: the table, --json, exit 1 without a primary or with a silent replica
or an unreachable server, exit 2 on bad usage, the token sent as a bearer token."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from typer.testing import CliRunner

from tests.support.browser import serve_app
from tests.web.fakes import make_deps
from vigil.access import AccessService, Role
from vigil.cli import cli
from vigil.cluster import Membership
from vigil.state import Store
from vigil.state.cluster_store import ClusterStore
from vigil.web import create_app
from vigil.web.access_gate import AccessPolicy

runner = CliRunner()


@pytest.fixture
def state(tmp_path):
    store = Store.open_in(str(tmp_path))
    yield store
    store.close()


def replicas(state: Store, *names: str, timeout_s: float = 30.0) -> list[Membership]:
    """Members that have each read the others; they count as dead after ``timeout_s``."""
    cluster = ClusterStore(state.engine)
    members = [Membership(cluster, name=n, url=f"http://{n}:9090", version="9.9", heartbeat_interval_s=0.1,
                          member_timeout_s=timeout_s) for n in names]
    for m in [*members, *members]:
        m.tick()
    return members


def serve(membership: Membership, access: AccessPolicy | None = None):
    return serve_app(lambda _url: create_app(dataclasses.replace(make_deps(), cluster=membership, access=access)))


def test_healthy_pair_prints_a_table_and_exits_0(state: Store) -> None:
    a, b = replicas(state, "alpha", "beta")
    with serve(b) as url:
        r = runner.invoke(cli, ["cluster", "status", "--url", url])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "HEALTH", "HEARTBEAT", "SHARD", "VERSION", "URL", "ID"]
    assert lines[1].split()[:3] == ["alpha", "primary", "healthy"] and "1/2" in lines[1]
    assert lines[2].split()[:4] == ["beta", "*", "replica", "healthy"] and "2/2" in lines[2]
    assert "primary lease: alpha, epoch 1" in r.output and "problem" not in r.output


def test_json_is_the_api_view(state: Store) -> None:
    (a,) = replicas(state, "alpha")
    with serve(a) as url:
        r = runner.invoke(cli, ["cluster", "status", "--url", url, "--json"])
    assert r.exit_code == 0, r.output
    view = json.loads(r.output)
    assert view["self"] == a.member_id and [m["role"] for m in view["members"]] == ["primary"]


def test_silent_replica_and_no_primary_exit_1(state: Store) -> None:
    a, b = replicas(state, "alpha", "beta", timeout_s=0.5)
    time.sleep(0.6)  # alpha (the primary) falls silent; beta has not taken over yet
    with serve(b) as url:
        r = runner.invoke(cli, ["cluster", "status", "--url", url])
    assert r.exit_code == 1
    assert "UNHEALTHY" in r.output and "problem: no replica is primary" in r.output
    assert f"problem: replica alpha ({a.member_id}) is unhealthy" in r.output
    assert "primary lease: expired (epoch 1)" in r.output


def test_token_is_sent_and_errors_exit_1(state: Store) -> None:
    (a,) = replicas(state, "alpha")
    service = AccessService(state.access)
    service.add_user("vic", Role.VIEWER, actor="test", password="pw-of-vic")
    secret = service.create_token("ro", Role.VIEWER, actor="test", user="vic")
    with serve(a, AccessPolicy(service, open_when_unconfigured=False)) as url:
        denied = runner.invoke(cli, ["cluster", "status", "--url", url])
        ok = runner.invoke(cli, ["cluster", "status", "--url", url, "--token", secret])
    assert denied.exit_code == 1 and "answered 401" in denied.output
    assert ok.exit_code == 0, ok.output
    gone = runner.invoke(cli, ["cluster", "status", "--url", url])
    assert gone.exit_code == 1 and f"cannot reach Vigil at {url}" in gone.output


def test_bad_usage_exits_2() -> None:
    assert runner.invoke(cli, ["cluster", "status", "--no-such-flag"]).exit_code == 2
    assert runner.invoke(cli, ["cluster", "stauts"]).exit_code == 2
