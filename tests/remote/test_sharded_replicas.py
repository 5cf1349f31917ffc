"""Two real ``vigil up`` replicas on one PostgreSQL and one VictoriaMetrics (storage.remote):
each scrape target is scraped by exactly one replica (hashmod of its address over the live
replicas), every target's samples reach the store, and when one replica is killed the other
takes over its targets."""

from __future__ import annotations

import signal
from contextlib import ExitStack
from pathlib import Path

import httpx
import yaml

from tests.collect.exporters.conftest import _pg_base, postgres_server  # noqa: F401
from tests.support.metrics_server import MetricsServer
from tests.support.victoriametrics import Store, running_victoria_metrics
from tests.support.vigil_proc import VigilProcess, eventually
from vigil.collect.shard import owner_of

TARGETS = 8


def _pg_url(server, tmp_path: Path) -> str:
    dbname = f"vigil_shard_{tmp_path.name.lower().replace('-', '_')}"[:60]
    with server.connect(autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    return f"postgresql+psycopg://{server.user}:{server.password}@127.0.0.1:{server.port}/{dbname}"


def _config(path: Path, store: Store, state_url: str, targets: list[str]) -> Path:
    path.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "scrape_timeout": "900ms"},
        "default_rules": False,
        "collectors": {"host": {"enabled": False}},
        "cluster": {"heartbeat_interval": "500ms", "member_timeout": "2s"},
        "storage": {"state": {"url": state_url},
                    "remote": {"write_url": store.write_url, "query_url": store.query_url}},
        "scrape_configs": [{"job_name": "app", "static_configs": [{"targets": targets}]}],
    }))
    return path


def _scraping(vigil: VigilProcess) -> set[str]:
    """The app targets a replica scrapes now (its /api/v1/targets)."""
    active = httpx.get(f"{vigil.url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
    return {t["labels"]["instance"] for t in active if t["labels"]["job"] == "app"}


def test_each_target_is_scraped_by_one_replica(postgres_server, tmp_path):  # noqa: F811
    state_url = _pg_url(postgres_server, tmp_path)
    with ExitStack() as stack:
        store = stack.enter_context(running_victoria_metrics(tmp_path / "vm"))
        servers = [stack.enter_context(MetricsServer(f"target_id {i}\n")) for i in range(TARGETS)]
        addresses = sorted(s.address for s in servers)
        config = _config(tmp_path / "vigil.yml", store, state_url, addresses)
        replicas = [VigilProcess(config, tmp_path / f"data{i}") for i in range(2)]
        for r in replicas:
            stack.callback(r.stop)
            r.start()

        def split() -> tuple[set[str], set[str]] | None:
            first, second = (_scraping(r) for r in replicas)
            return (first, second) if first | second == set(addresses) and not first & second else None

        first, second = eventually(split, 30, what="the targets split between the replicas")
        # The split is hashmod over the live replicas (in the cluster's member order).
        owners = {a: owner_of(f"http://{a}/metrics", 2) for a in addresses}
        assert {frozenset(first), frozenset(second)} == {
            frozenset(a for a in addresses if owners[a] == k) for k in (0, 1)}
        # Every target's samples reach the store, whichever replica scraped it.
        eventually(lambda: len(store.query('target_id{job="app"}')) == TARGETS, 30,
                   what="every target in the store")

        # One replica dies: the survivor scrapes every target.
        replicas[1].stop(signal.SIGKILL)
        eventually(lambda: _scraping(replicas[0]) == set(addresses), 30,
                   what="the survivor taking every target")
